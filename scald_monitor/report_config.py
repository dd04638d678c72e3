"""ligo-scald's report configuration (``scald report -c REPORT.yml``): read it, check all of it, normalize it.

ligo-scald reads this file with ``yaml.safe_load`` and nothing else: a typo becomes a ``KeyError`` traceback (a plot
without a saved file: ``KeyError: 'url'``), a missing image a ``FileNotFoundError`` half-way through writing the
site. Here every problem is collected first, as ``file:line: report.tabs[0].content[2].path: message`` (the same
format and YAML line tracking as :mod:`scald_monitor.config`), and the referenced data files are opened and checked
too, so ``scald report`` either writes a complete site or nothing.

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

from .config import ConfigError, Problem, _close_matches, _describe, _parse, _Validator, read_text
from .svgplot import SUPPORTED_TYPES

__all__ = ["BLOCK_KEYS", "ReportSpec", "TabSpec", "load_report", "ConfigError", "Problem"]

REPORT_KEYS = ("title", "image", "css", "theme", "detector", "tabs")
TAB_KEYS = ("name", "url", "content")
BLOCK_KEYS: dict[str, tuple[str, ...]] = {
    "header": ("header",),
    "footer": ("footer",),
    "description": ("description",),
    "image": ("path", "url", "title", "caption", "alt"),
    "image_grid": ("title", "images", "glob", "grid_size", "footer", "visible"),
    "image_board": ("title", "images", "footer"),
    "image_pagination": ("title", "images", "glob", "footer", "visible"),
    "table": ("title", "path", "url", "footer", "visible"),
    "flat_table": ("title", "columns", "rows", "footer"),
    "plot": ("title", "path", "url", "data", "layout", "data_options", "options", "footer"),
    "plot_grid": ("title", "plots", "grid_size", "footer", "visible"),
}
THEMES = ("gwdetchar",)
EXTERNAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")  # any scheme (http:, https:, ftp:, file:) or //host
DATA_URI = re.compile(r"^data:image/[A-Za-z0-9.+-]+(?:;base64)?,", re.IGNORECASE)
MAX_GRID = 12

KeyPath = tuple


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


def load_report(path: str, allow_external_links: bool = False) -> ReportSpec:
    """Read and check the report configuration ``path``; raise :class:`ConfigError` listing every problem.

    Relative file paths are looked up next to the configuration file first, then in the current directory (where
    ligo-scald looked for them), so configs written by ligo-scald's ``Report.save`` keep working.
    ``allow_external_links`` lets tab ``url``\\ s point off-site; resources (images, data, CSS) never may.
    """
    doc = _parse(path, read_text(path, "report configuration"))
    if doc.fatal:
        problems = [p for p in doc.problems if p.message.startswith("invalid YAML")]
        if not problems:  # empty or not a mapping: say what a *report* file must hold
            problems = [Problem(path, 1, "", "expected a mapping with one key, report: {title, tabs: [...]}; "
                                             f"got {_describe(doc.data)}")]
        raise ConfigError(problems)
    checker = _ReportChecker(path, doc, allow_external_links)
    spec = checker.run()
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: p.line or 0))
    assert spec is not None
    return spec


class _ReportChecker(_Validator):
    """The report section, block by block; reuses the main config's line tracking and message helpers."""

    def __init__(self, file: str, doc, allow_external_links: bool) -> None:
        super().__init__(file, doc)
        self.allow_external_links = allow_external_links
        self.sources: list[tuple[KeyPath, Any, str]] = []  # (key path, file or glob matches, subdir): report.yml

    # ---- generic -----------------------------------------------------------------------------------------------

    def text(self, path: KeyPath, value: Any, what: str = "text") -> str | None:
        """Any scalar as text (YAML turns ``header: 2024`` into a number; that is still a fine header)."""
        if isinstance(value, (dict, list)) or value is None:
            self.expect(path, value, what)
            return None
        return str(value).lower() if isinstance(value, bool) else str(value)

    def opt_text(self, path: KeyPath, entry: dict, key: str) -> str | None:
        return self.text(path + (key,), entry[key]) if entry.get(key) is not None else None

    def flag(self, path: KeyPath, entry: dict, key: str, default: bool) -> bool:
        if entry.get(key) is None:
            return default
        value = self.boolean(path + (key,), entry[key])
        return default if value is None else value

    def grid_size(self, path: KeyPath, entry: dict, default: int) -> int:
        if entry.get("grid_size") is None:
            return default
        return self.integer(path + ("grid_size",), entry["grid_size"], 1, MAX_GRID) or default

    def local_file(self, path: KeyPath, value: Any, what: str) -> str | None:
        """An existing local file: relative to the config file's directory, else to the current directory."""
        text = self.string(path, value, f"the path of {what} (a string)")
        if text is None:
            return None
        if EXTERNAL.match(text):
            self.report(path, f"{text!r} is a URL: an offline report cannot fetch {what}; download it and give "
                              "its local path")
            return None
        text = os.path.expanduser(text)
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
        self.report(path, f"{what} {text!r} not found (looked in {where})")
        return None

    def source(self, path: KeyPath, entry: dict, what: str, required: bool = True) -> str | None:
        """``path:`` or a local relative ``url:`` (ligo-scald's two ways of naming a file)."""
        if entry.get("path") is not None:
            if entry.get("url") is not None:
                self.report(path + ("url",), "give either path or url, not both", at="key")
            return self.local_file(path + ("path",), entry["path"], what)
        if entry.get("url") is not None:
            return self.local_file(path + ("url",), entry["url"], what)
        if required:
            self.report(path, f"required: path (a local file) for {what}", at="key")
        return None

    def read_json(self, path: KeyPath, src: str) -> Any:
        try:
            with open(src, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, UnicodeDecodeError) as exc:
            self.report(path, f"{src}: cannot read: {getattr(exc, 'strerror', None) or exc}")
        except json.JSONDecodeError as exc:
            self.report(path, f"{src}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return None

    # ---- the file ----------------------------------------------------------------------------------------------

    def run(self) -> ReportSpec | None:
        self.known_keys((), self.data, ("report",))
        if "report" not in self.data:
            self.report(("report",), "required: the report section {title, tabs: [...]}", at="key")
            return None
        root = self.mapping(("report",), self.data["report"], "a mapping {title, tabs, ...}", allow_null=False)
        if root is None:
            return None
        p = ("report",)
        self.known_keys(p, root, REPORT_KEYS, typos_only=True)
        title = self.opt_text(p, root, "title") or ""
        image = self.local_file(p + ("image",), root["image"], "the logo image") if root.get("image") else None
        css = self.local_file(p + ("css",), root["css"], "the stylesheet") if root.get("css") else None
        theme = self.choice(p + ("theme",), root["theme"], THEMES) if root.get("theme") is not None else None
        detector = self.opt_text(p, root, "detector")
        tabs = self.tabs(p + ("tabs",), root)
        extra = {k: v for k, v in root.items() if k not in REPORT_KEYS}
        if self.problems:
            return None
        return ReportSpec(path=self.file, title=title, tabs=tabs, image=image, css=css, theme=theme,
                          detector=detector, extra=extra, raw=self.data, sources=self.sources)

    def tabs(self, path: KeyPath, root: dict) -> list[TabSpec]:
        value = root.get("tabs")
        if value is None:
            self.report(path, "required: a list of tabs, each {name, content: [...]} or {name, url}", at="key")
            return []
        if not isinstance(value, list) or not value:
            self.expect(path, value, "a non-empty list of tabs {name, content: [...]} or {name, url}")
            return []
        tabs = []
        for i, raw in enumerate(value):
            tab = self.tab(path + (i,), raw)
            if tab is not None:
                tabs.append(tab)
        if tabs and len(tabs) == len(value) and not any(t.content is not None for t in tabs):
            self.report(path, "no tab has content: at least one tab needs content: [...] (it becomes index.html)")
        return tabs

    def tab(self, path: KeyPath, raw: Any) -> TabSpec | None:
        entry = self.mapping(path, raw, "a mapping {name, content: [...]} or {name, url}", allow_null=False)
        if entry is None:
            return None
        self.known_keys(path, entry, TAB_KEYS)
        name = self.text(path + ("name",), entry["name"], "a tab name") if entry.get("name") is not None else None
        if entry.get("name") is None:
            self.report(path + ("name",), "required: the tab's name (shown in the navbar)", at="key")
        has_url, has_content = entry.get("url") is not None, "content" in entry
        if has_url and has_content:
            self.report(path + ("url",), "a tab has either url (a link) or content (a page), not both", at="key")
            return None
        if has_url:
            url = self.tab_url(path + ("url",), entry["url"])
            return TabSpec(name=name, url=url) if name is not None and url is not None else None
        if not has_content:
            self.report(path + ("content",), "required: content (a list of blocks) or url (a link)", at="key")
            return None
        content = self.blocks(path + ("content",), entry["content"])
        return TabSpec(name=name, content=content) if name is not None else None

    def tab_url(self, path: KeyPath, value: Any) -> str | None:
        url = self.string(path, value, "a URL (string)")
        if url is None:
            return None
        if EXTERNAL.match(url) and not self.allow_external_links:
            self.report(path, f"{url!r} links off-site: the report is meant to work offline; use a relative link, "
                              "or pass --allow-external-links to keep it")
            return None
        return url

    # ---- blocks ------------------------------------------------------------------------------------------------

    def blocks(self, path: KeyPath, value: Any) -> list[dict]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.expect(path, value, "a list of content blocks")
            return []
        out = []
        for i, raw in enumerate(value):
            block = self.block(path + (i,), raw)
            if block is not None:
                out.append(block)
        return out

    def block(self, path: KeyPath, raw: Any, kind: str | None = None) -> dict | None:
        entry = self.mapping(path, raw, "a content block {name: header|description|plot|..., ...}",
                             allow_null=False)
        if entry is None:
            return None
        if kind is None:
            kind = entry.get("name")
            if kind is None:
                self.report(path + ("name",), f"required: the block type, one of: {', '.join(BLOCK_KEYS)}",
                            at="key")
                return None
            if kind not in BLOCK_KEYS:
                hint = _close_matches(str(kind), list(BLOCK_KEYS), n=1)
                message = f"unknown block type {kind!r} (expected one of: {', '.join(BLOCK_KEYS)})"
                if hint:
                    message += f" (did you mean {hint[0]!r}?)"
                self.report(path + ("name",), message)
                return None
        self.known_keys(path, {k: v for k, v in entry.items() if k != "name"}, BLOCK_KEYS[kind], typos_only=True)
        return getattr(self, f"block_{kind}")(path, entry)

    def block_header(self, path: KeyPath, entry: dict) -> dict | None:
        return self._text_block(path, entry, "header")

    def block_footer(self, path: KeyPath, entry: dict) -> dict | None:
        return self._text_block(path, entry, "footer")

    def block_description(self, path: KeyPath, entry: dict) -> dict | None:
        return self._text_block(path, entry, "description")

    def _text_block(self, path: KeyPath, entry: dict, kind: str) -> dict | None:
        if entry.get(kind) is None:
            self.report(path + (kind,), f"required: the {kind} text", at="key")
            return None
        text = self.text(path + (kind,), entry[kind])
        return None if text is None else {"kind": kind, "text": text}

    def image(self, path: KeyPath, raw: Any) -> dict | None:
        """One image: a path string, or {path|url, title, caption, alt}; ``data:image/...`` URIs are kept."""
        if isinstance(raw, str):
            src = self.local_file(path, raw, "the image")
            return None if src is None else {"kind": "image", "src": src, "inline": None, "title": None,
                                             "caption": None, "alt": None}
        entry = self.mapping(path, raw, "an image path or a mapping {path, title}", allow_null=False)
        if entry is None:
            return None
        url = entry.get("url")
        if isinstance(url, str) and DATA_URI.match(url) and entry.get("path") is None:
            src, inline = None, url
        else:
            src, inline = self.source(path, entry, "the image"), None
            if src is None:
                return None
        return {"kind": "image", "src": src, "inline": inline, "title": self.opt_text(path, entry, "title"),
                "caption": self.opt_text(path, entry, "caption"), "alt": self.opt_text(path, entry, "alt")}

    def block_image(self, path: KeyPath, entry: dict) -> dict | None:
        return self.image(path, entry)

    def images(self, path: KeyPath, entry: dict, allow_glob: bool = True) -> list[dict]:
        out = []
        value = entry.get("images")
        if value is not None:
            if not isinstance(value, list):
                self.expect(path + ("images",), value, "a list of images (paths or {path, title})")
            else:
                for i, raw in enumerate(value):
                    image = self.image(path + ("images", i), raw)
                    if image is not None:
                        out.append(image)
        if allow_glob and entry.get("glob") is not None:
            pattern = self.string(path + ("glob",), entry["glob"], "a glob pattern (string)")
            if pattern is not None:
                full = os.path.join(self.base_dir, os.path.expanduser(pattern))
                matches = sorted(f for f in globmod.glob(full) if os.path.isfile(f))
                if not matches:
                    self.report(path + ("glob",), f"no file matches {pattern!r} (in {self.base_dir})")
                self.sources.append((path + ("glob",), matches, "images"))
                out.extend({"kind": "image", "src": f, "inline": None, "title": None, "caption": None, "alt": None}
                           for f in matches)
        if value is None and entry.get("glob") is None:
            self.report(path + ("images",), "required: images (a list of paths)" +
                        (" or glob (a pattern)" if allow_glob else ""), at="key")
        return out

    def block_image_grid(self, path: KeyPath, entry: dict) -> dict | None:
        return {"kind": "image_grid", "title": self.opt_text(path, entry, "title"), "images": self.images(path, entry),
                "grid_size": self.grid_size(path, entry, 6), "footer": self.opt_text(path, entry, "footer"),
                "visible": self.flag(path, entry, "visible", True)}

    def block_image_pagination(self, path: KeyPath, entry: dict) -> dict | None:
        return {"kind": "image_pagination", "title": self.opt_text(path, entry, "title"),
                "images": self.images(path, entry), "footer": self.opt_text(path, entry, "footer"),
                "visible": self.flag(path, entry, "visible", True)}

    def block_image_board(self, path: KeyPath, entry: dict) -> dict | None:
        rows = []
        value = entry.get("images")
        if not isinstance(value, list):
            self.expect(path + ("images",), value, "a list of rows, each a list of image paths")
            value = []
        for i, row in enumerate(value):
            if not isinstance(row, list):
                self.expect(path + ("images", i), row, "a row: a list of image paths")
                continue
            images = [self.image(path + ("images", i, j), raw) for j, raw in enumerate(row)]
            rows.append([im for im in images if im is not None])
        return {"kind": "image_board", "title": self.opt_text(path, entry, "title"), "rows": rows,
                "footer": self.opt_text(path, entry, "footer")}

    def block_flat_table(self, path: KeyPath, entry: dict) -> dict | None:
        columns = entry.get("columns")
        if not isinstance(columns, list) or not columns:
            if columns is None:
                self.report(path + ("columns",), "required: the column names (a list)", at="key")
            else:
                self.expect(path + ("columns",), columns, "a non-empty list of column names")
            return None
        names = [self.text(path + ("columns", i), c, "a column name") or "" for i, c in enumerate(columns)]
        rows_in = entry.get("rows")
        if rows_in is None:
            self.report(path + ("rows",), "required: the rows (a list of lists)", at="key")
            return None
        if not isinstance(rows_in, list):
            self.expect(path + ("rows",), rows_in, "a list of rows (each a list of values)")
            return None
        rows = []
        for i, row in enumerate(rows_in):
            rpath = path + ("rows", i)
            if not isinstance(row, list):
                self.expect(rpath, row, f"a row: a list of {len(names)} values")
                continue
            if len(row) != len(names):
                self.report(rpath, f"row has {len(row)} value(s) but there are {len(names)} columns")
                continue
            rows.append([_cell(v) for v in row])
        return {"kind": "flat_table", "title": self.opt_text(path, entry, "title"), "columns": names, "rows": rows,
                "footer": self.opt_text(path, entry, "footer")}

    def block_table(self, path: KeyPath, entry: dict) -> dict | None:
        src = self.source(path, entry, "the table data (JSON)")
        if src is None:
            return None
        key = path + ("path" if entry.get("path") is not None else "url",)
        data = self.read_json(key, src)
        if data is None:
            return None
        table = self.table_data(key, src, data)
        if table is None:
            return None
        fields, items = table
        return {"kind": "table", "title": self.opt_text(path, entry, "title"), "src": src, "fields": fields,
                "rows": [[_cell(item.get(k)) for k, _ in fields] for item in items],
                "footer": self.opt_text(path, entry, "footer"), "visible": self.flag(path, entry, "visible", True)}

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
        has_data = entry.get("data") is not None
        if has_data and (entry.get("path") is not None or entry.get("url") is not None):
            self.report(path + ("data",), "give the traces either inline (data) or in a file (path), not both",
                        at="key")
            return None
        if not has_data and entry.get("path") is None and entry.get("url") is None:
            self.report(path, "required: path (a JSON file of traces) or data (the traces inline); "
                              "ligo-scald's Plot.save() writes the file", at="key")
            return None
        src = None
        if has_data:
            key, traces_in, where = path + ("data",), entry["data"], "data"
        else:
            src = self.source(path, entry, "the plot data (JSON)")
            if src is None:
                return None
            key = path + ("path" if entry.get("path") is not None else "url",)
            traces_in, where = self.read_json(key, src), src
            if traces_in is None:
                return None
        traces = self.traces(key, where, traces_in)
        layout = self.mapping(path + ("layout",), entry.get("layout"))
        data_options = self.mapping(path + ("data_options",), entry.get("data_options"))
        self.mapping(path + ("options",), entry.get("options"))
        if traces is None or layout is None or data_options is None:
            return None
        return {"kind": "plot", "title": self.opt_text(path, entry, "title"), "src": src,
                "traces": apply_data_options(traces, data_options), "layout": copy.deepcopy(layout),
                "footer": self.opt_text(path, entry, "footer")}

    def traces(self, key: KeyPath, where: str, value: Any) -> list[dict] | None:
        if isinstance(value, dict):  # a single trace, as some writers save it
            value = [value]
        if not isinstance(value, list):
            self.report(key, f"{where}: expected a list of traces [{{x: [...], y: [...]}}], got {_describe(value)}")
            return None
        ok = True
        for i, trace in enumerate(value):
            problem = _trace_problem(trace)
            if problem:
                self.report(key, f"{where}: trace {i}: {problem}")
                ok = False
        return copy.deepcopy(value) if ok else None

    def block_plot_grid(self, path: KeyPath, entry: dict) -> dict | None:
        value = entry.get("plots")
        if not isinstance(value, list) or not value:
            self.expect(path + ("plots",), value, "a non-empty list of plots {title, path, layout, ...}")
            return None
        plots = []
        for i, raw in enumerate(value):
            if isinstance(raw, dict) and raw.get("name") not in (None, "plot"):
                self.report(path + ("plots", i, "name"), "a plot_grid holds plots only (name: plot)")
                continue
            plot = self.block(path + ("plots", i), raw, kind="plot")
            if plot is not None:
                plots.append(plot)
        return {"kind": "plot_grid", "title": self.opt_text(path, entry, "title"), "plots": plots,
                "grid_size": self.grid_size(path, entry, 2), "footer": self.opt_text(path, entry, "footer"),
                "visible": self.flag(path, entry, "visible", True)}


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
        return f"expected an object {{x: [...], y: [...]}}, got {_describe(trace)}"
    kind = trace.get("type") or "scatter"
    if kind not in SUPPORTED_TYPES:
        return f"trace type {kind!r} is not supported (supported: {', '.join(SUPPORTED_TYPES)})"
    for axis in ("x", "y"):
        values = trace.get(axis)
        if values is not None and (not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values)):
            return f"{axis} must be a list of numbers (or labels), got {_describe(values)}"
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
