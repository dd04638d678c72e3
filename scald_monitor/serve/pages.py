"""The dashboard's HTML pages: ligo-scald's ``pages:`` (``/`` and ``/<page>``) and the status board (``/status``).

The pages are thin: they render the layout and hand the browser one JSON document (``page_context``) that says
what to plot and where the API is; ``web/static/scald.js`` fetches the data and draws it. That keeps every
request here cheap (no backend query while rendering) and keeps user-supplied text out of HTML except through
Jinja's autoescaping (``|tojson`` for the JSON document, never ``|safe``).

Everything a page needs is validated before rendering: an unknown page is a 404 page and a bad ``?lookback=``,
``?start=`` ... a 400 page, never a 500 (ligo-scald answered both with a traceback).
"""
from __future__ import annotations

import functools
import math
import os
import posixpath
import re

from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for

from ..io.schema import LEVELS
from ..io.store import MAX_POINTS
from ..rules.ranges import RangeError, parse_range
from ..rules.result import state_table
from ..timeutil import gps_now, iso_to_gps, leap_table
from .params import decimal

bp = Blueprint("pages", __name__)

#: Plot types drawn by scald.js (web/static/js/plots/index.js PLOT_TYPES): every one ligo-scald has. A type the
#: page cannot draw is a configuration error shown as such on its panel, never a blank one.
SUPPORTED_PLOTS = ("TimeSeries", "TimeHeatMap", "Bar", "Snapshot", "MultiAxis", "MultiSchema", "BinnedTimeHistogram",
                   "IFAR", "TimeSegment")
#: The plot types whose schema is a mapping of sub-schemas (ligo-scald's forms), and the keys they read:
#: MultiSchema ``schema1, schema2, ...``, MultiAxis ``axis1, axis2, ...`` (each ``{measurement, schema: {...}}``),
#: TimeSegment ``timeseries`` and ``segment`` (the key names the API route, as in ligo-scald's scald.js).
MULTI_PLOTS = ("MultiSchema", "MultiAxis", "TimeSegment")
#: Schema keys a panel reads beside the query (histogram bins, trigger keys, IFAR's own lookback, Bar defaults).
PLOT_SETTINGS = ("ybin", "ybin_start", "ybin_end", "tbin", "far_key", "time_key", "far", "lookback", "fill")
#: Poll periods (seconds): plots as ligo-scald (2 s), the status board a little slower (checks run every 5-60 s).
PLOT_POLL = 2
STATUS_POLL = 5
#: Defaults for a page that omits them (ligo-scald required both and failed with a KeyError).
DEFAULT_LOOKBACK = 3600
DEFAULT_DELAY = 0
#: The longest window a page may ask for: 100 years, far beyond any data, but keeps the arithmetic sane.
MAX_SPAN = 100 * 365.25 * 86400
#: Link schemes a navbar tab may use; anything else (``javascript:``, ``data:``) would run code on click.
SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "./", "../", "#", "?")
#: A URL that names a scheme (``https:``, ``mailto:``) leads off this server.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:", re.ASCII)
#: Content-Security-Policy for every page: only our own scripts, styles and API. A second line of defence
#: behind autoescaping, and the guarantee that a page never contacts another host. ``{static}`` is empty, or the
#: origin of the static files when ``scald deploy --static-url`` put them on another server.
CSP = ("default-src 'self'; script-src 'self'{static}; style-src 'self'{static}; img-src 'self' data:{static}; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'self'")


#: The entry module of every page (base.html), and how its static imports are found (``from "./x.js"``, and
#: ``import "./x.js"`` for side effects; relative specifiers only: nothing is fetched from elsewhere).
ENTRY_MODULE = "scald.js"
_IMPORT_FROM = re.compile(r"""(?:\bfrom|^\s*import)\s*["'](\.{1,2}/[^"']+)["']""", re.M)


@functools.lru_cache(maxsize=None)
def module_graph(static_dir: str, entry: str = ENTRY_MODULE) -> tuple[str, ...]:
    """Every module ``entry`` imports statically, directly or not, as paths under ``static_dir``, breadth first.

    The page lists them as ``<link rel="modulepreload">`` so that the browser fetches the whole graph at once: a
    module's imports are otherwise discovered only once it has arrived, one round trip per level of the graph
    (five levels here), and the panels cannot start fetching data before the deepest module has come.
    """
    seen, queue = [entry], [entry]
    while queue:
        module = queue.pop(0)
        try:
            with open(os.path.join(static_dir, module), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        for spec in _IMPORT_FROM.findall(text):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(module), spec))
            if path not in seen and not path.startswith("../"):
                seen.append(path)
                queue.append(path)
    return tuple(seen)


