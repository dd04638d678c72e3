/*
 * Numbers and durations as text, pure functions (Node imports this module in tests/js).
 */

/** Numbers as scientists read them: 4 significant digits, an exponent for very large/small ones (strain, FAR);
 *  "–" for a missing or non-finite value. */
export function numText(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(+v.toPrecision(4));
}

/** "42 s", "5 min", "3 h 4 min", "2 d 3 h": how long something lasted (whole seconds, never negative). */
export function lengthText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** "12 s ago", "5 min ago", "3 h 4 min ago", "2 d 3 h ago"; "in the future" for a negative age. */
export function agoText(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 0) return "in the future";
  return `${lengthText(seconds)} ago`;
}

/** A window length in the largest unit that divides it: "1 d", "6 h", "10 min", "90 s". */
export function durationText(s) {
  if (s > 0 && s % 86400 === 0) return `${s / 86400} d`;
  if (s > 0 && s % 3600 === 0) return `${s / 3600} h`;
  if (s > 0 && s % 60 === 0) return `${s / 60} min`;
  return `${Math.round(s)} s`;
}

/** "1 tag", "3 tags". */
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
