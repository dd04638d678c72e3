/*
 * The plots of a dashboard page (ctx.plots): each placed on the grid, drawn by its type's module, and polled
 * (live windows) or drawn once (historical ones). Types without a module get a panel saying so.
 */
import { every } from "../poll.js";
import { latestBars } from "./bars.js";
import { place } from "./common.js";
import { heatMap } from "./heatmap.js";
import { timeSeries } from "./timeseries.js";

/** Plot type (ligo-scald's name) -> the function that makes it. */
export const PLOT_TYPES = { TimeSeries: timeSeries, TimeHeatMap: heatMap, Bar: latestBars };

function unsupported(fig, cfg) {
  const types = Object.keys(PLOT_TYPES);
  const drawn = `${types.slice(0, -1).join(", ")} and ${types[types.length - 1]}`;
  fig.dataset.state = "unsupported";
  fig.querySelector(".plot-msg").textContent = cfg.query
    ? `Plot type ${cfg.type} is not drawn by this dashboard yet (${drawn} are).`
    : `Plot ${cfg.name} has no usable schema.`;
}

export function startPlots(env) {
  const { ctx } = env;
  const grid = document.getElementById("plot-grid");
  if (!grid || !ctx.plots) return;
  const live = ctx.window && ctx.window.mode === "online";
  for (const cfg of ctx.plots) {
    const fig = document.getElementById(cfg.id);
    if (!fig) continue;
    place(fig, cfg.grid || {});
    const make = PLOT_TYPES[cfg.type];
    if (!cfg.supported || !cfg.query || !make) {
      unsupported(fig, cfg);
      continue;
    }
    const plot = make(fig, cfg, env);
    const run = async () => {
      try {
        await plot.update();
      } catch (e) {
        plot.p.fail(e);
        throw e;
      }
    };
    if (live) every(ctx.poll.plots, run, env.onError);
    else run().catch(env.onError);
  }
}