class BadRequest(Exception):
    """A query parameter that cannot be used; rendered as a 400 page naming the parameter."""


def _config():
    """The loaded :class:`scald_monitor.config.Config` the app factory stored (with the API's per-app state)."""
    return current_app.extensions["scald_monitor"].cfg


def _dashboard(section: str) -> dict:
    """One of ligo-scald's dashboard sections (``navbar``, ``pages``, ``plots``), always a dict."""
    value = _config().dashboard.get(section)
    return value if isinstance(value, dict) else {}


# ---- navbar ----------------------------------------------------------------------------------------------------


def is_external(url: str) -> bool:
    """Whether ``url`` leads to another host: it names a scheme (``https:``, ``mailto:``), or it is
    protocol-relative (``//host/x``), which the browser completes with the page's scheme — like ``https://host/x``,
    not like the local path ``/x`` it starts as. Browsers read ``\\`` as ``/`` in such URLs (WHATWG URL), so
    ``/\\host`` and ``\\\\host`` are protocol-relative too, and they drop tabs and newlines anywhere (``/<tab>/host``)."""
    text = re.sub(r"[\t\n\r]", "", url).strip().replace("\\", "/")
    return text.startswith("//") or bool(_SCHEME.match(text))


def _safe_href(url) -> str:
    """The tab's URL if its scheme cannot run script, else ``#`` (autoescaping does not stop ``javascript:``)."""
    if not isinstance(url, str):
        return "#"
    text = url.strip()
    if text.lower().startswith(SAFE_SCHEMES) or (text and ":" not in text.split("/", 1)[0]):
        return text
    return "#"


def _tab(tab: dict) -> dict:
    """A navbar tab for the template: name, a safe href, and whether it leads off this server (``external``)."""
    href = _safe_href(tab.get("url"))
    return {"name": str(tab.get("name") or tab.get("url") or "link"), "href": href, "external": is_external(href)}


def _asset(key: str) -> str | None:
    """The local file configured as ``navbar.<key>`` (image, css), resolved next to the config; None if absent.

    Remote URLs (``https://host/x``, and protocol-relative ``//host/x``, see :func:`is_external`) are ignored on
    purpose: the dashboard must work on air-gapped clusters and never make the browser contact another host; and
    ``//host/logo.png`` is a URL, not the local file ``/host/logo.png`` it would otherwise be read as.
    """
    value = _dashboard("navbar").get(key)
    if not isinstance(value, str) or not value or "://" in value or is_external(value):
        return None
    path = value if os.path.isabs(value) else os.path.join(os.path.dirname(os.path.abspath(_config().path)), value)
    return path if os.path.isfile(path) else None


def navbar_context(active: str) -> dict:
    """Title, page links and tabs for ``navbar.html``; every page is listed when ``navbar.pages`` is absent."""
    navbar = _dashboard("navbar")
    pages = _dashboard("pages")
    names = navbar.get("pages") if isinstance(navbar.get("pages"), list) else list(pages)
    links = []
    for name in names:
        if name in pages:
            page = pages[name] if isinstance(pages[name], dict) else {}
            href = url_for("pages.index") if name == _home_page() else url_for("pages.page", name=name)
            links.append({"name": name, "title": str(page.get("title") or name), "href": href,
                          "active": name == active})
    tabs = [_tab(tab) for tab in navbar.get("tabs") or [] if isinstance(tab, dict)]
    return {
        "title": str(navbar.get("title") or "scald-monitor"),
        "links": links,
        "tabs": tabs,
        "status_active": active == "/status",
        "image": url_for("pages.navbar_asset", key="image") if _asset("image") else None,
        "css": url_for("pages.navbar_asset", key="css") if _asset("css") else None,
    }


# ---- page parameters -------------------------------------------------------------------------------------------


def _number(name: str, default=None, allow_time: bool = False) -> float | None:
    """A finite query parameter (seconds or GPS); ``allow_time`` also takes ISO 8601 UTC (``2017-08-17T12:41:04``)."""
    text = request.args.get(name)
    if text is None or text.strip() == "":
        return default
    value = decimal(text.strip())
    if value is None:
        if not allow_time:
            raise BadRequest(f"?{name}= must be a number of seconds, not {text!r}")
        try:
            value = iso_to_gps(text)
        except ValueError:
            raise BadRequest(f"?{name}= must be GPS seconds or an ISO 8601 UTC time, not {text!r}") from None
    if not math.isfinite(value) or value < 0 or value > MAX_SPAN * 2:
        raise BadRequest(f"?{name}= is out of range: {text!r}")
    return value


