"""Plotly-style traces drawn as static inline SVG, in Python.

Why: an offline report (``scald report``) must open from disk with no server, no internet and no JavaScript
engine surprises. Drawing the figure at build time keeps each page a plain HTML file: nothing to fetch, nothing to
execute, and the plot is visible even in a mail client or a text-mode browser's image dump. Only what ligo-scald
reports use is supported: ``scatter`` (lines / markers), ``bar`` and ``heatmap`` traces, linear, log and category
axes, titles, ranges and per-trace colours.

Every piece of text that reaches the SVG goes through :func:`html.escape`; the result is safe to embed as markup.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

__all__ = ["Figure", "render", "SUPPORTED_TYPES"]

SUPPORTED_TYPES = ("scatter", "scattergl", "bar", "heatmap", "histogram", "histogram2d")
COLORWAY = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")  # plotly's default colorway, so a report looks like the dashboard it summarises
VIRIDIS = ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
           (1.0, (253, 231, 37)))
MARGIN = {"l": 78, "r": 24, "t": 14, "b": 52}
COLORBAR = 70          # extra right margin for a heatmap's colour bar
MAX_TITLED_MARKERS = 2000  # beyond this, markers get no hover text (keeps pages small)


@dataclass
class Figure:
    """One rendered plot: the ``<svg>`` markup and the legend entries (name, colour) to show beside it."""

    svg: str
    legend: list[tuple[str, str]] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- value handling

def _num(value: Any) -> float | None:
    """A finite float, or None for gaps (null, NaN, inf, non-numbers): plotly draws those as breaks too."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        v = float(value)
    elif isinstance(value, str):
        try:
            v = float(value)
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def _is_categorical(values: Sequence[Any]) -> bool:
    """True when the values are labels (strings that are not numbers), as plotly's axis auto-typing decides."""
    seen = [v for v in values if v is not None]
    return bool(seen) and all(isinstance(v, str) and _num(v) is None for v in seen)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("text", "")
    return "" if value is None else str(value)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


COLOUR = re.compile(r"^(?:#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,30}|(?:rgb|rgba|hsl|hsla)\([0-9.,%\s]{1,60}\))$")


def _colour(trace: dict, index: int) -> str:
    """The trace's own colour (marker.color or line.color when a plain CSS colour), else the colorway's next one.

    Only colour syntax passes: the value lands in style/fill attributes, where ``url(...)`` would fetch.
    """
    for key in ("line", "marker"):
        spec = trace.get(key)
        if isinstance(spec, dict) and isinstance(spec.get("color"), str) and COLOUR.match(spec["color"].strip()):
            return spec["color"].strip()
    return COLORWAY[index % len(COLORWAY)]


def step_decimals(step: float) -> int:
    """Decimals that write every multiple of ``step`` exactly: 1 for 2.5 or 0.5, 2 for 0.25, 0 for 25 or 1e3.

    Why not ``-floor(log10(step))``: that gives 0 for 2.5, so the tick at 7.5 read "8" and the one at 2.5 "2"
    (round half to even), and bars of 12, 7 and 3 drawn against them read as 11.6, 7.6 and 2.4."""
    for decimals in range(13):
        if abs(round(step, decimals) - step) <= 1e-9 * abs(step):
            return decimals
    return 12


def fmt_number(value: float, step: float | None = None) -> str:
    """A tick label, exact for a multiple of ``step``: integers stay integers (GPS times print in full, as
    ligo-scald's ``tickformat: 'd'``), ``7.5`` on a 2.5 grid is "7.5" (and 5 is "5"), ``0.30000000000000004`` on a
    0.1 grid "0.3"."""
    if value == 0 or (step is not None and step > 0 and abs(value) < 1e-9 * step):  # 0 reached by float steps
        return "0"
    mag = abs(value)
    if mag < 1e-4 or mag >= 1e15:
        return f"{value:.3g}"
    if step is not None and step > 0:
        decimals = step_decimals(step)
        if decimals == 0:
            return str(int(round(value)))
        text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")  # 0, 2.5, 5, 7.5 as plotly labels them
        return "0" if float(text) == 0 else text  # never "-0"
    return f"{value:.6g}"


# ----------------------------------------------------------------------------------------------- axes

