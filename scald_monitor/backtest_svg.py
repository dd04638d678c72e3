"""``scald-monitor backtest --plot FILE.svg``: the checked value per tag, the warning/critical bands and a state strip.

Why a static SVG: it opens in any browser or image viewer and can be attached to a ticket, with no JavaScript and no
server. The axes, ticks and lines are drawn by :mod:`scald_monitor.svgplot` (the report's drawing), given explicit
ranges so that the bands (the values each range alerts on) and the strip line up with its axes.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

from . import svgplot
from .rules.evaluate import Limits
from .rules.result import state_name
from .timeutil import gps_to_iso

#: Colours of the states in the strip and of the bands (Nagios's usual ones).
STATE_COLOURS = {"OK": "#5cb85c", "WARNING": "#f0ad4e", "CRITICAL": "#d9534f", "UNKNOWN": "#9b59b6"}
WIDTH, HEIGHT, STRIP, GAP = 900, 380, 22, 8
STYLE = (".scald-plot .bg{fill:#fff}.scald-plot .frame{fill:none;stroke:#444}.scald-plot .line{fill:none;"
         "stroke-width:1.2}.scald-plot .grid{stroke:#e5e5e5}.scald-plot text{font:11px sans-serif;fill:#333}"
         ".band-warning{fill:#f0ad4e;fill-opacity:.18}.band-critical{fill:#d9534f;fill-opacity:.22}"
         "text{font:11px sans-serif;fill:#333}")


def _alerting(rng: Any, lo: float, hi: float) -> list[tuple[float, float]]:
    """The parts of [lo, hi] where ``rng`` alerts (outside its ends, or inside with ``@``)."""
    if rng is None:
        return []
    if rng.inside:
        parts = [(max(rng.start, lo), min(rng.end, hi))]
    else:
        parts = [(lo, min(rng.start, hi)), (max(rng.end, lo), hi)]
    return [(a, b) for a, b in parts if b > a]


def _y_extent(values: Sequence[float], limits: Limits) -> tuple[float, float]:
    edges = [e for rng in (limits.warning, limits.critical) if rng is not None for e in (rng.start, rng.end)
             if math.isfinite(e)]
    pool = [v for v in values if math.isfinite(v)] + edges
    if not pool:
        return 0.0, 1.0
    lo, hi = min(pool), max(pool)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    return lo - pad, hi + pad


def render_plot(replays: Sequence[Any], names: Sequence[str] = ("",)) -> str:
    """A standalone SVG document: the first replay's checked values and bands, a state strip per replay."""
    rep = replays[0]
    check = rep.check
    limits = Limits.from_check(check)
    start, end = rep.start, rep.end
    hours = max((end - start) / 3600.0, 1e-9)
    traces = []
    all_values: list[float] = []
    for label, (times, values) in sorted(rep.values.items()):
        traces.append({"type": "scatter", "mode": "lines", "name": label or check.name,
                       "x": [(t - start) / 3600.0 for t in times], "y": list(values)})
        all_values.extend(values)
    ylo, yhi = _y_extent(all_values, limits)
    what = "age of the newest point (s)" if check.type == "heartbeat" else f"{check.aggregate} {check.column}"
    layout = {"xaxis": {"range": [0.0, hours], "title": f"hours since {gps_to_iso(start)[:19]}Z (GPS {start:.0f})"},
              "yaxis": {"range": [ylo, yhi], "title": what + (f" ({check.units})" if check.units else "")},
              "showlegend": len(traces) > 1, "height": HEIGHT}
    figure = svgplot.render(traces, layout, width=WIDTH, height=HEIGHT, uid="bt", label=f"backtest of {check.name}")
    x0, x1 = svgplot.MARGIN["l"], WIDTH - svgplot.MARGIN["r"]
    y0, y1 = HEIGHT - svgplot.MARGIN["b"], svgplot.MARGIN["t"]
    ya = svgplot.Axis(ylo, yhi, y0, y1)
    bands = []
    for which, rng in (("warning", limits.warning), ("critical", limits.critical)):
        for a, b in _alerting(rng, ylo, yhi):
            top, bottom = ya(b), ya(a)
            bands.append(f'<rect class="band band-{which}" x="{x0}" y="{top:.1f}" width="{x1 - x0}" '
                         f'height="{max(bottom - top, 0.5):.1f}"><title>{which} ({rng.text})</title></rect>')
    inner = figure.svg
    marker = '<g clip-path="url(#bt-clip)">'
    cut = inner.find(marker)
    if cut >= 0:
        inner = inner[:cut + len(marker)] + "".join(bands) + inner[cut + len(marker):]
    inner = inner.replace("<svg ", f'<svg x="0" y="0" width="{WIDTH}" height="{HEIGHT}" ', 1)
    strips = []
    y = HEIGHT + GAP
    span = max(end - start, 1e-9)
    for i, r in enumerate(replays):
        name = names[i] if i < len(names) else ""
        strips.append(_strip(r, x0, x1, y, span, name))
        y += STRIP + GAP
    legend = _legend(x0, y + 18, [t["name"] for t in traces] if len(traces) > 1 else [])
    total = y + 24 + (28 if legend else 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" '
            f'viewBox="0 0 {WIDTH} {total}"><style>{STYLE}</style>{inner}{"".join(strips)}'
            f'{_state_key(x0, y + 12)}{legend}</svg>')


def _strip(rep: Any, x0: float, x1: float, y: float, span: float, name: str) -> str:
    """The check's reported state over the window: one rectangle per stretch of one state."""
    marks = [(rep.start, 0)] + [(t, s) for t, s, _ in rep.timeline]
    parts = [f'<g class="state-strip"><title>reported state{(" (" + name + ")") if name else ""}</title>']
    for i, (t, state) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else rep.end
        if stop <= t and i + 1 < len(marks):
            continue
        a = x0 + (t - rep.start) / span * (x1 - x0)
        b = x0 + (stop - rep.start) / span * (x1 - x0)
        label = state_name(state)
        parts.append(f'<rect class="state state-{label}" x="{a:.2f}" y="{y}" width="{max(b - a, 0.3):.2f}" '
                     f'height="{STRIP}" fill="{STATE_COLOURS[label]}"><title>{label} from '
                     f'{gps_to_iso(t)[:19]}Z</title></rect>')
    if name:
        parts.append(f'<text x="{x0 - 6}" y="{y + STRIP - 6}" text-anchor="end">{escape(name)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _state_key(x: float, y: float) -> str:
    parts = []
    for name, colour in STATE_COLOURS.items():
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{y}">{name}</text>')
        x += 90
    return "".join(parts)


def _legend(x: float, y: float, names: list[str]) -> str:
    out = []
    for i, name in enumerate(names[:12]):
        colour = svgplot.COLORWAY[i % len(svgplot.COLORWAY)]
        out.append(f'<rect x="{x}" y="{y + 14}" width="10" height="3" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="{y + 19}">{escape(name)}</text>')
        x += 12 + 7 * len(name) + 16
    return "".join(out)


def write_plot(path: str, replays: Sequence[Any], names: Sequence[str] = ("",)) -> None:
    """Write the SVG atomically (a reader never sees half a file)."""
    from .atomic import write_atomic

    write_atomic(path, render_plot(replays, names).encode())