def window(page: dict) -> dict:
    """The time window a page shows: live (``lookback``/``delay``, overridable in the URL) or historical.

    ``?start=&end=`` (GPS or ISO UTC) fixes the window and stops streaming; ligo-scald's ``type=historical`` is
    implied by them and ``type=online`` ignores them.
    """
    lookback = _number("lookback", page.get("lookback") if page.get("lookback") is not None else DEFAULT_LOOKBACK)
    delay = _number("delay", page.get("delay") if page.get("delay") is not None else DEFAULT_DELAY)
    if not lookback or lookback > MAX_SPAN:
        raise BadRequest("?lookback= must be more than 0 seconds and at most 100 years")
    start = _number("start", allow_time=True)
    end = _number("end", allow_time=True)
    if request.args.get("type") == "online" or (start is None and end is None):
        return {"mode": "online", "lookback": lookback, "delay": delay, "start": None, "end": None}
    if start is None or end is None:
        raise BadRequest("a historical view needs both ?start= and ?end=")
    if end <= start:
        raise BadRequest("?end= must be after ?start=")
    return {"mode": "historical", "lookback": end - start, "delay": delay, "start": start, "end": end}


# ---- plots -----------------------------------------------------------------------------------------------------


def _threshold(text) -> dict | None:
    """A check's Nagios range as {lo, hi, inside} for drawing; open ends are None (JSON has no infinity)."""
    if text is None:
        return None
    try:
        r = parse_range(str(text))
    except RangeError:
        return None
    finite = lambda v: v if math.isfinite(v) else None  # noqa: E731 - two uses, one line
    return {"lo": finite(r.start), "hi": finite(r.end), "inside": r.inside, "text": r.text}


def _thresholds(schema_name: str, column: str) -> list[dict]:
    """Warning/critical ranges of the threshold checks that watch this schema's column: drawn on its plot."""
    out = []
    for name, check in sorted(_config().checks.items()):
        if check.type != "threshold" or check.schema != schema_name or check.column != column:
            continue
        for level in ("warning", "critical"):
            r = _threshold(getattr(check, level))
            if r:
                out.append({"check": name, "level": level, **r})
    return out


def _merged(*dicts) -> dict:
    """Deep merge, later wins (ligo-scald's update_config_object): plotly defaults, then the type's, then the plot's."""
    out: dict = {}
    for d in dicts:
        for k, v in (d or {}).items() if isinstance(d, dict) else ():
            out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _plotly(plot: dict, kind: str, key: str) -> dict:
    """``layout`` / ``data_options`` of a plot over ``plotly.default.<key>`` and ``plotly.<type>.<key>``."""
    plotly = _dashboard("plotly")
    entry = lambda name: plotly.get(name).get(key) if isinstance(plotly.get(name), dict) else None  # noqa: E731
    return _merged(entry("default"), entry(kind), plot.get(key) if isinstance(plot.get(key), dict) else None)


def _axis(layout: dict, name: str) -> dict:
    """One plotly axis as the page draws it: its title text and whether it is logarithmic."""
    axis = layout.get(name) if isinstance(layout.get(name), dict) else {}
    title = axis.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return {"title": str(title) if title else "", "log": axis.get("type") == "log"}


def _sub_query(sub: dict, parent: dict) -> dict | None:
    """The API query of one of ligo-scald's sub-schema dicts (``measurement`` defaults to the parent's); the tag
    filter is ligo-scald's ``tag: job, job: '0000'`` (every key went into the URL there)."""
    measurement = sub.get("measurement") or parent.get("measurement")
    column = sub.get("column") or sub.get("columns")
    if isinstance(column, list):
        column = column[0] if column else None
    if not isinstance(measurement, str) or not column:
        return None
    tag = sub.get("tag") if isinstance(sub.get("tag"), str) else None
    values = sub.get(tag) if tag else None
    values = values if isinstance(values, list) else ([values] if values is not None else None)
    return {"measurement": measurement, "column": str(column), "tag_key": tag,
            "tags": [str(v) for v in values] if values else None, "aggregate": sub.get("aggregate"),
            "scale": sub.get("scale")}


