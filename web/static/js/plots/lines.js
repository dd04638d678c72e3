/*
 * Line plots over several schemas (ligo-scald's sub-schema forms, ctx plot.subs from serve/pages.py):
 * - MultiSchema: one line set per sub-schema (`schema1`, `schema2`, ...), one y axis; a sub-schema's `name` names
 *   its line, and data_options keyed by that name style it (plotly's per-trace options).
 * - MultiAxis: each `axisN` on its own y axis (the first on the left, the second on the right, further ones
 *   alternating outside them), titled by layout.yaxisN.title as in ligo-scald.
 * - TimeSegment: the `timeseries` entry as lines over a strip of the `segment` entry's runs (/api/segment), on
 *   (green) and off (red) or data_options.segment.colorscale's two ends, and no strip where there is no data.
 * Every sub-schema streams as a TimeSeries does: the window first, then only the tail, points that left dropped.
 */
import { dataUrl, getJSON } from "../api.js";
import { plotLevel } from "../levels.js";
import { numText } from "../text.js";
import { utcText } from "../time.js";
import { FONT, PALETTE, describeWindow, newestValue, panel, timeAxis, timeLegend, valueAxis, windows, zoomable } from "./common.js";
import { countNewer, dropBefore, mergeTail, newestX, nextSpan, segmentRuns, traceStyle, typicalStep, withGaps } from "./data.js";

const SEGMENT_COLOURS = ["#cf222e", "#2da44e"];
/** The segment strip's share of the plot area's height (the lines keep the rest). */
const STRIP = 0.12;

/** The two colours of a segment strip: plotly's colorscale [[0, off], [1, on]] when given, else red/green. */
export function segmentColours(opts) {
  const cs = opts && Array.isArray(opts.colorscale) ? opts.colorscale : null;
  if (cs && cs.length >= 2 && Array.isArray(cs[0]) && Array.isArray(cs[cs.length - 1])) {
    return [String(cs[0][1]), String(cs[cs.length - 1][1])];
  }
  return SEGMENT_COLOURS;
}

