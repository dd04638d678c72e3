"""The one YAML configuration file every command reads: load it, validate all of it, report every problem.

ligo-scald validates nothing: a typo surfaces as a ``KeyError`` traceback at request time.  Here the file's shape
is data, ``scald_monitor/schema/config.schema.json`` (what ``scald-monitor schema`` prints and editors validate
with); :mod:`.schemawalk` applies it, and the code below adds only what a schema cannot say: cross-references (a
check's schema and backend, a page's plots), ligo-scald's ``nagios:`` alerts translated into checks, defaults that
depend on other keys, and the expected tag values of ligo-scald's ``tag_format``/``num_tags``/``tag_start``.
Every problem is ``file:line: key.path: message`` (lines from :mod:`.yamlfile`), all of them at once.

Checks come out as :class:`Check` records with every default applied here, once.  Nothing opens a backend: a
database that does not exist yet is not a configuration error.
"""
from __future__ import annotations

import os

from . import yamlfile
from .records import FrozenRecord, Record
from .rules.ranges import parse_range
from .schemawalk import Walker, close_matches, describe, format_path, load_schema

TYPE_CHECKING = False  # no ``typing`` or ``dataclasses`` at run time: check_scald loads the configuration
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

__all__ = ["Check", "Config", "ConfigError", "FileCheck", "Problem", "SchemaSpec", "is_check_name", "load",
           "make_check", "read_text", "resolve_path"]

#: Problems printed for one file; the rest are counted ("... and N more"): a mangled file must not print (or
#: compute did-you-mean hints for) hundreds of thousands of lines.
MAX_PROBLEMS = 200
#: Larger files are refused before parsing: a configuration is a few kB (ligo-scald's largest, tens of kB), and
#: parsing YAML costs ~3 s and ~100 MB per MiB.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
#: A check's timeout when none is given: its interval, at most this (a slow backend must not stall the schedule).
MAX_DEFAULT_TIMEOUT = 30.0
STATE_NAMES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
DASHBOARD_SECTIONS = ("navbar", "pages", "plots", "plotly", "nagios")
#: Schema keys that make the SchemaSpec; the others are ligo-scald's dashboard settings, kept in ``extra``.
SCHEMA_CORE_KEYS = ("measurement", "column", "columns", "column_key", "tag", "tags", "tag_key", "aggregate",
                    "tag_format", "num_tags", "tag_start", "mock")


class Problem(FrozenRecord):
    """One thing wrong with a configuration file, located as precisely as the YAML allows."""

    _fields = ("file", "line", "path", "message")
    file: str
    line: int | None
    path: str
    message: str

    def __init__(self, file: str, line: int | None, path: str, message: str) -> None:
        self._init(file=file, line=line, path=path, message=message)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            lines.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems")
        return "\n".join(lines)


class SchemaSpec(Record):
    """How a measurement is stored and queried (ligo-scald's schema, normalized).

    ``expected_tags`` are the tag values (of ``tag_key``) that checks expect to see, from ligo-scald's
    ``tags: [[name, value], ...]`` pair form or ``tag_format``/``num_tags``/``tag_start``; None when unknown.
    ``extra`` keeps ligo-scald's dashboard keys (far_key, time_key, default, transform, fill, scale, ...).
    ``mock`` is the schema's ``mock:`` generator settings (validated names and numbers), None when absent.
    """

    _fields = ("name", "measurement", "columns", "column_key", "tags", "tag_key", "aggregate", "expected_tags",
               "extra", "mock")

    def __init__(self, name: str, measurement: str, columns: tuple[str, ...], column_key: str,
                 tags: tuple[str, ...], tag_key: str | None, aggregate: str | None,
                 expected_tags: tuple[str, ...] | None, extra: dict | None = None, mock: dict | None = None) -> None:
        self.name = name
        self.measurement = measurement
        self.columns = columns
        self.column_key = column_key
        self.tags = tags
        self.tag_key = tag_key
        self.aggregate = aggregate
        self.expected_tags = expected_tags
        self.extra: dict = {} if extra is None else extra
        self.mock = mock


