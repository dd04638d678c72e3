"""The data routes' answers, in ligo-scald's JSON shapes, built from a Consumer's reads.

Kept free of Flask: each function takes a store, the measurement's schema and a checked :class:`~.params.Query`
and returns plain lists and dicts, so the shapes can be tested (and reused by ``scald report``) without a server.

Shapes (ligo-scald's, ``name`` only when tag filters are given):
- timeseries: ``[{"x": [t...], "y": [v...], "name": "0001"}, ...]``
- segment: ``[{"x": [t...], "y": [0.5], "z": [[v...]], "name": ...}, ...]``
- heatmap: ``[{"x": [bin starts], "y": [tag values], "z": [[row]...]}]`` (+ ``"text"`` with ``scale=log``)
- latest: ``[{"x": [tag values], "y": [values]}]``
- table: ``{"fields": [{"key", "label", "sortable"}...], "items": [{"time": t, column: v, ...}...]}``
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable

from ..config import SchemaSpec
from ..io import UnknownMeasurementError
from ..io.schema import Schema
from ..timeutil import gps_now, gps_to_iso
from .errors import ApiError
from .params import Query, check_budget, combos, points_per_series

Series = tuple  # (label or None, {tag: value} or None, times, values)


# ---------------------------------------------------------------------------------------------------- helpers


def clean(values: Iterable[Any], fill: float | None) -> list:
    """Values as JSON can carry them: NaN/inf (and anything not a number) become ``fill`` (null by default)."""
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            out.append(fill)
        else:
            out.append(v)
    return out


def times(values: Iterable[float], q: Query) -> list:
    """GPS seconds, or ISO 8601 UTC strings with ``datetime=true`` (ligo-scald asked InfluxDB for RFC3339)."""
    if q.datetime:
        return [gps_to_iso(t) for t in values]
    return [float(t) for t in values]


def _label(values: Iterable[str]) -> str:
    """A trace's ``name``: the tag value (ligo-scald), or the values of several tags joined by commas."""
    return ",".join(values)


def _matches(schema: Schema, key: tuple, combo: dict[str, str]) -> bool:
    return all(key[schema.tags.index(name)] == value for name, value in combo.items())


def _by_tag(store: Any, schema: Schema, q: Query, column: str) -> dict[tuple, tuple[list, list]]:
    try:
        return store.retrieve_timeseries_by_tag(schema.measurement, q.start, q.end, column, aggregate=q.aggregate,
                                                dt=q.dt)
    except UnknownMeasurementError:  # configured, nothing stored yet
        return {}


def _one(store: Any, schema: Schema, q: Query, column: str, tags: dict | None) -> tuple[list, list]:
    try:
        return store.retrieve_timeseries(schema.measurement, q.start, q.end, column, tags=tags,
                                          aggregate=q.aggregate, dt=q.dt)
    except UnknownMeasurementError:
        return [], []


def read_series(store: Any, schema: Schema, q: Query, column: str) -> list[Series]:
    """The series the request names, for one column, as ``(label, tags, times, values)``: the reduction across tags
    without filters (label and tags None), one series per full tag combination, or every stored series matching a
    partial one (an empty series named after the combination when none does)."""
    selected = combos(q, schema)
    if selected is None:
        t, v = _one(store, schema, q, column, None)
        return [(None, None, t, v)]
    out: list[Series] = []
    stored = None
    for combo in selected:
        if len(combo) == len(schema.tags):
            t, v = _one(store, schema, q, column, combo)
            out.append((_label(combo.values()), combo, t, v))
            continue
        if stored is None:
            stored = _by_tag(store, schema, q, column)
        found = [(key, tv) for key, tv in stored.items() if _matches(schema, key, combo)]
        if not found:
            out.append((_label(combo.values()), combo, [], []))
        out.extend((_label(key), dict(zip(schema.tags, key)), t, v) for key, (t, v) in found)
    return out


def _budget_before(q: Query, series: int, columns: int) -> None:
    check_budget(points_per_series(q) * series * columns)


def _budget_after(values: int) -> None:
    check_budget(values)


# ---------------------------------------------------------------------------------------------------- routes


