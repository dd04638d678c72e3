/*
 * The status board (/status): every check from the /api/checks poll, filtered and sorted, rows expandable into
 * the check's details (/api/checks/<name>) and state timeline (/api/checks/<name>/history).
 *
 * Rows are keyed by check name and updated in place (dom.syncKeyed/morph), so a poll keeps keyboard focus,
 * expanded rows and an open "as text" list where they are. Each expanded row costs one details request per poll
 * (never two in flight); its history is requested when the row opens and again only when the check's state
 * changed since (the timeline's end is the page clock's "now", not the history's).
 */
import { checkUrl, getJSON } from "./api.js";
import { h, syncKeyed } from "./dom.js";
import { boardCompare, boardMatches, lastChangeUnix, staleness } from "./states.js";
import { agoText, numText } from "./text.js";
import { utcText } from "./time.js";
import { timeline } from "./timeline.js";
import { TRIAL_KEYS, TRIAL_WINDOWS, trialChanges, trialSummary, trialUrl } from "./trial.js";
import { badge, liveBadge, markBadges } from "./widgets.js";

/** What in a details answer means "the history may have changed": the reported state and when it last changed. */
function historyKey(d) {
  const doc = (d && d.document) || {};
  return JSON.stringify([d && d.state, d && d.state_type, doc.state_type, doc.last_change, doc.last_hard_change,
    doc.attempt]);
}