class Check(FrozenRecord):
    """One check with every default applied: consumers read its fields and never supply a default themselves.

    Field names are the configuration's keys, except ``hold`` (the key ``for``, a Python keyword). Threshold
    limits are range texts; heartbeat limits, ages in seconds. ``tag_filter`` restricts the check to one tag
    combination, ``((tag, value), ...)`` (check_scald ``--tag``); a configured check has None.
    """

    _fields = ("name", "source", "type", "schema", "backend", "column", "aggregate", "lookback", "warning",
               "critical", "warning_reset", "critical_reset", "per_tag", "tags", "tag_filter", "units", "interval",
               "max_attempts", "hold", "timeout", "expiry", "description", "stale_state", "forget_after", "renotify")

    def __init__(self, *, name: str, source: str, type: str, schema: str, backend: str, column: str | None,
                 aggregate: str | None, lookback: float, warning: Any, critical: Any, warning_reset: str | None,
                 critical_reset: str | None, per_tag: bool, tags: tuple[str, ...] | None,
                 tag_filter: tuple[tuple[str, str], ...] | None, units: str, interval: float, max_attempts: int,
                 hold: float, timeout: float, expiry: float, description: str, stale_state: int,
                 forget_after: float | None, renotify: float = 0.0) -> None:
        self._init(name=name, source=source, type=type, schema=schema, backend=backend, column=column,
                   aggregate=aggregate, lookback=lookback, warning=warning, critical=critical,
                   warning_reset=warning_reset, critical_reset=critical_reset, per_tag=per_tag, tags=tags,
                   tag_filter=tag_filter, units=units, interval=interval, max_attempts=max_attempts, hold=hold,
                   timeout=timeout, expiry=expiry, description=description, stale_state=stale_state,
                   forget_after=forget_after, renotify=renotify)

    def settings(self) -> dict:
        """The check by its configuration keys (``for``, not ``hold``): what ``/api/checks/<name>`` shows."""
        out = {k: getattr(self, k) for k in self._fields if k not in ("name", "hold", "tag_filter")}
        out["for"] = self.hold
        return out


