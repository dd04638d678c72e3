// web/static/js/trial.js: the board's "try thresholds" request and how its replay becomes a timeline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { trialChanges, trialSummary, trialUrl } from "../../web/static/js/trial.js";

const NAMES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];
const toUnix = (gps) => gps + 315964782;

test("the URL carries the window and only the filled settings, encoded", () => {
  assert.equal(trialUrl("/api", "range bns", { last: "6h", warning: " ~:12 ", critical: "", for: "300" }),
    "/api/checks/range%20bns/backtest?last=6h&warning=%7E%3A12&for=300");
  assert.equal(trialUrl("/api", "c", { last: "1y" }), "/api/checks/c/backtest?last=1h"); // only the offered windows
});

test("check-level transitions become changes from the window's start; tag transitions are not drawn", () => {
  const doc = { start: 1000, end: 5000, transitions: [
    { time: 1500, tag: "job=0001", from: "OK", to: "CRITICAL", state_type: "HARD" },
    { time: 2000, tag: null, from: "OK", to: "WARNING", state_type: "SOFT" },
    { time: 2600, tag: null, from: "WARNING", to: "CRITICAL", state_type: "HARD" }] };
  assert.deepEqual(trialChanges(doc, toUnix, NAMES).changes, [
    { time: toUnix(1000), state: 0, state_type: "HARD" }, { time: toUnix(2000), state: 1, state_type: "SOFT" },
    { time: toUnix(2600), state: 2, state_type: "HARD" }]);
  assert.deepEqual(trialChanges({ start: 10, transitions: [] }, toUnix, NAMES).changes,
    [{ time: toUnix(10), state: 0, state_type: "HARD" }]);
});

test("the summary says notifications, changes and time out of OK", () => {
  const text = trialSummary({ summary: { notifications: 1, check_transitions: 2,
    time_in_state: { OK: 3000, WARNING: 0, CRITICAL: 600, UNKNOWN: 0 }, longest_problem: { seconds: 600 } } });
  assert.match(text, /^1 notification · 2 state changes · CRITICAL 10(\.0)? min · longest problem 10(\.0)? min$/);
});
