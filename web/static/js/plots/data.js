/*
 * The plots' data handling, pure functions (no browser global, no uPlot: Node imports this module in tests/js):
 * streaming merges, gaps, the heatmap's cells and colours, axis splits, value ranges, legend values.
 *
 * A trace is {x: [GPS seconds, ascending], y: [values]}; a heatmap's state is {xs: [GPS column starts],
 * rows: Map(tag -> [value|null per column]), tags: [sorted tag values]}.
 */

// ---- streaming ------------------------------------------------------------------------------------------------

/**
 * The next request's span: the whole window first (prevEnd null), then only [previous end - margin, window end],
 * the margin covering the last bucket (which may have been incomplete) and a late poll; aligned down to dt.
 */
export function nextSpan(w, prevEnd, dt, pollSeconds) {
  let from = w.start;
  if (prevEnd != null) from = Math.max(w.start, prevEnd - Math.max(2 * (dt || 1), 2 * pollSeconds));
  if (dt) from = Math.floor(from / dt) * dt;
  return { from, end: w.end };
}

/** Replace a trace's points from `from` on with fresh ones (the last bucket may have been incomplete); fresh points
 *  out of order, missing or non-finite are dropped. */
export function mergeTail(trace, xs, ys, from) {
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

/** Points of `traces` newer than GPS time `before` (what a tail request appended). */
export function countNewer(traces, before) {
  let n = 0;
  for (const t of traces) for (let i = t.x.length - 1; i >= 0 && t.x[i] > before; i--) n++;
  return n;
}

/** Drop a trace's points before `start` (they left the window). */
export function dropBefore(trace, start) {
  let k = 0;
  while (k < trace.x.length && trace.x[k] < start) k++;
  if (k) {
    trace.x.splice(0, k);
    trace.y.splice(0, k);
  }
}

/** The newest x over traces, or null when all are empty. */
export function newestX(traces) {
  let n = -Infinity;
  for (const t of traces) if (t.x.length && t.x[t.x.length - 1] > n) n = t.x[t.x.length - 1];
  return n === -Infinity ? null : n;
}

/** The median spacing of traces' points (at most 2000 looked at): the natural gap limit of raw data. */
export function typicalStep(traces) {
  const steps = [];
  for (const t of traces) for (let i = 1; i < t.x.length && steps.length < 2000; i++) steps.push(t.x[i] - t.x[i - 1]);
  steps.sort((a, b) => a - b);
  return steps.length ? steps[steps.length >> 1] : 1;
}

/** [xs, ys] on the plot's x axis (`toUnix`), with a null in every gap longer than `limit` seconds so that the line
 *  breaks there: a silent job must look silent. */
export function withGaps(trace, limit, toUnix) {
  const xs = [], ys = [];
  for (let i = 0; i < trace.x.length; i++) {
    if (i > 0 && trace.x[i] - trace.x[i - 1] > limit) {
      xs.push(toUnix(trace.x[i - 1] + limit / 2));
      ys.push(null);
    }
    xs.push(toUnix(trace.x[i]));
    ys.push(trace.y[i]);
  }
  return [xs, ys];
}

// ---- values and legends --------------------------------------------------------------------------------------

/** The index of the last finite value of `values`, or null. */
export function newestIndex(values) {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) if (values[i] != null && Number.isFinite(values[i])) return i;
  return null;
}

/** The index of the largest finite value, or null. */
export function highestIndex(values) {
  let best = null;
  (values || []).forEach((v, i) => {
    if (v != null && Number.isFinite(v) && (best === null || v > values[best])) best = i;
  });
  return best;
}

/**
 * A y range [min, max] for data spanning [min, max]: threshold lines near the data (within one data span) are
 * brought into view, far off-scale ones are not; 5 % padding; bars (`fromZero`) start at 0.
 */
export function yRange(thresholds, min, max, fromZero = false) {
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
}

/** The label of a threshold line: "warn 100", "crit 60 · range_bns" (the check named when several are drawn). */
export function thresholdLabel(t, v, multi, fmt) {
  return `${t.level === "critical" ? "crit" : "warn"} ${fmt(v)}${multi ? " · " + t.check : ""}`;
}

// ---- heatmap --------------------------------------------------------------------------------------------------

/** viridis, sampled at 10 stops (perceptually uniform, colour-blind safe). */
export const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137],
  [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]];

/** 256 RGB triples interpolated along `stops`. */
export function colourLut(stops = VIRIDIS) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1), k = Math.min(Math.floor(t), stops.length - 2), f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f;
  }
  return lut;
}

