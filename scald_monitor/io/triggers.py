"""Triggers and snapshots: ligo-scald's ``store_triggers`` / ``store_snapshot`` data, checked once for every backend.

Why one module: SQLite and InfluxDB must store the same triggers (so a table reads alike whatever the backend), and
a bad row must be refused before either writes anything. ligo-scald 0.8.5's semantics, kept on both backends:

- a trigger is a mapping ``{column: value}`` holding at least ``time_key`` (GPS seconds) and ``far_key`` (a false
  alarm rate, Hz); rows with a FAR above :data:`FAR_THRESHOLDS`\\ ``[0]`` (1e-2) are not stored;
- per 1 s bin (``floor(time)``) only the trigger with the lowest FAR is kept (ties: the earlier time, then the
  earlier row), stamped with the bin's start; unlike ligo-scald also across calls (a later, worse trigger in an
  already stored second does not replace the better one);
- a read with ``far`` returns the stored triggers whose FAR is at most ``far``; ligo-scald keeps them in nested
  InfluxDB retention policies ``"<threshold>_hz"`` (:func:`threshold_for` names the one to read).

A snapshot is one point: ``data`` (``{column: [values]}``) and ``dims`` (``{"x": column, "y": column[, "z": ...]}``)
as JSON strings, at a GPS time; the newest is what a reader gets.

Standard library only (the numpy-free SQLite reader imports it).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

#: ligo-scald's trigger retention policies, coarsest first: ``"0.01_hz"`` holds every stored trigger, each next
#: one those with a FAR at most its threshold (names are ``f"{threshold}_hz"``, i.e. ``str(float)``).
FAR_THRESHOLDS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
DIMS = ("x", "y", "z")


def rp_name(threshold: float) -> str:
    """The InfluxDB retention policy of a FAR threshold, exactly as ligo-scald names it."""
    return f"{threshold}_hz"


def check_far(far: Any) -> float | None:
    """``far`` as a finite, non-negative float (None stays None: every stored trigger)."""
    if far is None:
        return None
    if isinstance(far, bool):
        raise ValueError(f"far must be a number, got {far!r}")
    try:
        value = float(far)
    except (TypeError, ValueError):
        raise ValueError(f"far must be a number, got {far!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"far must be a finite number >= 0, got {far!r}")
    return value


def threshold_for(far: float | None) -> float:
    """The finest threshold whose retention policy still holds every trigger with FAR <= ``far`` (the finest of
    all when ``far`` is below them; the coarsest without ``far``)."""
    if far is None or far >= FAR_THRESHOLDS[0]:  # every stored trigger has FAR <= 1e-2
        return FAR_THRESHOLDS[0]
    return min((f for f in FAR_THRESHOLDS if f >= far), default=FAR_THRESHOLDS[-1])


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return out


def _field(value: Any, where: str) -> Any:
    """A value as storable in both backends: bool, int, finite float or a single-line string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise ValueError(f"{where}: strings with newlines cannot be stored, got {value!r}")
        return value
    if hasattr(value, "item") and not isinstance(value, (int, float)):  # a numpy scalar
        value = value.item()
        if isinstance(value, bool):
            return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be finite, got {value!r}")
        return value
    raise ValueError(f"{where}: must be a number, a bool or a string, got {value!r} ({type(value).__name__})")