class Config(Record):
    """A validated configuration; every section is normalized (defaults filled, paths absolute)."""

    _fields = ("path", "raw", "backends", "schemas", "checks", "outputs", "serve", "dashboard", "mock", "downtimes",
               "notifications")

    def __init__(self, path: str, raw: dict, backends: dict[str, dict], schemas: dict[str, SchemaSpec],
                 checks: dict[str, Check], outputs: dict, serve: dict, dashboard: dict, mock: dict,
                 downtimes: list | None = None, notifications: list[dict] | None = None) -> None:
        self.path, self.raw, self.backends, self.schemas, self.checks = path, raw, backends, schemas, checks
        self.outputs, self.serve, self.dashboard, self.mock = outputs, serve, dashboard, mock
        self.downtimes = downtimes or []  # lifecycle.windows.Downtime, from the config (ad hoc ones: its store)
        self.notifications = notifications or []  # lifecycle.transports specs, defaults applied

    def backend(self, name: str = "default") -> dict:
        """The settings of backend ``name``; a missing one is a configuration error, not a ``KeyError``."""
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise ConfigError([Problem(self.path, None, f"backends.{name}",
                                       f"no such backend (defined: {known})")]) from None

    def summary(self) -> str:
        """One line for ``scald-monitor validate``."""
        return (f"{self.path}: OK — {_plural(len(self.backends), 'backend')}, "
                f"{_plural(len(self.schemas), 'schema')}, {_plural(len(self.checks), 'check')}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def resolve_path(path: str | None) -> str:
    """The configuration file to use: the given path, else ``$SCALDRC_PATH`` (as ligo-scald does)."""
    if path:
        return path
    env = os.environ.get("SCALDRC_PATH")
    if env:
        return env
    raise ConfigError([Problem("<config>", None, "", "no configuration file given: pass -c/--config or set "
                               "SCALDRC_PATH")])


def read_text(path: str, what: str = "configuration file") -> str:
    """A YAML file's text, or a ConfigError naming the file (and the line of an encoding error)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([Problem(path, None, "", f"cannot read {what}: {reason}")]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem(path, None, "", f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB: not a "
                                   f"{what}?")])
    try:
        # "utf-8-sig" without its codec module (one import less for check_scald): drop one BOM, decode UTF-8; an
        # error's offsets are then, as with that codec, counted from after the BOM.
        return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(path, line, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None


def load(path: str) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem found."""
    doc = yamlfile.parse(read_text(path))
    if doc.fatal:
        raise ConfigError(Problem(path, line, where, message) for line, where, message in doc.errors)
    if not isinstance(doc.data, dict):
        sections = ", ".join(load_schema()["properties"])
        message = ("the file is empty: expected a mapping with sections such as backends, schemas, checks"
                   if doc.data is None else
                   f"the top level must be a mapping of sections ({sections}), not {describe(doc.data)}")
        raise ConfigError([Problem(path, doc.line((), "value"), "", message)])
    return _Build(path, doc).run()


def make_check(name: str, settings: Mapping[str, Any], spec: SchemaSpec | None = None,
               source: str = "checks") -> Check:
    """A check from the settings of a ``checks:`` entry, validated and completed exactly as :func:`load` does it,
    for a check that comes from no file (check_scald's ad-hoc mode, tests); ``spec`` supplies the column and tag
    defaults. Raises :class:`ConfigError`."""
    build = _Build(f"<check {name}>", None)
    path = ("checks", name)
    check = build.check(path, name, build.walker.walk(build.define("check"), dict(settings), path), spec, source)
    build.raise_problems()
    assert check is not None
    return check


def is_check_name(name: Any) -> bool:
    """Whether ``name`` may name a check (it becomes a Nagios service name and a file name), by the schema's rule."""
    schema = load_schema()
    return Walker(schema).valid(schema["properties"]["checks"]["propertyNames"], name)


def _hint(value: Any, names: Iterable[Any]) -> str:
    found = close_matches(value, [str(n) for n in names]) if isinstance(value, str) else []
    return f" (did you mean {found[0]!r}?)" if found else ""


def _range_text(value: Any) -> str:
    """The range as the user wrote it: YAML numbers become their plain text (50 → '50')."""
    if isinstance(value, str):
        return value.strip()
    return repr(value) if isinstance(value, float) else str(value)


class FileCheck:
    """A file walked against one of the schema documents, plus the problems the code after the walk adds.

    Shared by this module and :mod:`.report_config`: the converters the documents name (paths relative to the
    file, URLs, Nagios states), the Nagios range format, and every problem located by its key path.
    """

    def __init__(self, file: str, doc: yamlfile.Document | None, schema: str) -> None:
        self.file = file
        self.doc = doc
        self.base_dir = os.path.dirname(os.path.abspath(file))
        self.walker = Walker(load_schema(schema), limit=MAX_PROBLEMS, formats={"nagios-range": _range},
                             converters={"path": self._path, "sqlite-path": self._sqlite_path, "url": _url,
                                         "state": _state})

    def define(self, name: str) -> dict:
        return self.walker.define(name)

    def report(self, path: tuple, message: str, at: str = "value") -> None:
        self.walker.problems.append((tuple(path), message, at))

    def expect(self, path: tuple, value: Any, wanted: str) -> None:
        self.report(path, f"expected {wanted}, got {describe(value)}")

    def bad(self, path: tuple) -> bool:
        """Whether anything at or under ``path`` had a problem."""
        return self.walker.failed_under(path)

    def raise_problems(self) -> None:
        """Raise :class:`ConfigError` with every problem (the file's own, the walk's, the code's), by line."""
        found = [(p, m, at) for p, m, at in self.walker.problems + self.walker.lints]
        errors = self.doc.errors if self.doc else []
        if not found and not errors:
            return
        problems = [Problem(self.file, line, path, message) for line, path, message in errors]
        problems += [Problem(self.file, self.doc.line(p, at) if self.doc else None, format_path(p), m)
                     for p, m, at in found]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))

    def _path(self, text: str) -> str:
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(text)))

    def _sqlite_path(self, text: str) -> str:
        return text if text == ":memory:" else self._path(text)


def _range(value: Any) -> str:
    return parse_range(value).text


def _url(text: str) -> str:
    return text.rstrip("/")


def _state(value: Any) -> int:
    return STATE_NAMES[value.upper()] if isinstance(value, str) and value.upper() in STATE_NAMES else int(float(value))


