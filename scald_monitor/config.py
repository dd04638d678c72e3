"""The one YAML configuration file every command reads: load it, validate all of it, report every problem.

ligo-scald validates nothing: a typo surfaces as a ``KeyError`` traceback at request time.  Here ``load`` walks the
whole file once, collects *every* problem with ``file:line: key.path: message`` (and a "did you mean" hint for
near-miss keys), and either returns a normalized :class:`Config` or raises :class:`ConfigError` carrying them all.

Line numbers come from the YAML node tree (``yaml.compose``), so each mapping key and value maps to the line where
the user wrote it.  Nothing here opens a backend: a database that does not exist yet is not a configuration error.
"""
from __future__ import annotations

import math
import os
import re

import yaml

from .io.schema import NAME_RE, RESERVED_NAMES
from .records import FrozenRecord, Record
from .rules.ranges import RangeError, parse_range
from .rules.evaluate import FORGET_AFTER

TYPE_CHECKING = False  # no ``typing`` or ``dataclasses`` at run time: check_scald loads the configuration
if TYPE_CHECKING:
    from typing import Any, Iterable

__all__ = ["Config", "ConfigError", "Problem", "SchemaSpec", "load", "resolve_path"]

KeyPath = tuple  # a key path: mapping keys and list indices, e.g. ("checks", "latency", "critical")

# --------------------------------------------------------------------------------------------------- public types


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


#: Problems printed for one file; the rest are counted ("... and N more"): a mangled file must not print (or
#: compute did-you-mean hints for) hundreds of thousands of lines.
MAX_PROBLEMS = 200
#: Larger files are refused before parsing: a configuration is a few kB (ligo-scald's largest, tens of kB), and
#: parsing YAML costs ~3 s and ~100 MB per MiB.
MAX_CONFIG_BYTES = 2 * 1024 * 1024


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


class Config(Record):
    """A validated configuration; every section is normalized (defaults filled, paths absolute)."""

    _fields = ("path", "raw", "backends", "schemas", "checks", "outputs", "dashboard", "mock")

    def __init__(self, path: str, raw: dict, backends: dict[str, dict], schemas: dict[str, SchemaSpec],
                 checks: dict[str, dict], outputs: dict, dashboard: dict, mock: dict) -> None:
        self.path = path
        self.raw = raw
        self.backends = backends
        self.schemas = schemas
        self.checks = checks
        self.outputs = outputs
        self.dashboard = dashboard
        self.mock = mock

    def backend(self, name: str = "default") -> dict:
        """The settings of backend ``name``; a missing one is a configuration error, not a ``KeyError``."""
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise ConfigError(
                [Problem(self.path, None, f"backends.{name}", f"no such backend (defined: {known})")]
            ) from None

    def summary(self) -> str:
        """One line for ``scald-monitor validate``."""
        return (
            f"{self.path}: OK — {_plural(len(self.backends), 'backend')}, "
            f"{_plural(len(self.schemas), 'schema')}, {_plural(len(self.checks), 'check')}"
        )


def resolve_path(path: str | None) -> str:
    """The configuration file to use: the given path, else ``$SCALDRC_PATH`` (as ligo-scald does)."""
    if path:
        return path
    env = os.environ.get("SCALDRC_PATH")
    if env:
        return env
    raise ConfigError(
        [Problem("<config>", None, "", "no configuration file given: pass -c/--config or set SCALDRC_PATH")]
    )


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
    doc = _parse(path, read_text(path))
    if doc.fatal:
        raise ConfigError(doc.problems)
    validator = _Validator(path, doc)
    config = validator.run()
    if validator.problems:
        raise ConfigError(sorted(validator.problems, key=lambda p: p.line or 0))
    assert config is not None
    return config


# --------------------------------------------------------------------------------------------------- key sets

SECTIONS = ("backends", "schemas", "checks", "outputs", "mock", "navbar", "pages", "plots", "plotly", "nagios")
DASHBOARD_SECTIONS = ("navbar", "pages", "plots", "plotly", "nagios")

BACKEND_KINDS = ("sqlite", "influxdb")
SQLITE_KEYS = ("backend", "path", "raw_retention", "timeout")
INFLUX_KEYS = (
    "backend", "db", "hostname", "port", "auth", "https", "check_certs", "reduce_dt", "reduce_across_tags",
    "timeout", "buffer_size", "retry_max",
)

SCHEMA_CORE_KEYS = (
    "measurement", "column", "columns", "column_key", "tag", "tags", "tag_key", "aggregate", "tag_format",
    "num_tags", "tag_start", "mock",
)
# ligo-scald's dashboard keys: accepted and kept in SchemaSpec.extra.  Numeric ones get numeric strings converted
# (YAML 1.1 reads ``default: 1e4`` as the string '1e4').
SCHEMA_NUMERIC_EXTRA = ("default", "ybin", "ybin_start", "ybin_end", "tbin", "dt")
SCHEMA_OTHER_EXTRA = ("far_key", "time_key", "transform", "fill", "scale")
SCHEMA_AGGREGATES = ("min", "median", "max")

MOCK_SIGNALS = ("sine", "random_walk", "steps", "spikes", "constant")
MOCK_NUMBERS = {  # key -> lower bound (None: any finite number), strictly greater?
    "offset": (None, False), "amplitude": (None, False), "period": (0, True), "noise": (0, False),
    "spike_rate": (0, False), "spike_height": (None, False), "step_every": (0, True),
}
MOCK_SCHEMA_KEYS = ("signal", *MOCK_NUMBERS, "gaps", "columns")
MOCK_GAP_KEYS = ("tag", "start", "every", "length")
MOCK_TOP_KEYS = ("seed", "rate", "tags", "start", "span")

CHECK_TYPES = ("threshold", "heartbeat")
CHECK_AGGREGATES = ("min", "median", "max", "latest")
CHECK_KEYS = (
    "type", "schema", "backend", "column", "aggregate", "lookback", "warning", "critical", "warning_reset",
    "critical_reset", "per_tag", "tags", "units", "interval", "max_attempts", "for", "timeout", "description",
    "expiry", "stale_state", "forget_after",
)
STATE_NAMES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}

NAGIOS_KEYS = ("lookback", "alert_type", "backend", "alert_settings")
NAGIOS_SETTINGS_KEYS = ("threshold", "threshold_units")

OUTPUT_KEYS = ("status_dir", "state_file", "nagios_command_file", "host", "icinga2")
ICINGA_KEYS = ("url", "user", "password_env", "ca", "ttl")

NAVBAR_KEYS = ("title", "image", "css", "audio", "pages", "tabs")
PAGE_KEYS = ("title", "lookback", "delay", "plots")
PAGE_PLOT_KEYS = ("plot", "visible", "grid")
PLOT_KEYS = ("title", "type", "schema", "settings", "layout", "data_options", "options")
PLOT_TYPES = (
    "TimeSeries", "TimeHeatMap", "Bar", "Snapshot", "MultiAxis", "MultiSchema", "BinnedTimeHistogram", "IFAR",
    "TimeSegment",
)
PLOTLY_KEYS = ("layout", "data_options", "options")

