/*
 * scald-monitor dashboard: the status board and the live plots of ligo-scald's pages.
 *
 * Plain modern JavaScript, no build step, and no request to any host but the one that served the page.
 * Check names, summaries and tag values come from users' configs and pipelines and may contain markup: they are
 * only ever inserted as text (text nodes, textContent), never parsed as HTML.
 *
 * Time: the API speaks GPS seconds. Plots are drawn on a Unix-seconds axis, so that ticks fall on round UTC times,
 * and every tick is labelled twice: UTC above, GPS below. GPS - UTC comes from the server's leap-second table
 * (18 s since 2017-01-01), never from the browser's time zone, which is not used anywhere.
 */
"use strict";
(function () {
  const ctx = JSON.parse(document.getElementById("scald-context").textContent);
  // The states by number and their "worst of" rank come from the server (rules.result.state_table): the board
  // sorts and colours checks in the one order the server uses, and keeps no table of its own.
  const STATES = ctx.states.map((s) => s.name); // index = state number
  const SEVERITY = Object.fromEntries(ctx.states.map((s) => [s.name, s.severity])); // larger is worse
  const WORST_FIRST = STATES.slice().sort((a, b) => SEVERITY[b] - SEVERITY[a]);
  const MAX_TRACES = 16; // more tag values than this: plot the reduction across tags (one line) instead
  const MAX_POINTS = 4000; // per trace at most, whatever the width: picks the decimation level dt
  const DTS = [1, 10, 100, 1000, 10000, 100000];
  // Okabe-Ito (colour-blind safe), then a few more distinguishable hues.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#999999",
    "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
  const THRESHOLD_COLORS = { warning: "#b58100", critical: "#cf222e" };

  // Exposed for tests and for poking at from the console.
  const debug = (window.scald = { plots: {}, checks: null, errors: [] });

  // ---- time ------------------------------------------------------------------------------------------------

  const GPS_EPOCH_UNIX = 315964800;
  const LEAP = ctx.leap || []; // [[GPS second, Unix second, GPS - UTC from then on], ...] ascending

  function offsetAt(value, column) {
    for (let i = LEAP.length - 1; i >= 0; i--) if (value >= LEAP[i][column]) return LEAP[i][2];
    return 0;
  }
  const gpsToUnix = (g) => g + GPS_EPOCH_UNIX - offsetAt(g, 0);
  const unixToGps = (u) => u - GPS_EPOCH_UNIX + offsetAt(u, 1);
  // The server's clock wins over a skewed browser clock (off by more than 2 s), so "now - delay" asks for data
  // the server can have.
  const skew = (() => {
    const d = ctx.server_gps - unixToGps(Date.now() / 1000);
    return Math.abs(d) > 2 ? d : 0;
  })();
  const gpsNow = () => unixToGps(Date.now() / 1000) + skew;
  debug.gpsNow = gpsNow;

  const pad = (n) => String(n).padStart(2, "0");

  /** "2026-11-25 15:40:03" (UTC) from Unix seconds; date omitted with date=false. */
  function utcText(unix, date = true) {
    const d = new Date(Math.round(unix * 1000));
    const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return date ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hms}` : hms;
  }
  const gpsText = (g) => (Number.isInteger(g) ? String(g) : g.toFixed(1));

  /** "12 s ago", "5 min ago", "3 h 4 min ago", "2 d 3 h ago". */
  function agoText(seconds) {
    if (!Number.isFinite(seconds)) return "";
    if (seconds < 0) return "in the future";
    const s = Math.floor(seconds);
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h ago`;
  }

  /** Numbers as scientists read them: 4 significant digits, exponent for very large/small (strain, FAR). */
  function numText(v) {
    if (v == null || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }

  // ---- DOM and network ---------------------------------------------------------------------------------------

  /** createElement with attributes and children; strings become text nodes (never HTML). */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) e.append(kid);
    return e;
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) throw new Error(`HTTP ${r.status}${body && body.error ? ": " + body.error : ""}`);
    return body;
  }

  /** Run fn now and then every `seconds` after it finishes (never overlapping); skipped while the tab is hidden. */
  function every(seconds, fn) {
    const tick = async () => {
      if (!document.hidden) {
        try {
          await fn();
        } catch (e) {
          debug.errors.push(String(e));
          console.warn("scald:", e);
        }
      }
      setTimeout(tick, seconds * 1000);
    };
    tick();
  }

  // ---- navbar clock ------------------------------------------------------------------------------------------

  function startClock() {
    const utc = document.getElementById("clock-utc");
    const gps = document.getElementById("clock-gps");
    if (!utc || !gps) return;
    const tick = () => {
      const g = gpsNow();
      utc.textContent = `${utcText(gpsToUnix(g))} UTC`;
      gps.textContent = `GPS ${Math.floor(g)}`;
    };
    tick();
    setInterval(tick, 1000);
  }

  // ---- checks (shared by the navbar summary, the dashboard strip and the status board) -----------------------

  const stateOf = (c) => (STATES.includes(c.state_name) ? c.state_name : STATES[c.state] || "UNKNOWN");

  /** The check's last state change as Unix seconds (the status documents' convention), or null. */
  function lastChangeUnix(c) {
    if (c.last_change_gps != null) return gpsToUnix(c.last_change_gps);
    return c.last_change == null ? null : c.last_change;
  }

  function badge(state) {
    return h("span", { class: `badge s-${state}` }, state);
  }
  function staleBadge(c) {
    return h("span", { class: "badge stale", title: `The daemon has not updated this check: ${c.note || "no fresh result"}` },
      "STALE");
  }
  /** The answer was evaluated by the web server (no usable status file): the same one /api/nagios gives. */
  function liveBadge(c) {
    return h("span", { class: "badge live", title: c.note || "evaluated now by the web server" }, "LIVE");
  }

  function countStates(checks) {
    const n = Object.fromEntries(STATES.map((s) => [s, 0]).concat([["STALE", 0]]));
    for (const c of checks) {
      n[stateOf(c)]++;
      if (c.stale) n.STALE++;
    }
    return n;
  }

  function worst(checks) {
    let w = null;
    for (const c of checks) if (w === null || SEVERITY[stateOf(c)] > SEVERITY[w]) w = stateOf(c);
    return w;
  }

  const checkListeners = [];
  function startChecks() {
    let failing = false;
    every(ctx.poll.status, async () => {
      let checks;
      try {
        checks = await getJSON(`${ctx.api}/checks`);
        failing = false;
      } catch (e) {
        if (!failing) console.warn("scald: /api/checks:", e);
        failing = true;
        for (const fn of checkListeners) fn(null, e);
        return;
      }
      debug.checks = checks;
      for (const fn of checkListeners) fn(checks, null);
    });
  }

  function navSummary(checks, err) {
    const el = document.getElementById("nav-summary");
    if (!el) return;
    if (err) {
      el.className = "nav-summary s-UNKNOWN";
      el.textContent = "API unreachable";
      return;
    }
    const n = countStates(checks);
    const parts = WORST_FIRST.filter((s) => s !== "OK" && n[s]).map((s) => `${n[s]} ${s}`);
    el.className = `nav-summary s-${worst(checks) || "none"}`;
    el.textContent = parts.length ? parts.join(" · ") : checks.length ? `all ${checks.length} OK` : "no checks";
    const title = document.title.replace(/^\(\d+ \w+\) /, "");
    document.title = n.CRITICAL ? `(${n.CRITICAL} CRITICAL) ${title}` : title;
  }

  /** The compact panel on dashboard pages: one chip per check, worst first. */
  function statusChips(checks, err) {
    const box = document.getElementById("status-chips");
    if (!box) return;
    if (err) {
      box.replaceChildren(h("span", { class: "err" }, `checks unavailable (${err.message})`));
      return;
    }
    const sorted = checks.slice().sort((a, b) => SEVERITY[stateOf(b)] - SEVERITY[stateOf(a)] ||
      String(a.name).localeCompare(String(b.name)));
    box.replaceChildren(...sorted.map((c) => h("a", {
      class: `chip s-${stateOf(c)}${c.stale ? " is-stale" : ""}`,
      href: `${ctx.status_url}#check-${encodeURIComponent(c.name)}`,
      title: `${stateOf(c)}${c.stale ? " (STALE)" : ""}${c.source === "evaluated" ? " (LIVE)" : ""}: ${c.summary || ""}`,
    }, h("span", { class: "chip-state" }, stateOf(c)), h("span", { class: "chip-name" }, String(c.name)),
    c.stale ? h("span", { class: "chip-stale" }, "STALE") : null)));
    if (!sorted.length) box.replaceChildren(h("span", { class: "muted" }, "no checks configured"));
  }

  // ---- status board ------------------------------------------------------------------------------------------

  function startBoard() {
    const tbody = document.getElementById("board-rows");
    if (!tbody) return;
    const board = { sort: "state", dir: 1, filter: "", hidden: new Set(), open: new Set(), details: new Map(),
      checks: null, scrolled: false };
    const hash = decodeURIComponent(location.hash.replace(/^#check-/, ""));
    if (hash && location.hash.startsWith("#check-")) board.open.add(hash);

    const filterBox = document.getElementById("board-filter");
    filterBox.addEventListener("input", () => {
      board.filter = filterBox.value.trim().toLowerCase();
      render();
    });
    for (const th of document.querySelectorAll("#board th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.sort;
        board.dir = board.sort === key ? -board.dir : 1;
        board.sort = key;
        render();
      });
    }

    function compare(a, b) {
      const byName = String(a.name).localeCompare(String(b.name));
      let d = 0;
      if (board.sort === "state") d = SEVERITY[stateOf(b)] - SEVERITY[stateOf(a)] || (b.stale ? 1 : 0) - (a.stale ? 1 : 0);
      else if (board.sort === "last_change") d = (lastChangeUnix(b) || 0) - (lastChangeUnix(a) || 0);
      else d = byName;
      return board.dir * d || byName;
    }

    function matches(c) {
      if (board.hidden.has(stateOf(c))) return false;
      if (!board.filter) return true;
      const hay = [c.name, c.summary, c.type, c.schema, stateOf(c), c.stale ? "stale" : "",
        c.source === "evaluated" ? "live" : ""].join(" ").toLowerCase();
      return board.filter.split(/\s+/).every((word) => hay.includes(word));
    }

    function stateFilters(checks) {
      const n = countStates(checks);
      const box = document.getElementById("state-filters");
      box.replaceChildren(...WORST_FIRST.map((s) => h("button", {
        type: "button", class: `sf s-${s}`, "aria-pressed": board.hidden.has(s) ? "false" : "true",
        title: `Show/hide ${s} checks`,
        onclick: () => {
          if (board.hidden.has(s)) board.hidden.delete(s);
          else board.hidden.add(s);
          render();
        },
      }, `${s} ${n[s]}`)));
      if (n.STALE) box.append(h("span", { class: "badge stale", title: "Checks whose status file the daemon has not updated" }, `STALE ${n.STALE}`));
    }

    function lastChangeCell(c) {
      const u = lastChangeUnix(c);
      if (u == null) {
        return h("td", { class: "when" }, h("div", { class: "muted" }, "no change recorded"),
          c.created_unix != null ? h("div", { class: "sub" }, `checked ${utcText(c.created_unix)} UTC`) : null);
      }
      return h("td", { class: "when" }, h("div", { class: "ago", "data-unix": u }, agoText(Date.now() / 1000 - u)),
        h("div", { class: "sub" }, `${utcText(u)} UTC · GPS ${Math.floor(unixToGps(u))}`));
    }

    function row(c) {
      const s = stateOf(c);
      const open = board.open.has(c.name);
      const toggle = h("button", { type: "button", class: "toggle", "aria-expanded": open ? "true" : "false",
        title: "Per-tag results and performance data", onclick: () => {
          if (board.open.has(c.name)) board.open.delete(c.name);
          else {
            board.open.add(c.name);
            loadDetails(c.name);
          }
          render();
        } }, open ? "▾" : "▸");
      const sub = [c.type, c.schema, c.problems ? `${c.problems} tag${c.problems > 1 ? "s" : ""} failing` : null]
        .filter(Boolean).join(" · ");
      return h("tr", { class: `row s-${s}${c.stale ? " is-stale" : ""}`, id: `check-${c.name}` },
        h("td", { class: "col-toggle" }, toggle),
        h("td", { class: "state" }, badge(s), c.source === "evaluated" ? liveBadge(c) : null,
          c.stale ? staleBadge(c) : null),
        h("td", { class: "name" }, h("div", { class: "check-name" }, String(c.name)), sub ? h("div", { class: "sub" }, sub) : null),
        h("td", { class: "summary" }, c.summary == null ? "" : String(c.summary)),
        lastChangeCell(c));
    }

    async function loadDetails(name) {
      const enc = encodeURIComponent(name);
      try {
        const [d, hist] = await Promise.all([getJSON(`${ctx.api}/checks/${enc}`),
          getJSON(`${ctx.api}/checks/${enc}/history`).catch((e) => ({ error: e.message }))]);
        d.history = hist;
        board.details.set(name, d);
      } catch (e) {
        board.details.set(name, { error: e.message });
      }
      render();
    }

    function render() {
      const checks = board.checks;
      if (!checks) return;
      stateFilters(checks);
      const shown = checks.filter(matches).sort(compare);
      const rows = [];
      for (const c of shown) {
        rows.push(row(c));
        if (board.open.has(c.name)) rows.push(h("tr", { class: "details" }, h("td", { colspan: 5 }, details(c, board.details.get(c.name)))));
      }
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5, class: "muted" },
        checks.length ? "No check matches the filter." : "No checks are configured.")));
      tbody.replaceChildren(...rows);
      for (const th of document.querySelectorAll("#board th[data-sort]")) {
        // dir 1 is the natural order: worst state first, newest change first, names a→z
        const natural = th.dataset.sort === "name" ? "ascending" : "descending";
        const other = natural === "ascending" ? "descending" : "ascending";
        th.setAttribute("aria-sort", th.dataset.sort === board.sort ? (board.dir > 0 ? natural : other) : "none");
      }
      if (!board.scrolled && board.open.size) {
        const target = document.getElementById(`check-${[...board.open][0]}`);
        if (target) target.scrollIntoView({ block: "center" });
        board.scrolled = true;
      }
    }

    checkListeners.push((checks, err) => {
      const note = document.getElementById("board-updated");
      if (err) {
        note.className = "window err";
        note.textContent = `API error: ${err.message} — retrying every ${ctx.poll.status} s`;
        return;
      }
      board.checks = checks;
      note.className = "window";
      note.textContent = `${checks.length} checks · updated ${utcText(Date.now() / 1000, false)} UTC · every ${ctx.poll.status} s`;
      for (const name of board.open) loadDetails(name);
      render();
    });
    // relative times tick between polls
    setInterval(() => {
      for (const el of tbody.querySelectorAll(".ago[data-unix]")) el.textContent = agoText(Date.now() / 1000 - Number(el.dataset.unix));
    }, 1000);
  }

  // -- State timeline of an expanded check (/api/checks/<name>/history): a strip coloured by state over the last
  // 24 h (or since the first recorded change), SOFT states lighter, with a legend, UTC end times, a title under the
  // cursor and the same segments as a text list, so that nothing is said by colour alone.
  const TIMELINE_SPAN = 86400;
  const TIMELINE_LIST = 12; // newest segments listed as text
  debug.timelines = {};

  /** [{from, to, state, type}] over [max(now - 24 h, first change), now], from the changes (oldest first). */
  function timelineSegments(changes, now) {
    const valid = (Array.isArray(changes) ? changes : []).filter((c) => c && Number.isFinite(c.time) && STATES[c.state]);
    if (!valid.length) return { start: now, end: now, segments: [] };
    const start = Math.min(now, Math.max(now - TIMELINE_SPAN, valid[0].time));
    const segments = [];
    valid.forEach((c, i) => {
      const from = Math.max(c.time, start);
      const to = Math.min(i + 1 < valid.length ? valid[i + 1].time : now, now);
      if (to > from || (i === valid.length - 1 && to >= from)) {
        segments.push({ from, to, state: STATES[c.state], type: c.state_type === "SOFT" ? "SOFT" : "HARD" });
      }
    });
    return { start, end: now, segments };
  }

  /** "42 s", "5 min", "3 h 4 min", "2 d 3 h": how long a state lasted. */
  function lengthText(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  function segmentText(seg) {
    return `${seg.state}${seg.type === "SOFT" ? " (soft)" : ""} · ${utcText(seg.from)} – ${utcText(seg.to)} UTC` +
      ` · ${lengthText(seg.to - seg.from)}`;
  }

  function timeline(name, hist) {
    const box = h("div", { class: "timeline" });
    const head = h("div", { class: "tl-head" }, h("b", {}, "state timeline"));
    box.append(head);
    if (!hist) {
      head.append(" ", h("span", { class: "muted" }, "loading…"));
      return box;
    }
    if (hist.error) {
      head.append(" ", h("span", { class: "err" }, `history unavailable (${hist.error})`));
      return box;
    }
    const now = Number.isFinite(hist.now) ? hist.now : Date.now() / 1000;
    const { start, end, segments } = timelineSegments(hist.changes, now);
    debug.timelines[name] = segments;
    if (!segments.length) {
      head.append(" ", h("span", { class: "muted" }, "no state change recorded yet (has scald-monitor run written " +
        "its state file?)"));
      return box;
    }
    const span = Math.max(end - start, 1);
    head.append(" ", h("span", { class: "sub" }, start <= now - TIMELINE_SPAN + 1 ? "last 24 h" : `since the first recorded state (${lengthText(end - start)})`));
    const W = 960, H = 18;
    const canvas = h("canvas", { class: "tl-strip", width: W, height: H, role: "img",
      "aria-label": `State timeline: ${segments.map(segmentText).join("; ")}` });
    const g = canvas.getContext("2d");
    const css = getComputedStyle(document.documentElement);
    const colour = { OK: css.getPropertyValue("--ok").trim() || "#1a7f37",
      WARNING: css.getPropertyValue("--warning-bg").trim() || "#f5c842",
      CRITICAL: css.getPropertyValue("--critical").trim() || "#cf222e",
      UNKNOWN: css.getPropertyValue("--unknown").trim() || "#8250df" };
    const xOf = (t) => ((t - start) / span) * W;
    g.clearRect(0, 0, W, H);
    for (const seg of segments) {
      const x0 = Math.floor(xOf(seg.from));
      const x1 = Math.max(x0 + 1, Math.ceil(xOf(seg.to))); // at least one pixel: a short state stays visible
      g.globalAlpha = seg.type === "SOFT" ? 0.5 : 1;
      g.fillStyle = colour[seg.state];
      g.fillRect(x0, 0, x1 - x0, H);
    }
    g.globalAlpha = 1;
    canvas.dataset.segments = String(segments.length);
    canvas.title = "state timeline (hover for a segment)";
    canvas.addEventListener("mousemove", (ev) => {
      const r = canvas.getBoundingClientRect();
      const t = start + ((ev.clientX - r.left) / Math.max(r.width, 1)) * span;
      const seg = segments.find((s) => t >= s.from && t <= s.to);
      canvas.title = seg ? segmentText(seg) : "";
    });
    const used = STATES.filter((st) => segments.some((seg) => seg.state === st));
    const legend = h("div", { class: "tl-legend" }, used.map((st) => h("span", { class: "tl-key" },
      h("span", { class: `tl-swatch s-${st}` }), st)),
    segments.some((seg) => seg.type === "SOFT") ? h("span", { class: "sub" }, "lighter = SOFT") : null);
    const axis = h("div", { class: "tl-axis sub" }, h("span", {}, `${utcText(start)} UTC`), h("span", {}, `${utcText(end)} UTC (now)`));
    const newest = segments.slice(-TIMELINE_LIST).reverse();
    const list = h("ol", { class: "tl-list sub", reversed: true }, newest.map((seg) =>
      h("li", {}, h("span", { class: `tl-swatch s-${seg.state}` }), " ", segmentText(seg))));
    const more = segments.length > newest.length ? h("div", { class: "sub" }, `… and ${segments.length - newest.length} older`) : null;
    box.append(canvas, axis, legend, h("details", { class: "tl-text" }, h("summary", {}, `${segments.length} segment${segments.length > 1 ? "s" : ""} as text`), list, more));
    return box;
  }

  /** The expanded row (from /api/checks/<name>): state-machine facts, settings, state timeline, per-tag results
   *  (worst first), perfdata, links to the raw JSON. */
  function details(c, d) {
    const box = h("div", { class: "detail" });
    if (!d || d.error) {
      box.append(d ? h("span", { class: "err" }, d.error) : h("span", { class: "muted" }, "loading…"));
      return box;
    }
    const doc = d.document || {};
    const set = d.settings || {};
    const facts = [];
    const fact = (k, v) => v != null && v !== "" && facts.push(h("span", { class: "fact" }, h("b", {}, k), " ", String(v)));
    fact("state type", d.state_type || doc.state_type);
    if (doc.attempt != null) fact("attempt", `${doc.attempt}/${doc.max_attempts ?? "?"}`);
    if (doc.flapping) fact("flapping", `yes (${numText(doc.percent_state_change)} % change)`);
    if (doc.created_gps != null) fact("result of", `${utcText(gpsToUnix(doc.created_gps))} UTC · GPS ${Math.floor(doc.created_gps)}`);
    if (d.expires_unix != null) fact("valid until", `${utcText(d.expires_unix)} UTC`);
    if (set.aggregate) fact("aggregate", set.aggregate);
    if (set.lookback) fact("look-back", `${set.lookback} s`);
    if (set.warning != null) fact("warning", `${set.warning}${set.units ? ` (${set.units})` : ""}`);
    if (set.critical != null) fact("critical", `${set.critical}${set.units ? ` (${set.units})` : ""}`);
    if (d.source) fact("from", d.source === "status_file" ? "daemon's status file" : d.note || d.source);
    const desc = d.description || doc.ok_txt;
    box.append(h("div", { class: "facts" }, facts), desc ? h("p", { class: "desc" }, String(desc)) : null,
      timeline(c.name, d.history));

    const tags = Array.isArray(d.tags) ? d.tags.slice() : [];
    if (tags.length) {
      const name = (t) => STATES[t.state] || "UNKNOWN";
      tags.sort((a, b) => SEVERITY[name(b)] - SEVERITY[name(a)] || String(a.label).localeCompare(String(b.label)));
      box.append(h("table", { class: "mini" },
        h("thead", {}, h("tr", {}, ["tag", "state", "value", "result", "last change"].map((k, i) => h("th", { class: i === 2 ? "num" : null }, k)))),
        h("tbody", {}, tags.map((t) => h("tr", {},
          h("td", { class: "check-name" }, String(t.label ?? "")),
          h("td", {}, badge(name(t)), t.state_type === "SOFT" ? h("span", { class: "sub" }, " soft") : null),
          h("td", { class: "num" }, numText(t.value)), h("td", {}, String(t.text ?? "")),
          h("td", { class: "sub" }, t.last_change == null ? "" : `${agoText(Date.now() / 1000 - t.last_change)} · ${utcText(t.last_change)} UTC`))))));
    }
    const perf = doc.performance_metrics && typeof doc.performance_metrics === "object" ? Object.entries(doc.performance_metrics) : [];
    if (perf.length) {
      box.append(h("table", { class: "mini perf" },
        h("thead", {}, h("tr", {}, ["perfdata", "value", "warn", "crit", "min", "max"].map((k, i) => h("th", { class: i ? "num" : null }, k)))),
        h("tbody", {}, perf.map(([label, v]) => h("tr", {}, h("td", { class: "check-name" }, label),
          (Array.isArray(v) ? v : [v]).concat(["", "", "", "", ""]).slice(0, 5).map((x) => h("td", { class: "num" }, x == null ? "" : String(x))))))));
    }
    const enc = encodeURIComponent(c.name);
    box.append(h("div", { class: "links" }, h("a", { href: `${ctx.api}/checks/${enc}` }, "check JSON"), " · ",
      h("a", { href: `${ctx.api}/checks/${enc}/history` }, "history JSON"), " · ",
      h("a", { href: `${ctx.api}/nagios/${enc}` }, "Nagios status document")));
    return box;
  }

  // ---- plots -------------------------------------------------------------------------------------------------

  function currentWindow() {
    const w = ctx.window;
    if (w.mode === "historical") return { start: w.start, end: w.end, live: false };
    const end = gpsNow() - w.delay;
    return { start: end - w.lookback, end, live: true };
  }

  /** The current window as Unix seconds [start, end] (uPlot's x scale). */
  function currentWindowUnix() {
    const w = currentWindow();
    return [gpsToUnix(w.start), gpsToUnix(w.end)];
  }

  /** The finest decimation level giving at most `maxPoints` buckets over `span` seconds. */
  function chooseDt(span, maxPoints) {
    for (const dt of DTS) if (span / dt <= maxPoints) return dt;
    return DTS[DTS.length - 1];
  }

  /** ligo-scald's query string: column, aggregate, dt, tag=<key>&<key>=<value>..., tag_key. */
  function apiUrl(kind, q, start, end, opts) {
    const p = new URLSearchParams();
    p.append("column", q.column);
    if (q.aggregate) p.append("aggregate", q.aggregate);
    if (opts.dt) p.append("dt", String(opts.dt));
    if (opts.tags && q.tag_key) {
      p.append("tag", q.tag_key);
      for (const t of opts.tags) p.append(q.tag_key, t);
    }
    if (opts.tagKey && q.tag_key) p.append("tag_key", q.tag_key);
    return `${ctx.api}/${kind}/${encodeURIComponent(q.measurement)}/${Math.floor(start)}/${Math.ceil(end)}?${p}`;
  }

  /** Place a figure on the 12-column grid from its grid: {x, y, w, h} (ligo-scald's vue-grid-layout units). */
  function place(fig, grid) {
    const w = Math.min(12, Math.max(1, grid.w || 12));
    const rows = Math.max(2, grid.h || 4);
    fig.style.gridColumn = grid.x != null ? `${Math.min(grid.x, 12 - w) + 1} / span ${w}` : `span ${w}`;
    fig.style.gridRow = grid.y != null ? `${grid.y + 1} / span ${rows}` : `span ${rows}`;
  }

  /** Common machinery of a plot panel: size tracking, status text, counters exposed for tests. */
  function panel(fig, cfg) {
    const body = fig.querySelector(".plot-body");
    const msg = fig.querySelector(".plot-msg");
    const meta = fig.querySelector(".plot-meta");
    const readout = fig.querySelector(".plot-readout");
    const p = { fig, cfg, body, msg, meta, readout, u: null, points: 0, fetches: 0, errors: 0 };
    debug.plots[cfg.id] = p;
    p.size = () => {
      const legend = p.u && p.u.root.querySelector(".u-legend");
      return { width: Math.max(100, body.clientWidth), height: Math.max(80, body.clientHeight - (legend ? legend.offsetHeight : 0)) };
    };
    // Fit uPlot to the panel: on resize, and after every update. In the next frame, because the legend's height
    // is only right once uPlot has committed its first layout (before that it stacks vertically).
    const fitNow = () => {
      if (!p.u) return;
      const s = p.size();
      if (s.width !== p.u.width || s.height !== p.u.height) p.u.setSize(s);
    };
    p.fit = () => requestAnimationFrame(fitNow);
    new ResizeObserver(p.fit).observe(body);
    p.appended = 0;
    /** Publish what is drawn (data-* attributes, read by the browser test): points, newest time, appended. */
    p.report = (points, newest, appended) => {
      p.fit();
      p.points = points;
      if (appended) p.appended += appended;
      if (newest != null) fig.dataset.newest = String(newest);
      fig.dataset.appended = String(p.appended);
      fig.dataset.points = String(points);
      fig.dataset.fetches = String(p.fetches);
      fig.dataset.state = points ? "ready" : "empty";
      if (!points) msg.textContent = "no data in this window";
      else msg.textContent = "";
    };
    p.fail = (e) => {
      p.errors++;
      fig.dataset.state = "error";
      msg.textContent = `${e.message}`;
      msg.classList.add("err");
    };
    p.ok = () => msg.classList.remove("err");
    return p;
  }

  /** The x axis: UTC on top, GPS below, at round UTC times; scale in Unix seconds. */
  function timeAxis() {
    return {
      label: "UTC (top) · GPS seconds (bottom)", labelSize: 14, labelFont: "11px system-ui, sans-serif",
      size: 50, space: 110, font: "11px system-ui, sans-serif",
      values: (u, splits, ax, space, incr) => splits.map((v) => {
        const d = new Date(v * 1000);
        let top = incr >= 86400 ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
          : `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${incr < 60 ? ":" + pad(d.getUTCSeconds()) : ""}`;
        if (incr < 86400 && d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0) {
          top = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${top}`;
        }
        return `${top}\n${Math.round(unixToGps(v))}`;
      }),
    };
  }

  function valueAxis(label) {
    return { label, labelSize: 16, labelFont: "11px system-ui, sans-serif", font: "11px system-ui, sans-serif",
      size: 56, values: (u, splits) => splits.map(numText) };
  }

  const timeLegend = { label: "time", value: (u, v) => (v == null ? "–" : `${utcText(v)} UTC · GPS ${gpsText(+unixToGps(v).toFixed(3))}`) };

  /** Dashed lines at the warning/critical range ends of the threshold checks that watch this column. */
  function drawThresholds(u, thresholds) {
    if (!thresholds || !thresholds.length) return;
    const c = u.ctx;
    const { left, top, width, height } = u.bbox;
    c.save();
    c.beginPath();
    c.rect(left, top, width, height);
    c.clip();
    c.lineWidth = 1.5 * devicePixelRatio;
    c.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    c.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
    c.textAlign = "right";
    const multi = new Set(thresholds.map((t) => t.check)).size > 1;
    for (const t of thresholds) {
      for (const v of [t.lo, t.hi]) {
        if (v == null) continue;
        const y = u.valToPos(v, "y", true);
        if (y < top || y > top + height) continue;
        c.strokeStyle = c.fillStyle = THRESHOLD_COLORS[t.level] || "#666";
        c.beginPath();
        c.moveTo(left, y);
        c.lineTo(left + width, y);
        c.stroke();
        const ty = y - top < 14 * devicePixelRatio ? y + 11 * devicePixelRatio : y - 3 * devicePixelRatio;
        c.fillText(`${t.level === "critical" ? "crit" : "warn"} ${numText(v)}${multi ? " · " + t.check : ""}`, left + width - 4, ty);
      }
    }
    c.restore();
  }

  /** Widen a data range to show threshold lines that are near the data (not ones far off-scale); bars start at 0. */
  function yRange(thresholds, fromZero = false) {
    return (u, min, max) => {
      if (min == null || max == null) return [0, 1];
      if (fromZero) {
        min = Math.min(min, 0);
        max = Math.max(max, 0);
      }
      const span = max - min || Math.abs(max) || 1;
      for (const t of thresholds || []) {
        for (const v of [t.lo, t.hi]) {
          if (v != null && v > min - span && v < max + span) {
            min = Math.min(min, v);
            max = Math.max(max, v);
          }
        }
      }
      const padding = (max - min || 1) * 0.05;
      return [fromZero && min === 0 ? 0 : min - padding, fromZero && max === 0 ? 0 : max + padding];
    };
  }

  /** Drag-to-zoom on x that survives streaming updates; double-click returns to the live window. */
  function zoomable(p, windowRange) {
    p.zoom = null;
    return {
      range: (u, min, max) => p.zoom || windowRange(),
      hook: (u) => {
        if (u.select.width < 5) return;
        p.zoom = [u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x")];
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        u.setScale("x", { min: p.zoom[0], max: p.zoom[1] });
        p.meta.textContent = "zoomed · double-click to reset";
      },
      attach: (u) => u.over.addEventListener("dblclick", () => {
        p.zoom = null;
        const [min, max] = windowRange();
        u.setScale("x", { min, max });
        p.describe();
      }),
    };
  }

  /** Break lines where a trace has no data for longer than `limit` seconds (a silent job must look silent). */
  function withGaps(trace, limit) {
    const xs = [], ys = [];
    for (let i = 0; i < trace.x.length; i++) {
      if (i > 0 && trace.x[i] - trace.x[i - 1] > limit) {
        xs.push(gpsToUnix(trace.x[i - 1] + limit / 2));
        ys.push(null);
      }
      xs.push(gpsToUnix(trace.x[i]));
      ys.push(trace.y[i]);
    }
    return [xs, ys];
  }

  /** The median spacing of a trace: the natural gap limit of raw (undecimated) data. */
  function typicalStep(traces) {
    const steps = [];
    for (const t of traces) for (let i = 1; i < t.x.length && steps.length < 2000; i++) steps.push(t.x[i] - t.x[i - 1]);
    steps.sort((a, b) => a - b);
    return steps.length ? steps[steps.length >> 1] : 1;
  }

  /** Replace a trace's points from `from` on with fresh ones (the last bucket may have been incomplete). */
  function mergeTail(trace, xs, ys, from) {
    let k = trace.x.length;
    while (k > 0 && trace.x[k - 1] >= from) k--;
    trace.x.length = k;
    trace.y.length = k;
    let last = k ? trace.x[k - 1] : -Infinity;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i], y = ys[i];
      if (x < from || x <= last || y == null || !Number.isFinite(y)) continue;
      trace.x.push(x);
      trace.y.push(y);
      last = x;
    }
  }

  function dropBefore(trace, start) {
    let k = 0;
    while (k < trace.x.length && trace.x[k] < start) k++;
    if (k) {
      trace.x.splice(0, k);
      trace.y.splice(0, k);
    }
  }

  /** The next request: the whole window first, then only [last request's end - margin, now - delay]. */
  function nextSpan(p, dt) {
    const w = currentWindow();
    let from = w.start;
    if (p.prevEnd != null) from = Math.max(w.start, p.prevEnd - Math.max(2 * (dt || 1), 2 * ctx.poll.plots));
    if (dt) from = Math.floor(from / dt) * dt;
    return { w, from, end: w.end };
  }

  function describeWindow(p, dt) {
    const w = currentWindow();
    const mode = w.live ? `live, last ${durationText(w.end - w.start)}` : "historical";
    p.meta.textContent = `${mode} · GPS ${Math.floor(w.start)}–${Math.ceil(w.end)}${dt ? ` · ${p.cfg.query.aggregate || "max"} per ${dt} s` : " · raw"}`;
  }

  function durationText(s) {
    if (s % 86400 === 0) return `${s / 86400} d`;
    if (s % 3600 === 0) return `${s / 3600} h`;
    if (s % 60 === 0) return `${s / 60} min`;
    return `${Math.round(s)} s`;
  }

  // -- TimeSeries: one line per tag value; appends new points every poll, never refetches the window.

  function timeSeries(fig, cfg) {
    const p = panel(fig, cfg);
    const q = cfg.query;
    const span = ctx.window.lookback;
    // About two buckets per pixel: the server's exact max/min per bucket keeps every spike visible.
    const dt = q.aggregate ? chooseDt(span, Math.min(MAX_POINTS, 2 * p.body.clientWidth)) : null;
    const traces = new Map();
    let tags, seriesKey = "";
    p.prevEnd = null;
    p.describe = () => describeWindow(p, dt);
    p.describe();
    const zoom = zoomable(p, currentWindowUnix);

    async function discoverTags() {
      if (q.tags && q.tags.length) return q.tags.length <= MAX_TRACES ? q.tags : null;
      if (!q.tag_key) return null;
      const w = currentWindow();
      const res = await getJSON(apiUrl("latest", q, w.start, w.end, { tagKey: true }));
      const names = (res && res[0] && res[0].x) || [];
      return names.length && names.length <= MAX_TRACES ? names.map(String).sort() : null;
    }

    function build(names) {
      if (p.u) p.u.destroy();
      const across = tags ? null : `${q.aggregate || "all"} across ${q.tag_key || "tags"}`;
      p.u = new uPlot({
        ...p.size(),
        padding: [8, 28, 0, 0], // room for the last tick's GPS label
        scales: { x: { time: true, range: zoom.range }, y: { range: yRange(cfg.thresholds) } },
        series: [timeLegend, ...names.map((n, i) => ({
          label: across && names.length === 1 ? across : n, stroke: PALETTE[i % PALETTE.length], width: 1.25,
          points: { show: false }, value: (u, v) => numText(v),
        }))],
        axes: [timeAxis(), valueAxis(cfg.ylabel)],
        cursor: { drag: { x: true, y: false, setScale: false } },
        legend: { live: true },
        hooks: { draw: [(u) => drawThresholds(u, cfg.thresholds)], setSelect: [zoom.hook] },
      }, [[]], p.body);
      zoom.attach(p.u);
      p.fit();
    }

    function draw(newest, appended) {
      const names = [...traces.keys()].sort();
      if (names.join("\u0000") !== seriesKey) {
        seriesKey = names.join("\u0000");
        build(names);
      }
      const list = names.map((n) => traces.get(n));
      const limit = 3 * (dt || typicalStep(list));
      // NULL_EXPAND (2): a gap marker hides the whole gap, not just the neighbouring rows of other traces.
      const data = list.length ? uPlot.join(list.map((t) => withGaps(t, limit)), list.map(() => [2, 2])) : [[]];
      let points = 0;
      for (const t of list) points += t.x.length;
      p.u.setData(data);
      p.report(points, newest, appended);
    }

    async function update() {
      if (tags === undefined) tags = await discoverTags();
      const { w, from, end } = nextSpan(p, dt);
      if (end <= from) return;
      const res = await getJSON(apiUrl("timeseries", q, from, end, { dt, tags }));
      p.fetches++;
      p.ok();
      const newest = () => Math.max(-Infinity, ...[...traces.values()].map((t) => (t.x.length ? t.x[t.x.length - 1] : -Infinity)));
      const before = newest();
      let appended = 0;
      for (const tr of res || []) {
        const name = tr.name != null ? String(tr.name) : "all";
        if (!traces.has(name)) traces.set(name, { x: [], y: [] });
        mergeTail(traces.get(name), tr.x || [], tr.y || [], from);
        const t = traces.get(name);
        for (let i = t.x.length - 1; i >= 0 && t.x[i] > before; i--) appended++;
      }
      for (const t of traces.values()) dropBefore(t, w.start - (dt || 0));
      p.prevEnd = end;
      if (!p.zoom) p.describe();
      draw(Number.isFinite(newest()) ? newest() : null, before === -Infinity ? 0 : appended);
    }
    return { p, update };
  }

  // -- TimeHeatMap: tag × time cells on a canvas painted under uPlot's axes; appends columns every poll.

  const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137],
    [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]];
  const LUT = (() => {
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = (i / 255) * (VIRIDIS.length - 1), k = Math.min(Math.floor(t), VIRIDIS.length - 2), f = t - k;
      for (let c = 0; c < 3; c++) lut[i * 3 + c] = VIRIDIS[k][c] + (VIRIDIS[k + 1][c] - VIRIDIS[k][c]) * f;
    }
    return lut;
  })();

  function heatMap(fig, cfg) {
    const p = panel(fig, cfg);
    const q = cfg.query;
    const log = q.scale === "log";
    // At most one column per pixel: nearest-neighbour scaling of a wider image would drop cells (and spikes).
    const dt = chooseDt(ctx.window.lookback, Math.max(100, p.body.clientWidth - 60));
    const st = { xs: [], rows: new Map(), tags: [], image: null, lo: 0, hi: 1 };
    p.prevEnd = null;
    p.describe = () => describeWindow(p, dt);
    p.describe();
    const zoom = zoomable(p, currentWindowUnix);
    const bar = colorBar(fig);
    const transform = (v) => (log ? (v > 0 ? Math.log10(v) : null) : v);

    function build() {
      if (p.u) p.u.destroy();
      const n = () => st.tags.length;
      p.u = new uPlot({
        ...p.size(),
        padding: [8, 28, 0, 0],
        scales: { x: { time: true, range: zoom.range }, y: { auto: false, range: () => [-0.5, Math.max(n(), 1) - 0.5] } },
        series: [timeLegend, { label: cfg.title, show: true, stroke: "transparent", points: { show: false } }],
        axes: [timeAxis(), {
          label: q.tag_key || "tag", labelSize: 16, labelFont: "11px system-ui, sans-serif", font: "11px system-ui, sans-serif", size: 56,
          splits: () => {
            const every = Math.max(1, Math.ceil(n() / Math.max(1, Math.floor(p.u ? p.u.bbox.height / devicePixelRatio / 14 : 10))));
            const out = [];
            for (let i = 0; i < n(); i += every) out.push(n() - 1 - i);
            return out;
          },
          values: (u, splits) => splits.map((s) => String(st.tags[n() - 1 - s] ?? "")),
          grid: { show: false },
        }],
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
        hooks: { draw: [paint], setSelect: [zoom.hook], setCursor: [readout] },
      }, [[], []], p.body);
      zoom.attach(p.u);
      p.fit();
    }

    /** One pixel per cell in an offscreen canvas, stretched over the plot area with smoothing off: O(cells). */
    function render() {
      const m = st.xs.length, n = st.tags.length;
      if (!m || !n) return (st.image = null);
      const x0 = st.xs[0], cols = Math.round((st.xs[m - 1] - x0) / dt) + 1;
      let lo = Infinity, hi = -Infinity;
      for (const row of st.rows.values()) for (const v of row) {
        const t = v == null ? null : transform(v);
        if (t != null) {
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
      }
      if (lo === Infinity) return (st.image = null);
      if (hi === lo) hi = lo + 1;
      st.lo = lo;
      st.hi = hi;
      const off = document.createElement("canvas");
      off.width = cols;
      off.height = n;
      const g = off.getContext("2d");
      const img = g.createImageData(cols, n);
      st.tags.forEach((tag, r) => {
        const row = st.rows.get(tag);
        for (let i = 0; i < m; i++) {
          const t = row[i] == null ? null : transform(row[i]);
          if (t == null) continue;
          const c = Math.round((st.xs[i] - x0) / dt), k = Math.round(((t - lo) / (hi - lo)) * 255) * 3;
          const o = (r * cols + c) * 4;
          img.data[o] = LUT[k];
          img.data[o + 1] = LUT[k + 1];
          img.data[o + 2] = LUT[k + 2];
          img.data[o + 3] = 255;
        }
      });
      g.putImageData(img, 0, 0);
      st.image = { canvas: off, x0, x1: st.xs[0] + cols * dt };
      bar.update(log ? `1e${numText(lo)}` : numText(lo), log ? `1e${numText(hi)}` : numText(hi), `${q.column}${log ? " (log)" : ""}`);
    }

    function paint(u) {
      if (!st.image) return;
      const { left, top, width, height } = u.bbox;
      const c = u.ctx;
      c.save();
      c.beginPath();
      c.rect(left, top, width, height);
      c.clip();
      c.imageSmoothingEnabled = false;
      const xa = u.valToPos(gpsToUnix(st.image.x0), "x", true), xb = u.valToPos(gpsToUnix(st.image.x1), "x", true);
      c.drawImage(st.image.canvas, xa, top, xb - xa, height);
      c.restore();
    }

    function readout(u) {
      const { left, top } = u.cursor;
      if (left == null || left < 0 || !st.xs.length) return (p.readout.textContent = "");
      const g = unixToGps(u.posToVal(left, "x"));
      const r = st.tags.length - 1 - Math.round(u.posToVal(top, "y"));
      const tag = st.tags[r];
      let i = st.xs.length - 1;
      while (i > 0 && st.xs[i] > g) i--;
      const v = tag == null || st.xs[i] > g || g >= st.xs[i] + dt ? null : st.rows.get(tag)[i];
      p.readout.textContent = tag == null ? "" : `${q.tag_key} ${tag} · ${utcText(gpsToUnix(g))} UTC · GPS ${Math.floor(g)} · ${q.column} ${numText(v)}`;
    }

    async function update() {
      const { w, from, end } = nextSpan(p, dt);
      if (end <= from) return;
      const res = await getJSON(apiUrl("heatmap", q, from, end, { dt, tagKey: true }));
      p.fetches++;
      p.ok();
      const tr = (res && res[0]) || { x: [], y: [], z: [] };
      // keep columns before `from`, replace the rest with the answer's (the last one may have been incomplete)
      let k = st.xs.length;
      while (k > 0 && st.xs[k - 1] >= from) k--;
      const newX = tr.x || [];
      const names = new Set([...st.tags, ...(tr.y || []).map(String)]);
      const index = new Map((tr.y || []).map((t, i) => [String(t), i]));
      for (const tag of names) {
        const old = (st.rows.get(tag) || []).slice(0, k);
        while (old.length < k) old.push(null);
        const zi = index.get(tag);
        const fresh = zi == null ? newX.map(() => null) : (tr.z[zi] || []).map((v) => (v == null || !Number.isFinite(v) ? null : v));
        st.rows.set(tag, old.concat(fresh));
      }
      const lastBefore = st.xs.length ? st.xs[st.xs.length - 1] : null;
      st.xs = st.xs.slice(0, k).concat(newX);
      // drop columns that left the window
      let d = 0;
      while (d < st.xs.length && st.xs[d] + dt <= w.start) d++;
      if (d) {
        st.xs = st.xs.slice(d);
        for (const [tag, row] of st.rows) st.rows.set(tag, row.slice(d));
      }
      const before = st.tags.length;
      st.tags = [...names].sort();
      p.prevEnd = end;
      if (!p.u || before !== st.tags.length) build();
      render();
      if (!p.zoom) p.describe();
      p.u.setData([st.xs.map(gpsToUnix), st.xs.map(() => null)]);
      let cells = 0;
      for (const row of st.rows.values()) for (const v of row) if (v != null) cells++;
      const appended = lastBefore == null ? 0 : st.xs.filter((x) => x > lastBefore).length;
      p.report(cells, st.xs.length ? st.xs[st.xs.length - 1] : null, appended);
    }
    return { p, update };
  }

  function colorBar(fig) {
    const lo = h("span", { class: "cb-lo" }), hi = h("span", { class: "cb-hi" }), label = h("span", { class: "cb-label" });
    const canvas = h("canvas", { class: "cb", width: 96, height: 8 });
    const g = canvas.getContext("2d");
    for (let x = 0; x < 96; x++) {
      const k = Math.round((x / 95) * 255) * 3;
      g.fillStyle = `rgb(${LUT[k]},${LUT[k + 1]},${LUT[k + 2]})`;
      g.fillRect(x, 0, 1, 8);
    }
    fig.querySelector("figcaption").append(h("span", { class: "colorbar" }, label, lo, canvas, hi));
    return { update: (a, b, l) => {
      lo.textContent = a;
      hi.textContent = b;
      label.textContent = l;
    } };
  }

  // -- Bar: the latest value per tag value ("latest" view), refreshed every poll.

  function latestBars(fig, cfg) {
    const p = panel(fig, cfg);
    const q = cfg.query;
    let names = [];
    p.describe = () => (p.meta.textContent = `latest value per ${q.tag_key || "tag"}`);
    p.describe();

    function build() {
      if (p.u) p.u.destroy();
      p.u = new uPlot({
        ...p.size(),
        scales: { x: { time: false, range: () => [-0.5, Math.max(names.length, 1) - 0.5] }, y: { range: yRange(cfg.thresholds, true) } },
        series: [{ label: q.tag_key || "tag", value: (u, v) => (v == null ? "–" : String(names[v] ?? "")) },
          { label: q.column, fill: "#0072B2cc", stroke: "#0072B2", width: 1, paths: uPlot.paths.bars({ size: [0.7, 60] }),
            points: { show: false }, value: (u, v) => numText(v) }],
        axes: [{ label: q.tag_key || "tag", labelSize: 14, labelFont: "11px system-ui, sans-serif", font: "11px system-ui, sans-serif",
          size: 26, splits: () => names.map((_, i) => i), values: (u, splits) => splits.map((i) => String(names[i] ?? "")), grid: { show: false } },
        valueAxis(cfg.ylabel)],
        hooks: { draw: [(u) => drawThresholds(u, cfg.thresholds)] },
      }, [[], []], p.body);
      p.fit();
    }

    async function update() {
      const w = currentWindow();
      const res = await getJSON(apiUrl("latest", q, w.start, w.end, { tagKey: true }));
      p.fetches++;
      p.ok();
      const tr = (res && res[0]) || { x: [], y: [] };
      const fresh = (tr.x || []).map(String);
      if (!p.u || fresh.join("\u0000") !== names.join("\u0000")) {
        names = fresh;
        build();
      }
      const ys = (tr.y || []).map((v) => (v == null || !Number.isFinite(v) ? null : v));
      p.u.setData([names.map((_, i) => i), ys]);
      p.report(ys.filter((v) => v != null).length);
    }
    return { p, update };
  }

  function unsupported(fig, cfg) {
    fig.dataset.state = "unsupported";
    fig.querySelector(".plot-msg").textContent = cfg.query
      ? `Plot type ${cfg.type} is not drawn by this dashboard yet (TimeSeries, TimeHeatMap and Bar are).`
      : `Plot ${cfg.name} has no usable schema.`;
  }

  function startPlots() {
    const grid = document.getElementById("plot-grid");
    if (!grid || !ctx.plots) return;
    const live = ctx.window && ctx.window.mode === "online";
    for (const cfg of ctx.plots) {
      const fig = document.getElementById(cfg.id);
      if (!fig) continue;
      place(fig, cfg.grid || {});
      if (!cfg.supported || !cfg.query) {
        unsupported(fig, cfg);
        continue;
      }
      const make = { TimeSeries: timeSeries, TimeHeatMap: heatMap, Bar: latestBars }[cfg.type];
      const plot = make(fig, cfg);
      const run = async () => {
        try {
          await plot.update();
        } catch (e) {
          plot.p.fail(e);
          throw e;
        }
      };
      if (live) every(ctx.poll.plots, run);
      else run().catch((e) => console.warn("scald:", e));
    }
  }

  /** Picking a lookback switches to the live view at once (the inline-script-free way: CSP allows no onchange=). */
  function lookbackPicker() {
    const select = document.getElementById("lookback-select");
    if (!select) return;
    select.addEventListener("change", () => {
      for (const name of ["start", "end"]) {
        const input = select.form.elements[name];
        if (input) input.disabled = true; // not submitted: a live view
      }
      select.form.submit();
    });
  }

  function windowText() {
    const el = document.getElementById("window-text");
    if (!el || !ctx.window) return;
    const update = () => {
      const w = currentWindow();
      el.textContent = `${w.live ? "live" : "historical"} · ${utcText(gpsToUnix(w.start))} – ${utcText(gpsToUnix(w.end), false)} UTC · GPS ${Math.floor(w.start)}–${Math.ceil(w.end)}`;
    };
    update();
    if (ctx.window.mode === "online") setInterval(update, 1000);
  }

  startClock();
  checkListeners.push(navSummary, statusChips);
  startBoard();
  windowText();
  lookbackPicker();
  startPlots();
  startChecks();
})();
