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

// ---- plotly options ligo-scald's configs carry ---------------------------------------------------------------

/**
 * The line style of trace `name` (the `i`-th) from plotly data_options: per-trace options (`data_options[name]`)
 * over the plot's own (`line.color`, `marker.color`, `line.width`, `mode: markers`), else the palette's colour.
 */
export function traceStyle(dataOptions, name, i, palette) {
  const all = dataOptions || {};
  const own = (name != null && all[name] && typeof all[name] === "object") ? all[name] : {};
  const pick = (k1, k2) => (own[k1] && own[k1][k2]) ?? (all[k1] && all[k1][k2]);
  const color = pick("line", "color") ?? pick("marker", "color") ?? palette[i % palette.length];
  const width = Number(pick("line", "width")) || 1.25;
  const mode = own.mode ?? all.mode ?? "lines";
  return { stroke: String(color), width, markers: String(mode).includes("markers"), line: String(mode).includes("lines") };
}

// ---- BinnedTimeHistogram ---------------------------------------------------------------------------------------

/**
 * ligo-scald's BinnedTimeHistogram (plotly histogram2d): counts of the points of `traces` per time bin of `tbinS`
 * seconds (aligned to multiples of it) and value bin of `ybin` from `yStart` to `yEnd` (values outside are not
 * counted; without ybin: 20 bins over the data's range). Returned in the heatmap's state form, the top bin first,
 * so the heatmap's image code draws it: {xs, rows: Map(label -> counts, 0 as null), tags: labels, edges, total}.
 */
export function histogram2d(traces, { tbinS, ybin, yStart, yEnd, start, end }) {
  let lo = yStart, hi = yEnd;
  if (lo == null || hi == null || !(hi > lo)) {
    lo = Infinity; hi = -Infinity;
    for (const t of traces) for (const v of t.y) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo === Infinity) return { xs: [], rows: new Map(), tags: [], edges: [], total: 0 };
    if (hi === lo) hi = lo + 1;
  }
  const size = ybin > 0 ? ybin : (hi - lo) / 20;
  const nb = Math.max(1, Math.ceil((hi - lo) / size - 1e-9));
  const edges = Array.from({ length: nb + 1 }, (_, k) => lo + k * size);
  const t0 = Math.floor(start / tbinS) * tbinS;
  const nt = Math.max(1, Math.floor((end - t0) / tbinS) + 1);
  const counts = Array.from({ length: nb }, () => new Array(nt).fill(0));
  let total = 0;
  for (const t of traces) {
    for (let i = 0; i < t.x.length; i++) {
      const v = t.y[i], x = t.x[i];
      if (!Number.isFinite(v) || v < lo || v > hi || x < t0) continue;
      const c = Math.floor((x - t0) / tbinS);
      if (c >= nt) continue;
      const b = Math.min(nb - 1, Math.floor((v - lo) / size));
      counts[b][c]++;
      total++;
    }
  }
  const xs = Array.from({ length: nt }, (_, c) => t0 + c * tbinS);
  const rows = new Map(), tags = [];
  for (let b = nb - 1; b >= 0; b--) {
    const label = `${+edges[b].toPrecision(6)}–${+edges[b + 1].toPrecision(6)}`;
    tags.push(label);
    rows.set(label, counts[b].map((n) => (n ? n : null)));
  }
  return { xs, rows, tags, edges, total };
}

// ---- IFAR and trigger tables -------------------------------------------------------------------------------------

/**
 * Cumulative IFAR: for every trigger's inverse FAR (1/far, far > 0), the number of triggers at least that
 * significant. Returned ascending in IFAR: {x: [ifar...], y: [count with IFAR >= x]} (y falls from n to 1).
 */
export function cumulativeIfar(items, farKey = "far") {
  const ifar = [];
  for (const it of items) {
    const f = it[farKey];
    if (typeof f === "number" && Number.isFinite(f) && f > 0) ifar.push(1 / f);
  }
  ifar.sort((a, b) => a - b);
  return { x: ifar, y: ifar.map((_, i) => ifar.length - i) };
}

/** The background expectation over `liveSeconds`: a trigger with IFAR >= x is expected liveSeconds / x times. */
export function ifarBackground(xs, liveSeconds) {
  return xs.map((x) => (x > 0 ? liveSeconds / x : null));
}

