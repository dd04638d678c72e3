// web/static/js/timeline.js: the state timeline's segments (drawing is tested in Chromium, tests/test_dashboard.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TIMELINE_SPAN, segmentText, timelineSegments } from "../../web/static/js/timeline.js";

const NAMES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];
const NOW = 1_800_000_000;

test("each change lasts until the next one; the newest until now", () => {
  const changes = [{ time: NOW - 300, state: 0, state_type: "HARD" }, { time: NOW - 100, state: 1, state_type: "SOFT" },
    { time: NOW - 40, state: 2, state_type: "HARD" }];
  assert.deepEqual(timelineSegments(changes, NOW, NAMES), { start: NOW - 300, end: NOW, segments: [
    { from: NOW - 300, to: NOW - 100, state: "OK", type: "HARD" },
    { from: NOW - 100, to: NOW - 40, state: "WARNING", type: "SOFT" },
    { from: NOW - 40, to: NOW, state: "CRITICAL", type: "HARD" }] });
});

test("at most the last 24 h: older changes are clipped to its start, wholly older ones dropped", () => {
  const changes = [{ time: NOW - 3 * 86400, state: 3 }, { time: NOW - 2 * 86400, state: 0 }, { time: NOW - 3600, state: 2 }];
  const { start, segments } = timelineSegments(changes, NOW, NAMES);
  assert.equal(start, NOW - TIMELINE_SPAN);
  assert.deepEqual(segments.map((s) => [s.from, s.to, s.state]), [[NOW - 86400, NOW - 3600, "OK"], [NOW - 3600, NOW, "CRITICAL"]]);
});

test("entries without a finite time or a known state are ignored; none at all is an empty timeline", () => {
  const changes = [null, { time: "x", state: 0 }, { time: NOW - 10, state: 9 }, { time: NaN, state: 1 }, { time: NOW - 5, state: 1 }];
  assert.deepEqual(timelineSegments(changes, NOW, NAMES).segments, [{ from: NOW - 5, to: NOW, state: "WARNING", type: "HARD" }]);
  assert.deepEqual(timelineSegments(undefined, NOW, NAMES), { start: NOW, end: NOW, segments: [] });
  assert.deepEqual(timelineSegments([{ time: NOW - 5, state: 0 }], NOW, []).segments, []);
});

test("a change reported just now is a zero-length newest segment, not lost; one from the future is clipped", () => {
  assert.deepEqual(timelineSegments([{ time: NOW, state: 2 }], NOW, NAMES).segments, [{ from: NOW, to: NOW, state: "CRITICAL", type: "HARD" }]);
  const { start, segments } = timelineSegments([{ time: NOW - 10, state: 0 }, { time: NOW + 50, state: 2 }], NOW, NAMES);
  assert.equal(start, NOW - 10);
  assert.deepEqual(segments.map((s) => s.state), ["OK"]);
});

test("segmentText says the state, softness, UTC times and length", () => {
  const t0 = Date.parse("2026-11-25T10:00:00Z") / 1000;
  assert.equal(segmentText({ from: t0, to: t0 + 300, state: "WARNING", type: "SOFT" }),
    "WARNING (soft) · 2026-11-25 10:00:00 – 2026-11-25 10:05:00 UTC · 5 min");
  assert.equal(segmentText({ from: t0, to: t0 + 42, state: "OK", type: "HARD" }),
    "OK · 2026-11-25 10:00:00 – 2026-11-25 10:00:42 UTC · 42 s");
});
