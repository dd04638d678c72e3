// The pure parts of the plot types beyond TimeSeries/TimeHeatMap/Bar (web/static/js/plots/data.js): the
// BinnedTimeHistogram's binning, cumulative IFAR and its background, FAR cut and table sort, the table's tail
// merge, TimeSegment's runs, snapshot traces and plotly per-trace styles.
import test from "node:test";
import assert from "node:assert/strict";
import { cumulativeIfar, farCut, histogram2d, ifarBackground, mergeItems, segmentRuns, snapshotTraces, sortRows,
  traceStyle } from "../../web/static/js/plots/data.js";
import { tableUrl } from "../../web/static/js/api.js";
import { PLOT_TYPES, configProblem } from "../../web/static/js/plots/index.js";
import { segmentColours } from "../../web/static/js/plots/lines.js";

test("histogram2d counts points per aligned time bin and ybin, top bin first, out-of-range values not counted", () => {
  const tr = { x: [0, 5, 29, 30, 59, 61, 10], y: [4, 5.9, 6, 29.9, 30, 7, 31] };
  const h = histogram2d([tr], { tbinS: 30, ybin: 2, yStart: 4, yEnd: 30, start: 3, end: 62 });
  assert.deepEqual(h.xs, [0, 30, 60]);
  assert.equal(h.tags.length, 13);
  assert.equal(h.tags[0], "28–30");
  assert.equal(h.tags[12], "4–6");
  assert.deepEqual(h.rows.get("4–6"), [2, null, null]); // 4 and 5.9 at t 0 and 5
  assert.deepEqual(h.rows.get("6–8"), [1, null, 1]); // 6 at 29, 7 at 61
  assert.deepEqual(h.rows.get("28–30"), [null, 2, null]); // 29.9 at 30 and the end value 30 at 59
  assert.equal(h.total, 6); // 31 is above ybin_end
  // two traces are counted together; no ybin: 20 bins over the data
  const auto = histogram2d([{ x: [0], y: [0] }, { x: [1], y: [10] }], { tbinS: 10, start: 0, end: 9 });
  assert.equal(auto.tags.length, 20);
  assert.equal(auto.total, 2);
  assert.deepEqual(histogram2d([], { tbinS: 10, start: 0, end: 9 }).tags, []);
});

test("cumulativeIfar: IFAR ascending, count of triggers at least that significant; bad FARs ignored", () => {
  const items = [{ far: 1e-3 }, { far: 1e-1 }, { far: 0 }, { far: null }, { far: 1e-2 }, { my_far: 1 }];
  assert.deepEqual(cumulativeIfar(items), { x: [10, 100, 1000], y: [3, 2, 1] });
  assert.deepEqual(cumulativeIfar([{ f: 0.5 }, { f: 0.25 }], "f"), { x: [2, 4], y: [2, 1] });
  assert.deepEqual(ifarBackground([10, 100, 0], 3600), [360, 36, null]);
});

test("farCut and sortRows", () => {
  const rows = [{ far: 1e-3, snr: 8, job: "b" }, { far: 5e-2, snr: 12, job: "a" }, { far: null, snr: 9, job: "c" },
    { far: 1e-4, snr: null, job: "a" }];
  assert.deepEqual(farCut(rows, "far", 1e-2).map((r) => r.far), [1e-3, 1e-4]);
  assert.equal(farCut(rows, "far", null).length, 4);
  assert.deepEqual(sortRows(rows, "far").map((r) => r.far), [1e-4, 1e-3, 5e-2, null]); // missing last
  assert.deepEqual(sortRows(rows, "far", true).map((r) => r.far), [5e-2, 1e-3, 1e-4, null]); // even descending
  assert.deepEqual(sortRows(rows, "snr", true).map((r) => r.snr), [12, 9, 8, null]);
  assert.deepEqual(sortRows(rows, "job").map((r) => r.snr), [12, null, 8, 9]); // text, stable within "a"
  assert.deepEqual(rows.map((r) => r.job), ["b", "a", "c", "a"]); // input untouched
});

