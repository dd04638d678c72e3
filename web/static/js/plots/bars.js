/*
 * Bar: the latest value per tag value (/api/latest, ligo-scald's "latest" view), refreshed every poll. With the
 * cursor off the plot the legend names the highest bar (every bar is a latest value, so "newest" would pick one
 * at random); over a bar it names that one.
 */
import { dataUrl, getJSON } from "../api.js";
import { numText } from "../text.js";
import { FONT, drawThresholds, panel, valueAxis, windows, yRangeOf } from "./common.js";
import { highestIndex } from "./data.js";

export function latestBars(fig, cfg, env) {
  const { ctx } = env;
  const p = panel(fig, cfg, env);
  const q = cfg.query;
  const win = windows(env);
  let names = [];
  p.describe = () => (p.meta.textContent = `latest value per ${q.tag_key || "tag"}`);
  p.describe();
  /** The bar the legend describes: the one under the cursor, else the highest. */
  const pick = (u, idx) => (idx == null ? highestIndex(u.data[1]) : idx);

  function build() {
    if (p.u) p.u.destroy();
    p.u = new uPlot({
      ...p.size(),
      scales: { x: { time: false, range: () => [-0.5, Math.max(names.length, 1) - 0.5] }, y: { range: yRangeOf(cfg.thresholds, true) } },
      series: [{ label: q.tag_key || "tag", value: (u, v, si, idx) => {
        const i = pick(u, idx);
        return i == null ? "–" : `${String(names[i] ?? "")}${idx == null ? " (highest)" : ""}`;
      } },
      { label: q.column, fill: "#0072B2cc", stroke: "#0072B2", width: 1, paths: uPlot.paths.bars({ size: [0.7, 60] }),
        points: { show: false }, value: (u, v, si, idx) => {
          const i = pick(u, idx);
          return i == null ? "–" : numText(u.data[1][i]);
        } }],
      axes: [{ label: q.tag_key || "tag", labelSize: 14, labelFont: FONT, font: FONT,
        size: 26, splits: () => names.map((_, i) => i), values: (u, splits) => splits.map((i) => String(names[i] ?? "")), grid: { show: false } },
      valueAxis(cfg.ylabel)],
      hooks: { draw: [(u) => drawThresholds(u, cfg.thresholds)] },
    }, [[], []], p.body);
    p.fit();
  }

  async function update() {
    const w = win.current();
    const res = await getJSON(dataUrl(ctx.api, "latest", q, w.start, w.end, { tagKey: true }));
    p.fetches++;
    p.ok();
    const tr = (res && res[0]) || { x: [], y: [] };
    const fresh = (tr.x || []).map(String);
    if (!p.u || fresh.join("\u0000") !== names.join("\u0000")) {
      names = fresh;
      build();
    }
    const ys = (tr.y || []).map((v) => (v == null || !Number.isFinite(v) ? null : v));
    p.u.setData([names.map((_, i) => i), ys]);
    p.report(ys.filter((v) => v != null).length);
  }
  return { p, update };
}
