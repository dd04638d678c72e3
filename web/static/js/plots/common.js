/*
 * What every plot panel shares: placement on ligo-scald's 12-column grid, size tracking, status text and the
 * data-* counters the browser test reads, the time axis (UTC above, GPS below), threshold lines, zoom, and
 * legends that show the newest values until the cursor is over the plot.
 *
 * uPlot is the vendored global (web/static/vendor/uPlot.iife.min.js, a classic script loaded before the modules);
 * nothing here touches it, or any other browser global, at import time.
 */
import { numText, durationText } from "../text.js";
import { tickLabel, utcText, gpsText, windowAt } from "../time.js";
import { newestIndex, thresholdLabel, yRange } from "./data.js";

// Okabe-Ito (colour-blind safe), then a few more distinguishable hues.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#999999",
  "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
export const THRESHOLD_COLORS = { warning: "#b58100", critical: "#cf222e" };
export const FONT = "11px system-ui, sans-serif";

/** Place a figure on the 12-column grid from its grid: {x, y, w, h} (ligo-scald's vue-grid-layout units). */
export function place(fig, grid) {
  const w = Math.min(12, Math.max(1, grid.w || 12));
  const rows = Math.max(2, grid.h || 4);
  fig.style.gridColumn = grid.x != null ? `${Math.min(grid.x, 12 - w) + 1} / span ${w}` : `span ${w}`;
  fig.style.gridRow = grid.y != null ? `${grid.y + 1} / span ${rows}` : `span ${rows}`;
}

/** The plot environment: the page's window now and as Unix seconds (uPlot's x scale). */
export function windows(env) {
  const current = () => windowAt(env.ctx.window, env.clock.gpsNow());
  const currentUnix = () => {
    const w = current();
    return [env.clock.gpsToUnix(w.start), env.clock.gpsToUnix(w.end)];
  };
  return { current, currentUnix };
}

/** Common machinery of a plot panel: size tracking, status text, counters exposed for tests. */
export function panel(fig, cfg, env) {
  const body = fig.querySelector(".plot-body");
  const msg = fig.querySelector(".plot-msg");
  const meta = fig.querySelector(".plot-meta");
  const readout = fig.querySelector(".plot-readout");
  const p = { fig, cfg, body, msg, meta, readout, u: null, points: 0, fetches: 0, errors: 0, prevEnd: null };
  env.debug.plots[cfg.id] = p;
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
    msg.textContent = points ? "" : "no data in this window";
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
export function timeAxis(clock) {
  return {
    label: "UTC (top) · GPS seconds (bottom)", labelSize: 14, labelFont: FONT, size: 50, space: 110, font: FONT,
    values: (u, splits, ax, space, incr) => splits.map((v) => tickLabel(v, incr, clock.unixToGps)),
  };
}

export function valueAxis(label) {
  return { label, labelSize: 16, labelFont: FONT, font: FONT, size: 56, values: (u, splits) => splits.map(numText) };
}

/** The newest index over series 1.. of a uPlot's data (its x), or null when there is no value at all. */
function newestOverall(u) {
  let best = null;
  for (let s = 1; s < u.data.length; s++) {
    const i = newestIndex(u.data[s]);
    if (i != null && (best === null || i > best)) best = i;
  }
  return best;
}

/**
 * The time column of a time plot's legend: the time under the cursor, else (cursor off the plot) the newest
 * time drawn, marked "newest", so that the legend says something before anyone hovers.
 */
export function timeLegend(clock) {
  return {
    label: "time",
    value: (u, v, si, idx) => {
      let newest = "";
      if (idx == null) {
        const i = newestOverall(u);
        if (i == null) return "–";
        v = u.data[0][i];
        newest = "newest · ";
      }
      return v == null ? "–" : `${newest}${utcText(v)} UTC · GPS ${gpsText(+clock.unixToGps(v).toFixed(3))}`;
    },
  };
}

/** A series' legend value: under the cursor, else its newest value (not "–" until someone hovers). */
export const newestValue = (u, v, si, idx) => {
  if (idx == null) {
    const i = newestIndex(u.data[si]);
    return i == null ? "–" : numText(u.data[si][i]);
  }
  return numText(v);
};

/** Dashed lines at the warning/critical range ends of the threshold checks that watch this column. */
export function drawThresholds(u, thresholds) {
  if (!thresholds || !thresholds.length) return;
  const c = u.ctx;
  const dpr = devicePixelRatio;
  const { left, top, width, height } = u.bbox;
  c.save();
  c.beginPath();
  c.rect(left, top, width, height);
  c.clip();
  c.lineWidth = 1.5 * dpr;
  c.setLineDash([6 * dpr, 4 * dpr]);
  c.font = `${10 * dpr}px system-ui, sans-serif`;
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
      const ty = y - top < 14 * dpr ? y + 11 * dpr : y - 3 * dpr;
      c.fillText(thresholdLabel(t, v, multi, numText), left + width - 4, ty);
    }
  }
  c.restore();
}

/** uPlot's y range function: the data's range widened to nearby threshold lines (data.yRange). */
export const yRangeOf = (thresholds, fromZero = false) => (u, min, max) => yRange(thresholds, min, max, fromZero);

/** Drag-to-zoom on x that survives streaming updates; double-click returns to the live window. */
export function zoomable(p, windowRange) {
  p.zoom = null;
  return {
    range: () => p.zoom || windowRange(),
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

/** The panel's meta text: "live, last 10 min · GPS a–b · max per 1 s" (or "· raw"). */
export function describeWindow(p, w, dt) {
  const mode = w.live ? `live, last ${durationText(w.end - w.start)}` : "historical";
  p.meta.textContent = `${mode} · GPS ${Math.floor(w.start)}–${Math.ceil(w.end)}` +
    (dt ? ` · ${p.cfg.query.aggregate || "max"} per ${dt} s` : " · raw");
}
