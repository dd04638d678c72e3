"""ligo-scald's report configuration (``scald report -c REPORT.yml``): read it, check all of it, normalize it.

ligo-scald reads this file with ``yaml.safe_load`` and nothing else: a typo becomes a ``KeyError`` traceback (a plot
without a saved file: ``KeyError: 'url'``), a missing image a ``FileNotFoundError`` half-way through writing the
site. Here the file's shape is ``scald_monitor/schema/report.schema.json`` (walked as the main configuration's is,
with the same ``file:line: report.tabs[0].content[2].path: message`` problems), and the code below checks what a
schema cannot: the referenced files exist and hold plot or table data, links stay on-site. So ``scald report``
either writes a complete site or nothing.

The result is a plain normalized structure (:class:`ReportSpec`, blocks as dicts with a ``kind``) holding absolute
source paths and the parsed plot/table data, ready for :mod:`scald_monitor.report` to render.
"""
from __future__ import annotations

import copy
import glob as globmod
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from . import yamlfile
from .config import ConfigError, FileCheck, Problem, read_text
from .schemawalk import INVALID, describe
from .svgplot import SUPPORTED_TYPES

__all__ = ["ReportSpec", "TabSpec", "load_report", "ConfigError", "Problem"]

EXTERNAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")  # any scheme (http:, https:, ftp:, file:) or //host
LINK = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)  # what a tab may link to, besides a relative URL
DATA_URI = re.compile(r"^data:image/[A-Za-z0-9.+-]+(?:;base64)?,", re.IGNORECASE)

KeyPath = tuple
#: Settings a block hands to the page as the walk left them (defaults filled); the rest is built below.
COPIED = ("title", "columns", "grid_size", "footer", "visible")


@dataclass
class TabSpec:
    """A navbar tab: either a link (``url``) or a page of content blocks."""

    name: str
    url: str | None = None
    content: list[dict] | None = None


@dataclass
class ReportSpec:
    """A validated report: title, optional logo / extra CSS (absolute paths), theme and tabs."""

    path: str
    title: str
    tabs: list[TabSpec]
    image: str | None = None
    css: str | None = None
    theme: str | None = None
    detector: str | None = None
    extra: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    sources: list[tuple[KeyPath, Any, str]] = field(default_factory=list)  # (key path, file(s), out subdir)


def load_report(path: str) -> ReportSpec:
    """Read and check the report configuration ``path``; raise :class:`ConfigError` listing every problem.

    Relative file paths are looked up next to the configuration file first, then in the current directory (where
    ligo-scald looked for them), so configs written by ligo-scald's ``Report.save`` keep working.
    A tab's ``url`` is a link, as in ligo-scald: on-site or off-site alike (only schemes that run code are
    refused); resources (images, data, CSS) are copied and must be local.
    """
    doc = yamlfile.parse(read_text(path, "report configuration"))
    if doc.fatal:
        raise ConfigError(Problem(path, line, where, message) for line, where, message in doc.errors)
    if not isinstance(doc.data, dict):  # empty or not a mapping: say what a *report* file must hold
        raise ConfigError([Problem(path, 1, "", "expected a mapping with one key, report: {title, tabs: [...]}; "
                                   f"got {describe(doc.data)}")])
    return _Report(path, doc).run()