/**
 * Fold a /api/heatmap answer `tr` ({x: columns, y: tags, z: [row per tag]}) read from `from` into state `st`:
 * columns before `from` are kept, the rest replaced (the last one may have been incomplete), columns that left
 * the window (ending at or before `windowStart`) dropped. Returns the number of columns newer than before.
 */
export function mergeColumns(st, tr, from, windowStart, dt) {
  let k = st.xs.length;
  while (k > 0 && st.xs[k - 1] >= from) k--;
  const newX = tr.x || [];
  const names = new Set([...st.tags, ...(tr.y || []).map(String)]);
  const index = new Map((tr.y || []).map((t, i) => [String(t), i]));
  for (const tag of names) {
    const old = (st.rows.get(tag) || []).slice(0, k);
    while (old.length < k) old.push(null);
    const zi = index.get(tag);
    const fresh = zi == null ? newX.map(() => null) : ((tr.z && tr.z[zi]) || []).map((v) => (v == null || !Number.isFinite(v) ? null : v));
    while (fresh.length < newX.length) fresh.push(null);
    st.rows.set(tag, old.concat(fresh.slice(0, newX.length)));
  }
  const lastBefore = st.xs.length ? st.xs[st.xs.length - 1] : null;
  st.xs = st.xs.slice(0, k).concat(newX);
  let d = 0;
  while (d < st.xs.length && st.xs[d] + dt <= windowStart) d++;
  if (d) {
    st.xs = st.xs.slice(d);
    for (const [tag, row] of st.rows) st.rows.set(tag, row.slice(d));
  }
  st.tags = [...names].sort();
  return lastBefore == null ? 0 : st.xs.filter((x) => x > lastBefore).length;
}

/** Cells holding a value. */
export function cellCount(st) {
  let n = 0;
  for (const row of st.rows.values()) for (const v of row) if (v != null) n++;
  return n;
}

/**
 * The heatmap as an RGBA image, one pixel per cell: `cols` columns of `dt` from the first column (a missing
 * column stays transparent), one row per tag (first tag on top), colours scaled to [lo, hi] of the transformed
 * values (`transform` may return null, e.g. log of 0: not drawn). Null when nothing can be drawn.
 */
export function heatImage(st, dt, transform, lut) {
  const m = st.xs.length, n = st.tags.length;
  if (!m || !n) return null;
  const x0 = st.xs[0], cols = Math.round((st.xs[m - 1] - x0) / dt) + 1;
  let lo = Infinity, hi = -Infinity;
  for (const row of st.rows.values()) for (const v of row) {
    const t = v == null ? null : transform(v);
    if (t != null) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
  }
  if (lo === Infinity) return null;
  if (hi === lo) hi = lo + 1;
  const data = new Uint8ClampedArray(cols * n * 4);
  st.tags.forEach((tag, r) => {
    const row = st.rows.get(tag);
    for (let i = 0; i < m; i++) {
      const t = row[i] == null ? null : transform(row[i]);
      if (t == null) continue;
      const c = Math.round((st.xs[i] - x0) / dt), k = Math.round(((t - lo) / (hi - lo)) * 255) * 3;
      const o = (r * cols + c) * 4;
      data[o] = lut[k];
      data[o + 1] = lut[k + 1];
      data[o + 2] = lut[k + 2];
      data[o + 3] = 255;
    }
  });
  return { data, cols, rows: n, lo, hi, x0, x1: x0 + cols * dt };
}

/** The value of the cell of tag row `r` at GPS time `g`, or null (no such tag, no column there, or no value). */
export function cellAt(st, g, r, dt) {
  const tag = st.tags[r];
  if (tag == null || !st.xs.length) return { tag: null, value: null };
  let i = st.xs.length - 1;
  while (i > 0 && st.xs[i] > g) i--;
  const value = st.xs[i] > g || g >= st.xs[i] + dt ? null : st.rows.get(tag)[i];
  return { tag, value };
}

/**
 * The y-axis splits of a heatmap with `n` tag rows (row i drawn at y = n - 1 - i) on a plot `heightPx` CSS pixels
 * high: every row when they fit `rowPx` apart, else every k-th row from the top.
 */
export function tagSplits(n, heightPx, rowPx = 14) {
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(heightPx / rowPx))));
  const out = [];
  for (let i = 0; i < n; i += every) out.push(n - 1 - i);
  return out;
}
