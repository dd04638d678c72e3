"""``scald report``: a static, offline HTML site from ligo-scald's report configuration.

ligo-scald's reports are Vue 2 + bootstrap-vue + Plotly pages loaded from eleven CDN URLs, fetching their plot and
table JSON with axios at view time: opened from disk (``file://``) or on an air-gapped cluster they are blank. Here
everything is decided at build time:

- plots are drawn in Python as inline SVG (:mod:`scald_monitor.svgplot`), tables rendered as HTML tables, so the
  pages need no JavaScript at all and reference nothing outside the output directory;
- every file the config references is copied into ``DIR/images`` or ``DIR/data`` (the raw JSON stays available
  beside each plot/table) and linked by a relative URL; the stylesheet goes to ``DIR/static``;
- templates are Jinja2 with autoescaping, so a title like ``<script>`` is shown, never run;
- each plot gets a fresh copy of its layout (ligo-scald's class-level dicts leaked one plot's title into the next),
  and a plot without data is a configuration error at load time, not a ``KeyError`` half-way through writing.

A ``report.yml`` pointing at the copied files is written too (as ligo-scald does), so ``scald report -c
DIR/report.yml -o OTHER`` rebuilds the same site from the output directory alone.
"""
from __future__ import annotations

import copy
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from .atomic import write_atomic
from .report_config import ConfigError, ReportSpec, TabSpec, load_report
from .svgplot import render as render_svg

__all__ = ["build_report", "load_report", "web_dir", "ConfigError"]

TEMPLATE_DIR = "report"      # under web/templates
STYLESHEET = "report.css"    # lives beside the templates; copied to DIR/static/
DEFAULT_LAYOUT: dict = {}    # never mutated: every plot merges its own layout over a deep copy
DETECTOR = re.compile(r"[^a-z0-9]+")


def web_dir() -> Path:
    """The ``web/`` directory: the ``scald_monitor.web`` package data (as the dashboard finds it), else the
    checkout's top-level ``web/``."""
    here = Path(__file__).resolve().parent
    candidates = [here / "web", here.parent / "web"]
    try:
        from importlib import resources

        candidates.insert(0, Path(str(resources.files("scald_monitor.web"))))
    except (ImportError, TypeError, ValueError):  # not installed with its web data (a bare checkout)
        pass
    for candidate in candidates:
        if (candidate / "templates").is_dir():
            return candidate
    raise FileNotFoundError(f"scald-monitor's web/ directory is missing (looked in {here} and {here.parent})")


