"""The data routes' answers, in ligo-scald's JSON shapes, built from a Consumer's reads.

Kept free of Flask: each function takes a store, the measurement's schema and a checked :class:`~.params.Query`
and returns plain lists and dicts, so the shapes can be tested (and reused by ``scald report``) without a server.

Shapes (ligo-scald's, ``name`` only when tag filters are given):
- timeseries: ``[{"x": [t...], "y": [v...], "name": "0001"}, ...]``
- segment: ``[{"x": [t...], "y": [0.5], "z": [[v...]], "name": ...}, ...]``
- heatmap: ``[{"x": [bin starts], "y": [tag values], "z": [[row]...]}]`` (+ ``"text"`` with ``scale=log``)
- latest: ``[{"x": [tag values], "y": [values]}]``
- table: ``{"fields": [{"key", "label", "sortable"}...], "items": [{"time": t, column: v, ...}...]}``
- snapshot: ``[{"x": data[dims.x], "y": data[dims.y]}]`` (+ ``"z"`` when the snapshot has a z dimension)

Which stored level answers (:func:`plan`): a request that names ``dt`` reads exactly that level, as ligo-scald did.
One that does not gets the level picked for its window first, then the coarser and the finer ones down to raw
points, so data written by ligo-scald's Aggregator (no raw points when it aggregates; only raw points with
``aggregate=None``) are drawn like ours. Every route reports the level(s) it read into a :class:`Sources`, which the
API sends as the ``X-Scald-Source`` header: ligo-scald's JSON shapes have no room for it.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable

from ..config import SchemaSpec
from ..io import UnknownMeasurementError
from ..io.levels import (RAW, Source, aggregates_to_try, levels_from, read_newest, read_newest_by_tag, read_window,
                         read_window_by_tag)
from ..io.schema import Schema
from ..timeutil import gps_now, gps_to_iso
from .errors import ApiError
from .params import MAX_RAW_SPAN, Query, check_budget, combos, points_per_series

Series = tuple  # (label or None, {tag: value} or None, times, values, Source or None)

#: ``X-Scald-Source`` when no level held any point for the request.
NO_SOURCE = "none"


class Sources:
    """The stored levels that answered one request, in order of first use (``X-Scald-Source: 1 s max buckets``).

    Why: without ``dt`` the level is chosen by what holds data, and a dashboard (or an operator comparing with
    ligo-scald) must be able to tell 1 s maxima from raw points without a change to ligo-scald's JSON shapes.
    """

    def __init__(self) -> None:
        self._seen: list[str] = []

    def add(self, source: Source | str | None) -> None:
        if source is None:
            return
        text = str(source)
        if text not in self._seen:
            self._seen.append(text)

    def header(self) -> str:
        return ", ".join(self._seen) if self._seen else NO_SOURCE


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


def _number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


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


def _reduce(values: list[float], aggregate: str | None) -> float:
    if len(values) == 1:
        return values[0]
    if aggregate == "min":
        return min(values)
    if aggregate == "median":
        return statistics.median_high(values)
    return max(values)


def plan(q: Query, schema: Schema, at: Source | None = None) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``(levels, stored aggregates)`` to read, in order (level 0: raw points).

    ``at``: exactly the level and aggregate that answered an earlier read of the same request (the other columns
    of a table must come from the same rows). A named ``dt``: exactly that level and ``aggregate``, as ligo-scald
    read one retention policy. No ``dt``: the level :func:`~.params.bind` picked for the window, then coarser, then
    raw points, then finer (``levels.levels_from``); raw points only for windows up to :data:`~.params.MAX_RAW_SPAN`, as for ``dt=raw`` (their number is
    not bounded by the window). The stored aggregate: the one asked for, else the schema's, else any (max first).
    """
    if at is not None:
        return (at.level,), ((at.aggregate,) if at.aggregate else (q.aggregate or "max",))
    if q.dt_param is not None:
        return ((RAW,) if q.raw else (q.dt,)), (q.aggregate or "max",)
    levels = levels_from(RAW if q.raw else q.dt)
    if q.span > MAX_RAW_SPAN:
        levels = tuple(level for level in levels if level != RAW)
    if q.aggregate_param is not None:
        return levels, (q.aggregate_param,)
    return levels, aggregates_to_try(None, schema.aggregate)


