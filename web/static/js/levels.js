/*
 * The resolution (decimation level, dt) a plot reads, pure functions (Node imports this module in tests/js).
 *
 * There is one picker, the server's (scald_monitor.io pick_level): the finest stored level giving at most
 * `maxPoints` buckets over the window, else the coarsest. The page gets the levels and the API's points budget in
 * its context (`levels`, `max_points`) and applies that same rule here, so that a plot reads the buckets an API
 * call naming no dt would read. tests/test_dashboard.py runs this function against the Python one.
 */

/** The server's rule: the finest of `levels` (ascending seconds) with span / level <= maxPoints, else the last. */
export function pickLevel(span, levels, maxPoints) {
  if (!Array.isArray(levels) || !levels.length) throw new Error("no levels: the page context lacks `levels`");
  const width = Math.max(Number(span) || 0, 0);
  for (const level of levels) if (width / level <= maxPoints) return level;
  return levels[levels.length - 1];
}

/**
 * The level a plot of `width` pixels reads over `span` seconds: the server's rule with the API's budget, lowered
 * to what the plot can show — `perPixel` buckets per pixel (2 for a line: the server's exact max/min per bucket
 * keeps every spike; 1 for a heatmap: a wider image would drop cells when scaled down).
 */
export function plotLevel(span, width, ctx, perPixel) {
  const pixels = Math.max(1, Math.floor(perPixel * width));
  return pickLevel(span, ctx.levels, Math.min(ctx.max_points, pixels));
}
