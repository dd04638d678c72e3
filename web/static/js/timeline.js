/*
 * The state timeline of an expanded check (/api/checks/<name>/history): a strip coloured by state over the last
 * 24 h (or since the first recorded change), SOFT states lighter, with a legend, UTC end times, a title under
 * the cursor and the same segments as a text list, so that nothing is said by colour alone.
 *
 * `timelineSegments` and `segmentText` are pure (tested with node --test); `timeline` draws, in the browser only.
 */
import { h } from "./dom.js";
import { lengthText } from "./text.js";
import { utcText } from "./time.js";

export const TIMELINE_SPAN = 86400;
export const TIMELINE_LIST = 12; // newest segments listed as text

/**
 * {start, end, segments: [{from, to, state, type}]} over [max(now - span, first change), now] (Unix seconds),
 * from the changes (oldest first, `state` a number of `stateNames`). Invalid entries are ignored; the newest
 * state lasts until now.
 */
export function timelineSegments(changes, now, stateNames, span = TIMELINE_SPAN) {
  const valid = (Array.isArray(changes) ? changes : []).filter((c) => c && Number.isFinite(c.time) && stateNames[c.state]);
  if (!valid.length) return { start: now, end: now, segments: [] };
  const start = Math.min(now, Math.max(now - span, valid[0].time));
  const segments = [];
  valid.forEach((c, i) => {
    const from = Math.max(c.time, start);
    const to = Math.min(i + 1 < valid.length ? valid[i + 1].time : now, now);
    if (to > from || (i === valid.length - 1 && to >= from)) {
      segments.push({ from, to, state: stateNames[c.state], type: c.state_type === "SOFT" ? "SOFT" : "HARD" });
    }
  });
  return { start, end: now, segments };
}

/** "WARNING (soft) · 2026-11-25 10:00:00 – 2026-11-25 10:05:00 UTC · 5 min". */
export function segmentText(seg) {
  return `${seg.state}${seg.type === "SOFT" ? " (soft)" : ""} · ${utcText(seg.from)} – ${utcText(seg.to)} UTC` +
    ` · ${lengthText(seg.to - seg.from)}`;
}

/**
 * The timeline's element for history `hist` ({changes} | {error} | undefined while loading) at Unix time `now`
 * (the page's clock). `publish(segments)` hands the segments to window.scald.timelines for tests.
 */
export function timeline(hist, now, stateNames, publish, title = "state timeline") {
  const box = h("div", { class: "timeline" });
  const head = h("div", { class: "tl-head" }, h("b", {}, title));
  box.append(head);
  if (!hist) {
    head.append(" ", h("span", { class: "muted" }, "loading…"));
    return box;
  }
  if (hist.error) {
    head.append(" ", h("span", { class: "err" }, `history unavailable (${hist.error})`));
    return box;
  }
  const { start, end, segments } = timelineSegments(hist.changes, now, stateNames);
  publish(segments);
  if (!segments.length) {
    head.append(" ", h("span", { class: "muted" }, "no state change recorded yet (has scald-monitor run written " +
      "its state file?)"));
    return box;
  }
  const span = Math.max(end - start, 1);
  head.append(" ", h("span", { class: "sub" }, start <= now - TIMELINE_SPAN + 1 ? "last 24 h"
    : `since the first recorded state (${lengthText(end - start)})`));
  const W = 960, H = 18;
  const canvas = h("canvas", { class: "tl-strip", width: W, height: H, role: "img",
    "aria-label": `State timeline: ${segments.map(segmentText).join("; ")}`, "data-segments": segments.length,
    title: "state timeline (hover for a segment)" });
  const g = canvas.getContext("2d");
  const css = getComputedStyle(document.documentElement);
  const colour = { OK: css.getPropertyValue("--ok").trim() || "#1a7f37",
    WARNING: css.getPropertyValue("--warning-bg").trim() || "#f5c842",
    CRITICAL: css.getPropertyValue("--critical").trim() || "#cf222e",
    UNKNOWN: css.getPropertyValue("--unknown").trim() || "#8250df" };
  const xOf = (t) => ((t - start) / span) * W;
  g.clearRect(0, 0, W, H);
  for (const seg of segments) {
    const x0 = Math.floor(xOf(seg.from));
    const x1 = Math.max(x0 + 1, Math.ceil(xOf(seg.to))); // at least one pixel: a short state stays visible
    g.globalAlpha = seg.type === "SOFT" ? 0.5 : 1;
    g.fillStyle = colour[seg.state] || "#8c959f";
    g.fillRect(x0, 0, x1 - x0, H);
  }
  g.globalAlpha = 1;
  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const t = start + ((ev.clientX - r.left) / Math.max(r.width, 1)) * span;
    const seg = segments.find((s) => t >= s.from && t <= s.to);
    canvas.title = seg ? segmentText(seg) : "";
  });
  const used = stateNames.filter((st) => segments.some((seg) => seg.state === st));
  const legend = h("div", { class: "tl-legend" }, used.map((st) => h("span", { class: "tl-key" },
    h("span", { class: `tl-swatch s-${st}` }), st)),
  segments.some((seg) => seg.type === "SOFT") ? h("span", { class: "sub" }, "lighter = SOFT") : null);
  const axis = h("div", { class: "tl-axis sub" }, h("span", {}, `${utcText(start)} UTC`), h("span", {}, `${utcText(end)} UTC (now)`));
  const newest = segments.slice(-TIMELINE_LIST).reverse();
  const list = h("ol", { class: "tl-list sub", reversed: true }, newest.map((seg) =>
    h("li", {}, h("span", { class: `tl-swatch s-${seg.state}` }), " ", segmentText(seg))));
  const more = segments.length > newest.length ? h("div", { class: "sub" }, `… and ${segments.length - newest.length} older`) : null;
  box.append(canvas, axis, legend, h("details", { class: "tl-text" },
    h("summary", {}, `${segments.length} segment${segments.length > 1 ? "s" : ""} as text`), list, more));
  return box;
}