export function startBoard(env) {
  const { ctx, states, clock, feed, debug } = env;
  const tbody = document.getElementById("board-rows");
  if (!tbody) return;
  const board = { sort: "state", dir: 1, filter: "", hidden: new Set(), open: new Set(), details: new Map(),
    history: new Map(), historyKey: new Map(), inflight: new Set(), checks: null, failing: false, scrolled: false,
    trials: new Map() };
  debug.board = board;
  debug.timelines = {};
  debug.trials = {};
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

  const stale = (c) => staleness(c, clock.unixNow(), board.failing);

  function stateFilters(checks) {
    const n = states.count(checks, (c) => stale(c) != null);
    const box = document.getElementById("state-filters");
    const buttons = states.worstFirst.map((s) => h("button", {
      type: "button", class: `sf s-${s}`, "data-key": `state:${s}`, "aria-pressed": board.hidden.has(s) ? "false" : "true",
      title: `Show/hide ${s} checks`,
      onclick: () => {
        if (board.hidden.has(s)) board.hidden.delete(s);
        else board.hidden.add(s);
        render();
      },
    }, `${s} ${n[s]}`));
    if (n.STALE) {
      buttons.push(h("span", { class: "badge stale", "data-key": "stale", title: "Checks whose summary is stale" },
        `STALE ${n.STALE}`));
    }
    syncKeyed(box, buttons);
  }

  function lastChangeCell(c) {
    const u = lastChangeUnix(c, clock.gpsToUnix);
    if (u == null) {
      return h("td", { class: "when" }, h("div", { class: "muted" }, "no change recorded"),
        c.created_unix != null ? h("div", { class: "sub" }, `checked ${utcText(c.created_unix)} UTC`) : null);
    }
    return h("td", { class: "when" }, h("div", { class: "ago", "data-unix": u }, agoText(clock.unixNow() - u)),
      h("div", { class: "sub" }, `${utcText(u)} UTC · GPS ${Math.floor(clock.unixToGps(u))}`));
  }

  /** The summary cell; a stale one is greyed and says since when it holds ("stale · as of <UTC>") and why. */
  function summaryCell(c, why) {
    const text = c.summary == null ? "" : String(c.summary);
    if (why == null) return h("td", { class: "summary" }, text);
    const asOf = Number.isFinite(c.created_unix) ? `stale · as of ${utcText(c.created_unix)} UTC` : "stale · time unknown";
    return h("td", { class: "summary is-stale", title: why }, h("div", { class: "summary-text" }, text),
      h("div", { class: "as-of" }, asOf));
  }

  function row(c) {
    const s = states.stateOf(c);
    const why = stale(c);
    const open = board.open.has(c.name);
    const toggle = h("button", { type: "button", class: "toggle", "aria-expanded": open ? "true" : "false",
      "aria-label": `${open ? "Hide" : "Show"} details of ${c.name}`, title: "Per-tag results and performance data",
      onclick: () => {
        if (board.open.has(c.name)) board.open.delete(c.name);
        else {
          board.open.add(c.name);
          loadDetails(c.name);
        }
        render();
      } }, open ? "▾" : "▸");
    const sub = [c.type, c.schema, c.problems ? `${c.problems} tag${c.problems > 1 ? "s" : ""} failing` : null]
      .filter(Boolean).join(" · ");
    return h("tr", { class: `row s-${s}${why != null ? " is-stale" : ""}`, id: `check-${c.name}`, "data-key": `row:${c.name}` },
      h("td", { class: "col-toggle" }, toggle),
      h("td", { class: "state" }, badge(s), c.source === "evaluated" ? liveBadge(c) : null,
        why != null ? h("span", { class: "badge stale", title: `Stale: ${why}` }, "STALE") : null, markBadges(c)),
      h("td", { class: "name" }, h("div", { class: "check-name" }, String(c.name)), sub ? h("div", { class: "sub" }, sub) : null),
      summaryCell(c, why),
      lastChangeCell(c));
  }

  /** One details request per expanded row per poll (skipped while the last one is still out); the history only
   *  when the row opens or the check's state changed since it was read. */
  async function loadDetails(name) {
    if (board.inflight.has(name)) return;
    board.inflight.add(name);
    try {
      let d;
      try {
        d = await getJSON(checkUrl(ctx.api, name));
      } catch (e) {
        board.details.set(name, { error: e.message });
        return;
      }
      board.details.set(name, d);
      const key = historyKey(d);
      if (!board.history.has(name) || board.history.get(name).error || board.historyKey.get(name) !== key) {
        const hist = await getJSON(checkUrl(ctx.api, name, "history")).catch((e) => ({ error: e.message }));
        board.history.set(name, hist);
        // The daemon writes the status file and the state file one after the other: a history that does not end
        // in the state just reported may predate it, so it is read again at the next poll.
        const changes = Array.isArray(hist.changes) ? hist.changes : [];
        const last = changes[changes.length - 1];
        const behind = d.source === "status_file" && (!last || last.state !== d.state || last.state_type !== d.state_type);
        board.historyKey.set(name, behind ? null : key);
      }
    } finally {
      board.inflight.delete(name);
      if (board.open.has(name)) render();
    }
  }

  function render() {
    const checks = board.checks;
    if (!checks) return;
    stateFilters(checks);
    const shown = checks.filter((c) => boardMatches(states, c, board.hidden, board.filter))
      .sort(boardCompare(states, board.sort, board.dir, clock.gpsToUnix));
    const rows = [];
    for (const c of shown) {
      rows.push(row(c));
      if (board.open.has(c.name)) {
        rows.push(h("tr", { class: "details", "data-key": `details:${c.name}` },
          h("td", { colspan: 5 }, details(c, board.details.get(c.name), board.history.get(c.name)))));
      }
    }
    if (!rows.length) rows.push(h("tr", { "data-key": "empty" }, h("td", { colspan: 5, class: "muted" },
      checks.length ? "No check matches the filter." : "No checks are configured.")));
    syncKeyed(tbody, rows);
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

  /** The expanded row: state-machine facts, settings, state timeline, per-tag results (worst first), perfdata,
   *  links to the raw JSON. */
  function details(c, d, hist) {
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
    if (doc.created_gps != null) fact("result of", `${utcText(clock.gpsToUnix(doc.created_gps))} UTC · GPS ${Math.floor(doc.created_gps)}`);
    if (d.expires_unix != null) fact("valid until", `${utcText(d.expires_unix)} UTC`);
    if (set.aggregate) fact("aggregate", set.aggregate);
    if (set.lookback) fact("look-back", `${set.lookback} s`);
    if (set.warning != null) fact("warning", `${set.warning}${set.units ? ` (${set.units})` : ""}`);
    if (set.critical != null) fact("critical", `${set.critical}${set.units ? ` (${set.units})` : ""}`);
    if (d.source) fact("from", d.source === "status_file" ? "daemon's status file" : d.note || d.source);
    const desc = d.description || doc.ok_txt;
    box.append(h("div", { class: "facts" }, facts), desc ? h("p", { class: "desc" }, String(desc)) : null,
      timeline(hist, clock.unixNow(), states.names, (segments) => (debug.timelines[c.name] = segments)),
      trialBox(c.name, set));

    const tags = Array.isArray(d.tags) ? d.tags.slice() : [];
    if (tags.length) {
      const name = (t) => states.names[t.state] || "UNKNOWN";
      tags.sort((a, b) => states.rank(name(b)) - states.rank(name(a)) || String(a.label).localeCompare(String(b.label)));
      box.append(h("table", { class: "mini" },
        h("thead", {}, h("tr", {}, ["tag", "state", "value", "result", "last change"].map((k, i) => h("th", { class: i === 2 ? "num" : null }, k)))),
        h("tbody", {}, tags.map((t) => h("tr", {},
          h("td", { class: "check-name" }, String(t.label ?? "")),
          h("td", {}, badge(name(t)), t.state_type === "SOFT" ? h("span", { class: "sub" }, " soft") : null),
          h("td", { class: "num" }, numText(t.value)), h("td", {}, String(t.text ?? "")),
          h("td", { class: "sub" }, t.last_change == null ? "" : `${agoText(clock.unixNow() - t.last_change)} · ${utcText(t.last_change)} UTC`))))));
    }
    const perf = doc.performance_metrics && typeof doc.performance_metrics === "object" ? Object.entries(doc.performance_metrics) : [];
    if (perf.length) {
      box.append(h("table", { class: "mini perf" },
        h("thead", {}, h("tr", {}, ["perfdata", "value", "warn", "crit", "min", "max"].map((k, i) => h("th", { class: i ? "num" : null }, k)))),
        h("tbody", {}, perf.map(([label, v]) => h("tr", {}, h("td", { class: "check-name" }, label),
          (Array.isArray(v) ? v : [v]).concat(["", "", "", "", ""]).slice(0, 5).map((x) => h("td", { class: "num" }, x == null ? "" : String(x))))))));
    }
    box.append(h("div", { class: "links" }, h("a", { href: checkUrl(ctx.api, c.name) }, "check JSON"), " · ",
      h("a", { href: checkUrl(ctx.api, c.name, "history") }, "history JSON"), " · ",
      h("a", { href: checkUrl(ctx.api, c.name, "nagios") }, "Nagios status document")));
    return box;
  }

  /** "Try thresholds": the form (its values kept per check across polls) and the replay drawn under the live
   *  timeline. Nothing is saved: the config file stays where settings live. */
  function trialBox(name, set) {
    if (!board.trials.has(name)) {
      board.trials.set(name, { form: { last: "6h", warning: set.warning ?? "", critical: set.critical ?? "",
        for: set.for ? String(set.for) : "" }, doc: null, error: null, busy: false });
    }
    const t = board.trials.get(name);
    const field = (key, label, size) => h("label", {}, `${label} `, h("input", { type: "text", name: key, size,
      value: t.form[key], "aria-label": `${label} to try`, oninput: (e) => { t.form[key] = e.target.value; } }));
    const form = h("form", { class: "trial", "data-key": "trial-form", onsubmit: (e) => { e.preventDefault(); runTrial(name); } },
      h("b", {}, "try thresholds"), " ", ...TRIAL_KEYS.map((k) => field(k, k, k === "for" ? 5 : 9)), " ",
      h("label", {}, "over the last ", h("select", { name: "last", "aria-label": "window to replay",
        onchange: (e) => { t.form.last = e.target.value; } },
      TRIAL_WINDOWS.map((w) => h("option", { value: w, selected: w === t.form.last }, w)))), " ",
      h("button", { type: "submit", disabled: t.busy }, t.busy ? "replaying…" : "replay"));
    const out = h("div", { class: "trial-result", "data-key": "trial-result" });
    if (t.error) out.append(h("span", { class: "err" }, t.error));
    else if (t.doc) {
      out.append(timeline(trialChanges(t.doc, clock.gpsToUnix, states.names), clock.gpsToUnix(t.doc.end), states.names,
        (segments) => (debug.trials[name] = segments), "replayed with these settings"),
      h("div", { class: "sub trial-summary" }, trialSummary(t.doc)));
    }
    return h("div", { class: "trial-box" }, form, out);
  }

  async function runTrial(name) {
    const t = board.trials.get(name);
    if (!t || t.busy) return;
    t.busy = true;
    render();
    try {
      t.doc = await getJSON(trialUrl(ctx.api, name, t.form));
      t.error = null;
    } catch (e) {
      t.doc = null;
      t.error = e.message;
    } finally {
      t.busy = false;
      render();
    }
  }

  feed.listen((checks, err) => {
    const note = document.getElementById("board-updated");
    if (err) {
      board.failing = true;
      note.className = "window err";
      note.textContent = `API error: ${err.message} — retrying every ${ctx.poll.status} s` +
        (board.checks ? `; rows as of ${utcText(board.updated)} UTC` : "");
      render();
      return;
    }
    board.failing = false;
    board.checks = checks;
    board.updated = clock.unixNow();
    note.className = "window";
    note.textContent = `${checks.length} checks · updated ${utcText(board.updated, false)} UTC · every ${ctx.poll.status} s`;
    for (const name of board.open) loadDetails(name);
    render();
  });
  // relative times tick between polls, on the page's clock
  setInterval(() => {
    const now = clock.unixNow();
    for (const el of tbody.querySelectorAll(".ago[data-unix]")) el.textContent = agoText(now - Number(el.dataset.unix));
  }, 1000);
}