function lines(fig, cfg, env, mode) {
  const { ctx, clock } = env;
  const p = panel(fig, cfg, env);
  const win = windows(env);
  const subs = cfg.subs || [];
  const lineSubs = subs.filter((s) => s.route === "timeseries");
  const segSub = mode === "segment" ? subs.find((s) => s.route === "segment") : null;
  const aggregated = subs.some((s) => s.query.aggregate);
  const dt = aggregated ? plotLevel(ctx.window.lookback, p.body.clientWidth, ctx, 2) : null;
  // traces: key "<sub index>\u0000<trace name>" -> {x, y, sub, label}
  const traces = new Map();
  const seg = { x: [], y: [] };
  let seriesKey = "";
  const dataOptions = cfg.data_options || {};
  p.describe = () => describeWindow(p, win.current(), dt);
  p.describe();
  const zoom = zoomable(p, win.currentUnix);
  const axisScale = (si) => (mode === "axes" && si > 0 ? `y${si + 1}` : "y");

  function label(s, si, name) {
    // A sub-schema's own name labels its line (ligo-scald's _add_label); several lines of one sub add the tag.
    if (name === "all" || name == null || (s.query.tags && s.query.tags.length === 1)) return s.name;
    return lineSubs.length > 1 || mode === "axes" ? `${s.name} ${name}` : name;
  }

  function build(keys) {
    if (p.u) p.u.destroy();
    const scales = { x: { time: true, range: zoom.range } };
    const axes = [timeAxis(clock)];
    lineSubs.forEach((s, si) => {
      const key = axisScale(si);
      if (scales[key]) return;
      scales[key] = { distr: s.axis.log ? 3 : 1, log: 10 };
      if (mode === "segment") scales[key].range = (u, min, max) => stripRange(min, max);
      const ax = valueAxis(s.axis.title || (si === 0 ? cfg.ylabel : s.name));
      ax.scale = key;
      if (si > 0) Object.assign(ax, { side: 1, grid: { show: false } });
      axes.push(ax);
    });
    if (axes.length === 1) axes.push(valueAxis(cfg.ylabel));
    const series = [timeLegend(clock), ...keys.map((k, i) => {
      const t = traces.get(k);
      const st = traceStyle(Object.keys(t.s.data_options || {}).length ? { ...dataOptions, ...t.s.data_options } :
        (mode === "segment" ? dataOptions.timeseries : dataOptions), t.label, i, PALETTE);
      return { label: t.label, scale: axisScale(t.si), stroke: st.stroke, width: st.width, value: newestValue,
        points: { show: st.markers, size: 4, fill: st.stroke }, ...(st.line ? {} : { paths: () => null }) };
    })];
    p.u = new uPlot({
      ...p.size(), padding: [8, 28, 0, 0], scales, series, axes,
      cursor: { drag: { x: true, y: false, setScale: false } }, legend: { live: true },
      hooks: { setSelect: [zoom.hook], draw: segSub ? [paintStrip] : [], setCursor: segSub ? [readout] : [] },
    }, [[]], p.body);
    zoom.attach(p.u);
    p.fit();
  }

  /** The lines' y range, widened below so that the strip at the bottom does not cover them. */
  function stripRange(min, max) {
    if (min == null || max == null) return [0, 1];
    const span = max - min || Math.abs(max) || 1;
    const lo = min - span * 0.05, hi = max + span * 0.05;
    return [lo - ((hi - lo) * STRIP) / (1 - STRIP) - span * 0.02, hi];
  }

  function runs() {
    return segmentRuns(seg.x, seg.y, dt || typicalStep([seg]));
  }

  function paintStrip(u) {
    const colours = segmentColours(dataOptions.segment || segSub.data_options);
    const { left, top, width, height } = u.bbox;
    const c = u.ctx;
    const h = Math.max(6, height * STRIP);
    c.save();
    c.beginPath();
    c.rect(left, top, width, height);
    c.clip();
    for (const r of runs()) {
      const xa = u.valToPos(clock.gpsToUnix(r.start), "x", true), xb = u.valToPos(clock.gpsToUnix(r.end), "x", true);
      c.fillStyle = colours[r.value];
      c.fillRect(xa, top + height - h, Math.max(1, xb - xa), h);
    }
    c.restore();
  }

  function readout(u) {
    const { left } = u.cursor;
    if (left == null || left < 0) return (p.readout.textContent = "");
    const g = clock.unixToGps(u.posToVal(left, "x"));
    const r = runs().find((x) => g >= x.start && g < x.end);
    p.readout.textContent = r ? `${segSub.name} ${r.value ? "on" : "off"} · ${utcText(clock.gpsToUnix(r.start))}–` +
      `${utcText(clock.gpsToUnix(r.end))} UTC (${numText(r.end - r.start)} s)` : `${segSub.name}: no segment here`;
  }

  async function fetchSub(s, si, from, end) {
    const res = await getJSON(dataUrl(ctx.api, s.route, s.query, from, end, { dt: s.query.aggregate ? dt : null, tags: s.query.tags }));
    p.fetches++;
    if (s.route === "segment") {
      const tr = (res && res[0]) || { x: [], z: [[]] };
      mergeTail(seg, tr.x || [], (tr.z && tr.z[0]) || [], from);
      return;
    }
    for (const tr of res || []) {
      const name = tr.name != null ? String(tr.name) : "all";
      const key = `${si}\u0000${name}`;
      if (!traces.has(key)) traces.set(key, { x: [], y: [], s, si, label: label(s, si, name) });
      const t = traces.get(key);
      const ys = s.axis.log ? (tr.y || []).map((v) => (v > 0 ? v : null)) : tr.y || [];
      mergeTail(t, tr.x || [], ys, from);
    }
  }

  async function update() {
    const w = win.current();
    const { from, end } = nextSpan(w, p.prevEnd, dt, ctx.poll.plots);
    if (end <= from) return;
    const before = newestX(traces.values());
    await Promise.all([...lineSubs.map((s, si) => fetchSub(s, si, from, end)), ...(segSub ? [fetchSub(segSub, -1, from, end)] : [])]);
    p.ok();
    for (const t of [...traces.values(), seg]) dropBefore(t, w.start - (dt || 0));
    p.prevEnd = end;
    if (!p.zoom) p.describe();
    const keys = [...traces.keys()].sort();
    if (!p.u || keys.join("\u0001") !== seriesKey) {
      seriesKey = keys.join("\u0001");
      build(keys);
    }
    const list = keys.map((k) => traces.get(k));
    const limit = 3 * (dt || typicalStep(list));
    const data = list.length ? uPlot.join(list.map((t) => withGaps(t, limit, clock.gpsToUnix)), list.map(() => [2, 2])) : [[]];
    p.u.setData(data);
    let points = seg.x.length;
    for (const t of list) points += t.x.length;
    p.report(points, newestX([...traces.values(), seg]), before == null ? 0 : countNewer(traces.values(), before));
    if (segSub) fig.dataset.segments = String(runs().length);
  }
  return { p, update };
}

export const multiSchema = (fig, cfg, env) => lines(fig, cfg, env, "schemas");
export const multiAxis = (fig, cfg, env) => lines(fig, cfg, env, "axes");
export const timeSegment = (fig, cfg, env) => lines(fig, cfg, env, "segment");
