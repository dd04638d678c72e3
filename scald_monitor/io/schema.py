"""Schemas and validation of the data handed to ``store_rows`` / ``store_columns``.

Everything a caller passes is checked and converted here, before a backend writes anything, so a bad call never
leaves partial data behind. Both backends share this module so that they accept and reject exactly the same input.
"""
from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import UnknownMeasurementError

AGGREGATES = ("min", "median", "max")
#: Decimation levels in seconds (ligo-scald's retention policies "1s" ... "100000s").
LEVELS = (1, 10, 100, 1000, 10000, 100000)
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True)
class Schema:
    """How one measurement is stored: its value columns, the column that decides min/median/max, and its tags."""

    measurement: str
    columns: tuple[str, ...]
    column_key: str
    tags: tuple[str, ...] = ()
    tag_key: str | None = None
    aggregate: str | None = None

    def to_dict(self) -> dict:
        return {"measurement": self.measurement, "columns": list(self.columns), "column_key": self.column_key,
                "tags": list(self.tags), "tag_key": self.tag_key, "aggregate": self.aggregate}


@dataclass
class SeriesBatch:
    """Validated points for one tag combination: ``time`` (n,) and ``values`` (n, len(columns)), float64."""

    tags: tuple[str, ...]
    time: np.ndarray
    values: np.ndarray = field(repr=False)


def make_schema(measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                aggregate: str | None = None) -> Schema:
    """Build a Schema with ligo-scald's argument conventions, rejecting names that cannot be stored safely."""
    cols = (columns,) if isinstance(columns, str) else tuple(columns)
    tag_names = () if tags is None else ((tags,) if isinstance(tags, str) else tuple(tags))
    problems = []
    for kind, names in (("measurement", (measurement,)), ("column", cols), ("tag", tag_names)):
        for name in names:
            if not isinstance(name, str) or not NAME_RE.match(name):
                problems.append(f"invalid {kind} name {name!r} (letters, digits, _ . : - ; not starting with a digit)")
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


def _tag_key(schema: Schema, key: Any) -> tuple[str, ...]:
    if key is None:
        key = ()
    if not isinstance(key, tuple):
        key = (key,)
    if len(key) != len(schema.tags):
        raise ValueError(f"{schema.measurement}: tag key {key!r} has {len(key)} value(s), the schema has "
                         f"{len(schema.tags)} tag(s) {list(schema.tags)}")
    out = []
    for v in key:
        if isinstance(v, (bool, float)) or not isinstance(v, (str, int, np.integer)):
            raise ValueError(f"{schema.measurement}: tag value {v!r} must be a string (or an integer)")
        s = str(v)
        if not s or any(c in s for c in "\n\r\x00"):
            raise ValueError(f"{schema.measurement}: tag value {s!r} is empty or holds a control character")
        out.append(s)
    return tuple(out)


def _as_float_array(values: Any, what: str) -> np.ndarray:
    """Numbers only: numpy would quietly turn "3" into 3.0 and True into 1.0, which hides caller bugs."""
    if not isinstance(values, np.ndarray):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(f"{what}: expected a sequence of numbers, got {type(values).__name__}")
        for i, v in enumerate(values):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise ValueError(f"{what}: value {v!r} at index {i} is not a number")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: values must be numbers") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{what}: values must be numbers (got {arr.dtype.name} data)")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D sequence, got shape {arr.shape}")
    if arr.size and not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what}: value {arr[bad]!r} at index {bad} is not finite (NaN/inf are not stored)")
    return arr


def normalize_columns(schema: Schema, data: Mapping[Any, Any]) -> list[SeriesBatch]:
    """Validate ``{tags: {'time': [...], 'fields': {col: [...]}}}`` (the ``store_columns`` shape).

    A measurement without tags may also be given the bare ``{'time': ..., 'fields': ...}`` mapping.
    """
    if isinstance(data, Mapping) and not schema.tags and set(data) == {"time", "fields"}:
        data = {(): data}
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{schema.measurement}: no data given (expected a non-empty mapping of tags to columns)")
    batches = []
    for key, entry in data.items():
        tags = _tag_key(schema, key)
        where = f"{schema.measurement}{list(tags) if tags else ''}"
        if not isinstance(entry, Mapping) or "time" not in entry or "fields" not in entry:
            raise ValueError(f"{where}: expected a mapping with 'time' and 'fields'")
        fields = entry["fields"]
        if not isinstance(fields, Mapping):
            raise ValueError(f"{where}: 'fields' must map column names to sequences")
        unknown = [c for c in fields if c not in schema.columns]
        if unknown:
            raise ValueError(f"{where}: unknown column(s) {unknown}; the schema has {list(schema.columns)}")
        missing = [c for c in schema.columns if c not in fields]
        if missing:
            raise ValueError(f"{where}: missing column(s) {missing}; every column of the schema is required")
        time = _as_float_array(entry["time"], f"{where} time")
        if time.size == 0:
            raise ValueError(f"{where}: empty data (no times)")
        values = np.empty((time.size, len(schema.columns)), dtype=np.float64)
        for i, col in enumerate(schema.columns):
            col_values = _as_float_array(fields[col], f"{where} column {col!r}")
            if col_values.size != time.size:
                raise ValueError(f"{where}: column {col!r} has {col_values.size} values for {time.size} times")
            values[:, i] = col_values
        batches.append(SeriesBatch(tags, time, values))
    return batches


def normalize_rows(schema: Schema, data: Mapping[Any, Any]) -> list[SeriesBatch]:
    """Validate ``{tags: [{'time': t, 'fields': {col: v}}, ...]}`` (the ``store_rows`` shape)."""
    if isinstance(data, Sequence) and not schema.tags:
        data = {(): data}
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{schema.measurement}: no data given (expected a non-empty mapping of tags to rows)")
    columns = {}
    for key, rows in data.items():
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise ValueError(f"{schema.measurement} {key!r}: expected a list of rows")
        times, fields = [], {c: [] for c in schema.columns}
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping) or "time" not in row or not isinstance(row.get("fields"), Mapping):
                raise ValueError(f"{schema.measurement} {key!r} row {i}: expected {{'time': t, 'fields': {{...}}}}")
            unknown = [c for c in row["fields"] if c not in fields]
            if unknown:
                raise ValueError(f"{schema.measurement} {key!r} row {i}: unknown column(s) {unknown}; "
                                 f"the schema has {list(schema.columns)}")
            times.append(row["time"])
            for c in schema.columns:
                if c not in row["fields"]:
                    raise ValueError(f"{schema.measurement} {key!r} row {i}: missing column {c!r}")
                fields[c].append(row["fields"][c])
        columns[key] = {"time": times, "fields": fields}
    return normalize_columns(schema, columns)
