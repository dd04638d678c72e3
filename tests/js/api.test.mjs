// web/static/js/api.js: the API's URLs (ligo-scald's query strings, always relative to the page's API) and the
// JSON fetch's errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkUrl, dataUrl, getJSON } from "../../web/static/js/api.js";

const Q = { measurement: "latency_history", column: "data", tag_key: "job", aggregate: "max" };

test("a time series of named tags: tag=<key> then one <key>=<value> each, dt, whole seconds covering the window", () => {
  const url = dataUrl("/api", "timeseries", Q, 1187008882.7, 1187008982.2, { dt: 10, tags: ["0001", "a b&c"] });
  assert.equal(url, "/api/timeseries/latency_history/1187008882/1187008983?column=data&aggregate=max&dt=10&tag=job&job=0001&job=a+b%26c");
});

test("a reduction across tags names no tag; raw reads name no dt or aggregate", () => {
  assert.equal(dataUrl("/api", "timeseries", Q, 1, 2, { dt: 1, tags: null }),
    "/api/timeseries/latency_history/1/2?column=data&aggregate=max&dt=1");
  assert.equal(dataUrl("/x/api", "timeseries", { ...Q, aggregate: null }, 1, 2),
    "/x/api/timeseries/latency_history/1/2?column=data");
});

test("per-tag answers (heatmap, latest) ask tag_key; a schema without tags asks nothing about tags", () => {
  assert.equal(dataUrl("/api", "latest", Q, 1, 2, { tagKey: true }), "/api/latest/latency_history/1/2?column=data&aggregate=max&tag_key=job");
  assert.equal(dataUrl("/api", "heatmap", { ...Q, tag_key: null }, 1, 2, { dt: 1, tagKey: true, tags: ["a"] }),
    "/api/heatmap/latency_history/1/2?column=data&aggregate=max&dt=1");
});

test("names are path-encoded, so a hostile one stays one path segment", () => {
  assert.equal(dataUrl("/api", "latest", { ...Q, measurement: "a/../b?c" }, 1, 2).split("?")[0], "/api/latest/a%2F..%2Fb%3Fc/1/2");
  assert.equal(checkUrl("/api", "my check/x"), "/api/checks/my%20check%2Fx");
  assert.equal(checkUrl("/api", "c", "history"), "/api/checks/c/history");
  assert.equal(checkUrl("/api", "c", "nagios"), "/api/nagios/c");
});

test("getJSON: the body of a 200; an HTTP error names the status and the API's message", async (t) => {
  const real = globalThis.fetch;
  t.after(() => (globalThis.fetch = real));
  const seen = [];
  const answer = (status, body) => async (url, opts) => {
    seen.push([url, opts]);
    return { ok: status < 400, status, json: async () => (body === undefined ? Promise.reject(new SyntaxError("x")) : body) };
  };
  globalThis.fetch = answer(200, [{ x: [1] }]);
  assert.deepEqual(await getJSON("/api/checks"), [{ x: [1] }]);
  assert.equal(seen[0][1].cache, "no-store");
  globalThis.fetch = answer(404, { error: "unknown check 'x'" });
  await assert.rejects(getJSON("/api/checks/x"), { message: "HTTP 404: unknown check 'x'" });
  globalThis.fetch = answer(502, undefined); // not JSON at all (a proxy's page)
  await assert.rejects(getJSON("/api/checks"), { message: "HTTP 502" });
});

test("getJSON: callers of one URL while it is on its way share one request; after it, a new one is made", async (t) => {
  const real = globalThis.fetch;
  t.after(() => (globalThis.fetch = real));
  const seen = [];
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  globalThis.fetch = async (url) => {
    seen.push(url);
    await gate;
    return { ok: true, status: 200, json: async () => ({ url }) };
  };
  const a = getJSON("/api/x"), b = getJSON("/api/x"), c = getJSON("/api/y");
  release();
  const [ra, rb, rc] = await Promise.all([a, b, c]);
  assert.deepEqual(seen, ["/api/x", "/api/y"]);
  assert.equal(ra, rb);
  assert.deepEqual(rc, { url: "/api/y" });
  await getJSON("/api/x"); // the first has finished: a poll asks again
  assert.deepEqual(seen, ["/api/x", "/api/y", "/api/x"]);
  // a failure is shared too, and not kept: the next call asks again
  globalThis.fetch = async (url) => {
    seen.push(url);
    return { ok: false, status: 503, json: async () => ({ error: "down" }) };
  };
  const f1 = getJSON("/api/z"), f2 = getJSON("/api/z");
  await assert.rejects(f1, { message: "HTTP 503: down" });
  await assert.rejects(f2, { message: "HTTP 503: down" });
  assert.equal(seen.filter((u) => u === "/api/z").length, 1);
  globalThis.fetch = async (url) => ({ ok: true, status: 200, json: async () => [url] });
  assert.deepEqual(await getJSON("/api/z"), ["/api/z"]);
});