class _Report(FileCheck):
    """The code after the walk: files, their data, links; then the ReportSpec."""

    def __init__(self, file: str, doc: yamlfile.Document) -> None:
        super().__init__(file, doc, "report")
        self.sources: list[tuple[KeyPath, Any, str]] = []  # (key path, file or glob matches, subdir): report.yml

    def run(self) -> ReportSpec:
        data = self.walker.walk(self.walker.root, self.doc.data)
        root = data.get("report")
        p = ("report",)
        spec = None
        if isinstance(root, dict):
            image = self.local_file(p + ("image",), root["image"], "the logo image") if root.get("image") else None
            css = self.local_file(p + ("css",), root["css"], "the stylesheet") if root.get("css") else None
            raw_tabs = root.get("tabs") if isinstance(root.get("tabs"), list) else []
            tabs = [tab for tab in (self.tab(p + ("tabs", i), t) for i, t in enumerate(raw_tabs)) if tab]
            if tabs and len(tabs) == len(raw_tabs) and not any(t.content is not None for t in tabs):
                self.report(p + ("tabs",), "no tab has content: at least one tab needs content: [...] (it becomes "
                            "index.html)")
            spec = ReportSpec(path=self.file, title=root.get("title") or "", tabs=tabs, image=image, css=css,
                              theme=root.get("theme"), detector=root.get("detector"), raw=self.doc.data,
                              sources=self.sources, extra={k: v for k, v in self.doc.data["report"].items()
                                                           if k not in self.define("report")["properties"]})
        self.raise_problems()
        assert spec is not None
        return spec

    # ---- files -------------------------------------------------------------------------------------------------

    def local_file(self, path: KeyPath, value: Any, what: str) -> str | None:
        """An existing local file: relative to the config file's directory, else to the current directory."""
        if not isinstance(value, str) or not value.strip():
            self.expect(path, value, f"the path of {what} (a string)")
            return None
        if EXTERNAL.match(value):
            self.report(path, f"{value!r} is a URL: an offline report cannot fetch {what}; download it and give "
                              "its local path")
            return None
        text = os.path.expanduser(value)
        candidates = [text] if os.path.isabs(text) else [os.path.join(self.base_dir, text), os.path.abspath(text)]
        for candidate in candidates:
            if os.path.isfile(candidate):
                if not os.access(candidate, os.R_OK):
                    self.report(path, f"{candidate}: not readable")
                    return None
                found = os.path.normpath(candidate)
                sub = "static" if what == "the stylesheet" else "images" if "image" in what else "data"
                self.sources.append((path, found, sub))
                return found
        where = " or ".join(dict.fromkeys(os.path.dirname(c) or "." for c in candidates))
        self.report(path, f"{what} {value!r} not found (looked in {where})")
        return None

    def source(self, path: KeyPath, entry: dict, what: str) -> tuple[KeyPath, str | None]:
        """``path:`` or a local relative ``url:`` (ligo-scald's two ways of naming a file): its key path and file."""
        key = path + ("path" if entry.get("path") is not None else "url",)
        return key, self.local_file(key, entry[key[-1]], what) if entry.get(key[-1]) is not None else None

    def read_json(self, path: KeyPath, src: str) -> Any:
        try:
            with open(src, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, UnicodeDecodeError) as exc:
            self.report(path, f"{src}: cannot read: {getattr(exc, 'strerror', None) or exc}")
        except json.JSONDecodeError as exc:
            self.report(path, f"{src}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return None

    # ---- tabs and blocks ---------------------------------------------------------------------------------------

    def tab(self, path: KeyPath, entry: Any) -> TabSpec | None:
        if not isinstance(entry, dict):
            return None
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(url, str):
            content = entry.get("content") if isinstance(entry.get("content"), list) else []
            blocks = [self.block(path + ("content", i), b) for i, b in enumerate(content)]
            return None if self.bad(path) else TabSpec(name=name, content=[b for b in blocks if b is not None])
        if EXTERNAL.match(url) and not LINK.match(url):
            self.report(path + ("url",), f"{url!r}: a tab links to an http(s): or mailto: URL, or a relative one "
                        "(other schemes could run code in the page; //host needs its scheme)")
            return None
        return TabSpec(name=name, url=url)

    def block(self, path: KeyPath, entry: Any) -> dict | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        kind = entry["name"]
        built = getattr(self, f"block_{kind}", None)
        out = built(path, entry) if built else {"text": entry.get(kind)}  # header, footer, description
        if out is None or self.bad(path):
            return None
        return {"kind": kind, **{k: entry[k] for k in COPIED if k in entry and built}, **out}

    def image(self, path: KeyPath, raw: Any) -> dict | None:
        """One image: a path string, or {path|url, title, caption, alt}; ``data:image/...`` URIs are kept."""
        if isinstance(raw, str):
            raw = {"path": raw}
            key, src = path, self.local_file(path, raw["path"], "the image")
        elif not isinstance(raw, dict):
            return None
        elif isinstance(raw.get("url"), str) and DATA_URI.match(raw["url"]) and raw.get("path") is None:
            return {"kind": "image", "src": None, "inline": raw["url"], "title": raw.get("title"),
                    "caption": raw.get("caption"), "alt": raw.get("alt")}
        else:
            key, src = self.source(path, raw, "the image")
        if src is None:
            return None
        return {"kind": "image", "src": src, "inline": None, "title": raw.get("title"), "caption": raw.get("caption"),
                "alt": raw.get("alt")}

    def block_image(self, path: KeyPath, entry: dict) -> dict | None:
        return self.image(path, entry)

    def images(self, path: KeyPath, entry: dict) -> list[dict]:
        out = [self.image(path + ("images", i), raw) for i, raw in enumerate(entry.get("images") or [])]
        pattern = entry.get("glob")
        if isinstance(pattern, str):
            full = os.path.join(self.base_dir, os.path.expanduser(pattern))
            matches = sorted(f for f in globmod.glob(full) if os.path.isfile(f))
            if not matches:
                self.report(path + ("glob",), f"no file matches {pattern!r} (in {self.base_dir})")
            self.sources.append((path + ("glob",), matches, "images"))
            out += [{"kind": "image", "src": f, "inline": None, "title": None, "caption": None, "alt": None}
                    for f in matches]
        return [im for im in out if im is not None]

    def block_image_grid(self, path: KeyPath, entry: dict) -> dict:
        return {"images": self.images(path, entry)}

    block_image_pagination = block_image_grid

    def block_image_board(self, path: KeyPath, entry: dict) -> dict:
        rows = [[self.image(path + ("images", i, j), raw) for j, raw in enumerate(row)]
                for i, row in enumerate(entry.get("images") or []) if isinstance(row, list)]
        return {"rows": [[im for im in row if im is not None] for row in rows]}

    def block_flat_table(self, path: KeyPath, entry: dict) -> dict | None:
        names, rows = entry.get("columns"), []
        if not isinstance(names, list) or not isinstance(entry.get("rows"), list):
            return None
        for i, row in enumerate(entry["rows"]):
            if not isinstance(row, list):
                self.expect(path + ("rows", i), row, f"a row: a list of {len(names)} values")
            elif len(row) != len(names):
                self.report(path + ("rows", i), f"row has {len(row)} value(s) but there are {len(names)} columns")
            else:
                rows.append([_cell(v) for v in row])
        return {"rows": rows}

    def block_table(self, path: KeyPath, entry: dict) -> dict | None:
        key, src = self.source(path, entry, "the table data (JSON)")
        data = self.read_json(key, src) if src is not None else None
        table = self.table_data(key, src, data) if data is not None else None
        if table is None:
            return None
        fields, items = table
        return {"src": src, "fields": fields, "rows": [[_cell(item.get(k)) for k, _ in fields] for item in items]}

    def triggers(self, path: KeyPath, entry: dict) -> dict | None:
        """Trigger rows (ligo-scald's /api/table JSON, or a list of rows), every FAR checked now: a bad row is a
        problem naming the file, not an error half-way through writing the report."""
        from .report import trigger_fars  # the renderer's own rule (report imports this module)

        key, src = self.source(path, entry, "the triggers (JSON)")
        data = self.read_json(key, src) if src is not None else None
        table = self.table_data(key, src, data) if data is not None else None
        if table is None:
            return None
        far_key = entry.get("far_key") or "far"
        try:
            trigger_fars(table[1], far_key)
        except ValueError as exc:
            self.report(key, f"{src}: {exc}")
            return None
        return {"src": src, "fields": table[0], "items": table[1], "far_key": far_key}

    def block_ifar(self, path: KeyPath, entry: dict) -> dict | None:
        out = self.triggers(path, entry)
        return out and {**out, "livetime": entry.get("livetime"), "layout": copy.deepcopy(entry.get("layout") or {})}

    def block_trigger_table(self, path: KeyPath, entry: dict) -> dict | None:
        out = self.triggers(path, entry)
        return out and {**out, "far": entry.get("far")}

    def table_data(self, key: KeyPath, src: str, data: Any) -> tuple[list[tuple[str, str]], list[dict]] | None:
        """ligo-scald's table JSON ``{"items": [{...}], "fields": [name | {key, label}]}`` (or just the items)."""
        fields_in = None
        if isinstance(data, dict):
            if "items" not in data:
                self.report(key, f"{src}: expected a JSON object with items (a list of rows) and fields")
                return None
            items, fields_in = data["items"], data.get("fields")
        else:
            items = data
        if not isinstance(items, list) or not all(isinstance(it, dict) for it in items):
            self.report(key, f"{src}: items must be a list of objects (one per row)")
            return None
        fields: list[tuple[str, str]] = []
        if fields_in is None:
            for item in items:
                for k in item:
                    if not str(k).startswith("_") and k not in [f for f, _ in fields]:
                        fields.append((k, str(k)))
            return fields, items
        if not isinstance(fields_in, list):
            self.report(key, f"{src}: fields must be a list of names or {{key, label}} objects")
            return None
        for i, f in enumerate(fields_in):
            if isinstance(f, str):
                fields.append((f, f))
            elif isinstance(f, dict) and isinstance(f.get("key"), str):
                fields.append((f["key"], str(f.get("label", f["key"]))))
            else:
                self.report(key, f"{src}: fields[{i}] must be a name or a {{key, label}} object")
                return None
        return fields, items

    def block_plot(self, path: KeyPath, entry: dict) -> dict | None:
        """A plot: traces from a JSON file (path/url) or inline (data); layout never shared between plots."""
        src = None
        if entry.get("data") is not None:
            key, traces, where = path + ("data",), entry["data"], "data"
        else:
            key, src = self.source(path, entry, "the plot data (JSON)")
            traces, where = (self.read_json(key, src), src) if src is not None else (None, None)
        traces = self.traces(key, where, traces) if traces is not None else None
        layout, data_options = entry.get("layout") or {}, entry.get("data_options") or {}
        if traces is None or INVALID in (layout, data_options):
            return None
        return {"src": src, "traces": apply_data_options(traces, data_options), "layout": copy.deepcopy(layout)}

    def traces(self, key: KeyPath, where: str, value: Any) -> list[dict] | None:
        if isinstance(value, dict):  # a single trace, as some writers save it
            value = [value]
        if not isinstance(value, list):
            self.report(key, f"{where}: expected a list of traces [{{x: [...], y: [...]}}], got {describe(value)}")
            return None
        problems = [(i, _trace_problem(trace)) for i, trace in enumerate(value)]
        for i, problem in problems:
            if problem:
                self.report(key, f"{where}: trace {i}: {problem}")
        return copy.deepcopy(value) if not any(p for _, p in problems) else None

    def block_plot_grid(self, path: KeyPath, entry: dict) -> dict:
        plots = [self.block(path + ("plots", i), {**raw, "name": "plot"})
                 for i, raw in enumerate(entry.get("plots") or []) if isinstance(raw, dict)]
        return {"plots": [p for p in plots if p is not None]}


def _cell(value: Any) -> str:
    """A table cell as text; nested values are shown as JSON, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _trace_problem(trace: Any) -> str | None:
    """What is wrong with one plotly trace, or None."""
    if not isinstance(trace, dict):
        return f"expected an object {{x: [...], y: [...]}}, got {describe(trace)}"
    kind = trace.get("type") or "scatter"
    if kind not in SUPPORTED_TYPES:
        return f"trace type {kind!r} is not supported (supported: {', '.join(SUPPORTED_TYPES)})"
    for axis in ("x", "y"):
        values = trace.get(axis)
        if values is not None and (not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values)):
            return f"{axis} must be a list of numbers (or labels), got {describe(values)}"
    if kind in ("histogram", "histogram2d"):
        axes = ("x", "y") if kind == "histogram2d" else ("x",)
        if any(not isinstance(trace.get(a), list) for a in axes):
            return f"a {kind} needs {' and '.join(axes)}: the values to count (lists of numbers)"
        if kind == "histogram2d" and len(trace["x"]) != len(trace["y"]):
            return f"x has {len(trace['x'])} values but y has {len(trace['y'])}"
        return None
    if kind == "heatmap":
        z = trace.get("z")
        if not isinstance(z, list) or not all(isinstance(row, list) for row in z):
            return "a heatmap needs z: a list of rows (lists of numbers)"
        return None
    if trace.get("y") is None:
        return "y is required (a list of numbers)"
    x, y = trace.get("x"), trace["y"]
    if x is not None and len(x) != len(y):
        return f"x has {len(x)} values but y has {len(y)}"
    return None


def apply_data_options(traces: list[dict], options: dict) -> list[dict]:
    """Merge ligo-scald's ``data_options`` into fresh copies of the traces.

    Keys naming a trace (``{"H1": {"line": {...}}}``) apply to that trace only — ligo-scald meant this but tested
    ``'name' in data`` on the list, so it never happened; every other key applies to all traces. Dicts merge
    deeply, so ``marker: {size: 4}`` keeps a trace's own marker colour.
    """
    names = {t.get("name") for t in traces if isinstance(t.get("name"), str)}
    out = []
    for trace in traces:
        merged = copy.deepcopy(trace)
        for key, value in options.items():
            if key in names:
                continue
            _deep_set(merged, key, value)
        own = options.get(trace.get("name")) if isinstance(trace.get("name"), str) else None
        if isinstance(own, dict):
            for key, value in own.items():
                _deep_set(merged, key, value)
        out.append(merged)
    return out


def _deep_set(target: dict, key: str, value: Any) -> None:
    if isinstance(value, dict) and isinstance(target.get(key), dict):
        for k, v in value.items():
            _deep_set(target[key], k, v)
    else:
        target[key] = copy.deepcopy(value)