# Names that become measurement/column/tag identifiers in backends (SQL, InfluxQL) and file names.
IDENTIFIER = NAME_RE
# Check names become Nagios service names and ``<check>.json`` file names: no '/', no spaces.
CHECK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*", re.ASCII)  # matched whole, as every name
# The host name goes into passive results ("...;host;service;...") and Icinga's "host!service".
HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*", re.ASCII)
TAG_FORMAT = re.compile(r"([0-9]{1,3})digit")
MAX_TAG_DIGITS = 20
MAX_EXPECTED_TAGS = 100_000  # a typo like num_tags: 1e9 must not allocate a billion strings

_MISSING = object()

# --------------------------------------------------------------------------------------------------- YAML reading


class _Loader(yaml.SafeLoader):
    """SafeLoader whose constructor errors always carry the line of the node that failed.

    PyYAML lets plain exceptions escape for some values (e.g. ``2001-13-45`` resolves as a timestamp and then
    ``datetime`` raises ``ValueError``); wrapping them keeps "a broken file gives file:line" true.

    Not ``CSafeLoader``: libyaml accepts files PyYAML rejects and reads some differently (a tab after ``key:`` in
    a flow mapping, ``?`` inside a flow scalar, an empty ``!`` tag, a comment after a block scalar header...), so
    the faster parser would change which configurations load, for ~1.5 ms saved per check_scald run.
    """

    def construct_object(self, node, deep=False):  # noqa: D102 - PyYAML hook
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - any constructor failure is a problem with that value
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from exc


class _Document:
    """The parsed file: data plus the line of every key and value, by key path."""

    def __init__(self, n_lines: int = 1, file: str = "") -> None:
        self.data: Any = None
        self.key_lines: dict = {}
        self.value_lines: dict = {}
        self.problems: list = []
        self.fatal = False
        self.n_lines = n_lines
        self.file = file


_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_INDEXED_NODES = 200_000  # alias bombs: stop recording lines (fall back to ancestors), never hang


def _parse(file: str, text: str) -> _Document:
    doc = _Document(n_lines=max(1, len(text.splitlines())), file=file)

    def fail(line: int | None, message: str) -> _Document:
        doc.problems.append(Problem(file, _clamp(line, doc.n_lines), "", message))
        doc.fatal = True
        return doc

    try:
        loader = _Loader(text)  # the reader already rejects control characters here
        try:
            node = loader.get_single_node()
            if node is not None:
                _index(loader, node, (), doc, set(), [0])
                doc.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return fail(mark.line + 1 if mark else 1, f"invalid YAML: {_yaml_message(exc)}")
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return fail(line, f"invalid YAML: {exc.reason} ({char})")
    except yaml.YAMLError as exc:
        return fail(1, f"invalid YAML: {exc}")
    except RecursionError:
        return fail(1, "invalid YAML: nesting too deep")

    if doc.data is None:
        return fail(1, "the file is empty: expected a mapping with sections such as backends, schemas, checks")
    if not isinstance(doc.data, dict):
        return fail(
            doc.value_lines.get((), 1),
            f"the top level must be a mapping of sections ({', '.join(SECTIONS)}), not {_describe(doc.data)}",
        )
    if doc.problems:  # duplicate keys: report them along with the validation problems
        doc.fatal = False
    return doc


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    if exc.context_mark is not None and exc.problem_mark is not None and exc.context:
        if exc.context_mark.line != exc.problem_mark.line:
            parts[0] = f"{exc.context} (line {exc.context_mark.line + 1})"
    return "; ".join(parts) or "syntax error"


def _index(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, doc: _Document, stack: set, count: list) -> None:
    """Record the line of every key and value under ``node``; report duplicate keys (YAML keeps the last)."""
    count[0] += 1
    if count[0] > _MAX_INDEXED_NODES:
        return
    doc.value_lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in stack:  # a recursive alias; PyYAML builds a cyclic object, nothing more to index
        return
    if isinstance(node, yaml.SequenceNode):
        stack.add(id(node))
        for i, item in enumerate(node.value):
            _index(loader, item, path + (i,), doc, stack, count)
        stack.discard(id(node))
    elif isinstance(node, yaml.MappingNode):
        stack.add(id(node))
        seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merged keys fall back to the line of the mapping that merges them
            key = loader.construct_object(key_node)
            try:
                hash(key)
            except TypeError:  # e.g. '!!seq x' as a key: construct_document reports it with its line
                continue
            line = key_node.start_mark.line + 1
            sub = path + (key,)
            if key in seen:
                doc.problems.append(
                    Problem(doc.file, line, _fmt_path(sub), f"duplicate key (first defined at line {seen[key]})")
                )
            else:
                seen[key] = line
                doc.key_lines[sub] = line
            _index(loader, value_node, sub, doc, stack, count)
        stack.discard(id(node))


def _close_matches(word: str, possibilities: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches``, imported only when a "did you mean" hint is needed."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n, cutoff=cutoff)


def _clamp(line: int | None, n_lines: int) -> int | None:
    if line is None:
        return None
    return min(max(1, line), n_lines)


# --------------------------------------------------------------------------------------------------- helpers


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(value: Any) -> str:
    """A short description of a value's type for "expected X, got Y" messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    return f"a {type(value).__name__} ({value!r})"


def _as_number(value: Any) -> float | int | None:
    """A finite int/float from a YAML number or numeric string (YAML 1.1 reads ``1e4`` as a string); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace("_", "x"))  # no '1_000': it is not a YAML number either
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_int(value: Any) -> int | None:
    number = _as_number(value)
    if number is None:
        return None
    if isinstance(number, float):
        if not number.is_integer():
            return None
        return int(number)
    return number


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _range_text(value: Any) -> str:
    """The range as the user wrote it: YAML numbers become their plain text (50 → '50')."""
    if isinstance(value, str):
        return value.strip()
    return repr(value) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------------- validation