def timeseries(store: Any, schema: Schema, q: Query, segment: bool = False) -> list[dict]:
    """One trace per series and column (``name`` = the tag values; with several columns ``column`` too)."""
    _budget_before(q, len(combos(q, schema) or [None]), len(q.columns))
    traces = []
    total = 0
    for column in q.columns:
        for label, _tags, t, v in read_series(store, schema, q, column):
            total += len(t)
            _budget_after(total)
            trace: dict = {"x": times(t, q)}
            if segment:
                trace["y"] = [0.5]
                trace["z"] = [clean(v, q.fill)]
            else:
                trace["y"] = clean(v, q.fill)
            if len(q.columns) > 1:
                trace["name"] = column if label is None else f"{label} {column}"
                trace["column"] = column
            elif label is not None:
                trace["name"] = label
            traces.append(trace)
    return traces


def _bins(q: Query) -> list:
    """Bin starts ``start + k·dt`` covering [start, end] (ligo-scald's grid; ints when they are whole seconds)."""
    n = points_per_series(q)
    out = []
    for k in range(n):
        x = q.start + k * q.dt
        out.append(int(x) if float(x).is_integer() else x)
    return out


def _reduce(values: list[float], aggregate: str | None) -> float:
    if len(values) == 1:
        return values[0]
    if aggregate == "min":
        return min(values)
    if aggregate == "median":
        return statistics.median_high(values)
    return max(values)


def heatmap(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None) -> list[dict]:
    """Rows per value of ``tag_key`` (series of other tags sharing it reduced with the aggregate), columns per bin."""
    if q.raw:
        raise ApiError(400, "a heatmap is drawn from aggregates: give dt=1 or coarser (or no dt)")
    if len(q.columns) != 1:
        raise ApiError(400, f"a heatmap takes exactly one column, got {len(q.columns)}")
    if not schema.tags or q.tag_key is None:
        raise ApiError(400, f"{schema.measurement} has no tags to make heatmap rows from")
    n = points_per_series(q)
    check_budget(n, "the heatmap's time axis")
    column = q.columns[0]
    key_index = schema.tags.index(q.tag_key)
    selected = combos(q, schema)
    cells: dict[str, dict[int, list[float]]] = {}
    for key, (t, v) in _by_tag(store, schema, q, column).items():
        if selected is not None and not any(_matches(schema, key, c) for c in selected):
            continue
        row = cells.setdefault(key[key_index], {})
        for ti, vi in zip(t, v):
            idx = int(math.floor((ti - q.start) / q.dt))
            if 0 <= idx < n and isinstance(vi, (int, float)) and math.isfinite(vi):
                row.setdefault(idx, []).append(vi)
    names = set(cells)
    if q.tag_key in q.filters:
        names.update(q.filters[q.tag_key])
    elif spec is not None and spec.expected_tags and spec.tag_key == q.tag_key and not q.filters:
        names.update(spec.expected_tags)  # a job that never reported shows as an empty row, not no row
    rows = sorted(names)
    check_budget(n * len(rows), "the heatmap")
    linear = []
    for name in rows:
        row = cells.get(name, {})
        linear.append([_reduce(row[i], q.aggregate) if i in row else None for i in range(n)])
    trace: dict = {"x": _bins(q) if not q.datetime else times(_bins(q), q), "y": rows}
    if q.scale == "log":
        trace["z"] = [[math.log(v) if v is not None and v > 0 else q.fill for v in r] for r in linear]
        trace["text"] = [clean([v if v is not None else math.nan for v in r], q.fill) for r in linear]
    else:
        trace["z"] = [clean([v if v is not None else math.nan for v in r], q.fill) for r in linear]
    return [trace]