def normalize_triggers(measurement: str, rows: Iterable[Mapping[str, Any]], far_key: str = "far",
                       time_key: str = "end") -> list[tuple[int, float, dict]]:
    """``[(bin start, far, row)]`` to store, sorted by time: every row checked first (ValueError naming the row and
    the problem, before anything is written), FAR > 1e-2 dropped, the lowest FAR per 1 s bin kept.

    Why checked here: ligo-scald raised a KeyError half way or wrote NaN that no reader could compare; a store that
    drops or garbles part of a call without saying so cannot be trusted for alerts.
    """
    if not isinstance(measurement, str) or not measurement:
        raise ValueError(f"measurement must be a non-empty string, got {measurement!r}")
    if isinstance(rows, Mapping) or isinstance(rows, (str, bytes)):
        raise ValueError(f"{measurement}: triggers must be a list of mappings {{column: value}}")
    checked: list[tuple[float, float, int, dict]] = []
    for i, row in enumerate(rows):
        where = f"{measurement}: trigger {i}"
        if not isinstance(row, Mapping):
            raise ValueError(f"{where}: not a mapping {{column: value}}: {row!r}")
        for key in (time_key, far_key):
            if key not in row:
                raise ValueError(f"{where}: no {key!r} key (time_key={time_key!r}, far_key={far_key!r})")
        t = _number(row[time_key], f"{where}: {time_key!r}")
        far = _number(row[far_key], f"{where}: {far_key!r}")
        if far < 0:
            raise ValueError(f"{where}: {far_key!r} must be >= 0, got {row[far_key]!r}")
        fields = {}
        for key, value in row.items():
            if not isinstance(key, str) or not key or key == "time":
                raise ValueError(f"{where}: column names must be non-empty strings other than 'time' (which "
                                 f"holds the bin's start), got {key!r}")
            fields[key] = _field(value, f"{where}: {key!r}")
        checked.append((t, far, i, fields))
    best: dict[int, tuple[float, float, int, dict]] = {}
    for t, far, i, fields in checked:
        if far > FAR_THRESHOLDS[0]:
            continue
        key = math.floor(t)
        have = best.get(key)
        if have is None or (far, t, i) < (have[1], have[0], have[2]):
            best[key] = (t, far, i, fields)
    return [(b, best[b][1], best[b][3]) for b in sorted(best)]


def normalize_snapshot(measurement: str, data: Mapping[str, Any], dims: Mapping[str, str], time: Any
                       ) -> tuple[float, str, str]:
    """``(gps time, data JSON, dims JSON)``: ``data`` maps columns to 1-dim sequences, ``dims`` maps x, y (and
    optionally z) to columns of ``data``. JSON that browsers can parse (no NaN), checked before anything is stored."""
    if not isinstance(measurement, str) or not measurement:
        raise ValueError(f"measurement must be a non-empty string, got {measurement!r}")
    t = _number(time, f"{measurement}: snapshot time")
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{measurement}: snapshot data must be a non-empty mapping {{column: [values]}}")
    clean: dict[str, list] = {}
    for column, values in data.items():
        if not isinstance(column, str) or not column:
            raise ValueError(f"{measurement}: snapshot column names must be non-empty strings, got {column!r}")
        if hasattr(values, "tolist"):
            values = values.tolist()
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise ValueError(f"{measurement}: snapshot column {column!r} must be a 1-dim sequence, got {values!r}")
        out = []
        for j, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            if isinstance(v, (list, tuple, Mapping)):
                raise ValueError(f"{measurement}: snapshot column {column!r} must be 1-dim (item {j} is {v!r})")
            out.append(_field(v, f"{measurement}: snapshot column {column!r} item {j}"))
        clean[column] = out
    if not isinstance(dims, Mapping) or "x" not in dims or "y" not in dims:
        raise ValueError(f"{measurement}: snapshot dims must map 'x' and 'y' (and optionally 'z') to columns, "
                         f"got {dims!r}")
    for dim, column in dims.items():
        if dim not in DIMS:
            raise ValueError(f"{measurement}: snapshot dims: {dim!r} is not one of x, y, z")
        if column not in clean:
            raise ValueError(f"{measurement}: snapshot dims: {dim} -> {column!r} is not a column of data "
                             f"({', '.join(clean)})")
    return t, json.dumps(clean, allow_nan=False), json.dumps(dict(dims), allow_nan=False)


def select(rows: Iterable[tuple[float, Mapping[str, Any]]], columns: list[str] | None, far: float | None,
           far_key: str) -> list[dict]:
    """ligo-scald's answer: ``[{"time": gps, column: value...}]`` oldest first, FAR-cut, the columns asked for
    (every stored one by default; a missing one is None, as InfluxDB answers)."""
    out = []
    for t, row in rows:
        if far is not None:
            value = row.get(far_key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value <= far:
                continue
        item: dict = {"time": t}
        if columns is None:
            item.update((k, v) for k, v in row.items() if v is not None)
        else:
            item.update((c, row.get(c)) for c in columns)
        out.append(item)
    out.sort(key=lambda item: item["time"])
    return out


def check_columns(columns: Any) -> list[str] | None:
    """``columns`` as a list of names (one name alone is accepted, as ligo-scald does); None: every column."""
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not all(isinstance(c, str) and c for c in columns):
        raise ValueError(f"columns must be names (strings), got {columns!r}")
    return columns
