/*
 * GPS and UTC time, pure functions (no browser globals: Node imports this module in tests/js).
 *
 * The API speaks GPS seconds; plots are drawn on Unix seconds so that ticks fall on round UTC times. GPS - UTC comes
 * from the server's leap-second table (the page context's `leap`), never from a constant and never from the
 * browser's time zone, which is not used anywhere: every text here is UTC.
 */

/** 1980-01-06T00:00:00Z, the GPS epoch, as Unix seconds. */
export const GPS_EPOCH_UNIX = 315964800;

/** How far the browser's clock may be off the server's before the server's wins (seconds). */
export const MAX_SKEW = 2;

/**
 * GPS <-> Unix conversions from the server's table `[[GPS second, Unix second, GPS - UTC from then on], ...]`
 * (ascending). Before the first entry the offset is 0 (the GPS epoch).
 */
export function leapConverter(table) {
  const leap = Array.isArray(table) ? table : [];
  const offsetAt = (value, column) => {
    for (let i = leap.length - 1; i >= 0; i--) if (value >= leap[i][column]) return leap[i][2];
    return 0;
  };
  return {
    gpsToUnix: (g) => g + GPS_EPOCH_UNIX - offsetAt(g, 0),
    unixToGps: (u) => u - GPS_EPOCH_UNIX + offsetAt(u, 1),
  };
}

/**
 * The page's one clock: GPS and Unix "now", corrected by the server's clock when the browser's is more than
 * MAX_SKEW seconds off it (so "now - delay" asks for data the server can have, and every "ago" and "updated at"
 * on the page agrees with the navbar clock). `nowMs` is the browser's clock (Date.now), injectable for tests.
 */
export function makeClock(table, serverGps, nowMs = () => Date.now()) {
  const conv = leapConverter(table);
  const d = Number.isFinite(serverGps) ? serverGps - conv.unixToGps(nowMs() / 1000) : 0;
  const skew = Math.abs(d) > MAX_SKEW ? d : 0;
  const gpsNow = () => conv.unixToGps(nowMs() / 1000) + skew;
  return { ...conv, skew, gpsNow, unixNow: () => conv.gpsToUnix(gpsNow()) };
}

/**
 * The window a page shows at GPS time `now`: `{start, end, live}` from the context's window (live: the last
 * `lookback` seconds, `delay` behind now; historical: fixed).
 */
export function windowAt(win, now) {
  if (win.mode === "historical") return { start: win.start, end: win.end, live: false };
  const end = now - (win.delay || 0);
  return { start: end - win.lookback, end, live: true };
}

export const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-25 15:40:03" (UTC) from Unix seconds; the date omitted with date=false. Seconds are truncated, as a
 *  clock shows them (15:40:03.9 is still 15:40:03). */
export function utcText(unix, date = true) {
  const d = new Date(Math.floor(unix) * 1000);
  const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return date ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hms}` : hms;
}

/** A GPS time as text: whole seconds as they are, fractions to 0.1 s. */
export const gpsText = (g) => (Number.isInteger(g) ? String(g) : g.toFixed(1));

/**
 * The two-line label of a time-axis tick at Unix second `v` when ticks are `incr` seconds apart: UTC on top (date
 * for daily ticks, hh:mm, with seconds below a minute, and the date at midnight), the GPS second below.
 */
export function tickLabel(v, incr, unixToGps) {
  const d = new Date(v * 1000);
  let top = incr >= 86400 ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
    : `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${incr < 60 ? ":" + pad(d.getUTCSeconds()) : ""}`;
  if (incr < 86400 && d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0) {
    top = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${top}`;
  }
  return `${top}\n${Math.round(unixToGps(v))}`;
}

/**
 * The page head's window text at GPS time `now` (the navbar clock's tick, so both show the same second):
 * "live · 2026-11-25 15:30:03 – 15:40:03 UTC · GPS 1480000000–1480000600".
 */
export function windowText(win, now, conv) {
  const w = windowAt(win, now);
  const start = Math.floor(w.start), end = Math.floor(w.end);
  return `${w.live ? "live" : "historical"} · ${utcText(conv.gpsToUnix(start))} – ${utcText(conv.gpsToUnix(end), false)}` +
    ` UTC · GPS ${start}–${end}`;
}

/** The navbar clock at GPS time `now`: ["2026-11-25 15:40:03 UTC", "GPS 1480000821"]. */
export function clockText(now, conv) {
  const g = Math.floor(now);
  return [`${utcText(conv.gpsToUnix(g))} UTC`, `GPS ${g}`];
}