def _reduce_times(t: list, v: list, aggregate: str | None) -> tuple[list, list]:
    """Points of several tag combinations at the same time reduced to one (the reduction across tags built from
    raw points or from every combination's buckets, which the readers hand back side by side)."""
    if len(set(t)) == len(t):
        return t, v
    grouped: dict[float, list] = {}
    for ti, vi in zip(t, v):
        grouped.setdefault(ti, []).append(vi)
    out_t, out_v = [], []
    for ti in sorted(grouped):
        numbers = [x for x in grouped[ti] if _number(x)]
        out_t.append(ti)
        out_v.append(_reduce(numbers, aggregate) if numbers else grouped[ti][0])
    return out_t, out_v


def _one(store: Any, schema: Schema, q: Query, column: str, tags: dict | None, sources: Sources,
         at: Source | None = None) -> tuple[Source | None, list, list]:
    """One series (``tags``), or the reduction across tags (None), from the first planned level holding data."""
    levels, aggregates = plan(q, schema, at)
    try:
        source, t, v = read_window(store, schema.measurement, q.start, q.end, column, tags=tags,
                                   aggregates=aggregates, levels=levels)
    except UnknownMeasurementError:  # configured, nothing stored yet
        return None, [], []
    sources.add(source)
    if source is not None and tags is None and schema.tags and (source.raw or source.merged):
        t, v = _reduce_times(t, v, source.aggregate or q.aggregate)
    return source, t, v


def _by_tag(store: Any, schema: Schema, q: Query, column: str, sources: Sources, at: Source | None = None
            ) -> tuple[Source | None, dict[tuple, tuple[list, list]]]:
    """Every stored tag combination's series, all from the first planned level where any has data."""
    levels, aggregates = plan(q, schema, at)
    try:
        source, found = read_window_by_tag(store, schema.measurement, q.start, q.end, column,
                                           aggregates=aggregates, levels=levels)
    except UnknownMeasurementError:
        return None, {}
    sources.add(source)
    return source, found


def read_series(store: Any, schema: Schema, q: Query, column: str, sources: Sources | None = None,
                at: Source | None = None) -> list[Series]:
    """The series the request names, for one column, as ``(label, tags, times, values, source)``: the reduction
    across tags without filters (label and tags None), one series per full tag combination, or every stored series
    matching a partial one (an empty series named after the combination when none does)."""
    sources = sources if sources is not None else Sources()
    selected = combos(q, schema)
    if selected is None:
        return [_with_source(None, None, _one(store, schema, q, column, None, sources, at))]
    out: list[Series] = []
    stored = None
    for combo in selected:
        if len(combo) == len(schema.tags):
            out.append(_with_source(_label(combo.values()), combo, _one(store, schema, q, column, combo, sources, at)))
            continue
        if stored is None:
            stored = _by_tag(store, schema, q, column, sources, at)
        source, by_tag = stored
        found = [(key, tv) for key, tv in by_tag.items() if _matches(schema, key, combo)]
        if not found:
            out.append((_label(combo.values()), combo, [], [], None))
        out.extend((_label(key), dict(zip(schema.tags, key)), t, v, source) for key, (t, v) in found)
    return out


def _with_source(label: str | None, tags: dict | None, read: tuple[Source | None, list, list]) -> Series:
    source, t, v = read
    return label, tags, t, v, source


def _budget_before(q: Query, series: int, columns: int) -> None:
    check_budget(points_per_series(q) * series * columns)


def _budget_after(values: int) -> None:
    check_budget(values)


# ---------------------------------------------------------------------------------------------------- routes


def timeseries(store: Any, schema: Schema, q: Query, segment: bool = False, sources: Sources | None = None
               ) -> list[dict]:
    """One trace per series and column (``name`` = the tag values; with several columns ``column`` too)."""
    sources = sources if sources is not None else Sources()
    _budget_before(q, len(combos(q, schema) or [None]), len(q.columns))
    traces = []
    total = 0
    for column in q.columns:
        for label, _tags, t, v, _source in read_series(store, schema, q, column, sources):
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


def _bins(start: float, dt: int, n: int) -> list:
    """Bin starts ``start + k·dt`` (ligo-scald's grid; ints when they are whole seconds)."""
    out = []
    for k in range(n):
        x = start + k * dt
        out.append(int(x) if float(x).is_integer() else x)
    return out


