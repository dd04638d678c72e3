/*
 * scald-monitor dashboard, the entry module: the status board and the live plots of ligo-scald's pages.
 *
 * Native ES modules (web/static/js/), no build step, and no request to any host but the one that served the
 * page. The page's data come in one JSON document (#scald-context, rendered by scald_monitor/serve/pages.py):
 * the API's URL, the window, the plots, the poll periods, the server's leap-second table and clock, its states
 * and their order, and its resolution levels and points budget — so this code keeps no table of its own.
 *
 * Time: the API speaks GPS seconds. Plots are drawn on a Unix-seconds axis, so that ticks fall on round UTC times,
 * and every tick is labelled twice: UTC above, GPS below. GPS - UTC comes from the server's leap-second table
 * (18 s since 2017-01-01), never from the browser's time zone, which is not used anywhere. One clock (time.js
 * makeClock) gives every "now" on the page.
 */
import { startBoard } from "./js/board.js";
import { lookbackPicker, navSummary, startTicker, statusChips } from "./js/nav.js";
import { startPlots } from "./js/plots/index.js";
import { checksFeed } from "./js/poll.js";
import { makeStates } from "./js/states.js";
import { makeClock } from "./js/time.js";

const ctx = JSON.parse(document.getElementById("scald-context").textContent);
const clock = makeClock(ctx.leap, ctx.server_gps);
// Exposed for tests and for poking at from the console.
const debug = (window.scald = { plots: {}, checks: null, errors: [], timelines: {}, gpsNow: clock.gpsNow });
const onError = (e) => {
  debug.errors.push(String(e));
  console.warn("scald:", e);
};
const states = makeStates(ctx.states);
const feed = checksFeed(ctx.api, ctx.poll.status, debug);
const env = { ctx, clock, states, feed, debug, onError };

startTicker(ctx, clock);
feed.listen(navSummary(states));
feed.listen(statusChips(ctx, states));
startBoard(env);
lookbackPicker();
startPlots(env);
feed.start();