class _Validator:
    """Walks the loaded data section by section, collecting problems and building the normalized Config."""

    def __init__(self, file: str, doc: _Document):
        self.file = file
        self.doc = doc
        self.data: dict = doc.data
        self.problems: list[Problem] = list(doc.problems)
        self.base_dir = os.path.dirname(os.path.abspath(file))
        self.schema_names: set = set()
        self.backend_names: set = set()
        self.default_backend_implicit = False

    # ---- reporting -------------------------------------------------------------------------------------------

    def line(self, path: KeyPath, prefer: str = "key") -> int:
        """The line of ``path``'s key (or value), else of its nearest ancestor that has one."""
        keys, values = self.doc.key_lines, self.doc.value_lines
        first, second = (keys, values) if prefer == "key" else (values, keys)
        probe = tuple(path)
        while True:
            try:
                found = first.get(probe) or second.get(probe)
            except TypeError:  # an unhashable component cannot be in the index
                found = None
            if found:
                return _clamp(found, self.doc.n_lines) or 1
            if not probe:
                return 1
            probe = probe[:-1]
            first, second = self.doc.key_lines, self.doc.value_lines

    def report(self, path: KeyPath, message: str, at: str = "value") -> None:
        self.problems.append(Problem(self.file, self.line(path, at), _fmt_path(path), message))

    def expect(self, path: KeyPath, value: Any, wanted: str) -> None:
        self.report(path, f"expected {wanted}, got {_describe(value)}")

    # ---- generic checks --------------------------------------------------------------------------------------

    def mapping(self, path: KeyPath, value: Any, what: str = "a mapping", allow_null: bool = True) -> dict | None:
        """The value as a dict (null → {} when allowed), or None after reporting a type problem."""
        if value is None and allow_null:
            return {}
        if isinstance(value, dict):
            return value
        self.expect(path, value, what)
        return None

    def known_keys(self, path: KeyPath, entry: dict, known: Iterable[str], typos_only: bool = False) -> None:
        """Report keys not in ``known`` (with a did-you-mean hint); ``typos_only`` reports only near misses."""
        known = list(known)
        for key in entry:
            if key in known:
                continue
            if len(self.problems) >= MAX_PROBLEMS:  # counted, not explained: nobody reads that far
                if not typos_only:
                    self.report(path + (key,), "unknown key", at="key")
                continue
            hint = _close_matches(_key_text(key), known, n=1, cutoff=0.75 if typos_only else 0.6)
            if typos_only and not hint:
                continue
            message = "unknown key"
            if hint:
                message += f" (did you mean {hint[0]!r}?)"
            elif len(known) <= 12:
                message += f" (expected one of: {', '.join(known)})"
            self.report(path + (key,), message, at="key")

    def required(self, path: KeyPath, entry: dict, key: str, what: str) -> Any:
        value = entry.get(key, _MISSING)
        if value is _MISSING or value is None:
            self.report(path + (key,), f"required: {what}", at="key")
            return _MISSING
        return value

    def string(self, path: KeyPath, value: Any, what: str = "a string") -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.expect(path, value, what)
        return None

    def identifier(self, path: KeyPath, value: Any, what: str) -> str | None:
        if not isinstance(value, str):
            self.expect(path, value, f"{what} (a string)")
            return None
        if not IDENTIFIER.fullmatch(value):
            self.report(
                path,
                f"{what} {value!r} is not a valid name: use letters, digits, '_', '.', ':' or '-', "
                "starting with a letter or '_' (it becomes an identifier in the database)",
            )
            return None
        kind = what.split()[0]  # "tag name" -> tag: names the InfluxDB layout uses itself are refused
        if value in RESERVED_NAMES.get(kind, ()):
            self.report(path, f"{what} {value!r} is reserved (the InfluxDB layout uses it itself); rename it")
            return None
        return value

    def number(
        self, path: KeyPath, value: Any, what: str = "a number", minimum: float | None = None,
        exclusive: bool = False, maximum: float | None = None,
    ) -> float | int | None:
        number = _as_number(value)
        if number is None:
            self.expect(path, value, what)
            return None
        if minimum is not None and (number < minimum or (exclusive and number == minimum)):
            self.report(path, f"expected {what}, got {number!r}")
            return None
        if maximum is not None and number > maximum:
            self.report(path, f"expected {what}, got {number!r}")
            return None
        return number

    def seconds(self, path: KeyPath, value: Any, allow_zero: bool = False) -> float | int | None:
        if allow_zero:
            return self.number(path, value, "a number of seconds >= 0", minimum=0)
        return self.number(path, value, "a number of seconds > 0", minimum=0, exclusive=True)

    def integer(self, path: KeyPath, value: Any, minimum: int | None = None, maximum: int | None = None) -> int | None:
        number = _as_int(value)
        bounds = ""
        if minimum is not None and maximum is not None:
            bounds = f" between {minimum} and {maximum}"
        elif minimum is not None:
            bounds = f" >= {minimum}"
        if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            self.expect(path, value, f"an integer{bounds}")
            return None
        return number

    def boolean(self, path: KeyPath, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        self.expect(path, value, "true or false")
        return None

    def choice(self, path: KeyPath, value: Any, choices: Iterable[str]) -> str | None:
        choices = list(choices)
        if isinstance(value, str) and value in choices:
            return value
        message = f"expected one of {', '.join(choices)}; got {_describe(value)}"
        if isinstance(value, str):
            hint = _close_matches(value, choices, n=1)
            if hint:
                message += f" (did you mean {hint[0]!r}?)"
        self.report(path, message)
        return None

    def file_path(self, path: KeyPath, value: Any) -> str | None:
        """A path setting: relative paths are taken relative to the configuration file, stored absolute."""
        text = self.string(path, value, "a file path (string)")
        if text is None:
            return None
        text = os.path.expanduser(text)
        return os.path.normpath(os.path.join(self.base_dir, text))

    def string_list(self, path: KeyPath, value: Any, what: str) -> list[str] | None:
        """A list of scalars kept as strings (tag values: quote '0001' in YAML or leading zeros are lost)."""
        if not isinstance(value, list):
            self.expect(path, value, f"a list of {what}")
            return None
        out = []
        ok = True
        for i, item in enumerate(value):
            if isinstance(item, bool) or item is None or isinstance(item, (dict, list)):
                self.expect(path + (i,), item, f"a {what[:-1] if what.endswith('s') else what} (a string)")
                ok = False
            else:
                out.append(item if isinstance(item, str) else str(item))
        return out if ok else None

    # ---- the whole file --------------------------------------------------------------------------------------

    def run(self) -> Config | None:
        data = self.data
        self.known_keys((), data, SECTIONS)
        sections = {}
        for name in SECTIONS:
            value = data.get(name)
            sections[name] = self.mapping((name,), value) if name in data else {}
        self.backend_names = set(sections["backends"] or {}) if data.get("backends") is not None else {"default"}
        self.schema_names = set(sections["schemas"] or {})

        backends = self.backends(data.get("backends"), sections["backends"])
        schemas = self.schemas(sections["schemas"] or {})
        checks = self.checks(sections["checks"] or {}, schemas)
        self.nagios(sections["nagios"] or {}, schemas, checks)
        outputs = self.outputs(sections["outputs"] or {})
        mock = self.top_mock(sections["mock"] or {})
        self.navbar(sections["navbar"] or {}, sections["pages"] or {})
        self.pages(sections["pages"] or {}, sections["plots"] or {})
        self.plots(sections["plots"] or {})
        self.plotly(sections["plotly"] or {})

        if self.problems:
            return None
        dashboard = {name: data.get(name) or {} for name in DASHBOARD_SECTIONS}
        return Config(
            path=self.file, raw=data, backends=backends, schemas=schemas, checks=checks, outputs=outputs,
            dashboard=dashboard, mock=mock,
        )

    # ---- backends --------------------------------------------------------------------------------------------

    def backends(self, raw: Any, section: dict | None) -> dict[str, dict]:
        if raw is None:  # no section at all: the zero-set-up SQLite file next to the config
            return {"default": {"backend": "sqlite", "path": os.path.join(self.base_dir, "scald.sqlite")}}
        out: dict[str, dict] = {}
        for name, entry in (section or {}).items():
            path = ("backends", name)
            entry = self.mapping(path, entry, "a mapping with at least 'backend:'", allow_null=False)
            if entry is None:
                continue
            kind = self.required(path, entry, "backend", f"the backend kind ({' or '.join(BACKEND_KINDS)})")
            if kind is _MISSING:
                self.known_keys(path, entry, sorted(set(SQLITE_KEYS) | set(INFLUX_KEYS)))
                continue
            kind = self.choice(path + ("backend",), kind, BACKEND_KINDS)
            if kind == "sqlite":
                normalized = self.sqlite_backend(path, entry)
            elif kind == "influxdb":
                normalized = self.influx_backend(path, entry)
            else:
                continue
            out[name] = normalized
        return out

    def sqlite_backend(self, path: KeyPath, entry: dict) -> dict:
        self.known_keys(path, entry, SQLITE_KEYS)
        out: dict = {"backend": "sqlite"}
        db_path = self.required(path, entry, "path", "the SQLite database file (or ':memory:')")
        if db_path is not _MISSING:
            out["path"] = db_path if db_path == ":memory:" else self.file_path(path + ("path",), db_path)
        if "raw_retention" in entry:
            value = entry["raw_retention"]
            out["raw_retention"] = None if value is None else self.seconds(path + ("raw_retention",), value)
        if "timeout" in entry:
            out["timeout"] = self.seconds(path + ("timeout",), entry["timeout"])
        return out

    def influx_backend(self, path: KeyPath, entry: dict) -> dict:
        self.known_keys(path, entry, INFLUX_KEYS)
        out: dict = {"backend": "influxdb", "hostname": "localhost", "port": 8086}
        db = self.required(path, entry, "db", "the InfluxDB database name")
        if db is not _MISSING:
            out["db"] = self.string(path + ("db",), db, "a database name (string)")
        if "hostname" in entry:
            out["hostname"] = self.string(path + ("hostname",), entry["hostname"], "a host name (string)")
        if "port" in entry:
            out["port"] = self.integer(path + ("port",), entry["port"], 1, 65535)
        for key in ("auth", "https", "check_certs", "reduce_across_tags"):
            if key in entry:
                out[key] = self.boolean(path + (key,), entry[key])
        for key in ("reduce_dt", "timeout", "retry_max"):
            if key in entry:
                out[key] = self.seconds(path + (key,), entry[key])
        if "buffer_size" in entry:
            out["buffer_size"] = self.integer(path + ("buffer_size",), entry["buffer_size"], 1)
        return out

    def backend_ref(self, path: KeyPath, name: Any, implicit: bool) -> str | None:
        """Check that a backend reference names a defined backend."""
        if not isinstance(name, str):
            self.expect(path, name, "a backend name (string)")
            return None
        if name not in self.backend_names:
            known = ", ".join(sorted(map(str, self.backend_names))) or "none"
            how = "no backend given, so it uses" if implicit else "refers to"
            message = f"{how} backend {name!r}, which is not defined under backends: (defined: {known})"
            hint = _close_matches(name, [str(b) for b in self.backend_names], n=1)
            if hint and not implicit:
                message += f" (did you mean {hint[0]!r}?)"
            self.report(path, message, at="key" if implicit else "value")
            return None
        return name

    # ---- schemas ---------------------------------------------------------------------------------------------

    def schemas(self, section: dict) -> dict[str, SchemaSpec]:
        out: dict[str, SchemaSpec] = {}
        for name, entry in section.items():
            spec = self.schema(("schemas", name), name, entry)
            if spec is not None:
                out[_key_text(name)] = spec
        return out

    def schema(self, path: KeyPath, name: Any, entry: Any) -> SchemaSpec | None:
        entry = self.mapping(path, entry, "a mapping (measurement, column(s), tag(s), ...)", allow_null=False)
        if entry is None:
            return None
        self.known_keys(path, entry, SCHEMA_CORE_KEYS + SCHEMA_NUMERIC_EXTRA + SCHEMA_OTHER_EXTRA)
        ok = True

        # The measurement defaults to the schema name (ligo-scald's /api/latest needs them equal anyway).
        measurement = self.identifier(path + ("measurement",), entry.get("measurement", name), "measurement")
        ok &= measurement is not None

        columns = self.schema_columns(path, entry)
        ok &= columns is not None
        columns = columns or ()
        column_key = columns[0] if columns else None
        if entry.get("column_key") is not None and columns:
            column_key = self.member(path + ("column_key",), entry["column_key"], columns, "column")
            ok &= column_key is not None

        tags, pairs = self.schema_tags(path, entry)
        ok &= tags is not None
        tags = tags or ()
        tag_key = tags[0] if tags else None
        if "tag_key" in entry and entry["tag_key"] is not None:
            if tags:
                tag_key = self.member(path + ("tag_key",), entry["tag_key"], tags, "tag")
            else:  # ligo-scald allows tag_key alone: it names the (only) tag
                tag_key = self.identifier(path + ("tag_key",), entry["tag_key"], "tag name")
                tags = (tag_key,) if tag_key else ()
            ok &= tag_key is not None

        clash = [t for t in tags if t in (columns or ())]
        if clash:
            self.report(path + ("tags",), f"{', '.join(map(repr, clash))}: both a column and a tag (InfluxDB keeps "
                        "fields and tags in one namespace)", at="key")
            ok = False

        expected = self.expected_tags(path, entry, tag_key, pairs)
        ok &= expected is not False

        aggregate = None
        if entry.get("aggregate") is not None:
            aggregate = self.choice(path + ("aggregate",), entry["aggregate"], SCHEMA_AGGREGATES)
            ok &= aggregate is not None

        extra: dict = {}
        for key in SCHEMA_OTHER_EXTRA:
            if key in entry:
                extra[key] = entry[key]
        for key in SCHEMA_NUMERIC_EXTRA:
            if key in entry:
                value = entry[key]
                number = _as_number(value)
                if number is None and value is not None:
                    self.expect(path + (key,), value, "a number")
                    ok = False
                extra[key] = number
        mock = None
        if entry.get("mock") is not None:
            mock = self.schema_mock(path + ("mock",), entry["mock"], columns)
            ok &= mock is not None
        if not ok:
            return None
        return SchemaSpec(
            name=_key_text(name), measurement=measurement, columns=tuple(columns), column_key=column_key,
            tags=tuple(tags), tag_key=tag_key, aggregate=aggregate,
            expected_tags=tuple(expected) if expected else None, extra=extra, mock=mock,
        )

    def member(self, path: KeyPath, value: Any, allowed: Iterable[str], what: str) -> str | None:
        allowed = list(allowed)
        if isinstance(value, str) and value in allowed:
            return value
        if not allowed:
            self.report(path, f"there are no {what}s to choose from")
            return None
        message = f"must be one of the schema's {what}s ({', '.join(allowed)}); got {_describe(value)}"
        hint = _close_matches(_key_text(value), allowed, n=1) if isinstance(value, str) else []
        if hint:
            message += f" (did you mean {hint[0]!r}?)"
        self.report(path, message)
        return None

    def schema_columns(self, path: KeyPath, entry: dict) -> tuple[str, ...] | None:
        has_one, has_many = entry.get("column") is not None, entry.get("columns") is not None
        if has_one and has_many:
            self.report(path + ("columns",), "give either 'column' or 'columns', not both", at="key")
            return None
        if not has_one and not has_many:
            self.report(path + ("column",), "required: 'column: name' or 'columns: [name, ...]'", at="key")
            return None
        if has_one:
            value = entry["column"]
            if isinstance(value, list):  # forgiving: a list under the singular key
                return self.name_list(path + ("column",), value, "column")
            column = self.identifier(path + ("column",), value, "column name")
            return (column,) if column else None
        return self.name_list(path + ("columns",), entry["columns"], "column")

    def name_list(self, path: KeyPath, value: Any, what: str) -> tuple[str, ...] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.expect(path, value, f"a list of {what} names")
            return None
        if not value:
            self.report(path, f"needs at least one {what}")
            return None
        names: list[str] = []
        ok = True
        for i, item in enumerate(value):
            name = self.identifier(path + (i,), item, f"{what} name")
            if name is None:
                ok = False
            elif name in names:
                self.report(path + (i,), f"duplicate {what} {name!r}")
                ok = False
            else:
                names.append(name)
        return tuple(names) if ok else None

    def schema_tags(self, path: KeyPath, entry: dict) -> tuple[tuple[str, ...] | None, list | None]:
        """Tag names, plus the ``[name, value]`` pairs when ligo-scald's nagios pair form is used.

        ligo-scald configs often give both: ``tag: job`` (the query parameter its dashboard filters and groups by)
        and ``tags: [[job, '0001'], ...]`` (the values its nagios checks expect). The names are then the union,
        ``tag`` first.
        """
        has_one, has_many = entry.get("tag") is not None, entry.get("tags") is not None
        first: tuple[str, ...] = ()
        if has_one:
            tag = self.identifier(path + ("tag",), entry["tag"], "tag name")
            if tag is None:
                return None, None
            first = (tag,)
        if not has_many:
            return first, None
        value = entry["tags"]
        tpath = path + ("tags",)
        if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
            names, pairs = self.tag_pairs(tpath, value)
        elif isinstance(value, list) and any(isinstance(item, list) for item in value):
            self.report(tpath, "mixes tag names and [name, value] pairs; use one form")
            return None, None
        else:
            names, pairs = self.name_list(tpath, value, "tag"), None
        if names is None:
            return None, None
        return tuple(dict.fromkeys(first + names)), pairs

    def tag_pairs(self, path: KeyPath, value: list) -> tuple[tuple[str, ...] | None, list | None]:
        names: list[str] = []
        pairs: list[tuple[str, str]] = []
        ok = True
        for i, item in enumerate(value):
            if len(item) != 2 or isinstance(item[1], (list, dict)) or item[1] is None or isinstance(item[1], bool):
                self.expect(path + (i,), item, "a [tag name, tag value] pair, e.g. [job, '0001']")
                ok = False
                continue
            name = self.identifier(path + (i, 0), item[0], "tag name")
            if name is None:
                ok = False
                continue
            if name not in names:
                names.append(name)
            pairs.append((name, item[1] if isinstance(item[1], str) else str(item[1])))
        return (tuple(names), pairs) if ok else (None, None)

    def expected_tags(self, path: KeyPath, entry: dict, tag_key: str | None, pairs: list | None):
        """Expected values of ``tag_key``: from the pair form or from ligo-scald's tag_format/num_tags/tag_start.

        Returns a list, None (not specified) or False (after reporting a problem).
        """
        generated = any(entry.get(k) is not None for k in ("tag_format", "num_tags", "tag_start"))
        if pairs is not None and generated:
            self.report(path + ("tag_format",), "give expected tags either as [name, value] pairs or with "
                        "tag_format/num_tags, not both", at="key")
            return False
        if pairs is not None:
            return [value for name, value in pairs if name == tag_key]
        if not generated:
            return None
        ok = True
        width = None
        fmt = entry.get("tag_format")
        if fmt is None:
            self.report(path + ("tag_format",), "required with num_tags/tag_start: e.g. tag_format: 4digit", at="key")
            ok = False
        else:
            match = TAG_FORMAT.fullmatch(fmt) if isinstance(fmt, str) else None
            if match is None or not 1 <= int(match.group(1)) <= MAX_TAG_DIGITS:
                self.expect(path + ("tag_format",), fmt, "a format like '4digit' (zero-padded to N digits, N <= 20)")
                ok = False
            else:
                width = int(match.group(1))
        num = entry.get("num_tags")
        if num is None:
            self.report(path + ("num_tags",), "required with tag_format: how many tag values to expect", at="key")
            ok = False
        else:
            num = self.integer(path + ("num_tags",), num, 1, MAX_EXPECTED_TAGS)
            ok &= num is not None
        start = 0
        if entry.get("tag_start") is not None:
            start = self.integer(path + ("tag_start",), entry["tag_start"], 0)
            ok &= start is not None
        if tag_key is None:
            self.report(path + ("tag_format",), "generated tags need a tag: give 'tag' (or 'tag_key')", at="key")
            ok = False
        if not ok:
            return False
        return [str(i).zfill(width) for i in range(start, start + num)]

    def schema_mock(self, path: KeyPath, value: Any, columns: Iterable[str]) -> dict | None:
        entry = self.mapping(path, value, "a mapping of mock generator settings")
        if entry is None:
            return None
        before = len(self.problems)
        out = self.mock_settings(path, entry, MOCK_SCHEMA_KEYS) or {}
        if "columns" in entry:
            cpath = path + ("columns",)
            per_column = self.mapping(cpath, entry["columns"], "a mapping of column name -> mock settings") or {}
            column_keys = tuple(k for k in MOCK_SCHEMA_KEYS if k != "columns")
            out["columns"] = {}
            for column, settings in per_column.items():
                if column not in columns:
                    self.member(cpath + (column,), column, columns, "column")
                    continue
                sub = self.mapping(cpath + (column,), settings, "a mapping of mock settings")
                if sub is not None:
                    out["columns"][column] = self.mock_settings(cpath + (column,), sub, column_keys)
        return out if len(self.problems) == before else None

    def mock_settings(self, path: KeyPath, entry: dict, known: tuple[str, ...]) -> dict | None:
        before = len(self.problems)
        self.known_keys(path, entry, known)
        out: dict = {}
        if "signal" in entry:
            out["signal"] = self.choice(path + ("signal",), entry["signal"], MOCK_SIGNALS)
        for key, (low, exclusive) in MOCK_NUMBERS.items():
            if key in entry:
                what = "a number" if low is None else f"a number {'>' if exclusive else '>='} {low}"
                out[key] = self.number(path + (key,), entry[key], what, minimum=low, exclusive=exclusive)
        if "gaps" in entry and "gaps" in known:
            out["gaps"] = self.mock_gaps(path + ("gaps",), entry["gaps"])
        return out if len(self.problems) == before else None

    def mock_gaps(self, path: KeyPath, value: Any) -> list | None:
        if not isinstance(value, list):
            self.expect(path, value, "a list of gaps ({tag, start, every, length})")
            return None
        gaps = []
        for i, gap in enumerate(value):
            gpath = path + (i,)
            gap = self.mapping(gpath, gap, "a mapping {tag, start, every, length}", allow_null=False)
            if gap is None:
                continue
            self.known_keys(gpath, gap, MOCK_GAP_KEYS)
            out: dict = {}
            tag = gap.get("tag")  # a tag value, a list of them, or null/absent = every series
            if isinstance(tag, list):
                out["tag"] = self.string_list(gpath + ("tag",), tag, "tag values")
            elif tag is None:
                out["tag"] = None
            elif isinstance(tag, (bool, dict)):
                self.expect(gpath + ("tag",), tag, "a tag value, a list of them, or null (every series)")
            else:
                out["tag"] = tag if isinstance(tag, str) else str(tag)
            if gap.get("start") is not None:  # GPS time of the first window (default 0)
                out["start"] = self.number(gpath + ("start",), gap["start"], "a GPS time (number)")
            if gap.get("every") is not None:  # null: a single window
                out["every"] = self.seconds(gpath + ("every",), gap["every"])
            length = self.required(gpath, gap, "length", "the gap's length in seconds")
            if length is not _MISSING:
                out["length"] = self.seconds(gpath + ("length",), length)
            gaps.append(out)
        return gaps

    # ---- checks ----------------------------------------------------------------------------------------------

    def checks(self, section: dict, schemas: dict[str, SchemaSpec]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for name, entry in section.items():
            path = ("checks", name)
            if not isinstance(name, str) or not CHECK_NAME.fullmatch(name):
                self.report(path, "check names become Nagios service and file names: use letters, digits, "
                            "'_', '.', ':' or '-' (no '/' or spaces)", at="key")
            entry = self.mapping(path, entry, "a mapping (type, schema, warning, critical, ...)", allow_null=False)
            if entry is None:
                continue
            check = self.check(path, _key_text(name), entry, schemas, source="checks")
            if check is not None:
                out[_key_text(name)] = check
        return out

    def check(self, path: KeyPath, name: str, entry: dict, schemas: dict[str, SchemaSpec], source: str) -> dict | None:
        """Validate one check and return it normalized: every key present, defaults filled, ranges as text."""
        before = len(self.problems)
        self.known_keys(path, entry, CHECK_KEYS)
        kind = self.required(path, entry, "type", f"the check type ({' or '.join(CHECK_TYPES)})")
        if kind is not _MISSING:
            kind = self.choice(path + ("type",), kind, CHECK_TYPES)

        schema_name = self.required(path, entry, "schema", "the name of a schema under schemas:")
        spec = None
        if schema_name is not _MISSING:
            if not isinstance(schema_name, str) or schema_name not in self.schema_names:
                known = ", ".join(sorted(map(str, self.schema_names))) or "none"
                message = f"unknown schema {schema_name!r} (defined: {known})"
                hint = _close_matches(_key_text(schema_name), [str(s) for s in self.schema_names], n=1)
                if hint:
                    message += f" (did you mean {hint[0]!r}?)"
                self.report(path + ("schema",), message)
            else:
                spec = schemas.get(schema_name)  # None when the schema itself had problems (already reported)

        check: dict = {"name": name, "type": kind if isinstance(kind, str) else None,
                       "schema": schema_name if isinstance(schema_name, str) else None, "source": source}
        implicit = "backend" not in entry or entry["backend"] is None
        check["backend"] = self.backend_ref(
            path + ("backend",) if not implicit else path, "default" if implicit else entry["backend"], implicit
        )

        check["column"] = spec.column_key if spec else None
        if entry.get("column") is not None and spec is not None:
            check["column"] = self.member(path + ("column",), entry["column"], spec.columns, "column")

        if kind == "heartbeat":
            self.heartbeat_limits(path, entry, check)
        else:
            self.threshold_limits(path, entry, check)

        check["aggregate"] = "max" if kind == "threshold" else None
        if entry.get("aggregate") is not None:
            check["aggregate"] = self.choice(path + ("aggregate",), entry["aggregate"], CHECK_AGGREGATES)

        lookback_default = 300
        if kind == "heartbeat" and isinstance(check.get("critical"), (int, float)):
            lookback_default = 2 * check["critical"]
        check["lookback"] = lookback_default
        if entry.get("lookback") is not None:
            check["lookback"] = self.seconds(path + ("lookback",), entry["lookback"])

        has_tags = bool(spec.tags) if spec else False
        check["per_tag"] = has_tags
        if entry.get("per_tag") is not None:
            check["per_tag"] = self.boolean(path + ("per_tag",), entry["per_tag"])
            if check["per_tag"] and spec is not None and not has_tags:
                self.report(path + ("per_tag",), f"schema {spec.name!r} has no tags to evaluate per tag")

        check["tags"] = list(spec.expected_tags) if spec and spec.expected_tags else None
        if entry.get("tags") is not None:
            check["tags"] = self.string_list(path + ("tags",), entry["tags"], "tag values")
            if check["tags"] is not None and spec is not None and not has_tags:
                self.report(path + ("tags",), f"schema {spec.name!r} has no tags")

        check["units"] = "s" if kind == "heartbeat" else ""
        if entry.get("units") is not None:
            units = entry["units"]
            if isinstance(units, str):
                check["units"] = units
            else:
                self.expect(path + ("units",), units, "a unit string, e.g. s, ms, Mpc, %")
        check["interval"] = 60
        if entry.get("interval") is not None:
            check["interval"] = self.seconds(path + ("interval",), entry["interval"])
        check["max_attempts"] = 1
        if entry.get("max_attempts") is not None:
            check["max_attempts"] = self.integer(path + ("max_attempts",), entry["max_attempts"], 1)
        check["for"] = 0
        if entry.get("for") is not None:
            check["for"] = self.seconds(path + ("for",), entry["for"], allow_zero=True)
        for key in ("timeout", "expiry"):
            check[key] = None
            if entry.get(key) is not None:
                check[key] = self.seconds(path + (key,), entry[key])
        check["description"] = ""
        if entry.get("description") is not None:
            desc = entry["description"]
            if isinstance(desc, str):
                check["description"] = desc
            else:
                self.expect(path + ("description",), desc, "a string")
        check["forget_after"] = FORGET_AFTER if kind == "heartbeat" else None
        if entry.get("forget_after") is not None:
            if kind == "heartbeat":
                check["forget_after"] = self.seconds(path + ("forget_after",), entry["forget_after"])
            else:
                self.report(path + ("forget_after",), "only heartbeat checks take forget_after (a threshold counts "
                            "the tag values that sent data within its lookback)", at="key")
        check["stale_state"] = None
        if entry.get("stale_state") is not None:
            check["stale_state"] = self.state(path + ("stale_state",), entry["stale_state"])
        return check if len(self.problems) == before else None

    def state(self, path: KeyPath, value: Any) -> int | None:
        if isinstance(value, str) and value.upper() in STATE_NAMES:
            return STATE_NAMES[value.upper()]
        number = _as_int(value)
        if number is None or not 0 <= number <= 3:
            self.expect(path, value, "a Nagios state 0..3 (or OK, WARNING, CRITICAL, UNKNOWN)")
            return None
        return number

    def threshold_limits(self, path: KeyPath, entry: dict, check: dict) -> None:
        for key in ("warning", "critical", "warning_reset", "critical_reset"):
            check[key] = None
            value = entry.get(key)
            if value is None:
                continue
            try:
                check[key] = parse_range(value).text
            except RangeError as exc:
                self.report(path + (key,), str(exc))
        if check["type"] == "threshold" and entry.get("warning") is None and entry.get("critical") is None:
            self.report(path + ("critical",), "a threshold check needs 'warning' and/or 'critical' "
                        "(Nagios ranges such as '~:10', '100:', '@0')", at="key")

    def heartbeat_limits(self, path: KeyPath, entry: dict, check: dict) -> None:
        check["warning_reset"] = check["critical_reset"] = None
        for key in ("warning_reset", "critical_reset"):
            if entry.get(key) is not None:
                self.report(path + (key,), "only threshold checks take reset ranges", at="key")
        check["warning"] = check["critical"] = None
        if entry.get("warning") is not None:
            check["warning"] = self.seconds(path + ("warning",), entry["warning"])
        if entry.get("critical") is None:
            self.report(path + ("critical",), "required: a heartbeat needs the age (seconds) of the newest point "
                        "that is CRITICAL", at="key")
        else:
            check["critical"] = self.seconds(path + ("critical",), entry["critical"])
        warning, critical = check["warning"], check["critical"]
        if warning is not None and critical is not None and warning > critical:
            self.report(path + ("warning",), f"warning age {warning!r} s is greater than critical age {critical!r} s")

    # ---- ligo-scald's nagios: section ------------------------------------------------------------------------

    def nagios(self, section: dict, schemas: dict[str, SchemaSpec], checks: dict[str, dict]) -> None:
        """Translate ligo-scald alerts into checks (heartbeat: no point within lookback; threshold: max above)."""
        for name, entry in section.items():
            path = ("nagios", name)
            entry = self.mapping(path, entry, "a mapping (lookback, alert_type, ...)", allow_null=False)
            if entry is None:
                continue
            before = len(self.problems)
            self.known_keys(path, entry, NAGIOS_KEYS)
            if name not in self.schema_names:
                known = ", ".join(sorted(map(str, self.schema_names))) or "none"
                self.report(path, f"ligo-scald requires each nagios check to be named after a schema; "
                            f"there is no schema {_key_text(name)!r} (defined: {known})", at="key")
            if isinstance(name, str) and name in checks:
                self.report(path, f"a check named {name!r} is also defined under checks:; rename one", at="key")
            lookback = self.required(path, entry, "lookback", "seconds to look back")
            if lookback is not _MISSING:
                lookback = self.seconds(path + ("lookback",), lookback)
            kind = self.required(path, entry, "alert_type", "heartbeat or threshold")
            if kind is not _MISSING:
                kind = self.choice(path + ("alert_type",), kind, CHECK_TYPES)
            translated: dict = {"type": kind, "schema": name, "lookback": lookback}
            if entry.get("backend") is not None:
                translated["backend"] = entry["backend"]
            settings = entry.get("alert_settings")
            if kind == "heartbeat":
                translated["critical"] = lookback
                if settings is not None:
                    self.mapping(path + ("alert_settings",), settings)
            elif kind == "threshold":
                self.threshold_settings(path + ("alert_settings",), settings, translated)
            if len(self.problems) != before or not isinstance(name, str):
                continue
            check = self.check(path, name, translated, schemas, source="nagios")
            if check is not None:
                checks[name] = check

    def threshold_settings(self, path: KeyPath, settings: Any, translated: dict) -> None:
        settings = self.mapping(path, settings, "a mapping {threshold, threshold_units}", allow_null=False)
        if settings is None:
            return
        self.known_keys(path, settings, NAGIOS_SETTINGS_KEYS)
        threshold = self.required(path, settings, "threshold", "the value above which the check alerts")
        if threshold is not _MISSING and self.number(path + ("threshold",), threshold) is not None:
            translated["critical"] = f"~:{_range_text(threshold)}"
            translated["aggregate"] = "max"
        units = settings.get("threshold_units")
        if units is not None:
            if isinstance(units, str):
                translated["units"] = units
            else:
                self.expect(path + ("threshold_units",), units, "a unit string")

    # ---- outputs and mock ------------------------------------------------------------------------------------

    def outputs(self, section: dict) -> dict:
        path = ("outputs",)
        self.known_keys(path, section, OUTPUT_KEYS)
        out: dict = {"status_dir": None, "state_file": None, "nagios_command_file": None, "host": "localhost",
                     "icinga2": None}
        for key in ("status_dir", "state_file", "nagios_command_file"):
            if section.get(key) is not None:
                out[key] = self.file_path(path + (key,), section[key])
        if section.get("host") is not None:
            host = self.string(path + ("host",), section["host"], "a Nagios host name (string)")
            if host is not None and not HOST_NAME.fullmatch(host):
                self.report(path + ("host",), f"{host!r} cannot be a Nagios/Icinga host name (letters, digits, "
                            "'_', '.', ':', '-' only)")
            else:
                out["host"] = host
        if out["status_dir"] and out["state_file"]:
            if os.path.dirname(out["state_file"]) == out["status_dir"]:
                self.report(path + ("state_file",), "must not be inside status_dir, which holds only one "
                            "<check>.json per check")
        if section.get("icinga2") is not None:
            out["icinga2"] = self.icinga2(path + ("icinga2",), section["icinga2"])
        return out

    def icinga2(self, path: KeyPath, value: Any) -> dict | None:
        entry = self.mapping(path, value, "a mapping (url, user, password_env, ca, ttl)", allow_null=False)
        if entry is None:
            return None
        self.known_keys(path, entry, ICINGA_KEYS)
        out: dict = {"url": None, "user": None, "password_env": None, "ca": None, "ttl": None}
        url = self.required(path, entry, "url", "the Icinga 2 API base URL, e.g. https://icinga:5665")
        if url is not _MISSING:
            if isinstance(url, str) and re.match(r"^https?://[^/\s]+", url):
                out["url"] = url.rstrip("/")
            else:
                self.expect(path + ("url",), url, "an http(s):// URL")
        for key in ("user", "password_env"):
            if entry.get(key) is not None:
                out[key] = self.string(path + (key,), entry[key])
        if entry.get("ca") is not None:
            out["ca"] = self.file_path(path + ("ca",), entry["ca"])
        if entry.get("ttl") is not None:
            out["ttl"] = self.seconds(path + ("ttl",), entry["ttl"])
        return out

    def top_mock(self, section: dict) -> dict:
        path = ("mock",)
        self.known_keys(path, section, MOCK_TOP_KEYS)
        out: dict = {}
        if section.get("seed") is not None:
            out["seed"] = self.integer(path + ("seed",), section["seed"], 0)
        if section.get("rate") is not None:
            out["rate"] = self.number(path + ("rate",), section["rate"], "a rate in Hz > 0", minimum=0, exclusive=True)
        if section.get("start") is not None:
            out["start"] = self.number(path + ("start",), section["start"], "a GPS time >= 0", minimum=0)
        if section.get("span") is not None:
            out["span"] = self.seconds(path + ("span",), section["span"])
        if section.get("tags") is not None:
            tpath = path + ("tags",)
            tags = self.mapping(tpath, section["tags"], "a mapping of tag name -> list of values")
            if tags is not None:
                out["tags"] = {}
                for tag, values in tags.items():
                    if self.identifier(tpath + (tag,), tag, "tag name") is None:
                        continue
                    out["tags"][tag] = self.string_list(tpath + (tag,), values, "tag values")
        return out

    # ---- dashboard (ligo-scald's navbar/pages/plots/plotly) ----------------------------------------------------
    # Checked lightly: ligo-scald ignores keys it does not know, so only near-miss typos of known keys are
    # reported; broken cross references (a page naming a missing plot, ...) always are.

    def navbar(self, section: dict, pages: dict) -> None:
        path = ("navbar",)
        self.known_keys(path, section, NAVBAR_KEYS, typos_only=True)
        for key in ("title", "image", "css", "audio"):
            if section.get(key) is not None and not isinstance(section[key], str):
                self.expect(path + (key,), section[key], "a string")
        if section.get("pages") is not None:
            names = section["pages"]
            if not isinstance(names, list):
                self.expect(path + ("pages",), names, "a list of page names")
            else:
                for i, page in enumerate(names):
                    self.reference(path + ("pages", i), page, pages, "page", "pages")
        if section.get("tabs") is not None:
            tabs = section["tabs"]
            if not isinstance(tabs, list):
                self.expect(path + ("tabs",), tabs, "a list of {name, url}")
            else:
                for i, tab in enumerate(tabs):
                    if not isinstance(tab, dict):
                        self.expect(path + ("tabs", i), tab, "a mapping {name, url}")

    def pages(self, section: dict, plots: dict) -> None:
        for name, page in section.items():
            path = ("pages", name)
            page = self.mapping(path, page, "a mapping (title, lookback, delay, plots)")
            if page is None:
                continue
            self.known_keys(path, page, PAGE_KEYS, typos_only=True)
            for key in ("lookback", "delay"):
                if page.get(key) is not None:
                    self.number(path + (key,), page[key], "a number of seconds >= 0", minimum=0)
            entries = page.get("plots")
            if entries is None:
                continue
            if not isinstance(entries, list):
                self.expect(path + ("plots",), entries, "a list of {plot, visible, grid}")
                continue
            for i, item in enumerate(entries):
                ipath = path + ("plots", i)
                if not isinstance(item, dict):
                    self.expect(ipath, item, "a mapping {plot: name, visible: true, grid: {...}}")
                    continue
                self.known_keys(ipath, item, PAGE_PLOT_KEYS, typos_only=True)
                if "plot" not in item:
                    self.report(ipath + ("plot",), "required: the name of a plot under plots:", at="key")
                else:
                    self.reference(ipath + ("plot",), item["plot"], plots, "plot", "plots")
                if item.get("visible") is not None:
                    self.boolean(ipath + ("visible",), item["visible"])
                if item.get("grid") is not None:
                    grid = self.mapping(ipath + ("grid",), item["grid"], "a mapping {x, y, w, h}")
                    for key, value in (grid or {}).items():
                        if key in ("x", "y", "w", "h"):
                            self.integer(ipath + ("grid", key), value, 0)

    def plots(self, section: dict) -> None:
        for name, plot in section.items():
            path = ("plots", name)
            plot = self.mapping(path, plot, "a mapping (title, type, schema, layout, ...)")
            if plot is None:
                continue
            self.known_keys(path, plot, PLOT_KEYS, typos_only=True)
            if plot.get("type") is not None:
                self.choice(path + ("type",), plot["type"], PLOT_TYPES)
            if plot.get("title") is not None and not isinstance(plot["title"], str):
                self.expect(path + ("title",), plot["title"], "a string")
            schema = plot.get("schema")
            if isinstance(schema, dict):  # MultiSchema / MultiAxis / TimeSegment: sub-schemas by name
                for key, sub in schema.items():
                    if isinstance(sub, str):
                        self.reference(path + ("schema", key), sub, self.schema_names, "schema", "schemas")
            elif schema is not None:
                self.reference(path + ("schema",), schema, self.schema_names, "schema", "schemas")
            for key in ("settings", "layout", "data_options", "options"):
                if plot.get(key) is not None:
                    self.mapping(path + (key,), plot[key])

    def plotly(self, section: dict) -> None:
        for key, value in section.items():
            path = ("plotly", key)
            if key != "default" and key not in PLOT_TYPES:
                hint = _close_matches(_key_text(key), ("default", *PLOT_TYPES), n=1, cutoff=0.75)
                if hint:
                    self.report(path, f"unknown key (did you mean {hint[0]!r}?)", at="key")
            entry = self.mapping(path, value, "a mapping {layout, data_options, options}")
            if entry is None:
                continue
            self.known_keys(path, entry, PLOTLY_KEYS, typos_only=True)

    def reference(self, path: KeyPath, value: Any, names: Iterable, what: str, section: str) -> None:
        names = [str(n) for n in names]
        if isinstance(value, str) and value in names:
            return
        known = ", ".join(sorted(names)) or "none"
        message = f"unknown {what} {value!r}: not defined under {section}: (defined: {known})"
        hint = _close_matches(value, names, n=1) if isinstance(value, str) else []
        if hint:
            message += f" (did you mean {hint[0]!r}?)"
        self.report(path, message)