def _subs(kind: str, entry: dict, layout: dict) -> list[dict]:
    """The sub-plots of a MultiSchema / MultiAxis / TimeSegment schema entry, in their configured order."""
    out = []
    for i, (key, sub) in enumerate((k, v) for k, v in entry.items() if isinstance(v, dict)):
        if kind == "MultiAxis":
            inner = sub.get("schema") if isinstance(sub.get("schema"), dict) else sub
            q = _sub_query({**inner, "measurement": sub.get("measurement") or inner.get("measurement")}, entry)
            axis = "yaxis" if i == 0 else f"yaxis{i + 1}"
        else:
            q = _sub_query(sub, entry)
            axis = "yaxis"
        if q is None:
            continue
        route = key if kind == "TimeSegment" and key in ("timeseries", "segment") else "timeseries"
        out.append({"key": str(key), "name": str(sub.get("name") or key), "route": route, "query": q,
                    "axis": _axis(layout, axis), "data_options": sub.get("data_options") or {}})
    return out


def plot_context(index: int, item: dict) -> dict:
    """Everything scald.js needs for one plot: type, title, the API query (schema merged with ``settings``), the
    sub-plots of the multi-schema types, the plotly layout/data_options it honours, and its panel settings."""
    plots = _dashboard("plots")
    name = item.get("plot")
    plot = plots.get(name) if isinstance(plots.get(name), dict) else {}
    kind = plot.get("type") or "TimeSeries"
    grid = item.get("grid") if isinstance(item.get("grid"), dict) else {}
    layout = _plotly(plot, str(kind), "layout")
    out = {
        "id": f"plot-{index}",
        "name": str(name),
        "title": str(plot.get("title") or name),
        "type": str(kind),
        "supported": kind in SUPPORTED_PLOTS,
        "visible": item.get("visible", True) is not False,
        "grid": {k: int(grid[k]) for k in ("x", "y", "w", "h") if isinstance(grid.get(k), int)},
        "ylabel": _ylabel(plot),
        "xaxis": _axis(layout, "xaxis"),
        "yaxis": _axis(layout, "yaxis"),
        "data_options": _plotly(plot, str(kind), "data_options"),
        "query": None,
        "subs": None,
        "settings": {},
        "thresholds": [],
        "problem": None,
    }
    schema_name = plot.get("schema")
    raw_schemas = _config().raw.get("schemas") if isinstance(_config().raw, dict) else None
    raw_entry = raw_schemas.get(schema_name) if isinstance(raw_schemas, dict) and isinstance(schema_name, str) else None
    spec = _config().schemas.get(schema_name) if isinstance(schema_name, str) else None
    settings = plot.get("settings") if isinstance(plot.get("settings"), dict) else {}
    if kind in MULTI_PLOTS and isinstance(raw_entry, dict) and any(isinstance(v, dict) and k != "mock"
                                                                    for k, v in raw_entry.items()):
        out["subs"] = _subs(str(kind), raw_entry, layout)
        if not out["subs"]:
            out["problem"] = f"schema {schema_name!r} has no usable sub-schema (measurement and column)"
        elif kind == "TimeSegment" and {s["route"] for s in out["subs"]} != {"timeseries", "segment"}:
            out["problem"] = f"a TimeSegment schema needs a 'timeseries' and a 'segment' entry ({schema_name!r})"
        if out["subs"]:
            out["query"] = out["subs"][0]["query"]
        if out["problem"]:
            out["supported"] = False
        return out
    if spec is None:
        out["supported"] = False
        out["problem"] = f"plot {name!r} names no schema of schemas: ({schema_name!r})"
        return out
    column = settings.get("column") or spec.column_key
    if isinstance(column, list):
        column = column[0] if column else spec.column_key
    tag_key = settings.get("tag_key") or spec.tag_key or (spec.tags[0] if spec.tags else None)
    tags = settings.get("tags") if isinstance(settings.get("tags"), list) else spec.expected_tags
    out["query"] = {
        "measurement": spec.measurement,
        "column": str(column),
        "tag_key": tag_key,
        "tags": [str(t[1] if isinstance(t, list) and len(t) == 2 else t) for t in tags] if tags else None,
        "aggregate": settings.get("aggregate") or spec.aggregate,
        "scale": settings.get("scale") or spec.extra.get("scale"),
    }
    merged = {**spec.extra, **settings}
    out["settings"] = {k: merged[k] for k in PLOT_SETTINGS if merged.get(k) is not None}
    if kind == "TimeSegment":
        out["supported"] = False
        out["problem"] = (f"a TimeSegment plot needs a schema of 'timeseries' and 'segment' sub-schemas; "
                          f"{schema_name!r} is a plain schema")
    if kind in ("TimeSeries", "MultiSchema", "MultiAxis"):  # a plain schema: one line set, one axis
        out["subs"] = [{"key": "schema1", "name": str(schema_name), "route": "timeseries", "query": out["query"],
                        "axis": out["yaxis"], "data_options": {}}] if kind != "TimeSeries" else None
    out["thresholds"] = _thresholds(schema_name, str(column))
    return out


