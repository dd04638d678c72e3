// web/static/js/time.js: GPS <-> UTC with the server's leap-second table, the page's one clock, window and
// clock texts (the head's GPS end and the navbar's GPS second come from one reading and agree).
import { test } from "node:test";
import assert from "node:assert/strict";
import { GPS_EPOCH_UNIX, clockText, gpsText, leapConverter, makeClock, tickLabel, utcText, windowAt, windowText }
  from "../../web/static/js/time.js";

// The last three rows of scald_monitor.timeutil.leap_table(): [GPS second, Unix second, GPS - UTC from then on].
const LEAP = [[1025136015, 1341100800, 16], [1119744016, 1435708800, 17], [1167264017, 1483228800, 18]];
const conv = leapConverter(LEAP);
const unixOf = (iso) => Date.parse(iso) / 1000;

test("GPS -> Unix uses the table's offset at that GPS time", () => {
  assert.equal(conv.gpsToUnix(1187008882), unixOf("2017-08-17T12:41:04Z")); // GW170817, 18 s
  assert.equal(conv.gpsToUnix(1167264018), unixOf("2017-01-01T00:00:00Z"));
  assert.equal(conv.gpsToUnix(1167264016), unixOf("2016-12-31T23:59:59Z")); // 17 s before the leap second
  assert.equal(conv.gpsToUnix(1126259462), unixOf("2015-09-14T09:50:45Z")); // GW150914, 17 s
});

test("Unix -> GPS inverts it, across leap seconds", () => {
  for (const g of [1025136016, 1119744017, 1126259462, 1167264016, 1167264018, 1187008882, 1480000000]) {
    assert.equal(conv.unixToGps(conv.gpsToUnix(g)), g);
  }
});

test("before the first table entry the offset is 0, and an empty table is the bare epoch", () => {
  assert.equal(conv.gpsToUnix(100), 100 + GPS_EPOCH_UNIX);
  const none = leapConverter([]);
  assert.equal(none.gpsToUnix(1187008882), 1187008882 + GPS_EPOCH_UNIX);
  assert.equal(leapConverter(undefined).unixToGps(GPS_EPOCH_UNIX), 0);
});

test("the page clock follows the browser's clock when it is within 2 s of the server's", () => {
  const browserMs = unixOf("2026-01-01T00:00:00Z") * 1000;
  const serverGps = conv.unixToGps(browserMs / 1000) + 1.5;
  const clock = makeClock(LEAP, serverGps, () => browserMs);
  assert.equal(clock.skew, 0);
  assert.equal(clock.gpsNow(), conv.unixToGps(browserMs / 1000));
  assert.equal(clock.unixNow(), browserMs / 1000);
});

test("the server's clock wins over a browser clock more than 2 s off, for every 'now' on the page", () => {
  let browserMs = unixOf("2026-01-01T00:00:00Z") * 1000;
  const serverGps = conv.unixToGps(browserMs / 1000) + 3600;
  const clock = makeClock(LEAP, serverGps, () => browserMs);
  assert.equal(clock.skew, 3600);
  assert.equal(clock.gpsNow(), serverGps);
  assert.equal(clock.unixNow(), browserMs / 1000 + 3600);
  browserMs += 10_000; // and it keeps running with the browser's clock
  assert.equal(clock.gpsNow(), serverGps + 10);
  assert.equal(makeClock(LEAP, undefined, () => browserMs).skew, 0); // no server time: nothing to correct
});

test("windowAt: live windows end `delay` before now; historical ones are fixed", () => {
  assert.deepEqual(windowAt({ mode: "online", lookback: 600, delay: 5 }, 1000000), { start: 999395, end: 999995, live: true });
  assert.deepEqual(windowAt({ mode: "online", lookback: 600 }, 1000000), { start: 999400, end: 1000000, live: true });
  assert.deepEqual(windowAt({ mode: "historical", start: 10, end: 20, lookback: 10, delay: 0 }, 1000000),
    { start: 10, end: 20, live: false });
});

test("utcText is UTC whatever the time zone, seconds truncated like a clock's", () => {
  assert.equal(utcText(unixOf("2017-08-17T12:41:04Z")), "2017-08-17 12:41:04");
  assert.equal(utcText(unixOf("2017-08-17T12:41:04Z") + 0.999), "2017-08-17 12:41:04");
  assert.equal(utcText(unixOf("2017-08-17T12:41:04Z"), false), "12:41:04");
});

test("gpsText: whole seconds as they are, fractions to 0.1 s", () => {
  assert.equal(gpsText(1187008882), "1187008882");
  assert.equal(gpsText(1187008882.43), "1187008882.4");
});

test("tickLabel: UTC on top (finer with finer ticks, dated at midnight), GPS below", () => {
  const t = unixOf("2017-08-17T12:41:04Z");
  assert.equal(tickLabel(t, 1, conv.unixToGps), "12:41:04\n1187008882");
  assert.equal(tickLabel(t - 4, 60, conv.unixToGps), "12:41\n1187008878");
  assert.equal(tickLabel(unixOf("2017-08-17T00:00:00Z"), 3600, conv.unixToGps), "08-17 00:00\n1186963218");
  assert.equal(tickLabel(unixOf("2017-08-17T00:00:00Z"), 86400, conv.unixToGps), "2017-08-17\n1186963218");
});

test("the head's window text and the navbar clock agree at any fraction of a second", () => {
  const win = { mode: "online", lookback: 600, delay: 0 };
  for (const now of [1187008882, 1187008882.01, 1187008882.5, 1187008882.999]) {
    const [utc, gps] = clockText(now, conv);
    const text = windowText(win, now, conv);
    const [, start, end] = text.match(/GPS (\d+)–(\d+)$/);
    assert.equal(`GPS ${end}`, gps, text);
    assert.equal(Number(end) - Number(start), 600);
    assert.ok(text.includes(`– ${utc.slice(11, 19)} UTC`), `${text} / ${utc}`);
  }
  const late = windowText({ mode: "online", lookback: 60, delay: 5 }, 1187008882.5, conv);
  assert.match(late, /^live · 2017-08-17 12:39:59 – 12:40:59 UTC · GPS 1187008817–1187008877$/);
  assert.match(windowText({ mode: "historical", start: 1187008782, end: 1187008982 }, 0, conv),
    /^historical · 2017-08-17 12:39:24 – 12:42:44 UTC · GPS 1187008782–1187008982$/);
  assert.deepEqual(clockText(1187008882.7, conv), ["2017-08-17 12:41:04 UTC", "GPS 1187008882"]);
});
