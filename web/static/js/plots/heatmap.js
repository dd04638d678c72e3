/*
 * TimeHeatMap: tag × time cells, one pixel per cell in an offscreen canvas, stretched without smoothing over
 * uPlot's plot area in a draw hook (so uPlot's time axis, cursor and zoom are reused); viridis colours,
 * `scale: log` honoured, a colour bar in the title row, the value under the cursor. Streams like a TimeSeries.
 */
import { dataUrl, getJSON } from "../api.js";
import { h } from "../dom.js";
import { plotLevel } from "../levels.js";
import { numText } from "../text.js";
import { utcText } from "../time.js";
import { cellImage, paintImage, rowPlot } from "./cells.js";
import { describeWindow, panel, windows, zoomable } from "./common.js";
import { cellAt, cellCount, colourLut, heatImage, mergeColumns, nextSpan } from "./data.js";

const LUT = colourLut();

export function heatMap(fig, cfg, env) {
  const { ctx, clock } = env;
  const p = panel(fig, cfg, env);
  const q = cfg.query;
  const log = q.scale === "log";
  const win = windows(env);
  // At most one column per pixel of the plot area (the panel less its y axis): nearest-neighbour scaling of a
  // wider image would drop cells (and spikes).
  const dt = plotLevel(ctx.window.lookback, Math.max(100, p.body.clientWidth - 60), ctx, 1);
  const st = { xs: [], rows: new Map(), tags: [], image: null };
  p.describe = () => describeWindow(p, win.current(), dt);
  p.describe();
  const zoom = zoomable(p, win.currentUnix);
  const bar = colorBar(fig);
  const transform = (v) => (log ? (v > 0 ? Math.log10(v) : null) : v);

  function build() {
    if (p.u) p.u.destroy();
    p.u = rowPlot(p, { clock, zoom, title: cfg.title, label: q.tag_key || "tag", axisSize: 56, rows: () => st.tags,
                       paint: (u) => paintImage(u, st.image, clock), readout });
    zoom.attach(p.u);
    p.fit();
  }

  function render() {
    const img = heatImage(st, dt, transform, LUT);
    st.image = cellImage(img);
    if (!img) return;
    const fmt = (v) => (log ? `1e${numText(v)}` : numText(v));
    bar.update(fmt(img.lo), fmt(img.hi), `${q.column}${log ? " (log)" : ""}`);
  }

  function readout(u) {
    const { left, top } = u.cursor;
    if (left == null || left < 0 || !st.xs.length) return (p.readout.textContent = "");
    const g = clock.unixToGps(u.posToVal(left, "x"));
    const { tag, value } = cellAt(st, g, st.tags.length - 1 - Math.round(u.posToVal(top, "y")), dt);
    p.readout.textContent = tag == null ? ""
      : `${q.tag_key} ${tag} · ${utcText(clock.gpsToUnix(g))} UTC · GPS ${Math.floor(g)} · ${q.column} ${numText(value)}`;
  }

  async function update() {
    const w = win.current();
    const { from, end } = nextSpan(w, p.prevEnd, dt, ctx.poll.plots);
    if (end <= from) return;
    const res = await getJSON(dataUrl(ctx.api, "heatmap", q, from, end, { dt, tagKey: true }));
    p.fetches++;
    p.ok();
    const before = st.tags.length;
    const appended = mergeColumns(st, (res && res[0]) || { x: [], y: [], z: [] }, from, w.start, dt);
    p.prevEnd = end;
    if (!p.u || before !== st.tags.length) build();
    render();
    if (!p.zoom) p.describe();
    p.u.setData([st.xs.map(clock.gpsToUnix), st.xs.map(() => null)]);
    p.report(cellCount(st), st.xs.length ? st.xs[st.xs.length - 1] : null, appended);
  }
  return { p, update };
}

/** The colour bar in the title row: low value, the viridis ramp, high value, and what is coloured. */
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
