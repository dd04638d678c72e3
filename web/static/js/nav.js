/*
 * The navbar (clock, checks summary), the dashboard page's head (window text, lookback picker) and its strip of
 * check chips. The clock and the window text are written by one ticker from one reading of the page's clock, so
 * the head's GPS end and the navbar's GPS second never disagree.
 * No browser global is touched at import time.
 */
import { h, syncKeyed } from "./dom.js";
import { clockText, windowText } from "./time.js";

/** Every second: read the page clock once and write the navbar clock and (on a dashboard page) the window text. */
export function startTicker(ctx, clock) {
  const utc = document.getElementById("clock-utc");
  const gps = document.getElementById("clock-gps");
  const win = ctx.window ? document.getElementById("window-text") : null;
  const live = ctx.window && ctx.window.mode === "online";
  const tick = () => {
    const now = clock.gpsNow();
    if (utc && gps) [utc.textContent, gps.textContent] = clockText(now, clock);
    if (win) win.textContent = windowText(ctx.window, now, clock);
  };
  tick();
  // a historical window does not move, but the clock does
  if ((utc && gps) || live) {
    // aligned to the clock's second boundaries, so the displayed second changes when the second does
    const next = () => setTimeout(() => {
      tick();
      next();
    }, 1000 - (((clock.gpsNow() % 1) + 1) % 1) * 1000 + 5);
    next();
  }
}

/** The navbar's summary of checks by state (worst first), and the tab title's CRITICAL count. */
export function navSummary(states) {
  return (checks, err) => {
    const el = document.getElementById("nav-summary");
    if (!el) return;
    if (err) {
      el.className = "nav-summary s-UNKNOWN";
      el.textContent = "API unreachable";
      return;
    }
    const n = states.count(checks);
    el.className = `nav-summary s-${states.worst(checks) || "none"}`;
    el.textContent = states.summaryText(checks);
    const title = document.title.replace(/^\(\d+ \w+\) /, "");
    document.title = n.CRITICAL ? `(${n.CRITICAL} CRITICAL) ${title}` : title;
  };
}

/** The compact panel on dashboard pages: one chip per check, worst first, linking to its row on the board. */
export function statusChips(ctx, states) {
  return (checks, err) => {
    const box = document.getElementById("status-chips");
    if (!box) return;
    if (err) {
      box.replaceChildren(h("span", { class: "err" }, `checks unavailable (${err.message})`));
      return;
    }
    const sorted = checks.slice().sort(states.byWorst);
    if (!sorted.length) {
      box.replaceChildren(h("span", { class: "muted" }, "no checks configured"));
      return;
    }
    // keyed, in place: a chip that has keyboard focus keeps it through a poll
    syncKeyed(box, sorted.map((c) => h("a", {
      "data-key": `chip:${c.name}`,
      class: `chip s-${states.stateOf(c)}${c.stale ? " is-stale" : ""}`,
      href: `${ctx.status_url}#check-${encodeURIComponent(c.name)}`,
      title: `${states.stateOf(c)}${c.stale ? " (STALE)" : ""}${c.source === "evaluated" ? " (LIVE)" : ""}: ${c.summary || ""}`,
    }, h("span", { class: "chip-state" }, states.stateOf(c)), h("span", { class: "chip-name" }, String(c.name)),
    c.stale ? h("span", { class: "chip-stale" }, "STALE") : null)));
  };
}

/** Picking a lookback switches to the live view at once (the inline-script-free way: the CSP allows no onchange=). */
export function lookbackPicker() {
  const select = document.getElementById("lookback-select");
  if (!select) return;
  select.addEventListener("change", () => {
    for (const name of ["start", "end"]) {
      const input = select.form.elements[name];
      if (input) input.disabled = true; // not submitted: a live view
    }
    select.form.submit();
  });
}