class Axis:
    """Maps data values to pixels for one axis (linear, log or category) and proposes its ticks."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool = False,
                 categories: list[str] | None = None) -> None:
        self.log = log
        self.categories = categories
        self.lo, self.hi = lo, hi
        self.p0, self.p1 = p0, p1
        self._a = math.log10(lo) if log else lo
        self._b = math.log10(hi) if log else hi

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.p0 + (v - self._a) / (self._b - self._a) * (self.p1 - self.p0)

    def ticks(self, target: int = 6) -> list[tuple[float, str]]:
        if self.categories is not None:
            every = max(1, math.ceil(len(self.categories) / 24))
            return [(float(i), c) for i, c in enumerate(self.categories) if i % every == 0]
        if self.log:
            return self._log_ticks()
        step = nice_step(self.hi - self.lo, target)
        first, last = math.ceil(self.lo / step - 1e-9), math.floor(self.hi / step + 1e-9)
        if last - first > 50:  # never more than a readable number of labels
            return [(self.lo, fmt_number(self.lo)), (self.hi, fmt_number(self.hi))]
        return [(k * step, fmt_number(k * step, step)) for k in range(first, last + 1)]

    def _log_ticks(self) -> list[tuple[float, str]]:
        a, b = math.floor(self._a + 1e-9), math.ceil(self._b - 1e-9)
        every = max(1, math.ceil((b - a) / 8))
        mantissas = (1, 2, 5) if b - a <= 2 else (1,)
        out = []
        for e in range(a, b + 1, every):
            for m in mantissas:
                v = m * 10.0 ** e
                if self.lo * (1 - 1e-9) <= v <= self.hi * (1 + 1e-9):
                    out.append((v, fmt_number(v) if 1e-4 <= v < 1e6 else f"{m}e{e}" if m != 1 else f"1e{e}"))
        return out or [(self.lo, fmt_number(self.lo)), (self.hi, fmt_number(self.hi))]


def nice_step(span: float, target: int) -> float:
    """The 1-2-5 step giving about ``target`` intervals over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, target)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10 * mag


def _extent(values: Iterable[float | None], log: bool) -> tuple[float, float] | None:
    vals = [v for v in values if v is not None and (v > 0 or not log)]
    return (min(vals), max(vals)) if vals else None


def _padded(lo: float, hi: float, log: bool, pad: float) -> tuple[float, float]:
    if lo == hi:
        if log:
            return lo / 10, hi * 10
        delta = abs(lo) * 0.1 or 1.0
        return lo - delta, hi + delta
    if log:
        a, b = math.log10(lo), math.log10(hi)
        d = (b - a) * pad
        return 10 ** (a - d), 10 ** (b + d)
    d = (hi - lo) * pad
    return lo - d, hi + d


def _layout_range(spec: dict, log: bool) -> tuple[float, float] | None:
    """``layout.xaxis.range``; for log axes plotly gives it in log10 units."""
    rng = spec.get("range")
    if not (isinstance(rng, (list, tuple)) and len(rng) == 2):
        return None
    a, b = _num(rng[0]), _num(rng[1])
    if a is None or b is None or a == b:
        return None
    a, b = min(a, b), max(a, b)
    return (10 ** a, 10 ** b) if log else (a, b)


# ----------------------------------------------------------------------------------------------- traces

def _trace_kind(trace: dict) -> str:
    kind = trace.get("type") or "scatter"
    return "scatter" if kind == "scattergl" else kind


def _bins(values: list[float], spec: Any, count: Any) -> tuple[float, float, int]:
    """Start, size and number of bins over ``values``: plotly's ``xbins``/``ybins`` {start, end, size} where given,
    else about ``nbinsx``/``nbinsy`` (default 20) bins of a 1-2-5 width, aligned to that width."""
    spec = spec if isinstance(spec, dict) else {}
    lo = _num(spec.get("start"))
    hi = _num(spec.get("end"))
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    size = _num(spec.get("size"))
    if size is None or size <= 0:
        n = _num(count)
        size = nice_step(hi - lo, int(n) if n and n >= 1 else 20)
        lo = math.floor(lo / size) * size if spec.get("start") is None else lo
    nbins = max(1, min(10_000, math.ceil((hi - lo) / size * (1 - 1e-12)) or 1))
    return lo, size, nbins