def heatmap(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None, sources: Sources | None = None
            ) -> list[dict]:
    """Rows per value of ``tag_key`` (series of other tags sharing it reduced with the aggregate), columns per bin.

    Bins are ``dt`` wide and cover [start, end]: ``floor((end - start) / dt) + 1`` of them (ligo-scald added one more,
    starting after ``end``, whenever the span is not a multiple of ``dt``). Without ``dt``, when only a coarser level
    holds data the bins are that level's (not mostly empty ones); points of a finer level (raw points) are reduced
    into the bins with the aggregate.
    """
    sources = sources if sources is not None else Sources()
    if q.raw:
        raise ApiError(400, "a heatmap is drawn from aggregates: give dt=1 or coarser (or no dt)")
    if len(q.columns) != 1:
        raise ApiError(400, f"a heatmap takes exactly one column, got {len(q.columns)}")
    if not schema.tags or q.tag_key is None:
        raise ApiError(400, f"{schema.measurement} has no tags to make heatmap rows from")
    check_budget(points_per_series(q), "the heatmap's time axis")
    column = q.columns[0]
    key_index = schema.tags.index(q.tag_key)
    selected = combos(q, schema)
    source, found = _by_tag(store, schema, q, column, sources)
    width = source.level if source is not None and source.level > q.dt else q.dt
    aggregate = (source.aggregate if source is not None else None) or q.aggregate
    n = int(math.floor(q.span / width)) + 1
    cells: dict[str, dict[int, list[float]]] = {}
    for key, (t, v) in found.items():
        if selected is not None and not any(_matches(schema, key, c) for c in selected):
            continue
        row = cells.setdefault(key[key_index], {})
        for ti, vi in zip(t, v):
            idx = int(math.floor((ti - q.start) / width))
            if 0 <= idx < n and _number(vi):
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
        linear.append([_reduce(row[i], aggregate) if i in row else None for i in range(n)])
    bins = _bins(q.start, width, n)
    trace: dict = {"x": bins if not q.datetime else times(bins, q), "y": rows}
    if q.scale == "log":
        trace["z"] = [[math.log(v) if v is not None and v > 0 else q.fill for v in r] for r in linear]
        trace["text"] = [clean([v if v is not None else math.nan for v in r], q.fill) for r in linear]
    else:
        trace["z"] = [clean([v if v is not None else math.nan for v in r], q.fill) for r in linear]
    return [trace]


def _newest_by_tag(store: Any, schema: Schema, q: Query, column: str, sources: Sources
                   ) -> dict[tuple, tuple[float, Any, Source]]:
    """The newest point per tag combination: exactly the level ``dt`` names (0/raw: raw points), else from any
    level (raw points and 1 s buckets first, see :func:`~scald_monitor.io.levels.read_newest_by_tag`)."""
    try:
        if q.dt_param is None:
            found = read_newest_by_tag(store, schema.measurement, column,
                                       aggregates=aggregates_to_try(q.aggregate_param, schema.aggregate, True))
            return found
        source = Source(RAW) if q.raw else Source(q.dt, q.aggregate)
        exact = store.retrieve_latest_by_tag(schema.measurement, column, aggregate=source.aggregate,
                                             dt=None if q.raw else q.dt)
        return {key: (t, v, source) for key, (t, v) in exact.items()}
    except UnknownMeasurementError:
        return {}


def _newest(store: Any, schema: Schema, q: Query, column: str) -> tuple[float, Any, Source] | None:
    """The newest point of a measurement without tags, chosen as :func:`_newest_by_tag` does."""
    try:
        if q.dt_param is None:
            return read_newest(store, schema.measurement, column,
                               aggregates=aggregates_to_try(q.aggregate_param, schema.aggregate, True))
        source = Source(RAW) if q.raw else Source(q.dt, q.aggregate)
        t, v = store.retrieve_latest(schema.measurement, column, aggregate=source.aggregate,
                                     dt=None if q.raw else q.dt)
    except UnknownMeasurementError:
        return None
    return (t[-1], v[-1], source) if t else None


