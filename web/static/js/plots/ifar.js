/*
 * IFAR: the cumulative inverse false-alarm rate of the triggers in the window (/api/table; ligo-scald's IFAR plot
 * with its FAR table): for each trigger's IFAR = 1/far, how many triggers are at least that significant, as a
 * step line on log-log axes, beside the background expectation (window length / IFAR, dashed). Under it, the
 * triggers as a table: sortable by any column (click its header; again to reverse), the FAR cut editable
 * (settings.far is the server-side cut the data are read with; the box narrows it further in the page).
 * The schema's far_key (default `far`) and time_key (default `time`) name the columns; `lookback` its own window.
 */
import { getJSON, tableUrl } from "../api.js";
import { h, morph } from "../dom.js";
import { numText } from "../text.js";
import { gpsText, utcText } from "../time.js";
import { FONT, panel, valueAxis, windows } from "./common.js";
import { cumulativeIfar, decadeRange, decadeSplits, farCut, ifarBackground, mergeItems, sortRows, traceStyle } from "./data.js";

/** Rows shown in the table (the sort picks which: the most significant first by default). */
export const TABLE_ROWS = 100;

export function ifar(fig, cfg, env) {
  const { ctx, clock } = env;
  const p = panel(fig, cfg, env);
  const s = cfg.settings || {};
  const farKey = s.far_key || "far", timeKey = s.time_key || "time";
  const serverFar = s.far != null && Number.isFinite(Number(s.far)) ? Number(s.far) : null;
  const win = windows(env);
  const rows = new Map();
  let fields = [], sort = { key: farKey, desc: false }, cut = serverFar;
  const span = () => {
    const w = win.current();
    const lb = Number(s.lookback);
    return lb > 0 && ctx.window.mode === "online" ? { ...w, start: w.end - lb } : w;
  };
  p.describe = () => {
    const w = span();
    p.meta.textContent = `${w.live ? "live" : "historical"} · GPS ${Math.floor(w.start)}–${Math.ceil(w.end)}` +
      (serverFar != null ? ` · ${farKey} ≤ ${numText(serverFar)} Hz` : "");
  };
  p.describe();
  const box = h("div", { class: "trigger-table" });
  const cutInput = h("input", { type: "text", size: 9, value: cut != null ? String(cut) : "", "aria-label": `${farKey} cut (Hz)`,
    onchange: () => {
      const v = Number(cutInput.value);
      cut = cutInput.value.trim() === "" || !Number.isFinite(v) ? null : v;
      draw();
    } });
  const count = h("span", { class: "muted" });
  const tableHolder = h("div", {});
  box.append(h("div", { class: "tt-controls" }, h("label", {}, `${farKey} ≤ `, cutInput, " Hz"), count), tableHolder);
  fig.insertBefore(box, p.msg);

  function build() {
    if (p.u) p.u.destroy();
    const st = traceStyle(cfg.data_options, "triggers", 0, ["#0072B2"]);
    p.u = new uPlot({
      ...p.size(), padding: [8, 16, 0, 0],
      scales: { x: { time: false, distr: 3, log: 10, range: (u, a, b) => decadeRange(a, b) },
        y: { distr: 3, log: 10, range: (u, a, b) => decadeRange(a, b) } },
      series: [{ label: (cfg.xaxis && cfg.xaxis.title) || "IFAR [s]", value: (u, v) => numText(v) },
        { label: "triggers", stroke: st.stroke, width: st.width, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }), value: (u, v) => numText(v) },
        { label: "background", stroke: "#888", dash: [6, 4], width: 1, points: { show: false }, value: (u, v) => numText(v) }],
      axes: [{ label: (cfg.xaxis && cfg.xaxis.title) || "IFAR [s]", labelSize: 14, labelFont: FONT, font: FONT, size: 40,
        values: (u, splits) => splits.map(numText), splits: (u, ai, a, b) => decadeSplits(a, b) },
      { ...valueAxis(cfg.ylabel || "count"), splits: (u, ai, a, b) => decadeSplits(a, b) }],
      legend: { live: true },
    }, [[], [], []], p.body);
    p.fit();
  }

  function table(items) {
    const shown = sortRows(items, sort.key, sort.desc).slice(0, TABLE_ROWS);
    const head = h("tr", {}, fields.map((f) => h("th", { "aria-sort": f.key === sort.key ? (sort.desc ? "descending" : "ascending") : null },
      h("button", { type: "button", onclick: () => {
        sort = { key: f.key, desc: f.key === sort.key ? !sort.desc : false };
        draw();
      } }, String(f.label ?? f.key), f.key === sort.key ? (sort.desc ? " ▼" : " ▲") : ""))));
    const cell = (f, v) => (f.key === timeKey && typeof v === "number" ? `${utcText(clock.gpsToUnix(v))} · GPS ${gpsText(v)}`
      : typeof v === "number" ? numText(v) : String(v ?? ""));
    const body = shown.map((it) => h("tr", {}, fields.map((f) => h("td", {}, cell(f, it[f.key])))));
    return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
  }

  function draw() {
    const items = farCut([...rows.values()], farKey, cut);
    const cum = cumulativeIfar(items, farKey);
    const w = span();
    if (!p.u) build();
    p.u.setData([cum.x, cum.y, ifarBackground(cum.x, w.end - w.start)]);
    const fresh = table(items);
    const old = tableHolder.firstChild;
    if (old) morph(old, fresh); else tableHolder.append(fresh);
    count.textContent = `${items.length} of ${rows.size} triggers` + (items.length > TABLE_ROWS ? ` · first ${TABLE_ROWS} shown` : "");
    fig.dataset.rows = String(Math.min(items.length, TABLE_ROWS));
    p.report(cum.x.length, null, 0);
  }

  async function update() {
    const w = span();
    const from = p.prevEnd == null ? w.start : Math.max(w.start, p.prevEnd - 2 * ctx.poll.plots);
    if (w.end <= from) return;
    const res = await getJSON(tableUrl(ctx.api, cfg.query.measurement, from, w.end, { far: serverFar }));
    p.fetches++;
    p.ok();
    if (res && Array.isArray(res.fields) && res.fields.length) fields = res.fields;
    mergeItems(rows, (res && res.items) || [], Math.floor(from), w.start, timeKey);
    p.prevEnd = w.end;
    p.describe();
    draw();
  }
  return { p, update };
}
