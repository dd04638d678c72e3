// web/static/js/states.js: states ranked in the server's order (the page context's `states`), never a table of
// the page's own; the board's sort, filter and staleness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { boardCompare, boardMatches, lastChangeUnix, makeStates, staleness } from "../../web/static/js/states.js";

// scald_monitor.rules.result.state_table(): CRITICAL > UNKNOWN > WARNING > OK.
const TABLE = [{ state: 0, name: "OK", severity: 0 }, { state: 1, name: "WARNING", severity: 1 },
  { state: 2, name: "CRITICAL", severity: 3 }, { state: 3, name: "UNKNOWN", severity: 2 }];
const S = makeStates(TABLE);
const CHECKS = [{ name: "a", state: 0 }, { name: "b", state: 1 }, { name: "c", state: 2 }, { name: "d", state: 3 },
  { name: "e", state_name: "CRITICAL", state: 0, stale: true }];

test("names by number and the worst-first order come from the table", () => {
  assert.deepEqual(S.names, ["OK", "WARNING", "CRITICAL", "UNKNOWN"]);
  assert.deepEqual(S.worstFirst, ["CRITICAL", "UNKNOWN", "WARNING", "OK"]);
});

test("another table from the server, another order: the page has none of its own", () => {
  const reversed = makeStates(TABLE.map((s) => ({ ...s, severity: 3 - s.severity })));
  assert.deepEqual(reversed.worstFirst, ["OK", "WARNING", "UNKNOWN", "CRITICAL"]);
  assert.equal(reversed.worst(CHECKS), "OK");
  assert.deepEqual(CHECKS.slice().sort(reversed.byWorst).map((c) => c.name), ["a", "b", "d", "c", "e"]);
});

test("stateOf: the server's state_name when known, else by number, else UNKNOWN", () => {
  assert.equal(S.stateOf({ state_name: "WARNING", state: 2 }), "WARNING");
  assert.equal(S.stateOf({ state_name: "BOGUS", state: 2 }), "CRITICAL");
  assert.equal(S.stateOf({ state: 7 }), "UNKNOWN");
  assert.equal(S.stateOf({}), "UNKNOWN");
});

test("count, worst, and the navbar's summary (worst first, OK left out)", () => {
  assert.deepEqual(S.count(CHECKS), { OK: 1, WARNING: 1, CRITICAL: 2, UNKNOWN: 1, STALE: 1 });
  assert.deepEqual(S.count(CHECKS, () => false).STALE, 0);
  assert.equal(S.worst(CHECKS), "CRITICAL");
  assert.equal(S.worst([]), null);
  assert.equal(S.summaryText(CHECKS), "2 CRITICAL · 1 UNKNOWN · 1 WARNING");
  assert.equal(S.summaryText([{ name: "a", state: 0 }, { name: "b", state: 0 }]), "all 2 OK");
  assert.equal(S.summaryText([]), "no checks");
});

test("board order: worst state first (stale before fresh), names as the tie-break; reversible", () => {
  const byState = boardCompare(S, "state", 1, (g) => g);
  assert.deepEqual(CHECKS.slice().sort(byState).map((c) => c.name), ["e", "c", "d", "b", "a"]);
  assert.deepEqual(CHECKS.slice().sort(boardCompare(S, "state", -1, (g) => g)).map((c) => c.name), ["a", "b", "d", "c", "e"]);
  assert.deepEqual(CHECKS.slice().sort(boardCompare(S, "name", -1, (g) => g)).map((c) => c.name), ["e", "d", "c", "b", "a"]);
});

test("board order by last change: newest first; GPS times converted, missing ones last", () => {
  const checks = [{ name: "old", last_change: 100 }, { name: "never" }, { name: "gps", last_change_gps: 50 }, { name: "new", last_change: 300 }];
  const toUnix = (g) => g + 200; // a stand-in conversion: GPS 50 is Unix 250
  assert.equal(lastChangeUnix(checks[2], toUnix), 250);
  assert.equal(lastChangeUnix(checks[1], toUnix), null);
  assert.deepEqual(checks.slice().sort(boardCompare(S, "last_change", 1, toUnix)).map((c) => c.name), ["new", "gps", "old", "never"]);
});

test("filter: hidden states, then every word somewhere in name, summary, type, schema, state, stale, live", () => {
  const c = { name: "range_bns", summary: "1 CRITICAL of 4 job", type: "threshold", schema: "range", state: 2, stale: true };
  const none = new Set();
  assert.ok(boardMatches(S, c, none, ""));
  assert.ok(boardMatches(S, c, none, "range critical"));
  assert.ok(boardMatches(S, c, none, "stale threshold"));
  assert.ok(!boardMatches(S, c, none, "range live"));
  assert.ok(boardMatches(S, { ...c, stale: false, source: "evaluated" }, none, "live"));
  assert.ok(!boardMatches(S, c, new Set(["CRITICAL"]), ""));
});

test("staleness: the server's stale flag, a failed poll, or an expired answer; fresh otherwise", () => {
  const now = 1000;
  assert.equal(staleness({ stale: false, expires_unix: 1100 }, now, false), null);
  assert.equal(staleness({ expires_unix: null }, now, false), null);
  assert.match(staleness({ stale: true, note: "x.json does not exist" }, now, false), /does not exist/);
  assert.match(staleness({ stale: true }, now, false), /daemon/);
  assert.match(staleness({ stale: false, expires_unix: 1100 }, now, true), /did not answer/);
  assert.match(staleness({ stale: false, expires_unix: 999 }, now, false), /expired/);
});
