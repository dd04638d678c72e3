/*
 * TimeSeries: one line per tag value (the schema's expected tags, else the tag values /api/latest finds; more
 * than MAX_TRACES: one line, the reduction across tags). The first request reads the window; every poll after
 * that only the tail is read and appended, and points that left the window are dropped.
 */
import { dataUrl, getJSON } from "../api.js";
import { plotLevel } from "../levels.js";
import { PALETTE, describeWindow, drawThresholds, newestValue, panel, timeAxis, timeLegend, valueAxis, windows,
  yRangeOf, zoomable } from "./common.js";
import { countNewer, dropBefore, mergeTail, newestX, nextSpan, typicalStep, withGaps } from "./data.js";

/** More tag values than this: plot the reduction across tags (one line) instead. */
export const MAX_TRACES = 16;

export function timeSeries(fig, cfg, env) {
  const { ctx, clock } = env;
  const p = panel(fig, cfg, env);
  const q = cfg.query;
  const win = windows(env);
  // About two buckets per pixel (the server's exact max/min per bucket keeps every spike), within the API's
  // budget; raw points when the plot names no aggregate.
  const dt = q.aggregate ? plotLevel(ctx.window.lookback, p.body.clientWidth, ctx, 2) : null;
  const traces = new Map();
  let tags, seriesKey = "";
  p.describe = () => describeWindow(p, win.current(), dt);
  p.describe();
  const zoom = zoomable(p, win.currentUnix);

  async function discoverTags() {
    if (q.tags && q.tags.length) return q.tags.length <= MAX_TRACES ? q.tags : null;
    if (!q.tag_key) return null;
    const w = win.current();
    const res = await getJSON(dataUrl(ctx.api, "latest", q, w.start, w.end, { tagKey: true }));
    const names = (res && res[0] && res[0].x) || [];
    return names.length && names.length <= MAX_TRACES ? names.map(String).sort() : null;
  }

  function build(names) {
    if (p.u) p.u.destroy();
    const across = tags ? null : `${q.aggregate || "all"} across ${q.tag_key || "tags"}`;
    p.u = new uPlot({
      ...p.size(),
      padding: [8, 28, 0, 0], // room for the last tick's GPS label
      scales: { x: { time: true, range: zoom.range }, y: { range: yRangeOf(cfg.thresholds) } },
      series: [timeLegend(clock), ...names.map((n, i) => ({
        label: across && names.length === 1 ? across : n, stroke: PALETTE[i % PALETTE.length], width: 1.25,
        points: { show: false }, value: newestValue,
      }))],
      axes: [timeAxis(clock), valueAxis(cfg.ylabel)],
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
    const data = list.length ? uPlot.join(list.map((t) => withGaps(t, limit, clock.gpsToUnix)), list.map(() => [2, 2])) : [[]];
    let points = 0;
    for (const t of list) points += t.x.length;
    p.u.setData(data);
    p.report(points, newest, appended);
  }

  async function update() {
    if (tags === undefined) tags = await discoverTags();
    const w = win.current();
    const { from, end } = nextSpan(w, p.prevEnd, dt, ctx.poll.plots);
    if (end <= from) return;
    const res = await getJSON(dataUrl(ctx.api, "timeseries", q, from, end, { dt, tags }));
    p.fetches++;
    p.ok();
    const before = newestX(traces.values());
    for (const tr of res || []) {
      const name = tr.name != null ? String(tr.name) : "all";
      if (!traces.has(name)) traces.set(name, { x: [], y: [] });
      mergeTail(traces.get(name), tr.x || [], tr.y || [], from);
    }
    for (const t of traces.values()) dropBefore(t, w.start - (dt || 0));
    p.prevEnd = end;
    if (!p.zoom) p.describe();
    draw(newestX(traces.values()), before == null ? 0 : countNewer(traces.values(), before));
  }
  return { p, update };
}
