/*
 * What the two cell plots (TimeHeatMap, BinnedTimeHistogram) share: a uPlot whose y axis is a list of row labels
 * (tags, or value bins), the cells drawn as one offscreen canvas of one pixel per cell, stretched without smoothing
 * over the plot area in a draw hook, so uPlot's time axis, cursor and zoom are reused.
 */
import { FONT, timeAxis, timeLegend } from "./common.js";
import { tagSplits } from "./data.js";

/** A uPlot of labelled rows in panel `p`: `rows()` gives the labels (first at the top), `paint` draws the cells. */
export function rowPlot(p, { clock, zoom, title, label, axisSize, rows, paint, readout }) {
  const n = () => rows().length;
  return new uPlot({
    ...p.size(),
    padding: [8, 28, 0, 0],
    scales: { x: { time: true, range: zoom.range }, y: { auto: false, range: () => [-0.5, Math.max(n(), 1) - 0.5] } },
    series: [timeLegend(clock), { label: title, show: true, stroke: "transparent", points: { show: false } }],
    axes: [timeAxis(clock), {
      label, labelSize: 16, labelFont: FONT, font: FONT, size: axisSize,
      splits: () => tagSplits(n(), p.u ? p.u.bbox.height / devicePixelRatio : 140),
      values: (u, splits) => splits.map((s) => String(rows()[n() - 1 - s] ?? "")),
      grid: { show: false },
    }],
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    hooks: { draw: [paint], setSelect: [zoom.hook], setCursor: [readout] },
  }, [[], []], p.body);
}

/** data.heatImage's RGBA cells as a canvas with the GPS span they cover (null when there are none). */
export function cellImage(img) {
  if (!img) return null;
  const off = document.createElement("canvas");
  off.width = img.cols;
  off.height = img.rows;
  const g = off.getContext("2d");
  const data = g.createImageData(img.cols, img.rows);
  data.data.set(img.data);
  g.putImageData(data, 0, 0);
  return { canvas: off, x0: img.x0, x1: img.x1 };
}

/** Stretches `image` (from cellImage) over u's plot area between its GPS ends, clipped, nearest-neighbour. */
export function paintImage(u, image, clock) {
  if (!image) return;
  const { left, top, width, height } = u.bbox;
  const c = u.ctx;
  c.save();
  c.beginPath();
  c.rect(left, top, width, height);
  c.clip();
  c.imageSmoothingEnabled = false;
  const xa = u.valToPos(clock.gpsToUnix(image.x0), "x", true), xb = u.valToPos(clock.gpsToUnix(image.x1), "x", true);
  c.drawImage(image.canvas, xa, top, xb - xa, height);
  c.restore();
}
