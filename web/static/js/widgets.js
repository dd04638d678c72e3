/*
 * Small pieces shared by the navbar, the dashboard strip and the status board: state badges (colour AND text).
 * No browser global is touched at import time.
 */
import { h } from "./dom.js";

/** The state as a coloured badge with its name. */
export const badge = (state) => h("span", { class: `badge s-${state}` }, state);

/** The answer was evaluated by the web server (no usable status file): the same one /api/nagios gives. */
/**
 * A check's acknowledgement and downtime (/api/checks: read live from the file the CLI and the write API keep):
 * "ACK" / "DOWNTIME" badges, or "ACK 2" / "DOWNTIME 3" for tag values, with the words in the title. Read-only:
 * the board never writes.
 */
export function markBadges(c) {
  const out = [];
  const mark = (kind, text, title) => h("span", { class: `badge mark ${kind}`, title, "data-key": `mark:${kind}` }, text);
  if (c.downtime) out.push(mark("downtime", "DOWNTIME", c.downtime.text));
  else if (c.tags_in_downtime) out.push(mark("downtime", `DOWNTIME ${c.tags_in_downtime}`, `${c.tags_in_downtime} tag value(s) in downtime`));
  const a = c.acknowledgement;
  if (a) out.push(mark("ack", "ACK", `acknowledged${a.author ? ` by ${a.author}` : ""}${a.comment ? `: ${a.comment}` : ""}${a.sticky ? " (sticky)" : ""}`));
  else if (c.tags_acknowledged) out.push(mark("ack", `ACK ${c.tags_acknowledged}`, `${c.tags_acknowledged} tag value(s) acknowledged`));
  return out;
}

export const liveBadge = (c) => h("span", { class: "badge live", title: c.note || "evaluated now by the web server" }, "LIVE");