/** Rows whose FAR is at most `far` (no cut when far is null/NaN; rows without a finite FAR never pass a cut). */
export function farCut(items, farKey, far) {
  if (far == null || !Number.isFinite(far)) return items.slice();
  return items.filter((it) => typeof it[farKey] === "number" && Number.isFinite(it[farKey]) && it[farKey] <= far);
}

/** Rows sorted by `key` (numbers numerically, else as text; missing values last either way), stable. */
export function sortRows(items, key, descending = false) {
  const missing = (v) => v == null || (typeof v === "number" && !Number.isFinite(v)) || v === "";
  return items.map((it, i) => [it, i]).sort(([a, i], [b, j]) => {
    const va = a[key], vb = b[key];
    if (missing(va) || missing(vb)) return missing(va) === missing(vb) ? i - j : (missing(va) ? 1 : -1);
    const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    return (descending ? -c : c) || i - j;
  }).map(([it]) => it);
}

/** Fold a table answer's items into `rows` (Map key -> item, key = time and tag values): the tail replaced. */
export function mergeItems(rows, items, from, windowStart, timeKey = "time") {
  for (const [k, it] of rows) if (it[timeKey] >= from || it[timeKey] < windowStart) rows.delete(k);
  for (const it of items) {
    if (it[timeKey] < windowStart) continue;
    const k = Object.keys(it).filter((f) => typeof it[f] === "string").sort().map((f) => `${f}=${it[f]}`).join(",");
    rows.set(`${it[timeKey]}|${k}`, it);
  }
  return rows;
}

// ---- TimeSegment -------------------------------------------------------------------------------------------------

/**
 * Segment runs of a /api/segment strip ({x: times, z: [[values]]}): consecutive points of one value joined into
 * [start, end) runs; a point lasts `dt` seconds (its bucket), so a gap longer than that starts a new run and the
 * time between is no segment at all. Values other than 0/1 count as "on" when > 0; null values are skipped.
 */
export function segmentRuns(xs, values, dt) {
  const runs = [];
  let cur = null;
  for (let i = 0; i < xs.length; i++) {
    const v = values[i];
    if (v == null || !Number.isFinite(v)) { cur = null; continue; }
    const on = v > 0 ? 1 : 0, t = xs[i];
    if (cur && cur.value === on && t <= cur.end + 1e-9) cur.end = t + dt;
    else {
      cur = { start: t, end: t + dt, value: on };
      runs.push(cur);
    }
  }
  return runs;
}

// ---- Snapshot ----------------------------------------------------------------------------------------------------

/** A /api/snapshot answer as [{x, y, name}] of finite pairs, x ascending (log axes drop x <= 0 / y <= 0 later). */
export function snapshotTraces(res) {
  return (Array.isArray(res) ? res : []).map((tr, i) => {
    const pairs = [];
    const xs = (tr && tr.x) || [], ys = (tr && tr.y) || [];
    for (let k = 0; k < Math.min(xs.length, ys.length); k++) {
      if (Number.isFinite(xs[k]) && Number.isFinite(ys[k])) pairs.push([xs[k], ys[k]]);
    }
    pairs.sort((a, b) => a[0] - b[0]);
    return { name: tr && tr.name != null ? String(tr.name) : `trace ${i + 1}`, x: pairs.map((p) => p[0]), y: pairs.map((p) => p[1]) };
  });
}

/** A log axis' range: whole decades around [min, max] (uPlot's own log splits fail on tiny values such as ASDs). */
export function decadeRange(min, max) {
  if (!(min > 0) || !(max > 0)) return [1, 10];
  const lo = Math.floor(Math.log10(min)), hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return [10 ** lo, 10 ** hi];
}

/** The decades of a log axis from min to max (at most ~8 ticks: every k-th decade). */
export function decadeSplits(min, max) {
  const lo = Math.round(Math.log10(min)), hi = Math.round(Math.log10(max));
  const step = Math.max(1, Math.ceil((hi - lo) / 8));
  const out = [];
  for (let e = lo; e <= hi; e += step) out.push(10 ** e);
  return out;
}
