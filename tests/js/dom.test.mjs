// web/static/js/dom.js on a minimal stand-in DOM (just the calls dom.js makes): h() makes text, never markup;
// morph() keeps the elements it can; syncKeyed() ends in the wanted order, keeping every row whose key stays.
// The real thing, with focus, is tested in Chromium (tests/test_dashboard.py).
import { test } from "node:test";
import assert from "node:assert/strict";

class Node {
  constructor(type, name) {
    this.nodeType = type;
    this.nodeName = name;
    this.parentNode = null;
    this.childNodes = [];
  }
  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === ROOT;
  }
  remove() {
    if (!this.parentNode) return;
    const kids = this.parentNode.childNodes;
    kids.splice(kids.indexOf(this), 1);
    this.parentNode = null;
  }
  replaceWith(other) {
    const parent = this.parentNode;
    other.remove();
    parent.childNodes.splice(parent.childNodes.indexOf(this), 1, other);
    other.parentNode = parent;
    this.parentNode = null;
  }
}
class Text extends Node {
  constructor(value) {
    super(3, "#text");
    this.nodeValue = String(value);
  }
}
class Element extends Node {
  constructor(tag) {
    super(1, tag.toUpperCase());
    this.attrs = new Map();
    this.listeners = [];
  }
  set className(v) { this.setAttribute("class", v); }
  get attributes() { return [...this.attrs].map(([name, value]) => ({ name, value })); }
  setAttribute(k, v) { this.attrs.set(k, String(v)); }
  getAttribute(k) { return this.attrs.has(k) ? this.attrs.get(k) : null; }
  hasAttribute(k) { return this.attrs.has(k); }
  removeAttribute(k) { this.attrs.delete(k); }
  addEventListener(type, fn) { this.listeners.push([type, fn]); }
  dispatch(type) { for (const [t, fn] of this.listeners) if (t === type) fn({ type }); }
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }
  get firstElementChild() { return this.children[0] || null; }
  get nextElementSibling() {
    const sib = this.parentNode.children;
    return sib[sib.indexOf(this) + 1] || null;
  }
  get textContent() { return this.childNodes.map((n) => (n.nodeType === 3 ? n.nodeValue : n.textContent)).join(""); }
  append(...kids) { for (const k of kids) this.insertBefore(k instanceof Node ? k : new Text(k), null); } // like the DOM: non-nodes become text
  insertBefore(node, ref) {
    if (ref && ref.parentNode !== this) throw new Error("NotFoundError: ref is not a child");
    node.remove();
    const at = ref ? this.childNodes.indexOf(ref) : this.childNodes.length;
    this.childNodes.splice(at, 0, node);
    node.parentNode = this;
    return node;
  }
}
const ROOT = new Element("html");
globalThis.document = { createElement: (tag) => new Element(tag) };
const { h, morph, syncKeyed } = await import("../../web/static/js/dom.js");

test("h: strings are text nodes, markup included; attributes and listeners set; null kids skipped", () => {
  let clicked = 0;
  const el = h("td", { class: "summary", title: "<b>x</b>", hidden: false, open: true, onclick: () => clicked++ },
    "<script>alert(1)</script>", null, [h("b", {}, "k"), false], 0);
  assert.equal(el.childNodes[0].nodeType, 3);
  assert.equal(el.childNodes[0].nodeValue, "<script>alert(1)</script>");
  assert.equal(el.textContent, "<script>alert(1)</script>k0");
  assert.deepEqual(el.attributes, [{ name: "class", value: "summary" }, { name: "title", value: "<b>x</b>" }, { name: "open", value: "" }]);
  el.dispatch("click");
  assert.equal(clicked, 1);
});

test("morph keeps the element and its children, updates text and attributes, swaps the handler", () => {
  const calls = [];
  const parent = h("div", {});
  ROOT.append(parent);
  const old = h("button", { class: "toggle", "aria-expanded": "false", onclick: () => calls.push("old") }, "▸");
  parent.append(old);
  const kept = morph(old, h("button", { class: "toggle", "aria-expanded": "true", onclick: () => calls.push("new") }, "▾"));
  assert.equal(kept, old);
  assert.equal(old.getAttribute("aria-expanded"), "true");
  assert.equal(old.textContent, "▾");
  old.dispatch("click");
  assert.deepEqual(calls, ["new"]); // the fresh closure, once: no second listener piled up
});

test("morph keeps what the user opened, and replaces what it cannot keep (other tag, canvas, other key)", () => {
  const parent = h("div", {});
  const details = h("details", { class: "tl-text" }, h("summary", {}, "3 segments"));
  details.setAttribute("open", ""); // the user opened it
  const span = h("span", {}, "a");
  const canvas = h("canvas", { width: 10 });
  const keyed = h("tr", { "data-key": "row:a" });
  parent.append(details, span, canvas, keyed);
  assert.equal(morph(details, h("details", { class: "tl-text" }, h("summary", {}, "4 segments"))), details);
  assert.ok(details.hasAttribute("open"));
  assert.equal(details.textContent, "4 segments");
  const b = h("b", {}, "a");
  assert.equal(morph(span, b), b);
  const fresh = h("canvas", { width: 10 });
  assert.equal(morph(canvas, fresh), fresh);
  const other = h("tr", { "data-key": "row:b" });
  assert.equal(morph(keyed, other), other);
  assert.deepEqual(parent.childNodes, [details, b, fresh, other]);
});

const row = (key, text = key) => h("tr", { "data-key": key }, h("td", {}, text));
const keys = (parent) => parent.children.map((e) => e.getAttribute("data-key"));

test("syncKeyed: any order, insertions and removals end as wanted, every remaining row kept", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pool = "abcdefghij".split("");
  const tbody = h("tbody", {});
  ROOT.append(tbody);
  tbody.append(h("tr", {}, h("td", {}, "loading…"))); // an unkeyed placeholder goes
  for (let round = 0; round < 300; round++) {
    const wanted = pool.filter(() => random() < 0.7).sort(() => random() - 0.5);
    const before = new Map(tbody.children.map((e) => [e.getAttribute("data-key"), e]));
    syncKeyed(tbody, wanted.map((k) => row(k, `${k}${round}`)));
    assert.deepEqual(keys(tbody), wanted, `round ${round}`);
    for (const el of tbody.children) {
      const k = el.getAttribute("data-key");
      if (before.has(k)) assert.equal(el, before.get(k), `round ${round}: ${k} was rebuilt`);
      assert.equal(el.textContent, `${k}${round}`);
    }
    for (const [k, el] of before) if (!wanted.includes(k)) assert.equal(el.parentNode, null);
  }
});

test("syncKeyed: a row whose tag changed is replaced in its place; an unchanged order moves nothing", () => {
  const tbody = h("tbody", {});
  ROOT.append(tbody);
  syncKeyed(tbody, [row("a"), row("b"), row("c")]);
  const [a, b, c] = tbody.children;
  let moves = 0;
  const insert = tbody.insertBefore.bind(tbody);
  tbody.insertBefore = (n, ref) => (moves++, insert(n, ref));
  syncKeyed(tbody, [row("a", "A"), row("b", "B"), row("c", "C")]);
  assert.equal(moves, 0);
  assert.deepEqual(tbody.children, [a, b, c]);
  const div = h("div", { "data-key": "b" });
  syncKeyed(tbody, [row("a"), div, row("c")]);
  assert.deepEqual(tbody.children, [a, div, c]);
});
