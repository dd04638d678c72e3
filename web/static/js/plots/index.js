/*
 * The plots of a dashboard page (ctx.plots): each placed on the grid, drawn by its type's module, and polled
 * (live windows) or drawn once (historical ones). Every ligo-scald plot type has a module; a plot the page cannot
 * draw (an unknown type, a schema it cannot use) is a configuration error, shown as one on its panel.
 */
import { every } from "../poll.js";
import { latestBars } from "./bars.js";
import { place } from "./common.js";
import { heatMap } from "./heatmap.js";
import { binnedHistogram } from "./histogram.js";
import { ifar } from "./ifar.js";
import { multiAxis, multiSchema, timeSegment } from "./lines.js";
import { snapshot } from "./snapshot.js";
import { timeSeries } from "./timeseries.js";

/** Plot type (ligo-scald's name) -> the function that makes it (serve/pages.py SUPPORTED_PLOTS names the same). */
export const PLOT_TYPES = { TimeSeries: timeSeries, TimeHeatMap: heatMap, Bar: latestBars, Snapshot: snapshot,
  MultiAxis: multiAxis, MultiSchema: multiSchema, BinnedTimeHistogram: binnedHistogram, IFAR: ifar,
  TimeSegment: timeSegment };

/** The message of a plot the page cannot draw: what is wrong with its configuration. */
export function configProblem(cfg) {
  if (!(cfg.type in PLOT_TYPES)) return `configuration error: plot ${cfg.name} has type ${cfg.type}, which is not a plot type (${Object.keys(PLOT_TYPES).join(", ")})`;
  if (cfg.problem) return `configuration error: ${cfg.problem}`;
  if (!cfg.query) return `configuration error: plot ${cfg.name} has no usable schema`;
  return null;
}

function configError(fig, message) {
  fig.dataset.state = "error";
  const msg = fig.querySelector(".plot-msg");
  msg.textContent = message;
  msg.classList.add("err");
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
    const problem = configProblem(cfg);
    if (problem) {
      configError(fig, problem);
      continue;
    }
    const make = PLOT_TYPES[cfg.type];
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
