// web/static/js/levels.js: the server's resolution rule (scald_monitor.io.store.pick_level) applied to the levels
// and points budget of the page context. tests/test_dashboard.py also runs pickLevel against the Python function.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pickLevel, plotLevel } from "../../web/static/js/levels.js";

const LEVELS = [1, 10, 100, 1000, 10000, 100000];
const CTX = { levels: LEVELS, max_points: 2000 };

test("the finest level with at most max_points buckets over the span", () => {
  const cases = [[0, 1], [600, 1], [2000, 1], [2001, 10], [20000, 10], [20001, 100], [86400, 100], [604800, 1000],
    [2592000, 10000], [3.2e9, 100000]];
  for (const [span, dt] of cases) assert.equal(pickLevel(span, LEVELS, 2000), dt, String(span));
});

test("past the coarsest level's budget, the coarsest level", () => {
  assert.equal(pickLevel(1e12, LEVELS, 2000), 100000);
  assert.equal(pickLevel(600, LEVELS, 0), 100000);
});

test("the levels are the server's: another table, another answer", () => {
  assert.equal(pickLevel(600, [5, 60], 100), 60);
  assert.equal(pickLevel(400, [5, 60], 100), 5);
  assert.throws(() => pickLevel(600, undefined, 2000), /levels/);
  assert.throws(() => pickLevel(600, [], 2000), /levels/);
});

test("a plot reads at most two buckets per pixel for lines, one for heatmaps, within the API's budget", () => {
  assert.equal(plotLevel(600, 650, CTX, 2), 1); // 600 <= 1300
  assert.equal(plotLevel(3600, 650, CTX, 2), 10); // 3600 > 1300: 360 buckets
  assert.equal(plotLevel(3600, 1800, CTX, 2), 10); // 3600 > min(2000, 3600): the API's budget caps it
  assert.equal(plotLevel(1900, 1800, CTX, 2), 1);
  assert.equal(plotLevel(600, 500, CTX, 1), 10); // a heatmap 500 px wide: 60 columns, not 600
  assert.equal(plotLevel(600, 0, CTX, 2), 1000); // a hidden plot (0 px): one bucket, the coarsest level that gives it
});