test("mergeItems replaces the tail and drops rows that left the window", () => {
  const rows = new Map();
  mergeItems(rows, [{ time: 1, far: 1 }, { time: 5, far: 2 }, { time: 9, far: 3 }], 0, 0);
  assert.equal(rows.size, 3);
  mergeItems(rows, [{ time: 9, far: 3.5 }, { time: 12, far: 4 }], 8, 2);
  assert.deepEqual([...rows.values()].map((r) => [r.time, r.far]).sort((a, b) => a[0] - b[0]), [[5, 2], [9, 3.5], [12, 4]]);
  // same time, different tag values: two rows
  mergeItems(rows, [{ time: 20, job: "a" }, { time: 20, job: "b" }], 20, 2);
  assert.equal([...rows.values()].filter((r) => r.time === 20).length, 2);
});

test("segmentRuns joins equal neighbours, breaks at gaps and value changes, skips nulls", () => {
  assert.deepEqual(segmentRuns([0, 10, 20, 30, 60, 70], [1, 1, 0, 0, 0, -1], 10), [
    { start: 0, end: 20, value: 1 }, { start: 20, end: 40, value: 0 }, { start: 60, end: 80, value: 0 }]);
  assert.deepEqual(segmentRuns([0, 1, 2, 3], [1, null, 1, 0.2], 1), [{ start: 0, end: 1, value: 1 }, { start: 2, end: 4, value: 1 }]);
  assert.deepEqual(segmentRuns([], [], 1), []);
});

test("snapshotTraces keeps finite pairs sorted by x", () => {
  assert.deepEqual(snapshotTraces([{ x: [3, 1, 2, 4], y: [30, 10, null, 40], name: 7 }]), [{ name: "7", x: [1, 3, 4], y: [10, 30, 40] }]);
  assert.deepEqual(snapshotTraces(null), []);
  assert.equal(snapshotTraces([{ x: [1], y: [2] }])[0].name, "trace 1");
});

test("traceStyle: per-trace plotly options over the plot's, else the palette", () => {
  const pal = ["#111", "#222"];
  assert.deepEqual(traceStyle({}, "a", 1, pal), { stroke: "#222", width: 1.25, markers: false, line: true });
  const opts = { line: { width: 3 }, b: { line: { color: "#f00" }, mode: "markers" }, marker: { color: "#0f0" } };
  assert.deepEqual(traceStyle(opts, "b", 0, pal), { stroke: "#f00", width: 3, markers: true, line: false });
  assert.equal(traceStyle(opts, "c", 0, pal).stroke, "#0f0");
  assert.deepEqual(segmentColours({ colorscale: [[0, "#000"], [0.5, "#777"], [1, "#fff"]] }), ["#000", "#fff"]);
  assert.equal(segmentColours(undefined).length, 2);
});

test("tableUrl: every column by default, the FAR cut as far=", () => {
  assert.equal(tableUrl("/api", "trig gers", 1.5, 9.2, { far: 1e-3 }), "/api/table/trig%20gers/1/10?far=0.001");
  assert.equal(tableUrl("/api", "t", 0, 1, { columns: ["far", "snr"] }), "/api/table/t/0/1?column=far&column=snr");
});

test("every ligo-scald plot type has a module; what the page cannot draw is a configuration error", () => {
  assert.deepEqual(Object.keys(PLOT_TYPES).sort(), ["Bar", "BinnedTimeHistogram", "IFAR", "MultiAxis", "MultiSchema",
    "Snapshot", "TimeHeatMap", "TimeSegment", "TimeSeries"]);
  assert.match(configProblem({ type: "Pie", name: "p", query: {} }), /configuration error: .*type Pie/);
  assert.match(configProblem({ type: "IFAR", name: "p", query: null }), /configuration error: .*no usable schema/);
  assert.match(configProblem({ type: "TimeSegment", name: "p", query: {}, problem: "needs a segment" }), /needs a segment/);
  assert.equal(configProblem({ type: "IFAR", name: "p", query: { measurement: "t" } }), null);
});

test("decadeRange/decadeSplits: log axes over whole decades, even for ASD-sized values", async () => {
  const { decadeRange, decadeSplits } = await import("../../web/static/js/plots/data.js");
  const [lo, hi] = decadeRange(3e-23, 4e-20);
  assert.ok(Math.abs(lo / 1e-23 - 1) < 1e-9 && Math.abs(hi / 1e-19 - 1) < 1e-9);
  assert.deepEqual(decadeRange(0, 5), [1, 10]);
  assert.equal(decadeSplits(1e-23, 1e-19).length, 5);
  assert.ok(decadeSplits(1e-30, 1e10).length <= 9);
});
