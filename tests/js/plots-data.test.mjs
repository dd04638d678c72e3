// web/static/js/plots/data.js: streaming merges, gaps, heatmap cells and colours, axis splits, value ranges and
// legend values (the drawing itself is tested in Chromium, tests/test_dashboard.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { VIRIDIS, cellAt, cellCount, colourLut, countNewer, dropBefore, heatImage, highestIndex, mergeColumns, mergeTail,
  newestIndex, newestX, nextSpan, tagSplits, thresholdLabel, typicalStep, withGaps, yRange } from "../../web/static/js/plots/data.js";

const trace = (x, y = x.map((v) => v * 10)) => ({ x: [...x], y: [...y] });

test("nextSpan: the whole window first, then the tail from the previous end less a margin, aligned to dt", () => {
  const w = { start: 1000, end: 1600 };
  assert.deepEqual(nextSpan(w, null, 10, 2), { from: 1000, end: 1600 });
  assert.deepEqual(nextSpan(w, 1598, 10, 2), { from: 1570, end: 1600 }); // 1598 - max(20, 4) = 1578 -> 1570
  assert.deepEqual(nextSpan(w, 1598, null, 2), { from: 1594, end: 1600 }); // raw: 1598 - max(2, 4)
  assert.deepEqual(nextSpan(w, 900, 10, 2), { from: 1000, end: 1600 }); // never before the window
});

test("mergeTail replaces the points from `from` on (the last bucket may have grown) and keeps the order", () => {
  const t = trace([1, 2, 3, 4]);
  mergeTail(t, [3, 4, 5, 5, 6, 2.5], [31, 41, 51, 52, null, 99], 3);
  assert.deepEqual(t, { x: [1, 2, 3, 4, 5], y: [10, 20, 31, 41, 51] }); // duplicate, missing and early points dropped
  mergeTail(t, [7, 8], [NaN, 80], 7);
  assert.deepEqual(t.x, [1, 2, 3, 4, 5, 8]);
});

test("countNewer, newestX and dropBefore: what a tail request appended, the newest point, the window's start", () => {
  const a = trace([1, 2, 3]), b = trace([2, 5]);
  assert.equal(newestX([a, b]), 5);
  assert.equal(newestX([trace([])]), null);
  assert.equal(countNewer([a, b], 2), 2);
  dropBefore(a, 2.5);
  assert.deepEqual(a, { x: [3], y: [30] });
  dropBefore(b, 0);
  assert.deepEqual(b.x, [2, 5]);
});

test("typicalStep: the median spacing (raw data's natural gap limit); 1 with nothing to measure", () => {
  assert.equal(typicalStep([trace([0, 1, 2, 3, 100])]), 1);
  assert.equal(typicalStep([trace([0, 16, 32]), trace([5, 21])]), 16);
  assert.equal(typicalStep([trace([7])]), 1);
});

test("withGaps breaks the line in every gap longer than the limit, on the plot's x axis", () => {
  const [xs, ys] = withGaps(trace([0, 1, 2, 10, 11]), 3, (g) => g + 1000);
  assert.deepEqual(xs, [1000, 1001, 1002, 1003.5, 1010, 1011]);
  assert.deepEqual(ys, [0, 10, 20, null, 100, 110]);
  assert.deepEqual(withGaps(trace([]), 3, (g) => g), [[], []]);
});

test("legend values: the newest finite value, and the highest bar", () => {
  assert.equal(newestIndex([1, 2, null, 3, null, NaN]), 3);
  assert.equal(newestIndex([null, undefined]), null);
  assert.equal(newestIndex(undefined), null);
  assert.equal(highestIndex([3, 9, null, 9, 1]), 1);
  assert.equal(highestIndex([null]), null);
  assert.equal(highestIndex([-5, -2, -7]), 1);
});

test("yRange: 5 % padding, nearby thresholds brought into view, far ones not, bars from zero", () => {
  assert.deepEqual(yRange([], 0, 100), [-5, 105]);
  assert.deepEqual(yRange([{ lo: 150, hi: null }], 0, 100), [-7.5, 157.5]); // within one data span: shown
  assert.deepEqual(yRange([{ lo: 1000, hi: null }], 0, 100), [-5, 105]); // far off: not
  assert.deepEqual(yRange([], 2, 10, true), [0, 10.5]);
  assert.deepEqual(yRange([], -4, -2, true), [-4.2, 0]);
  assert.deepEqual(yRange([], null, null), [0, 1]);
  const [lo, hi] = yRange([], 5, 5); // a flat line still gets a range
  assert.ok(lo < 5 && hi > 5);
});

test("thresholdLabel names the level, the value, and the check when several are drawn", () => {
  const t = { level: "critical", check: "range_bns" };
  assert.equal(thresholdLabel(t, 60, false, String), "crit 60");
  assert.equal(thresholdLabel({ ...t, level: "warning" }, 100, true, String), "warn 100 · range_bns");
});

test("colourLut runs from the first stop to the last", () => {
  const lut = colourLut();
  assert.equal(lut.length, 768);
  assert.deepEqual([...lut.slice(0, 3)], VIRIDIS[0]);
  assert.deepEqual([...lut.slice(765)], VIRIDIS[VIRIDIS.length - 1]);
});

