// Every front-end module under web/static/js: importable by Node with no DOM (no browser global at import time,
// so each concept's pure functions can be tested here), text-only DOM building, and no code from strings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const STATIC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "web", "static");
const JS = join(STATIC, "js");

function modules(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []);
}
const ALL = modules(JS);
const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[\s;{}(),])\/\/[^\n]*/g, "$1");

test("the front end is split into its concepts", () => {
  const names = ALL.map((p) => relative(JS, p)).sort();
  for (const name of ["api.js", "board.js", "dom.js", "levels.js", "states.js", "text.js", "time.js", "timeline.js",
    "plots/common.js", "plots/data.js", "plots/timeseries.js", "plots/heatmap.js", "plots/bars.js"]) {
    assert.ok(names.includes(name), `${name} missing from ${names}`);
  }
});

for (const path of ALL) {
  const name = relative(JS, path);
  test(`${name} imports without a browser`, async () => {
    assert.equal(typeof globalThis.document, "undefined"); // really no DOM here
    const mod = await import(pathToFileURL(path).href);
    assert.ok(Object.keys(mod).length > 0, `${name} exports nothing`);
  });
  test(`${name} builds no HTML from strings and runs no code from strings`, () => {
    const code = stripComments(readFileSync(path, "utf8"));
    for (const bad of [/\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\(/, /new Function\(/,
      /DOMParser/, /createContextualFragment/]) {
      assert.ok(!bad.test(code), `${name}: ${bad}`);
    }
  });
}

test("the entry module imports only from ./js and is loaded as a module by the page", () => {
  const entry = stripComments(readFileSync(join(STATIC, "scald.js"), "utf8"));
  const specifiers = [...entry.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
  assert.ok(specifiers.length >= 5, String(specifiers));
  for (const s of specifiers) assert.match(s, /^\.\/js\/[\w/]+\.js$/);
  const base = readFileSync(join(STATIC, "..", "templates", "base.html"), "utf8");
  assert.match(base, /<script type="module" src="\{\{ url_for\('static', filename='scald.js'\) \}\}"><\/script>/);
});
