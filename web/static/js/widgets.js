/*
 * Small pieces shared by the navbar, the dashboard strip and the status board: state badges (colour AND text).
 * No browser global is touched at import time.
 */
import { h } from "./dom.js";

/** The state as a coloured badge with its name. */
export const badge = (state) => h("span", { class: `badge s-${state}` }, state);

/** The answer was evaluated by the web server (no usable status file): the same one /api/nagios gives. */
export const liveBadge = (c) => h("span", { class: "badge live", title: c.note || "evaluated now by the web server" }, "LIVE");