const empty = () => ({ xs: [], rows: new Map(), tags: [] });

test("mergeColumns: the first answer fills the state; a tail replaces its columns from `from` on", () => {
  const st = empty();
  assert.equal(mergeColumns(st, { x: [0, 10, 20], y: ["b", "a"], z: [[1, 2, 3], [4, null, 6]] }, 0, 0, 10), 0);
  assert.deepEqual(st.tags, ["a", "b"]);
  assert.deepEqual(st.xs, [0, 10, 20]);
  assert.deepEqual(st.rows.get("a"), [4, null, 6]);
  const appended = mergeColumns(st, { x: [20, 30], y: ["a", "b"], z: [[60, 70], [30, Infinity]] }, 20, 0, 10);
  assert.equal(appended, 1);
  assert.deepEqual(st.xs, [0, 10, 20, 30]);
  assert.deepEqual(st.rows.get("a"), [4, null, 60, 70]);
  assert.deepEqual(st.rows.get("b"), [1, 2, 30, null]); // a non-finite value is no value
  assert.equal(cellCount(st), 6);
});

test("mergeColumns: a tag that appears mid-stream is padded, one that stops is kept with empty cells, old columns leave", () => {
  const st = empty();
  mergeColumns(st, { x: [0, 10], y: ["a"], z: [[1, 2]] }, 0, 0, 10);
  mergeColumns(st, { x: [20], y: ["c"], z: [[9]] }, 20, 0, 10);
  assert.deepEqual(st.tags, ["a", "c"]);
  assert.deepEqual(st.rows.get("a"), [1, 2, null]);
  assert.deepEqual(st.rows.get("c"), [null, null, 9]);
  mergeColumns(st, { x: [30], y: ["a"], z: [[3]] }, 30, 15, 10); // the window now starts at 15: column 0 left
  assert.deepEqual(st.xs, [10, 20, 30]);
  assert.deepEqual(st.rows.get("a"), [2, null, 3]);
  assert.deepEqual(st.rows.get("c"), [null, 9, null]);
});

test("heatImage: one pixel per cell, first tag on the top row, missing columns and cells transparent", () => {
  const st = { xs: [0, 20], tags: ["a", "b"], rows: new Map([["a", [0, 10]], ["b", [5, null]]]) };
  const lut = colourLut();
  const img = heatImage(st, 10, (v) => v, lut);
  assert.deepEqual([img.cols, img.rows, img.lo, img.hi, img.x0, img.x1], [3, 2, 0, 10, 0, 30]);
  const px = (r, c) => [...img.data.slice((r * 3 + c) * 4, (r * 3 + c) * 4 + 4)];
  assert.deepEqual(px(0, 0), [...VIRIDIS[0], 255]); // a=0: the low end
  assert.deepEqual(px(0, 1), [0, 0, 0, 0]); // no column at 10
  assert.deepEqual(px(0, 2), [...VIRIDIS[9], 255]); // a=10: the high end
  assert.deepEqual(px(1, 0), [...lut.slice(128 * 3, 128 * 3 + 3), 255]); // b=5: the middle
  assert.deepEqual(px(1, 2), [0, 0, 0, 0]); // b has no value at 20
});

test("heatImage: a log scale drops values it cannot take; nothing drawable is null", () => {
  const st = { xs: [0], tags: ["a", "b"], rows: new Map([["a", [0]], ["b", [100]]]) };
  const img = heatImage(st, 1, (v) => (v > 0 ? Math.log10(v) : null), colourLut());
  assert.deepEqual([img.lo, img.hi], [2, 3]); // one value: the range is widened to one decade
  assert.equal(img.data[3], 0); // log10(0): not drawn
  assert.equal(heatImage({ xs: [0], tags: ["a"], rows: new Map([["a", [null]]]) }, 1, (v) => v, colourLut()), null);
  assert.equal(heatImage(empty(), 1, (v) => v, colourLut()), null);
});

test("cellAt: the cell under a time and tag row, nothing outside the columns", () => {
  const st = { xs: [0, 20], tags: ["a", "b"], rows: new Map([["a", [1, 2]], ["b", [3, 4]]]) };
  assert.deepEqual(cellAt(st, 25, 0, 10), { tag: "a", value: 2 });
  assert.deepEqual(cellAt(st, 5, 1, 10), { tag: "b", value: 3 });
  assert.deepEqual(cellAt(st, 15, 1, 10), { tag: "b", value: null }); // between columns
  assert.deepEqual(cellAt(st, -1, 0, 10), { tag: "a", value: null });
  assert.deepEqual(cellAt(st, 5, 2, 10), { tag: null, value: null });
});

test("tagSplits: every row when they fit 14 px apart, else every k-th from the top", () => {
  assert.deepEqual(tagSplits(4, 140), [3, 2, 1, 0]);
  assert.deepEqual(tagSplits(30, 140), [29, 26, 23, 20, 17, 14, 11, 8, 5, 2]);
  assert.deepEqual(tagSplits(0, 140), []);
  assert.deepEqual(tagSplits(3, 5), [2]); // no room at all: one label
});