def build_report(spec: ReportSpec, outdir: str | os.PathLike) -> list[Path]:
    """Write the site for ``spec`` into ``outdir`` (created as needed); return the HTML pages written."""
    import jinja2

    out = Path(outdir)
    for sub in ("static", "data", "images"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    assets = _Assets(out)
    assets.taken.add(("static", STYLESHEET))  # a user stylesheet called report.css must not replace ours
    templates = web_dir() / "templates"
    _copy(templates / TEMPLATE_DIR / STYLESHEET, out / "static" / STYLESHEET)

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    pages = _page_files(spec.tabs)
    common = {
        "title": spec.title or "Report",
        "logo_url": assets.add(spec.image, "images") if spec.image else None,
        "css_url": assets.add(spec.css, "static") if spec.css else None,
        "theme": spec.theme,
        "detector": DETECTOR.sub("-", (spec.detector or "").lower()).strip("-"),
        "version": __version__,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    written = []
    for index, (tab, filename) in enumerate(zip(spec.tabs, pages)):
        if tab.content is None:
            continue
        nav = [{"name": t.name, "href": f if t.content is not None else t.url, "current": t is tab}
               for t, f in zip(spec.tabs, pages)]
        views = [_view(block, assets, f"t{index}b{i}") for i, block in enumerate(tab.content)]
        html = env.get_template(f"{TEMPLATE_DIR}/page.html").render(
            **common, tabs=nav, tab_name=tab.name, blocks=views)
        target = out / filename
        write_atomic(str(target), html.encode("utf-8"))  # a reader (a web server) sees the old page or the new
        written.append(target)
    _write_saved_config(spec, assets, out / "report.yml")
    return written


# ----------------------------------------------------------------------------------------------- pages and files

def _slug(name: str) -> str:
    """ligo-scald's page name (``name.lower().replace(' ', '_')``), restricted to characters safe in a file name."""
    slug = re.sub(r"[^a-z0-9.-]+", "_", name.lower()).strip("._")
    return slug or "tab"


def _page_files(tabs: list[TabSpec]) -> list[str | None]:
    """One file per content tab: the first is ``index.html``, the others ``<slug>.html`` (unique)."""
    used = {"index"}
    out: list[str | None] = []
    first = True
    for tab in tabs:
        if tab.content is None:
            out.append(None)
            continue
        if first:
            out.append("index.html")
            first = False
            continue
        base = slug = _slug(tab.name)
        n = 2
        while slug in used:
            slug, n = f"{base}_{n}", n + 1
        used.add(slug)
        out.append(f"{slug}.html")
    return out


def _copy(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Copy a file into the report as every file we write is written (``atomic.write_atomic``)."""
    with open(src, "rb") as fh:
        write_atomic(str(dest), fh.read())


class _Assets:
    """Copies referenced files into the output directory once each, under unique, URL-safe names."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.urls: dict[tuple[str, str], str] = {}
        self.taken: set[tuple[str, str]] = set()

    def add(self, src: str, sub: str) -> str:
        """Copy ``src`` into ``DIR/<sub>/`` and return its relative URL (the same URL for the same file)."""
        real = os.path.realpath(src)
        if (real, sub) in self.urls:
            return self.urls[(real, sub)]
        stem, ext = os.path.splitext(os.path.basename(src))
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip(".") or "file"
        ext = re.sub(r"[^A-Za-z0-9.]+", "", ext)
        name, n = stem + ext, 2
        while (sub, name.lower()) in self.taken:
            name, n = f"{stem}-{n}{ext}", n + 1
        self.taken.add((sub, name.lower()))
        dest = self.out / sub / name
        if not (dest.exists() and os.path.samefile(dest, real)):
            _copy(src, dest)
        url = f"{sub}/{quote(name)}"
        self.urls[(real, sub)] = url
        return url


# ----------------------------------------------------------------------------------------------- block views

def _view(block: dict, assets: _Assets, uid: str) -> dict:
    """What the template needs for one block: URLs of copied files, rendered figures, table cells."""
    block = dict(block, uid=uid)
    kind = block["kind"]
    if kind == "image":
        return _image_view(block, assets)
    if kind in ("image_grid", "image_pagination"):
        return dict(block, images=[_image_view(im, assets) for im in block["images"]])
    if kind == "image_board":
        return dict(block, rows=[[_image_view(im, assets) for im in row] for row in block["rows"]])
    if kind == "table":
        return dict(block, labels=[label for _, label in block["fields"]], data_url=assets.add(block["src"], "data"))
    if kind == "plot":
        return _plot_view(block, assets, uid)
    if kind == "ifar":
        return _ifar_view(block, assets, uid)
    if kind == "trigger_table":
        return _trigger_table_view(block, assets)
    if kind == "plot_grid":
        width = 760 if block["grid_size"] == 1 else 520  # narrower canvas: readable text once scaled into a cell
        return dict(block, plots=[_plot_view(p, assets, f"{uid}p{i}", width) for i, p in enumerate(block["plots"])])
    return dict(block)


def _image_view(image: dict, assets: _Assets) -> dict:
    url = image["inline"] if image["src"] is None else assets.add(image["src"], "images")
    return dict(image, url=url)


def _plot_view(block: dict, assets: _Assets, uid: str, width: int = 760) -> dict:
    from markupsafe import Markup

    layout = _merged(DEFAULT_LAYOUT, block["layout"])
    heading = layout.get("title")
    if isinstance(heading, dict):
        heading = heading.get("text")
    heading = str(heading) if heading not in (None, "") else block["title"]
    figure = render_svg(block["traces"], layout, width=width, uid=uid, label=heading)
    return dict(block, uid=uid, heading=heading, svg=Markup(figure.svg),
                legend=figure.legend, data_url=assets.add(block["src"], "data") if block["src"] else None)


# ----------------------------------------------------------------------------------------------- triggers

def trigger_fars(items: list[dict], far_key: str = "far") -> list[float]:
    """The FAR (Hz) of every trigger row, checked: ValueError naming the first row without a positive, finite
    number, so a report never plots part of the triggers silently."""
    fars = []
    for i, item in enumerate(items):
        value = item.get(far_key) if isinstance(item, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"trigger {i}: {far_key!r} must be a positive, finite FAR (Hz), got {value!r}")
        fars.append(float(value))
    return fars


def ifar_traces(items: list[dict], livetime: float | None, far_key: str = "far") -> list[dict]:
    """An IFAR plot's traces: the cumulative number of triggers with FAR <= x, drawn against IFAR = 1/x (s), and
    the background expected over ``livetime`` seconds (``livetime / IFAR``), the line a foreground excess stands
    out from. Why IFAR on log axes: significant triggers sit at the far right, where a FAR axis would crowd them."""
    fars = sorted(trigger_fars(items, far_key))
    xs, ys = [], []
    for n, far in enumerate(fars, start=1):
        if xs and xs[-1] == 1.0 / far:
            ys[-1] = n  # equal FARs: one step to the higher count
            continue
        xs.append(1.0 / far)
        ys.append(n)
    xs.reverse()  # IFAR ascending, left to right
    ys.reverse()
    traces = [{"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "name": "triggers"}]
    if livetime is not None:
        if isinstance(livetime, bool) or not isinstance(livetime, (int, float)) or not livetime > 0 \
                or not math.isfinite(livetime):
            raise ValueError(f"livetime must be a positive number of seconds, got {livetime!r}")
        if xs:
            lo, hi = min(xs), max(xs)
            grid = [lo * (hi / lo) ** (k / 20) for k in range(21)] if hi > lo else [lo]
            traces.append({"type": "scatter", "mode": "lines", "x": grid, "y": [livetime / x for x in grid],
                           "name": "expected background", "line": {"color": "#7f7f7f"}})
    return traces


IFAR_LAYOUT = {"xaxis": {"type": "log", "title": "inverse false alarm rate (s)"},
               "yaxis": {"type": "log", "title": "cumulative number of triggers"}}


def _ifar_view(block: dict, assets: _Assets, uid: str, width: int = 760) -> dict:
    """An IFAR plot from a trigger file (ligo-scald's /api/table JSON, or a list of rows)."""
    from markupsafe import Markup

    layout = _merged(IFAR_LAYOUT, block.get("layout") or {})
    traces = ifar_traces(block["items"], block.get("livetime"), block.get("far_key") or "far")
    heading = block.get("title") or "IFAR"
    figure = render_svg(traces, layout, width=width, uid=uid, label=heading)
    return dict(block, uid=uid, heading=heading, svg=Markup(figure.svg), legend=figure.legend,
                footer=block.get("footer"), data_url=assets.add(block["src"], "data") if block.get("src") else None)


def _trigger_table_view(block: dict, assets: _Assets) -> dict:
    """The triggers of a file as a table, most significant (lowest FAR) first, cut at ``far`` when given."""
    far_key = block.get("far_key") or "far"
    items = block["items"]
    fars = trigger_fars(items, far_key)
    cut = block.get("far")
    rows = sorted((far, i) for i, far in enumerate(fars) if cut is None or far <= cut)
    fields = block.get("fields") or [(k, k) for k in dict.fromkeys(k for it in items for k in it)]
    return dict(block, footer=block.get("footer"), labels=[label for _, label in fields],
                rows=[["" if items[i].get(k) is None else items[i].get(k) for k, _ in fields] for _, i in rows],
                data_url=assets.add(block["src"], "data") if block.get("src") else None)


def _merged(base: dict, over: dict) -> dict:
    """A new dict: ``over`` merged deeply onto a copy of ``base``; neither argument is modified."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ----------------------------------------------------------------------------------------------- report.yml

def _write_saved_config(spec: ReportSpec, assets: _Assets, target: Path) -> None:
    """The input config with every file reference pointing at its copy (``glob`` expanded to ``images``)."""
    import yaml

    raw = copy.deepcopy(spec.raw)
    for keypath, found, sub in spec.sources:
        if keypath[-1] == "glob":
            parent = _walk(raw, keypath[:-1])
            parent.pop("glob", None)
            parent["images"] = list(parent.get("images") or []) + [assets.add(f, sub) for f in found]
        else:
            _walk(raw, keypath[:-1])[keypath[-1]] = assets.add(found, sub)
    write_atomic(str(target), yaml.safe_dump(raw, sort_keys=False, allow_unicode=True).encode("utf-8"))


def _walk(data: Any, keypath: tuple) -> Any:
    for key in keypath:
        data = data[key]
    return data


def run(config_path: str, outdir: str) -> list[Path]:
    """Load, check and build; raises :class:`ConfigError` (every problem) before writing anything."""
    spec = load_report(config_path)
    return build_report(spec, outdir)
