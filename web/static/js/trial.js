/*
 * "Try thresholds" on an expanded board row: the check replayed over a recent window with other settings
 * (/api/checks/<name>/backtest, the same replay as `scald-monitor backtest`), drawn as a second state timeline
 * under the live one. Read-only: nothing is saved; the config file stays the one place settings live.
 *
 * `trialUrl`, `trialChanges` and `trialSummary` are pure (tested with node --test).
 */
import { checkUrl } from "./api.js";
import { lengthText } from "./text.js";

export const TRIAL_WINDOWS = ["1h", "6h", "24h"];
export const TRIAL_KEYS = ["warning", "critical", "for"];

/** The backtest URL for a form's values (empty fields: the configured setting). */
export function trialUrl(api, name, form) {
  const q = new URLSearchParams({ last: TRIAL_WINDOWS.includes(form.last) ? form.last : TRIAL_WINDOWS[0] });
  for (const key of TRIAL_KEYS) {
    const v = form[key] == null ? "" : String(form[key]).trim();
    if (v) q.set(key, v);
  }
  return `${checkUrl(api, name, "backtest")}?${q}`;
}

/**
 * The replay's check-level states as a history the timeline draws: {changes: [{time (Unix), state, state_type}]},
 * starting in the first transition's "from" state at the window's start (OK when nothing changed).
 */
export function trialChanges(doc, gpsToUnix, stateNames) {
  const index = (name) => Math.max(stateNames.indexOf(name), 0);
  const own = (Array.isArray(doc && doc.transitions) ? doc.transitions : []).filter((t) => t && t.tag == null && Number.isFinite(t.time));
  const first = own.length ? index(own[0].from) : 0;
  return { changes: [{ time: gpsToUnix(doc.start), state: first, state_type: "HARD" },
    ...own.map((t) => ({ time: gpsToUnix(t.time), state: index(t.to), state_type: t.state_type === "SOFT" ? "SOFT" : "HARD" }))] };
}

/** One line: notifications, check-level changes and the time in each state that is not OK. */
export function trialSummary(doc) {
  const s = (doc && doc.summary) || {};
  const parts = [`${s.notifications ?? 0} notification${s.notifications === 1 ? "" : "s"}`,
    `${s.check_transitions ?? 0} state change${s.check_transitions === 1 ? "" : "s"}`];
  for (const [state, secs] of Object.entries(s.time_in_state || {})) {
    if (state !== "OK" && secs > 0) parts.push(`${state} ${lengthText(secs)}`);
  }
  if (s.longest_problem) parts.push(`longest problem ${lengthText(s.longest_problem.seconds)}`);
  return parts.join(" · ");
}
