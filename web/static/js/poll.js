/*
 * Polling: runs never overlap (the next one is scheduled when the last one has finished) and pause while the
 * tab is hidden. One poller of /api/checks feeds the navbar, the dashboard strip and the status board.
 * No browser global is touched at import time.
 */
import { getJSON } from "./api.js";

/** Run fn now and then every `seconds` after it finishes; skipped while the tab is hidden. A failure goes to
 *  `onError` (the page records it in window.scald.errors) and polling goes on. */
export function every(seconds, fn, onError) {
  const tick = async () => {
    if (!document.hidden) {
      try {
        await fn();
      } catch (e) {
        if (onError) onError(e);
      }
    }
    setTimeout(tick, seconds * 1000);
  };
  tick();
}

/**
 * Poll `<api>/checks` every `seconds`, handing each answer to every listener as (checks, null), or (null, error)
 * when a poll fails. Listeners added before the first answer see every poll.
 */
export function checksFeed(api, seconds, debug) {
  const listeners = [];
  let failing = false;
  const start = () => every(seconds, async () => {
    let checks;
    try {
      checks = await getJSON(`${api}/checks`);
    } catch (e) {
      if (!failing) console.warn("scald: /api/checks:", e);
      failing = true;
      for (const fn of listeners) fn(null, e);
      return;
    }
    failing = false;
    debug.checks = checks;
    for (const fn of listeners) fn(checks, null);
  });
  return { listen: (fn) => listeners.push(fn), start };
}