def latest(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None, sources: Sources | None = None
           ) -> list[dict]:
    """The newest point per value of ``tag_key`` (ligo-scald's Bar plots); start/end are not used, as there.

    Without ``dt`` the newest point in any level (raw points where kept, else the newest bucket); with ``dt`` the
    newest bucket at that level (``dt=0``/``raw``: the newest raw point). The ``transform`` (``none`` | ``latency``
    = now − time of the newest point) and ``default`` (for a tag without data) come from the query, else from the
    schema, as ligo-scald's client sends them.
    """
    sources = sources if sources is not None else Sources()
    extra = spec.extra if spec is not None else {}
    transform = q.transform or extra.get("transform") or "none"
    if transform not in ("none", "latency"):
        transform = "none"
    default = q.default if q.default is not None else extra.get("default")
    column = q.columns[0]
    now = gps_now()

    def value(t: float, v: Any) -> Any:
        return max(now - t, 0.0) if transform == "latency" else v

    if not schema.tags:
        hit = _newest(store, schema, q, column)
        if hit is not None:
            sources.add(hit[2])
        y = value(hit[0], hit[1]) if hit is not None else default
        return [{"x": [schema.measurement], "y": clean([y], q.fill)}]
    selected = combos(q, schema)
    key_index = schema.tags.index(q.tag_key)
    newest: dict[str, tuple[float, Any]] = {}
    for key, (t, v, source) in _newest_by_tag(store, schema, q, column, sources).items():
        if selected is not None and not any(_matches(schema, key, c) for c in selected):
            continue
        sources.add(source)
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


def table(store: Any, schema: Schema, q: Query, spec: SchemaSpec | None, sources: Sources | None = None) -> dict:
    """Rows of the selected columns (all by default) of every selected series, oldest first.

    ``far`` keeps rows whose FAR column (the schema's ``far_key``, else ``far``) is at most that value: ligo-scald
    read nested per-FAR retention policies for the same purpose. Without ``dt``, a measurement with no points in
    any level is looked for among the triggers ``store_triggers`` kept (the store's ``retrieve_triggers``: ligo-scald's
    retention policies on InfluxDB, the triggers table on SQLite).
    """
    sources = sources if sources is not None else Sources()
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
    at: Source | None = None  # every column from the level the first one was found in
    for column in read_columns:
        if schema.tags and not q.filters:
            source, by_tag = _by_tag(store, schema, q, column, sources, at)
            found = [(tuple(zip(schema.tags, key)), t, v) for key, (t, v) in by_tag.items()]
            at = at or source
        else:
            found = []
            for _label, tags, t, v, source in read_series(store, schema, q, column, sources, at):
                found.append((tuple(tags.items()) if tags else (), t, v))
                at = at or source
        for key, t, v in found:
            rows = per_series.setdefault(key, {})
            for ti, vi in zip(t, v):
                rows.setdefault(ti, {})[column] = vi
            total += len(t)
            _budget_after(total)
    if not any(per_series.values()) and q.dt_param is None and not schema.tags:
        triggers = store.retrieve_triggers(schema.measurement, q.start, q.end, read_columns, far=q.far,
                                           far_key=far_key or "far")
        if triggers:
            sources.add(store.describe_triggers(q.far))
            per_series = {(): {row["time"]: row for row in triggers}}
            _budget_after(len(triggers) * len(read_columns))
    tag_fields = list(schema.tags) if schema.tags else []
    items = []
    for key, rows in per_series.items():
        tag_values = dict(key)
        for t in sorted(rows):
            row = rows[t]
            if far_key is not None and not (_number(row.get(far_key)) and row[far_key] <= q.far):
                continue
            item: dict = {"time": times([t], q)[0]}
            item.update(tag_values)
            for column in columns:
                item[column] = clean([row.get(column, math.nan)], q.fill)[0]
            items.append(item)
    items.sort(key=lambda i: (i["time"], tuple(str(i.get(t, "")) for t in tag_fields)))
    fields = [{"key": k, "label": k, "sortable": True} for k in ["time", *tag_fields, *columns]]
    return {"fields": fields, "items": items}


def snapshot(store: Any, measurement: str) -> tuple[list[dict], float]:
    """ligo-scald's ``/api/snapshot`` answer from the newest snapshot, and its GPS time; 404 when none is stored
    (ligo-scald answered with a 500 traceback). A snapshot is one instant: the window in the URL is not used, as by
    ligo-scald."""
    t, values, dims = store.retrieve_snapshot(measurement)
    if t is None:
        raise ApiError(404, f"no snapshots of {measurement!r} are stored")
    trace = {dim: values.get(dims[dim]) for dim in ("x", "y", "z") if dim in dims}
    return [trace], t
