/*
 * Check states and their ranking, pure functions (Node imports this module in tests/js).
 *
 * The states by number and their "worst of" rank come from the server (rules.result.state_table, the page
 * context's `states`): the board sorts, counts and colours checks in the one order the server uses and keeps no
 * table of its own.
 */

/**
 * The server's table `[{state, name, severity}, ...]` (index = state number; larger severity is worse) as the
 * functions the page needs.
 */
export function makeStates(table) {
  const rows = Array.isArray(table) ? table : [];
  const names = rows.map((s) => s.name); // index = state number
  const severity = Object.fromEntries(rows.map((s) => [s.name, s.severity]));
  const worstFirst = names.slice().sort((a, b) => severity[b] - severity[a]);
  const unknown = names.includes("UNKNOWN") ? "UNKNOWN" : worstFirst[0];

  /** A check's (or tag's) state name: its `state_name` when the server knows it, else by number. */
  const stateOf = (c) => (names.includes(c.state_name) ? c.state_name : names[c.state] || unknown);
  const rank = (name) => (name in severity ? severity[name] : -Infinity);

  /** {OK: n, WARNING: n, ..., STALE: n} over checks; `stale(c)` says which are stale. */
  function count(checks, stale = (c) => c.stale) {
    const n = Object.fromEntries(names.map((s) => [s, 0]).concat([["STALE", 0]]));
    for (const c of checks) {
      n[stateOf(c)]++;
      if (stale(c)) n.STALE++;
    }
    return n;
  }

  /** The worst state among checks, or null for none. */
  function worst(checks) {
    let w = null;
    for (const c of checks) if (w === null || rank(stateOf(c)) > rank(w)) w = stateOf(c);
    return w;
  }

  /** Worst first, then by name: the chips' and the board's natural order. */
  const byWorst = (a, b) => rank(stateOf(b)) - rank(stateOf(a)) || String(a.name).localeCompare(String(b.name));

  /** The navbar's text: "1 CRITICAL · 2 WARNING" (worst first, OK left out), "all 4 OK", or "no checks". */
  function summaryText(checks) {
    const n = count(checks);
    const parts = worstFirst.filter((s) => s !== "OK" && n[s]).map((s) => `${n[s]} ${s}`);
    return parts.length ? parts.join(" · ") : checks.length ? `all ${checks.length} OK` : "no checks";
  }

  return { names, severity, worstFirst, stateOf, rank, count, worst, byWorst, summaryText };
}

/** The check's last state change as Unix seconds (the status documents' convention), or null. */
export function lastChangeUnix(c, gpsToUnix) {
  if (c.last_change_gps != null) return gpsToUnix(c.last_change_gps);
  return c.last_change == null ? null : c.last_change;
}

/**
 * The board's order for sort key `sort` ("state" | "name" | "last_change") and direction `dir` (1: natural —
 * worst state first, newest change first, names a→z; -1: reversed); ties by name.
 */
export function boardCompare(states, sort, dir, gpsToUnix) {
  return (a, b) => {
    const byName = String(a.name).localeCompare(String(b.name));
    let d = 0;
    if (sort === "state") {
      d = states.rank(states.stateOf(b)) - states.rank(states.stateOf(a)) || (b.stale ? 1 : 0) - (a.stale ? 1 : 0);
    } else if (sort === "last_change") {
      d = (lastChangeUnix(b, gpsToUnix) || 0) - (lastChangeUnix(a, gpsToUnix) || 0);
    } else d = byName;
    return dir * d || byName;
  };
}

/** Whether a check passes the board's filter: its state is not hidden and every word of `filter` (lower case) is
 *  in its name, summary, type, schema, state, "stale" or "live". */
export function boardMatches(states, c, hidden, filter) {
  if (hidden.has(states.stateOf(c))) return false;
  if (!filter) return true;
  const hay = [c.name, c.summary, c.type, c.schema, states.stateOf(c), c.stale ? "stale" : "",
    c.source === "evaluated" ? "live" : ""].join(" ").toLowerCase();
  return filter.split(/\s+/).every((word) => hay.includes(word));
}

/**
 * Whether the board's row for `c` shows a stale summary at Unix time `now`, and why: the server says the daemon's
 * result is missing or expired (`c.stale`), the answer has passed its own expiry, or the board's last poll failed
 * (`pollFailing`: what is shown is the last answer, which nobody can confirm now). Returns null when fresh.
 */
export function staleness(c, now, pollFailing) {
  if (c.stale) return c.note || "the daemon has not updated this check";
  if (pollFailing) return "the API did not answer the last poll: this is the last answer it gave";
  if (Number.isFinite(c.expires_unix) && now > c.expires_unix) return "this answer has expired";
  return null;
}