def _section(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


class _Build(FileCheck):
    """The code after the walk: cross-references, translations, dependent defaults; then the Config."""

    def __init__(self, file: str, doc: yamlfile.Document | None) -> None:
        super().__init__(file, doc, "config")
        raw = doc.data if doc else {}
        backends = raw.get("backends")
        self.backend_names = set(backends) if isinstance(backends, dict) else {"default"} if backends is None else set()
        self.schema_names = set(_section(raw, "schemas"))
        self.sub_schemas = {name for name, entry in _section(raw, "schemas").items()
                            if self.walker.valid(self.define("has_sub_schemas"), entry)}

    def run(self) -> Config:
        raw = self.doc.data
        data = self.walker.walk(self.walker.root, raw)
        schemas: dict[str, SchemaSpec] = {}
        for name, entry in _section(data, "schemas").items():
            spec = self.schema(("schemas", name), name, entry)
            if spec is not None:
                schemas[spec.name] = spec
        checks: dict[str, Check] = {}
        for name, entry in _section(data, "checks").items():
            check = self.configured(("checks", name), str(name), entry, schemas, "checks")
            if check is not None:
                checks[check.name] = check
        self.nagios(_section(data, "nagios"), schemas, checks)
        outputs = dict(_section(data, "outputs"))
        status_dir, state_file = outputs.get("status_dir"), outputs.get("state_file")
        if isinstance(status_dir, str) and isinstance(state_file, str) and os.path.dirname(state_file) == status_dir:
            self.report(("outputs", "state_file"), "must not be inside status_dir, which holds only one <check>.json "
                        "per check")
        self.dashboard(raw)
        downtimes, notifications = [], []
        if data.get("downtimes") or data.get("notifications") or _section(data, "serve").get("tokens_file"):
            from .lifecycle.configure import check_sections

            downtimes, notifications, problems = check_sections(data)
            for where, message in problems:
                self.report(where, message)
        self.raise_problems()
        if raw.get("backends") is None:  # no section at all: the zero-set-up SQLite file next to the config
            backends = {"default": {"backend": "sqlite", "path": os.path.join(self.base_dir, "scald.sqlite")}}
        else:
            backends = {str(name): entry for name, entry in _section(data, "backends").items()}
        return Config(path=self.file, raw=raw, backends=backends, schemas=schemas, checks=checks, outputs=outputs,
                      serve=dict(_section(data, "serve")), dashboard={name: raw.get(name) or {} for name in DASHBOARD_SECTIONS},
                      mock={k: v for k, v in _section(data, "mock").items() if v is not None},
                      downtimes=downtimes, notifications=notifications)

    def member(self, path: tuple, value: Any, allowed: tuple[str, ...], what: str) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        if not allowed:
            self.report(path, f"there are no {what}s to choose from")
        else:
            self.report(path, f"must be one of the schema's {what}s ({', '.join(allowed)}); got {describe(value)}"
                        + _hint(value, allowed))
        return None

    def reference(self, path: tuple, value: Any, names: Iterable[Any], what: str, section: str) -> None:
        names = [str(n) for n in names]
        if not (isinstance(value, str) and value in names):
            self.report(path, f"unknown {what} {value!r}: not defined under {section}: (defined: "
                        f"{', '.join(sorted(names)) or 'none'})" + _hint(value, names))

    # ---- schemas ---------------------------------------------------------------------------------------------

    def schema(self, path: tuple, name: Any, entry: Any) -> SchemaSpec | None:
        """A measurement's SchemaSpec: the measurement defaults to the schema's name (ligo-scald's /api/latest needs
        them equal anyway); ``tag`` and ``tags`` both given mean their union, ``tag`` first (ligo-scald configs name
        the dashboard's filter tag in one and the nagios checks' expected values in the other)."""
        if not isinstance(entry, dict) or name in self.sub_schemas:  # ligo-scald's sub-schemas: the page's only
            return None
        measurement = entry["measurement"] if "measurement" in entry else \
            self.walker.walk(self.define("measurement_name"), name, path + ("measurement",))
        value = entry.get("column") if entry.get("columns") is None else entry["columns"]
        columns = tuple(c for c in ([value] if isinstance(value, str) else value if isinstance(value, list) else ())
                        if isinstance(c, str))
        column_key = columns[0] if columns else None
        if entry.get("column_key") is not None and columns:
            column_key = self.member(path + ("column_key",), entry["column_key"], columns, "column")
        given = entry.get("tags")
        pairs = None
        if isinstance(given, list) and given and all(isinstance(item, list) for item in given):
            pairs = [(item[0], item[1]) for item in given if isinstance(item[0], str)]
            given = [n for n, _ in pairs]
        names = [given] if isinstance(given, str) else [n for n in given if isinstance(n, str)] \
            if isinstance(given, list) else []
        tags = tuple(dict.fromkeys(([entry["tag"]] if isinstance(entry.get("tag"), str) else []) + names))
        tag_key = tags[0] if tags else None
        if entry.get("tag_key") is not None:
            if tags:
                tag_key = self.member(path + ("tag_key",), entry["tag_key"], tags, "tag")
            else:  # ligo-scald allows tag_key alone: it names the (only) tag
                tag_key = self.walker.walk(self.define("tag_name"), entry["tag_key"], path + ("tag_key",))
                tags = (tag_key,) if isinstance(tag_key, str) else ()
        clash = [t for t in tags if t in columns]
        if clash:
            self.report(path + ("tags",), f"{', '.join(map(repr, clash))}: both a column and a tag (InfluxDB keeps "
                        "fields and tags in one namespace)", at="key")
        expected = self.expected_tags(path, entry, tag_key, pairs)
        mock = entry.get("mock")
        per_column = mock.get("columns") if isinstance(mock, dict) else None
        for column in per_column if isinstance(per_column, dict) else ():
            if column not in columns:
                self.member(path + ("mock", "columns", column), column, columns, "column")
        if self.bad(path):
            return None
        return SchemaSpec(name=str(name), measurement=measurement, columns=columns, column_key=column_key, tags=tags,
                          tag_key=tag_key, aggregate=entry.get("aggregate"), expected_tags=expected,
                          extra={k: v for k, v in entry.items() if k not in SCHEMA_CORE_KEYS}, mock=mock)

    def expected_tags(self, path: tuple, entry: dict, tag_key: str | None,
                      pairs: list | None) -> tuple[str, ...] | None:
        """Expected values of ``tag_key``: from the pair form or from ligo-scald's tag_format/num_tags/tag_start."""
        generated = any(entry.get(k) is not None for k in ("tag_format", "num_tags", "tag_start"))
        if pairs is not None and generated:
            self.report(path + ("tag_format",), "give expected tags either as [name, value] pairs or with "
                        "tag_format/num_tags, not both", at="key")
        elif pairs is not None:
            return tuple(value for name, value in pairs if name == tag_key) or None
        elif generated and tag_key is None:
            self.report(path + ("tag_format",), "generated tags need a tag: give 'tag' (or 'tag_key')", at="key")
        elif generated:
            fmt, num, start = entry.get("tag_format"), entry.get("num_tags"), entry.get("tag_start") or 0
            if isinstance(fmt, str) and isinstance(num, int) and isinstance(start, int):
                return tuple(str(i).zfill(int(fmt[:-len("digit")])) for i in range(start, start + num))
        return None

    # ---- checks ----------------------------------------------------------------------------------------------

    def configured(self, path: tuple, name: str, entry: Any, schemas: dict[str, SchemaSpec],
                   source: str) -> Check | None:
        """A check of the file: its schema and backend looked up, then :meth:`check`."""
        if not isinstance(entry, dict):
            return None
        spec = None
        ref = entry.get("schema")
        if ref is not None and (not isinstance(ref, str) or ref not in self.schema_names):
            self.report(path + ("schema",), f"unknown schema {ref!r} (defined: "
                        f"{', '.join(sorted(map(str, self.schema_names))) or 'none'})" + _hint(ref, self.schema_names))
        elif ref in self.sub_schemas:
            self.report(path + ("schema",), f"schema {ref!r} holds sub-schemas for a dashboard plot, not one "
                        "measurement a check can watch")
        elif ref is not None:
            spec = schemas.get(ref)  # None when the schema itself had problems (already reported)
        backend = entry.get("backend")
        if backend is None:
            self.backend_ref(path, "default", implicit=True)
        else:
            self.backend_ref(path + ("backend",), backend, implicit=False)
        return self.check(path, name, entry, spec, source)

    def backend_ref(self, path: tuple, name: Any, implicit: bool) -> None:
        if not isinstance(name, str):
            self.expect(path, name, "a backend name (string)")
        elif name not in self.backend_names:
            known = ", ".join(sorted(map(str, self.backend_names))) or "none"
            how = "no backend given, so it uses" if implicit else "refers to"
            self.report(path, f"{how} backend {name!r}, which is not defined under backends: (defined: {known})"
                        + ("" if implicit else _hint(name, self.backend_names)), at="key" if implicit else "value")

    def check(self, path: tuple, name: str, entry: dict, spec: SchemaSpec | None, source: str) -> Check | None:
        """The record of one walked check: what depends on its schema or on other keys, then every field set."""
        kind, warning, critical = entry.get("type"), entry.get("warning"), entry.get("critical")
        column = entry.get("column")
        if column is None:
            column = spec.column_key if spec else None
        elif spec is not None:
            column = self.member(path + ("column",), column, spec.columns, "column")
        has_tags = bool(spec.tags) if spec else False
        per_tag, tags = entry.get("per_tag"), entry.get("tags")
        if per_tag is True and spec is not None and not has_tags:
            self.report(path + ("per_tag",), f"schema {spec.name!r} has no tags to evaluate per tag")
        if isinstance(tags, list) and spec is not None and not has_tags:
            self.report(path + ("tags",), f"schema {spec.name!r} has no tags")
        numbers = isinstance(warning, (int, float)) and isinstance(critical, (int, float))
        if kind == "heartbeat" and numbers and warning > critical:
            self.report(path + ("warning",), f"warning age {warning!r} s is greater than critical age {critical!r} s")
        if self.bad(path):
            return None
        interval, stale = entry["interval"], entry.get("stale_state")
        return Check(
            name=name, source=source, type=kind, schema=entry["schema"], backend=entry.get("backend") or "default",
            column=column, aggregate=entry.get("aggregate"), lookback=entry.get("lookback") or 2 * critical,
            warning=warning, critical=critical, warning_reset=entry.get("warning_reset"),
            critical_reset=entry.get("critical_reset"), per_tag=has_tags if per_tag is None else per_tag,
            tags=tuple(tags) if tags is not None else spec.expected_tags if spec else None, tag_filter=None,
            units=entry["units"], interval=interval, max_attempts=entry["max_attempts"], hold=entry["for"],
            timeout=entry.get("timeout") or min(interval, MAX_DEFAULT_TIMEOUT),
            expiry=entry.get("expiry") or 3 * interval, description=entry["description"],
            stale_state=(STATE_NAMES["CRITICAL"] if kind == "heartbeat" else STATE_NAMES["UNKNOWN"])
            if stale is None else stale, forget_after=entry.get("forget_after"), renotify=entry.get("renotify") or 0.0)

    def nagios(self, section: dict, schemas: dict[str, SchemaSpec], checks: dict[str, Check]) -> None:
        """Translate ligo-scald alerts into checks (heartbeat: no point within lookback; threshold: max above)."""
        for name, entry in section.items():
            path = ("nagios", name)
            if not isinstance(entry, dict):
                continue
            if name not in self.schema_names:
                known = ", ".join(sorted(map(str, self.schema_names))) or "none"
                self.report(path, f"ligo-scald requires each nagios check to be named after a schema; "
                            f"there is no schema {str(name)!r} (defined: {known})", at="key")
            if isinstance(name, str) and name in checks:
                self.report(path, f"a check named {name!r} is also defined under checks:; rename one", at="key")
            if self.bad(path) or not isinstance(name, str):
                continue
            kind, lookback = entry["alert_type"], entry["lookback"]
            translated: dict = {"type": kind, "schema": name, "lookback": lookback, "critical": lookback}
            if entry.get("backend") is not None:
                translated["backend"] = entry["backend"]
            if kind == "threshold":
                settings = entry["alert_settings"]
                translated.update(critical=f"~:{_range_text(settings['threshold'])}", aggregate="max",
                                  units=settings.get("threshold_units"))
            check = self.configured(path, name, self.walker.walk(self.define("check"), translated, path), schemas,
                                    "nagios")
            if check is not None:
                checks[name] = check

    # ---- dashboard (ligo-scald's navbar/pages/plots): its references --------------------------------------------

    def dashboard(self, raw: dict) -> None:
        navbar, pages, plots = (_section(raw, name) for name in ("navbar", "pages", "plots"))
        if isinstance(navbar.get("pages"), list):
            for i, page in enumerate(navbar["pages"]):
                self.reference(("navbar", "pages", i), page, pages, "page", "pages")
        for name, page in pages.items():
            items = page.get("plots") if isinstance(page, dict) else None
            for i, item in enumerate(items if isinstance(items, list) else ()):
                if isinstance(item, dict) and "plot" in item:
                    self.reference(("pages", name, "plots", i, "plot"), item["plot"], plots, "plot", "plots")
        for name, plot in plots.items():
            schema = plot.get("schema") if isinstance(plot, dict) else None
            if isinstance(schema, dict):  # MultiSchema / MultiAxis / TimeSegment: sub-schemas by name
                for key, sub in schema.items():
                    if isinstance(sub, str):
                        self.reference(("plots", name, "schema", key), sub, self.schema_names, "schema", "schemas")
            elif schema is not None:
                self.reference(("plots", name, "schema"), schema, self.schema_names, "schema", "schemas")