def _bin_index(v: float, lo: float, size: float, nbins: int) -> int | None:
    i = math.floor((v - lo) / size)
    i = nbins - 1 if i == nbins and v <= lo + nbins * size * (1 + 1e-12) else i  # the end is in the last bin
    return i if 0 <= i < nbins else None


def binned(trace: dict) -> dict:
    """A histogram (counts of x) as the bar trace, and a histogram2d (counts of (x, y); ligo-scald's
    BinnedTimeHistogram) as the heatmap trace, that plotly would draw: counted here, so a report needs no script."""
    kind = trace.get("type")
    if kind not in ("histogram", "histogram2d"):
        return trace
    xs = [_num(v) for v in trace.get("x") or []]
    ys = [_num(v) for v in trace.get("y") or []] if kind == "histogram2d" else [0.0] * len(xs)
    pairs = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    rest = {k: v for k, v in trace.items() if k not in ("type", "x", "y", "xbins", "ybins", "nbinsx", "nbinsy")}
    if not pairs:
        return {**rest, "type": "bar" if kind == "histogram" else "heatmap", "x": [], "y": [], "z": []}
    x0, xw, nx = _bins([p[0] for p in pairs], trace.get("xbins"), trace.get("nbinsx"))
    if kind == "histogram":
        counts = [0] * nx
        for x, _ in pairs:
            i = _bin_index(x, x0, xw, nx)
            if i is not None:
                counts[i] += 1
        return {**rest, "type": "bar", "x": [x0 + (i + 0.5) * xw for i in range(nx)], "y": counts}
    y0, yw, ny = _bins([p[1] for p in pairs], trace.get("ybins"), trace.get("nbinsy"))
    z = [[0] * nx for _ in range(ny)]
    for x, y in pairs:
        i, j = _bin_index(x, x0, xw, nx), _bin_index(y, y0, yw, ny)
        if i is not None and j is not None:
            z[j][i] += 1
    return {**rest, "type": "heatmap", "x": [x0 + (i + 0.5) * xw for i in range(nx)],
            "y": [y0 + (j + 0.5) * yw for j in range(ny)], "z": z}


def _edges(centres: list[float]) -> list[float]:
    """Cell edges around heatmap cell centres (plotly's convention for x/y of a heatmap)."""
    if len(centres) == 1:
        return [centres[0] - 0.5, centres[0] + 0.5]
    mids = [(a + b) / 2 for a, b in zip(centres, centres[1:])]
    return [2 * centres[0] - mids[0], *mids, 2 * centres[-1] - mids[-1]]


class _Prepared:
    """A trace reduced to numbers: x (numbers or category indices), y, z for heatmaps."""

    def __init__(self, trace: dict, index: int, categories: list[str] | None) -> None:
        self.trace = trace
        self.kind = _trace_kind(trace)
        self.name = _text(trace.get("name")) or f"trace {index}"
        self.colour = _colour(trace, index)
        self.z: list[list[float | None]] = []
        if self.kind == "heatmap":
            self.z = [[_num(v) for v in row] if isinstance(row, list) else [] for row in trace.get("z") or []]
            ncols = max((len(r) for r in self.z), default=0)
            xs = [_num(v) for v in trace.get("x") or []] or [float(i) for i in range(ncols)]
            ys = [_num(v) for v in trace.get("y") or []] or [float(i) for i in range(len(self.z))]
            xs = [v for v in xs if v is not None][:ncols] or [0.0]
            ys = [v for v in ys if v is not None][:len(self.z)] or [0.0]
            self.x, self.y = _edges(xs), _edges(ys)
            return
        raw_x = list(trace.get("x") or [])
        raw_y = list(trace.get("y") or [])
        if not raw_x:
            raw_x = list(range(len(raw_y)))
        n = min(len(raw_x), len(raw_y))
        if categories is not None:
            self.x = [float(categories.index(v)) if v in categories else None for v in raw_x[:n]]
        else:
            self.x = [_num(v) for v in raw_x[:n]]
        self.y = [_num(v) for v in raw_y[:n]]

    def mode(self) -> str:
        mode = self.trace.get("mode")
        if isinstance(mode, str) and mode:
            return mode
        return "lines+markers" if len(self.x) < 20 else "lines"


