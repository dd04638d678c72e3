"""Schemas: what a measurement is (columns, column_key, tags), shared by every backend and reader.

Standard library only, so that a reader without numpy (the Nagios plugin's) can use it; the validation of data
handed to ``store_rows`` / ``store_columns`` is in :mod:`.validate` (numpy), still importable from here by name.
"""
from __future__ import annotations

import re

from ..records import FrozenRecord
from .errors import UnknownMeasurementError

TYPE_CHECKING = False  # no ``typing``/``dataclasses`` at run time: the Nagios plugin reads schemas
if TYPE_CHECKING:
    from typing import Any, Mapping, Sequence

AGGREGATES = ("min", "median", "max")
#: Decimation levels in seconds (ligo-scald's retention policies "1s" ... "100000s").
LEVELS = (1, 10, 100, 1000, 10000, 100000)
#: Measurement, column and tag names (and the config's identifiers). Always matched whole (``fullmatch``): ``$``
#: also matches before a final newline, which would let a name end a line-protocol line and start another.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*", re.ASCII)
#: Tag and column names the InfluxDB layout uses itself: the aggregate tag, and InfluxDB's time column.
RESERVED_NAMES = {"tag": ("aggregate", "time"), "column": ("time",)}
#: Measurements of this form hold the reduction across tags of another measurement (``<m>_across_<tag>s``).
ACROSS_NAME_RE = re.compile(r".+_across_.+s", re.ASCII)


def name_problem(kind: str, name: object) -> str | None:
    """Why ``name`` cannot be a ``kind`` (measurement, column, tag) name, or None when it can."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return f"invalid {kind} name {name!r} (letters, digits, _ . : - ; not starting with a digit)"
    if name in RESERVED_NAMES.get(kind, ()):
        return f"{kind} name {name!r} is reserved (the InfluxDB layout uses it itself)"
    return None


def writable_problem(schema: "Schema") -> str | None:
    """Why an Aggregator must not write ``schema`` (both backends alike), or None: a measurement named like the
    reduction across tags of another (``<m>_across_<tag>s``) would mix with it in InfluxDB."""
    if ACROSS_NAME_RE.fullmatch(schema.measurement):
        return (f"measurement {schema.measurement!r} is named like the reduction across tags of another "
                "('<measurement>_across_<tag>s'), which the Aggregator writes itself")
    return None


class Schema(FrozenRecord):
    """How one measurement is stored: its value columns, the column that decides min/median/max, and its tags."""

    _fields = ("measurement", "columns", "column_key", "tags", "tag_key", "aggregate")
    measurement: str
    columns: tuple[str, ...]
    column_key: str
    tags: tuple[str, ...]
    tag_key: str | None
    aggregate: str | None

    def __init__(self, measurement: str, columns: tuple[str, ...], column_key: str, tags: tuple[str, ...] = (),
                 tag_key: str | None = None, aggregate: str | None = None) -> None:
        self._init(measurement=measurement, columns=columns, column_key=column_key, tags=tags, tag_key=tag_key,
                   aggregate=aggregate)

    def to_dict(self) -> dict:
        return {"measurement": self.measurement, "columns": list(self.columns), "column_key": self.column_key,
                "tags": list(self.tags), "tag_key": self.tag_key, "aggregate": self.aggregate}


def make_schema(measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                aggregate: str | None = None) -> Schema:
    """Build a Schema with ligo-scald's argument conventions, rejecting names that cannot be stored safely."""
    cols = (columns,) if isinstance(columns, str) else tuple(columns)
    tag_names = () if tags is None else ((tags,) if isinstance(tags, str) else tuple(tags))
    problems = []
    for kind, names in (("measurement", (measurement,)), ("column", cols), ("tag", tag_names)):
        for name in names:
            problem = name_problem(kind, name)
            if problem:
                problems.append(problem)
    clash = sorted(set(cols) & set(tag_names))
    if clash:
        problems.append(f"{clash} are both columns and tags (InfluxDB keeps fields and tags in one namespace)")
    if not cols:
        problems.append("a schema needs at least one column")
    if len(set(cols)) != len(cols):
        problems.append(f"duplicate columns in {list(cols)}")
    if len(set(tag_names)) != len(tag_names):
        problems.append(f"duplicate tags in {list(tag_names)}")
    if column_key is None:
        column_key = cols[0] if cols else ""
    elif column_key not in cols:
        problems.append(f"column_key {column_key!r} is not one of the columns {list(cols)}")
    if tag_key is None and tag_names:
        tag_key = tag_names[0]
    elif tag_key is not None and tag_key not in tag_names:
        problems.append(f"tag_key {tag_key!r} is not one of the tags {list(tag_names)}")
    if aggregate is not None and aggregate not in AGGREGATES:
        problems.append(f"aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}")
    if problems:
        raise ValueError(f"schema {measurement!r}: " + "; ".join(problems))
    return Schema(measurement, cols, column_key, tag_names, tag_key, aggregate)


def writer_schema(measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                  tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                  aggregate: str | None = None) -> Schema:
    """``make_schema`` for an Aggregator's ``register_schema`` (both backends): also refuses what only a writer
    must not do (see :func:`writable_problem`); readers may still read such a measurement."""
    schema = make_schema(measurement, columns, column_key, tags, tag_key, aggregate)
    problem = writable_problem(schema)
    if problem:
        raise ValueError(f"schema {measurement!r}: {problem}")
    return schema


def schema_from_dict(d: Mapping[str, Any]) -> Schema:
    return make_schema(d["measurement"], d["columns"], d.get("column_key"), d.get("tags") or None,
                       d.get("tag_key"), d.get("aggregate"))


class SchemaRegistry:
    """The schemas an Aggregator knows, looked up with a clear error for unknown measurements."""

    def __init__(self) -> None:
        self._schemas: dict[str, Schema] = {}

    def add(self, schema: Schema) -> None:
        old = self._schemas.get(schema.measurement)
        if old is not None and (old.columns, old.tags) != (schema.columns, schema.tags):
            raise ValueError(f"measurement {schema.measurement!r} is already registered with columns "
                             f"{list(old.columns)} and tags {list(old.tags)}")
        self._schemas[schema.measurement] = schema

    def get(self, measurement: str) -> Schema:
        try:
            return self._schemas[measurement]
        except KeyError:
            raise UnknownMeasurementError(f"unknown measurement {measurement!r}: register_schema() it first "
                                          f"(known: {', '.join(sorted(self._schemas)) or 'none'})") from None

    def __contains__(self, measurement: str) -> bool:
        return measurement in self._schemas

    def __iter__(self):
        return iter(self._schemas.values())


def __getattr__(name: str):
    """The validation helpers used to live here; import them lazily so that this module stays numpy-free."""
    if name in ("SeriesBatch", "normalize_columns", "normalize_rows"):
        from . import validate

        return getattr(validate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
