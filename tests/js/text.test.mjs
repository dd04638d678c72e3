// web/static/js/text.js: numbers and durations as the page writes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { agoText, durationText, lengthText, numText, plural } from "../../web/static/js/text.js";

test("numText: 4 significant digits, an exponent for very large or small magnitudes, – for no value", () => {
  const cases = [[0, "0"], [1, "1"], [6.48823, "6.488"], [-104.8312, "-104.8"], [999999, "1000000"] /* 4 digits, rounded */, [1e6, "1.000e+6"],
    [0.001, "0.001"], [0.000999, "9.990e-4"], [3.2e-21, "3.200e-21"], [-2.5e7, "-2.500e+7"], [123456.7, "123500"]];
  for (const [v, text] of cases) assert.equal(numText(v), text, String(v));
  for (const v of [null, undefined, NaN, Infinity, -Infinity]) assert.equal(numText(v), "–", String(v));
});

test("lengthText: the two largest units, whole seconds, never negative", () => {
  const cases = [[0, "0 s"], [59.9, "59 s"], [60, "1 min"], [3599, "59 min"], [3600, "1 h 0 min"], [3 * 3600 + 4 * 60 + 5, "3 h 4 min"],
    [86400, "1 d 0 h"], [2 * 86400 + 3 * 3600 + 59, "2 d 3 h"], [-5, "0 s"]];
  for (const [s, text] of cases) assert.equal(lengthText(s), text, String(s));
});

test("agoText: an age; a negative one is in the future; nothing for no age", () => {
  assert.equal(agoText(12), "12 s ago");
  assert.equal(agoText(300), "5 min ago");
  assert.equal(agoText(-1), "in the future");
  assert.equal(agoText(NaN), "");
  assert.equal(agoText(undefined), "");
});

test("durationText: a window length in the largest unit that divides it", () => {
  const cases = [[86400, "1 d"], [604800, "7 d"], [21600, "6 h"], [3600, "1 h"], [600, "10 min"], [90, "90 s"], [5400, "90 min"],
    [600.4, "600 s"]];
  for (const [s, text] of cases) assert.equal(durationText(s), text, String(s));
});

test("plural", () => {
  assert.equal(plural(1, "tag"), "1 tag");
  assert.equal(plural(0, "tag"), "0 tags");
  assert.equal(plural(3, "tag"), "3 tags");
});
