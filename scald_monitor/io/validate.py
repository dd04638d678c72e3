"""Validation of the data handed to ``store_rows`` / ``store_columns``.

Everything a caller passes is checked and converted here, before a backend writes anything, so a bad call never
leaves partial data behind. Both backends share this module so that they accept and reject exactly the same input.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .schema import Schema


@dataclass
class SeriesBatch:
    """Validated points for one tag combination: ``time`` (n,) and ``values`` (n, len(columns)), float64."""

    tags: tuple[str, ...]
    time: np.ndarray
    values: np.ndarray = field(repr=False)


def last_wins(time: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points sorted by time, and of points with the same time only the last one given: a repeated time
    replaces the earlier point (within one call, and where a writer appends a call's points to stored ones)."""
    order = np.argsort(time, kind="stable")
    t, v = time[order], values[order]
    last = np.concatenate((t[1:] != t[:-1], [True]))
    return t[last], v[last]


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
