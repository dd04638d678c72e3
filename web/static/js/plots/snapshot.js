/*
 * Snapshot: the latest snapshot of a measurement (/api/snapshot: [{x: data[dims.x], y: data[dims.y]}], e.g. a
 * PSD), redrawn every poll; layout.xaxis/yaxis `type: log` honoured. A backend that stores no snapshots (the
 * route answers 404) leaves the panel empty, saying so.
 */
import { dataUrl, getJSON } from "../api.js";
import { numText } from "../text.js";
import { FONT, PALETTE, panel, valueAxis, windows } from "./common.js";
import { decadeRange, decadeSplits, snapshotTraces, traceStyle } from "./data.js";

/** A log scale over whole decades (uPlot's own log range and splits throw on values like 1e-23), else linear. */
const logScale = (log) => (log ? { time: false, distr: 3, log: 10, range: (u, min, max) => decadeRange(min, max) } : { time: false });
const logAxis = (log) => (log ? { splits: (u, ai, min, max) => decadeSplits(min, max) } : {});

export function snapshot(fig, cfg, env) {
  const { ctx } = env;
  const p = panel(fig, cfg, env);
  const q = cfg.query;
  const win = windows(env);
  let key = "";
  p.describe = () => (p.meta.textContent = "latest snapshot");
  p.describe();

  function build(traces) {
    if (p.u) p.u.destroy();
    const xlog = cfg.xaxis && cfg.xaxis.log, ylog = cfg.yaxis && cfg.yaxis.log;
    p.u = new uPlot({
      ...p.size(), padding: [8, 16, 0, 0],
      scales: { x: logScale(xlog), y: logScale(ylog) },
      series: [{ label: (cfg.xaxis && cfg.xaxis.title) || "x", value: (u, v) => numText(v) },
        ...traces.map((t, i) => {
          const st = traceStyle(cfg.data_options, t.name, i, PALETTE);
          return { label: t.name, stroke: st.stroke, width: st.width, points: { show: st.markers }, value: (u, v) => numText(v) };
        })],
      axes: [{ label: (cfg.xaxis && cfg.xaxis.title) || "", labelSize: 14, labelFont: FONT, font: FONT, size: 40,
        values: (u, splits) => splits.map(numText), ...logAxis(xlog) }, { ...valueAxis(cfg.ylabel), ...logAxis(ylog) }],
      legend: { live: true },
    }, [[]], p.body);
    p.fit();
  }

  async function update() {
    const w = win.current();
    let res;
    try {
      res = await getJSON(dataUrl(ctx.api, "snapshot", q, w.start, w.end));
    } catch (e) {
      p.fetches++;
      if (!/^HTTP 404/.test(e.message)) throw e;
      // No snapshot data behind this route: an empty panel that says why, not an error.
      p.report(0);
      p.msg.textContent = `no snapshot: ${e.message.replace(/^HTTP 404: /, "")}`;
      return;
    }
    p.fetches++;
    p.ok();
    const xlog = cfg.xaxis && cfg.xaxis.log, ylog = cfg.yaxis && cfg.yaxis.log;
    const traces = snapshotTraces(res).map((t) => {
      const keep = t.x.map((x, i) => (!xlog || x > 0) && (!ylog || t.y[i] > 0));
      return { name: t.name, x: t.x.filter((_, i) => keep[i]), y: t.y.filter((_, i) => keep[i]) };
    });
    const names = traces.map((t) => t.name).join("\u0000");
    if (!p.u || names !== key) {
      key = names;
      build(traces);
    }
    const data = traces.length ? uPlot.join(traces.map((t) => [t.x, t.y])) : [[]];
    p.u.setData(data);
    p.report(traces.reduce((n, t) => n + t.x.length, 0));
  }
  return { p, update };
}