def _ylabel(plot: dict) -> str:
    """The y-axis title from plotly's ``layout.yaxis.title`` (a string or ``{text: ...}``), as ligo-scald used."""
    yaxis = (plot.get("layout") or {}).get("yaxis") if isinstance(plot.get("layout"), dict) else None
    title = yaxis.get("title") if isinstance(yaxis, dict) else None
    if isinstance(title, dict):
        title = title.get("text")
    return str(title) if title else ""


# ---- context shared with the browser ---------------------------------------------------------------------------


def page_context(page_name: str | None, page: dict | None, win: dict | None) -> dict:
    """The JSON document a page hands scald.js (through ``|tojson``)."""
    items = page.get("plots") if page and isinstance(page.get("plots"), list) else []
    return {
        "page": page_name,
        "title": str(page.get("title") or page_name) if page else "Status",
        "window": win,
        "plots": [plot_context(i, item) for i, item in enumerate(items) if isinstance(item, dict)],
        "api": url_for("pages.index").rstrip("/") + "/api",
        "status_url": url_for("pages.status"),
        "leap": leap_table(),
        # The stored levels and the API's points budget: a plot picks its dt by io.store.pick_level's rule over
        # these (one picker, one table: the server's), never from a list of its own.
        "levels": list(LEVELS),
        "max_points": MAX_POINTS,
        "server_gps": gps_now(),
        "poll": {"plots": PLOT_POLL, "status": STATUS_POLL},
        # The states and their "worst of" order, so that the page ranks checks as the server does (one order).
        "states": state_table(),
    }


def _home_page() -> str | None:
    """The page served at ``/``: ``index`` as in ligo-scald, else the first page of the navbar or of ``pages:``."""
    pages = _dashboard("pages")
    if "index" in pages:
        return "index"
    listed = _dashboard("navbar").get("pages")
    for name in (listed if isinstance(listed, list) else []) + list(pages):
        if name in pages:
            return name
    return None


def _render(template: str, http_status: int = 200, **context):
    """Render with the navbar and our security headers (CSP, no sniffing)."""
    modules = module_graph(current_app.static_folder) if current_app.static_folder else ()
    html = render_template(template, modules=modules, **context)
    return html, http_status, {"Content-Security-Policy": CSP.format(static=_static_origin()),
                               "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _static_origin() -> str:
    """`` https://host`` when static files are served from another origin (a deployment's --static-url), else ''."""
    m = re.match(r"^(https?://[^/?#]+)", url_for("static", filename="scald.js"))
    return f" {m.group(1)}" if m else ""


def error_page(status: int, message: str):
    """A small HTML error page with the navbar, so a mistyped URL still leads somewhere."""
    return _render("error.html", status, nav=navbar_context(""), code=status, message=message,
                   ctx=page_context(None, None, None), page_title=str(status))


def _dashboard_page(name: str):
    pages = _dashboard("pages")
    page = pages.get(name)
    if not isinstance(page, dict):
        abort(404)
    try:
        win = window(page)
    except BadRequest as exc:
        return error_page(400, str(exc))
    ctx = page_context(name, page, win)
    return _render("page.html", nav=navbar_context(name), ctx=ctx, page_title=ctx["title"])


# ---- routes ----------------------------------------------------------------------------------------------------


@bp.route("/")
def index():
    """The home page (``pages.index``); the status board when no page is configured."""
    name = _home_page()
    if name is None:
        return status()
    return _dashboard_page(name)


@bp.route("/status")
def status():
    """Every check, live: state, summary, per-tag results, last change."""
    ctx = page_context(None, None, None)
    return _render("status.html", nav=navbar_context("/status"), ctx=ctx, page_title="Status")


@bp.route("/navbar/<any(image, css):key>")
def navbar_asset(key: str):
    """The navbar's local logo or extra stylesheet (``navbar.image``/``navbar.css``), served from the config's dir."""
    path = _asset(key)
    if path is None:
        abort(404)
    return send_file(path, max_age=300)


@bp.route("/<name>")
def page(name: str):
    """A page of ``pages:``; ``/index`` is the home page too, as in ligo-scald."""
    if name not in _dashboard("pages"):
        abort(404)
    return _dashboard_page(name)


@bp.app_errorhandler(404)
def not_found(exc):
    """HTML 404 for pages; the API's own handlers answer JSON under ``/api/``."""
    if request.path.startswith("/api/") or request.path == "/api":
        return {"error": "not found", "path": request.path}, 404
    return error_page(404, f"No page at {request.path}.")
