/*
 * BinnedTimeHistogram (ligo-scald's plotly histogram2d): counts of a schema's points per time bin and value bin.
 * Value bins are the schema's `ybin` wide from `ybin_start` to `ybin_end` (else 20 over the data); time bins are
 * `tbin` × dt seconds (ligo-scald's xbins.size), aligned so that they stay put as a live window slides. The points
 * stream like a TimeSeries; the counts are recomputed from them (data.histogram2d) and drawn as heatmap cells.
 */
import { dataUrl, getJSON } from "../api.js";
import { plotLevel } from "../levels.js";
import { numText } from "../text.js";
import { utcText } from "../time.js";
import { cellImage, paintImage, rowPlot } from "./cells.js";
import { describeWindow, panel, windows, zoomable } from "./common.js";
import { cellAt, colourLut, dropBefore, heatImage, histogram2d, mergeTail, nextSpan } from "./data.js";

const LUT = colourLut();

export function binnedHistogram(fig, cfg, env) {
  const { ctx, clock } = env;
  const p = panel(fig, cfg, env);
  const q = cfg.query;
  const s = cfg.settings || {};
  const win = windows(env);
  const dt = q.aggregate ? plotLevel(ctx.window.lookback, p.body.clientWidth, ctx, 2) : null;
  const tbinS = Math.max(1, Number(s.tbin) || 10) * (dt || 1);
  const traces = new Map();
  let st = { xs: [], rows: new Map(), tags: [] }, image = null;
  p.describe = () => {
    describeWindow(p, win.current(), dt);
    p.meta.textContent += ` · ${numText(tbinS)} s × ${s.ybin != null ? numText(s.ybin) : "auto"} bins`;
  };
  p.describe();
  const zoom = zoomable(p, win.currentUnix);

  function build() {
    if (p.u) p.u.destroy();
    p.u = rowPlot(p, { clock, zoom, title: cfg.title, label: cfg.ylabel || q.column, axisSize: 64,
                       rows: () => st.tags, paint: (u) => paintImage(u, image, clock), readout });
    zoom.attach(p.u);
    p.fit();
  }

  function render() {
    image = cellImage(heatImage(st, tbinS, (v) => v, LUT));
  }

  function readout(u) {
    const { left, top } = u.cursor;
    if (left == null || left < 0 || !st.xs.length) return (p.readout.textContent = "");
    const g = clock.unixToGps(u.posToVal(left, "x"));
    const { tag, value } = cellAt(st, g, st.tags.length - 1 - Math.round(u.posToVal(top, "y")), tbinS);
    p.readout.textContent = tag == null ? "" : `${q.column} ${tag} · from ${utcText(clock.gpsToUnix(Math.floor(g / tbinS) * tbinS))} UTC · ${value || 0} points`;
  }

  async function update() {
    const w = win.current();
    const { from, end } = nextSpan(w, p.prevEnd, dt, ctx.poll.plots);
    if (end <= from) return;
    const res = await getJSON(dataUrl(ctx.api, "timeseries", q, from, end, { dt, tags: q.tags }));
    p.fetches++;
    p.ok();
    for (const tr of res || []) {
      const name = tr.name != null ? String(tr.name) : "all";
      if (!traces.has(name)) traces.set(name, { x: [], y: [] });
      mergeTail(traces.get(name), tr.x || [], tr.y || [], from);
    }
    for (const t of traces.values()) dropBefore(t, w.start);
    p.prevEnd = end;
    const before = st.tags.join("\u0000");
    st = histogram2d([...traces.values()], { tbinS, ybin: Number(s.ybin) || null, yStart: s.ybin_start, yEnd: s.ybin_end, start: w.start, end: w.end });
    if (!p.u || before !== st.tags.join("\u0000")) build();
    render();
    if (!p.zoom) p.describe();
    p.u.setData([st.xs.map(clock.gpsToUnix), st.xs.map(() => null)]);
    fig.dataset.counted = String(st.total);
    let newest = null;
    for (const t of traces.values()) if (t.x.length && (newest == null || t.x[t.x.length - 1] > newest)) newest = t.x[t.x.length - 1];
    p.report(st.total, newest, 0);
  }
  return { p, update };
}