def _decimate(points: list[tuple[float, float] | None], width: float) -> list[tuple[float, float] | None]:
    """Keep first/min/max/last per pixel column: the drawn line is unchanged, the SVG stays small."""
    if len(points) <= 4 * width:
        return points
    out: list[tuple[float, float] | None] = []
    bucket: list[tuple[float, float]] = []

    def flush() -> None:
        if bucket:
            keep = {0, len(bucket) - 1, min(range(len(bucket)), key=lambda i: bucket[i][1]),
                    max(range(len(bucket)), key=lambda i: bucket[i][1])}
            out.extend(bucket[i] for i in sorted(keep))
            bucket.clear()

    column = None
    for p in points:
        if p is None:
            flush()
            out.append(None)
            column = None
            continue
        c = int(p[0])
        if c != column:
            flush()
            column = c
        bucket.append(p)
    flush()
    return out


def _path(points: list[tuple[float, float] | None]) -> str:
    parts, pen_down = [], False
    for p in points:
        if p is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{p[0]:.1f},{p[1]:.1f}")
        pen_down = True
    return "".join(parts)


def _viridis(t: float) -> str:
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(VIRIDIS, VIRIDIS[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#fde725"


# ----------------------------------------------------------------------------------------------- the figure

def render(traces: list[dict], layout: dict | None = None, width: int = 760, height: int | None = None,
           uid: str = "p", label: str | None = None) -> Figure:
    """Draw ``traces`` (plotly trace dicts, data options already merged) with ``layout`` as an SVG string.

    ``uid`` makes element ids (gradients, clip paths) unique when several figures share one page; ``label`` is
    the accessible name (default: the layout's title).
    """
    layout = layout or {}
    traces = [binned(t) for t in traces]
    xspec = layout.get("xaxis") if isinstance(layout.get("xaxis"), dict) else {}
    yspec = layout.get("yaxis") if isinstance(layout.get("yaxis"), dict) else {}
    height = int(_num(layout.get("height")) or height or 360)
    height = min(max(height, 160), 2000)

    raw_xs = [v for t in traces if _trace_kind(t) != "heatmap" for v in (t.get("x") or [])]
    categories: list[str] | None = None
    if xspec.get("type") == "category" or _is_categorical(raw_xs):
        categories = []
        for v in raw_xs:
            if v is not None and str(v) not in categories:
                categories.append(str(v))
        traces = [dict(t, x=[None if v is None else str(v) for v in (t.get("x") or [])]) for t in traces]
    prepared = [_Prepared(t, i, categories) for i, t in enumerate(traces)]
    heat = [p for p in prepared if p.kind == "heatmap"]

    right = MARGIN["r"] + (COLORBAR if heat else 0)
    x0, x1 = MARGIN["l"], width - right
    y0, y1 = height - MARGIN["b"], MARGIN["t"]
    xlog = xspec.get("type") == "log" and categories is None
    ylog = yspec.get("type") == "log"

    has_bars = any(p.kind == "bar" for p in prepared)
    xs = [v for p in prepared for v in p.x]
    ys = [v for p in prepared for v in p.y] + ([0.0] if has_bars and not ylog else [])
    xext, yext = _extent(xs, xlog), _extent(ys, ylog)
    if xlog and xext is None:
        xlog, xext = False, _extent(xs, False)
    if ylog and yext is None:
        ylog, yext = False, _extent(ys, False)

    parts: list[str] = []
    title_text = _text(layout.get("title"))
    aria = _esc(label or title_text or "plot")
    parts.append(f'<svg class="scald-plot" viewBox="0 0 {width} {height}" role="img" aria-label="{aria}">')
    parts.append(f'<rect class="bg" x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}"/>')
    if xext is None or yext is None:
        parts.append(f'<text class="nodata" x="{(x0 + x1) / 2:.0f}" y="{(y0 + y1) / 2:.0f}">no data</text></svg>')
        return Figure("".join(parts), [])

    if categories is not None:
        xlo, xhi = -0.5, len(categories) - 0.5
    else:
        xlo, xhi = _layout_range(xspec, xlog) or _padded(*xext, xlog, 0.0 if not has_bars else 0.05)
        if has_bars and not _layout_range(xspec, xlog):
            xlo, xhi = _bar_extent(prepared, xlo, xhi)
    ylo, yhi = _layout_range(yspec, ylog) or _padded(*yext, ylog, 0.0 if heat and len(heat) == len(prepared)
                                                     else 0.05)
    if xlo == xhi:
        xlo, xhi = _padded(xlo, xhi, xlog, 0)
    if ylo == yhi:
        ylo, yhi = _padded(ylo, yhi, ylog, 0)
    xa = Axis(xlo, xhi, x0, x1, xlog, categories)
    ya = Axis(ylo, yhi, y0, y1, ylog)

    clip = f"{_esc(uid)}-clip"
    parts.append(f'<clipPath id="{clip}"><rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}"/></clipPath>')
    parts.extend(_grid_and_ticks(xa, ya, x0, x1, y0, y1))
    parts.append(f'<g clip-path="url(#{clip})">')
    legend: list[tuple[str, str]] = []
    bars = [p for p in prepared if p.kind == "bar"]
    for p in prepared:
        if p.kind == "heatmap":
            parts.extend(_heatmap(p, xa, ya, uid))
        elif p.kind == "bar":
            parts.extend(_bars(p, bars.index(p), len(bars), xa, ya, prepared))
            legend.append((p.name, p.colour))
        else:
            parts.extend(_scatter(p, xa, ya, x1 - x0))
            legend.append((p.name, p.colour))
    parts.append("</g>")
    parts.append(f'<rect class="frame" x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}"/>')
    if heat:
        parts.extend(_colourbar(heat[0], x1 + 14, y1, y0, uid))
    parts.extend(_axis_titles(xspec, yspec, x0, x1, y0, y1, height))
    parts.append("</svg>")

    show = layout.get("showlegend")
    if show is False or (show is None and len(legend) < 2 and not any(t.get("name") for t in traces)):
        legend = []
    return Figure("".join(parts), legend)


def _bar_extent(prepared: list[_Prepared], lo: float, hi: float) -> tuple[float, float]:
    """Widen the x range by half a bar so the outer bars are not cut in half."""
    half = _bar_width(prepared) / 2
    xs = [v for p in prepared if p.kind == "bar" for v in p.x if v is not None]
    if xs:
        lo, hi = min(lo, min(xs) - half), max(hi, max(xs) + half)
    return lo, hi


def _bar_width(prepared: list[_Prepared]) -> float:
    xs = sorted({v for p in prepared if p.kind == "bar" for v in p.x if v is not None})
    gaps = [b - a for a, b in zip(xs, xs[1:]) if b > a]
    return min(gaps) if gaps else 1.0


def _grid_and_ticks(xa: Axis, ya: Axis, x0: float, x1: float, y0: float, y1: float) -> list[str]:
    out = []
    for v, label in xa.ticks():
        px = xa(v)
        out.append(f'<line class="gridline" x1="{px:.1f}" y1="{y0}" x2="{px:.1f}" y2="{y1}"/>')
        out.append(f'<text class="tick x" x="{px:.1f}" y="{y0 + 16}">{_esc(label)}</text>')
    for v, label in ya.ticks():
        py = ya(v)
        out.append(f'<line class="gridline" x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>')
        out.append(f'<text class="tick y" x="{x0 - 6}" y="{py + 4:.1f}">{_esc(label)}</text>')
    return out


def _axis_titles(xspec: dict, yspec: dict, x0: float, x1: float, y0: float, y1: float, height: int) -> list[str]:
    out = []
    xt, yt = _text(xspec.get("title")), _text(yspec.get("title"))
    if xt:
        out.append(f'<text class="axis-title" x="{(x0 + x1) / 2:.0f}" y="{height - 10}">{_esc(xt)}</text>')
    if yt:
        cy = (y0 + y1) / 2
        out.append(f'<text class="axis-title" x="16" y="{cy:.0f}" transform="rotate(-90 16 {cy:.0f})">'
                   f"{_esc(yt)}</text>")
    return out


def _scatter(p: _Prepared, xa: Axis, ya: Axis, plot_width: float) -> list[str]:
    out = []
    colour = _esc(p.colour)
    pts: list[tuple[float, float] | None] = []
    for x, y in zip(p.x, p.y):
        if x is None or y is None or (xa.log and x <= 0) or (ya.log and y <= 0):
            pts.append(None)
        else:
            pts.append((xa(x), ya(y)))
    mode = p.mode()
    if "lines" in mode:
        d = _path(_decimate(pts, plot_width))
        if d:
            out.append(f'<path class="line" d="{d}" stroke="{colour}"><title>{_esc(p.name)}</title></path>')
    if "markers" in mode:
        titled = sum(1 for q in pts if q is not None) <= MAX_TITLED_MARKERS
        for (x, y), q in zip(zip(p.x, p.y), pts):
            if q is None:
                continue
            tip = f"<title>{_esc(p.name)}: {_esc(fmt_number(x))}, {_esc(f'{y:.6g}')}</title>" if titled else ""
            out.append(f'<circle cx="{q[0]:.1f}" cy="{q[1]:.1f}" r="3" fill="{colour}">{tip}</circle>')
    return out


def _bars(p: _Prepared, slot: int, nslots: int, xa: Axis, ya: Axis, prepared: list[_Prepared]) -> list[str]:
    """Grouped bars (plotly's default barmode): each bar trace takes one slot of the bar width."""
    out = []
    width = _bar_width(prepared) * 0.8
    each = width / nslots
    base = ya(ya.lo if ya.log else min(max(0.0, ya.lo), ya.hi))
    colour = _esc(p.colour)
    for x, y in zip(p.x, p.y):
        if x is None or y is None or (ya.log and y <= 0):
            continue
        left = x - width / 2 + slot * each
        if xa.log and left <= 0:
            continue
        px0, px1 = xa(left), xa(left + each)
        py = ya(y)
        top, h = min(py, base), abs(base - py)
        tip = f"<title>{_esc(p.name)}: {_esc(fmt_number(x) if xa.categories is None else xa.categories[int(x)])}" \
              f", {_esc(f'{y:.6g}')}</title>"
        out.append(f'<rect x="{px0:.1f}" y="{top:.1f}" width="{max(px1 - px0, 0.5):.1f}" height="{h:.1f}" '
                   f'fill="{colour}">{tip}</rect>')
    return out


def _zrange(p: _Prepared) -> tuple[float, float]:
    vals = [v for row in p.z for v in row if v is not None]
    lo = _num(p.trace.get("zmin"))
    hi = _num(p.trace.get("zmax"))
    lo = lo if lo is not None else (min(vals) if vals else 0.0)
    hi = hi if hi is not None else (max(vals) if vals else 1.0)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _heatmap(p: _Prepared, xa: Axis, ya: Axis, uid: str) -> list[str]:
    out = []
    zlo, zhi = _zrange(p)
    for j, row in enumerate(p.z[: len(p.y) - 1]):
        ya0, ya1 = p.y[j], p.y[j + 1]
        if ya.log and (ya0 <= 0 or ya1 <= 0):
            continue
        top, bottom = sorted((ya(ya0), ya(ya1)))
        for i, v in enumerate(row[: len(p.x) - 1]):
            if v is None or (xa.log and p.x[i] <= 0):
                continue
            left, right = sorted((xa(p.x[i]), xa(p.x[i + 1])))
            fill = _viridis((v - zlo) / (zhi - zlo))
            out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left + 0.3:.1f}" '
                       f'height="{bottom - top + 0.3:.1f}" fill="{fill}"><title>{_esc(f"{v:.6g}")}</title></rect>')
    return out


def _colourbar(p: _Prepared, x: float, top: float, bottom: float, uid: str) -> list[str]:
    zlo, zhi = _zrange(p)
    gid = f"{_esc(uid)}-cbar"
    stops = "".join(f'<stop offset="{t:.2f}" stop-color="{_viridis(1 - t)}"/>' for t in (0, 0.25, 0.5, 0.75, 1))
    out = [f'<linearGradient id="{gid}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient>',
           f'<rect x="{x}" y="{top}" width="14" height="{bottom - top}" fill="url(#{gid})"/>']
    axis = Axis(zlo, zhi, bottom, top)
    for v, label in axis.ticks(4):
        out.append(f'<text class="tick cbar" x="{x + 18}" y="{axis(v) + 4:.1f}">{_esc(label)}</text>')
    return out
