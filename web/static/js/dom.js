/*
 * Building and updating the DOM. Check names, summaries and tag values come from users' configs and pipelines and
 * may contain markup: they only ever become text nodes, never parsed HTML (there is no innerHTML in this code).
 *
 * Updates are in place: `morph` brings an existing subtree to the shape of a freshly built one, keeping every
 * element that is still there, so keyboard focus, an open <details> and the scroll position survive a poll.
 * `syncKeyed` does the same for a list of rows keyed by `data-key`, moving rows (with moveBefore, which keeps
 * focus, where the browser has it) instead of rebuilding them.
 *
 * No browser global is touched at import time (Node imports every module in tests/js).
 */

const HANDLERS = Symbol("scald.handlers");

/** Listen through one dispatcher per event type, so that `morph` can swap the handler (and the data it closes
 *  over) of an element it keeps. */
function listen(e, type, fn) {
  if (!e[HANDLERS]) e[HANDLERS] = {};
  if (!(type in e[HANDLERS])) e.addEventListener(type, (ev) => e[HANDLERS][type] && e[HANDLERS][type](ev));
  e[HANDLERS][type] = fn;
}

/** createElement with attributes and children; strings become text nodes (never HTML); `onX` are listeners. */
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) listen(e, k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) e.append(kid);
  return e;
}

/** Attributes that record what the user did, not what the data say: kept on the element morph keeps. */
const USER_STATE = { DETAILS: ["open"] };

/** Elements morph never reuses: a canvas's pixels are not attributes, so a kept canvas would show old data. */
const REPLACE = new Set(["CANVAS"]);

/**
 * Make `old` look like `fresh` (built by `h`), keeping `old` and its descendants wherever the tag matches.
 * Returns the node now in the document (`old`, or `fresh` when it had to replace it).
 */
export function morph(old, fresh) {
  if (old.nodeType !== fresh.nodeType || old.nodeName !== fresh.nodeName || REPLACE.has(fresh.nodeName) ||
      (old.nodeType === 1 && old.getAttribute("data-key") !== fresh.getAttribute("data-key"))) {
    old.replaceWith(fresh);
    return fresh;
  }
  if (old.nodeType !== 1) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return old;
  }
  const keep = USER_STATE[old.nodeName] || [];
  for (const { name } of [...old.attributes]) {
    if (!fresh.hasAttribute(name) && !keep.includes(name)) old.removeAttribute(name);
  }
  for (const { name, value } of [...fresh.attributes]) {
    if (!keep.includes(name) && old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  for (const [type, fn] of Object.entries(fresh[HANDLERS] || {})) listen(old, type, fn);
  for (const type of Object.keys(old[HANDLERS] || {})) if (!(type in (fresh[HANDLERS] || {}))) old[HANDLERS][type] = null;
  syncChildren(old, [...fresh.childNodes]);
  return old;
}

/** Make `parent`'s children look like `kids`, pairing them by position. */
export function syncChildren(parent, kids) {
  const old = [...parent.childNodes];
  kids.forEach((kid, i) => {
    if (i < old.length) morph(old[i], kid);
    else parent.append(kid);
  });
  for (let i = kids.length; i < old.length; i++) old[i].remove();
}

/** Move `node` before `ref` in `parent` (null: to the end), keeping focus where the browser can (moveBefore). */
function place(parent, node, ref) {
  if (node.parentNode === parent && typeof parent.moveBefore === "function") parent.moveBefore(node, ref);
  else parent.insertBefore(node, ref);
}

/**
 * Make `parent`'s children the elements `rows` (built by `h`, each with a unique `data-key`), in that order:
 * a row whose key is already there is morphed in place and moved only if it is out of order; new keys are
 * inserted; rows whose key is gone are removed.
 */
export function syncKeyed(parent, rows) {
  const byKey = new Map();
  for (const el of [...parent.children]) {
    const key = el.getAttribute("data-key");
    if (key == null || byKey.has(key)) el.remove(); // unkeyed (a "loading…" row) or a duplicate
    else byKey.set(key, el);
  }
  let cursor = parent.firstElementChild; // where the next wanted row belongs
  for (const fresh of rows) {
    const key = fresh.getAttribute("data-key");
    const old = byKey.get(key);
    byKey.delete(key);
    let node = fresh;
    if (old) {
      const atCursor = old === cursor;
      node = morph(old, fresh); // in place: when it had to replace `old`, `fresh` now stands where `old` stood
      if (atCursor) cursor = node;
    }
    if (node === cursor) cursor = cursor.nextElementSibling;
    else place(parent, node, cursor);
  }
  for (const el of byKey.values()) el.remove(); // keys no longer wanted
}