def latest(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None) -> list[dict]:
    """The newest point per value of ``tag_key`` (ligo-scald's Bar plots); start/end are not used, as there.

    Raw points unless ``aggregate`` or ``dt`` is given (then the newest bucket at ``dt``, default 1 s). The
    ``transform`` (``none`` | ``latency`` = now − time of the newest point) and ``default`` (for a tag without
    data) come from the query, else from the schema, as ligo-scald's client sends them.
    """
    extra = spec.extra if spec is not None else {}
    transform = q.transform or extra.get("transform") or "none"
    if transform not in ("none", "latency"):
        transform = "none"
    default = q.default if q.default is not None else extra.get("default")
    if q.dt_param == 0 or (q.dt_param is None and q.aggregate_param is None):
        aggregate, dt = None, None
    else:
        aggregate, dt = q.aggregate_param or schema.aggregate or "max", q.dt_param or 1
    column = q.columns[0]
    now = gps_now()

    def value(t: float, v: Any) -> Any:
        return max(now - t, 0.0) if transform == "latency" else v

    if not schema.tags:
        try:
            t, v = store.retrieve_latest(schema.measurement, column, aggregate=aggregate, dt=dt)
        except UnknownMeasurementError:
            t, v = [], []
        y = value(t[-1], v[-1]) if t else default
        return [{"x": [schema.measurement], "y": clean([y], q.fill)}]
    try:
        found = store.retrieve_latest_by_tag(schema.measurement, column, aggregate=aggregate, dt=dt)
    except UnknownMeasurementError:
        found = {}
    selected = combos(q, schema)
    key_index = schema.tags.index(q.tag_key)
    newest: dict[str, tuple[float, Any]] = {}
    for key, (t, v) in found.items():
        if selected is not None and not any(_matches(schema, key, c) for c in selected):
            continue
        name = key[key_index]
        if name not in newest or t > newest[name][0]:
            newest[name] = (t, v)
    names = set(newest)
    if q.tag_key in q.filters:
        names.update(q.filters[q.tag_key])
    elif spec is not None and spec.expected_tags and spec.tag_key == q.tag_key and not q.filters:
        names.update(spec.expected_tags)
    x = sorted(names)
    y = [value(*newest[name]) if name in newest else default for name in x]
    return [{"x": x, "y": clean(y, q.fill)}]


def table(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None) -> dict:
    """Rows of the selected columns (all by default) of every selected series, oldest first.

    ``far`` keeps rows whose FAR column (the schema's ``far_key``, else ``far``) is at most that value: ligo-scald
    read nested per-FAR retention policies for the same purpose.
    """
    columns = q.columns if q.columns_given else list(schema.columns)
    far_key = None
    if q.far is not None:
        far_key = (spec.extra.get("far_key") if spec is not None else None) or "far"
        if far_key not in schema.columns:
            raise ApiError(400, f"far: {schema.measurement} has no FAR column {far_key!r} "
                                f"(columns: {', '.join(schema.columns)})")
    read_columns = columns + ([far_key] if far_key and far_key not in columns else [])
    per_series: dict[Any, dict[float, dict]] = {}
    total = 0
    for column in read_columns:
        if schema.tags and not q.filters:
            found = [(key, t, v) for key, (t, v) in _by_tag(store, schema, q, column).items()]
        else:
            found = [(tuple(tags.items()) if tags else (), t, v) for _label, tags, t, v in
                     read_series(store, schema, q, column)]
        for key, t, v in found:
            if schema.tags and not q.filters:
                key = tuple(zip(schema.tags, key))
            rows = per_series.setdefault(key, {})
            for ti, vi in zip(t, v):
                rows.setdefault(ti, {})[column] = vi
            total += len(t)
            _budget_after(total)
    tag_fields = list(schema.tags) if schema.tags else []
    items = []
    for key, rows in per_series.items():
        tag_values = dict(key)
        for t in sorted(rows):
            row = rows[t]
            if far_key is not None and not (isinstance(row.get(far_key), (int, float)) and row[far_key] <= q.far):
                continue
            item: dict = {"time": times([t], q)[0]}
            item.update(tag_values)
            for column in columns:
                item[column] = clean([row.get(column, math.nan)], q.fill)[0]
            items.append(item)
    items.sort(key=lambda i: (i["time"], tuple(str(i.get(t, "")) for t in tag_fields)))
    fields = [{"key": k, "label": k, "sortable": True} for k in ["time", *tag_fields, *columns]]
    return {"fields": fields, "items": items}
