"""The one store interface: what every reader of stored timeseries offers, written once over a few primitives.

Why: the SQLite Consumer and Aggregator, the numpy-free SQLite reader and the InfluxDB Consumer and Aggregator all
answer the same ``retrieve_*`` calls with the same meaning (ligo-scald's, see :class:`Store`). The argument checks,
the choice of level and stored aggregate, tag filters and the order of errors are here, so the backends cannot drift
apart; a backend only says how it reads one series, every series, the newest points and (optionally) a reduction.
Callers use nothing else: :meth:`Store.schema` and :meth:`Store.interrupt` are public so that no one outside
``io/`` needs a store's insides.

Standard library only (the Nagios plugin reads through the numpy-free SQLite reader, which builds on this).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from .schema import AGGREGATES, LEVELS, Schema, SchemaRegistry

TYPE_CHECKING = False  # not ``from typing import ...``: importing typing costs the plugin ~2 ms
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    Series = tuple[list[float], list[float]]

#: Points per series that a read naming no ``dt`` aims for: every store's default, the API's and the checks'.
MAX_POINTS = 2000


def median_high(values: Sequence[float]) -> float:
    """``statistics.median_high`` (a value of the data, never an average), without importing ``statistics``."""
    return sorted(values)[len(values) // 2]


#: How a threshold reduces the points of its window to one value; every store's ``retrieve_reduced*`` gives
#: exactly these (a server may compute them, e.g. InfluxQL's max(), but must agree).
REDUCE = {"max": max, "min": min, "median": median_high, "latest": lambda values: values[-1]}


def pick_level(start: float, end: float, dt: int | None, max_points: int = MAX_POINTS) -> int:
    """The level a read of [start, end] uses: the ``dt`` asked for (checked), else the finest level that gives at
    most ``max_points`` buckets over the window. The one resolution picker: stores, API, checks and the page's
    plots all choose with it, so a plot and a check of one window read the same buckets."""
    if dt is not None:
        if isinstance(dt, bool) or int(dt) != dt or int(dt) not in LEVELS:
            raise ValueError(f"dt={dt!r} is not a stored resolution; use one of {', '.join(map(str, LEVELS))}")
        return int(dt)
    width = max(float(end) - float(start), 0.0)
    for level in LEVELS:
        if width / level <= max_points:
            return level
    return LEVELS[-1]


def check_range(start: Any, end: Any) -> tuple[float, float]:
    """``(start, end)`` as finite floats, end not before start; ValueError naming what is wrong otherwise."""
    try:
        s, e = float(start), float(end)
    except (TypeError, ValueError):
        raise ValueError(f"start/end must be GPS seconds, got {start!r}, {end!r}") from None
    if not (math.isfinite(s) and math.isfinite(e)):
        raise ValueError("start/end must be finite")
    if e < s:
        raise ValueError(f"end {e} is before start {s}")
    return s, e


def tag_values(schema: Schema, tags: Any) -> tuple[str, ...]:
    """Accept ligo-scald's ``[(name, value), ...]`` filters, a ``{name: value}`` dict, or a value tuple."""
    if isinstance(tags, Mapping):
        pairs = list(tags.items())
    elif isinstance(tags, (list, tuple)) and tags and all(isinstance(t, (list, tuple)) and len(t) == 2
                                                          for t in tags):
        pairs = [tuple(t) for t in tags]
    else:
        values = (tags,) if isinstance(tags, str) else tuple(tags)
        if len(values) != len(schema.tags):
            raise ValueError(f"{schema.measurement}: give a value for each tag {list(schema.tags)}, got {tags!r}")
        return tuple(str(v) for v in values)
    given = {str(k): str(v) for k, v in pairs}
    unknown = [k for k in given if k not in schema.tags]
    if unknown:
        raise ValueError(f"{schema.measurement}: unknown tag(s) {unknown}; the schema has {list(schema.tags)}")
    missing = [k for k in schema.tags if k not in given]
    if missing:
        raise ValueError(f"{schema.measurement}: tag filter lacks {missing}; give every tag "
                         f"{list(schema.tags)}, or none for the reduction across tags")
    return tuple(given[k] for k in schema.tags)


def series_key(schema: Schema, tags: Any) -> tuple[str, ...] | None:
    """The series a read names: one tag combination's values, or None for the reduction across tags (and for the
    only series of a measurement without tags)."""
    if tags is None or (not schema.tags and not tags):
        return None
    return tag_values(schema, tags)


def check_column(schema: Schema, column: str) -> None:
    if column not in schema.columns:
        raise ValueError(f"{schema.measurement}: unknown column {column!r}; the schema has {list(schema.columns)}")


def check_aggregate(aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}")


class Store:
    """What every backend's reader offers (ligo-scald's Consumer calls, plus reductions and schema access).

    Meaning, whatever the backend: times are GPS seconds; ``tags`` names one tag combination (values in schema
    order, ``{name: value}`` or ligo-scald's ``[(name, value), ...]``), None the reduction across tags; with neither
    ``aggregate`` nor ``dt`` a read returns raw points, otherwise the named (default: the schema's, else max) stored
    aggregate at ``dt`` or at the level :func:`pick_level` gives the window. Aggregate points carry the start of
    their bucket. Reads return lists, oldest first; the ``*_by_tag`` forms leave out combinations without points.

    A backend sets ``schemas``, ``max_points`` and implements the primitives (``_discover``, ``_series``,
    ``_series_by_tag``, ``_latest``, ``_latest_by_tag``, ``measurements``, ``close``); ``_reduced*`` may be
    overridden by a backend that reduces server-side. ``derived_levels`` are the levels it computes from raw points
    on read (nothing stored they do not hold): :mod:`.levels` skips them after the raw points.
    """

    derived_levels: tuple[int, ...] = ()
    schemas: SchemaRegistry
    max_points: int = MAX_POINTS

    # -- public, beside the reads ---------------------------------------------------------------------------------
    def schema(self, measurement: str) -> Schema:
        """The schema of ``measurement``: registered or configured, else as the store itself describes it (SQLite
        keeps every schema; InfluxDB's is inferred from field and tag keys). UnknownMeasurementError if none."""
        if measurement not in self.schemas:
            self._discover(measurement)
        return self.schemas.get(measurement)

    def measurements(self) -> list[str]:
        """Every measurement that holds data."""
        raise NotImplementedError

    def interrupt(self) -> None:
        """Abort a read running in another thread (it raises BackendError there), where the backend can: a check
        that timed out must not leave its worker blocked in a query. A no-op where every request is bounded by its
        own timeout (InfluxDB's HTTP client)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------------------------------
    def retrieve_timeseries(self, measurement: str, start: float, end: float, column: str, tags: Any = None,
                            aggregate: str | None = None, dt: int | None = None) -> Series:
        """``(times, values)`` in [start, end] of one series (``tags``) or of the reduction across tags (None)."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        return self._series(schema, series_key(schema, tags), level, agg, column, start, end)

    def retrieve_timeseries_by_tag(self, measurement: str, start: float, end: float, column: str,
                                   aggregate: str | None = None, dt: int | None = None
                                   ) -> dict[tuple[str, ...], Series]:
        """Every tag combination's points in [start, end]: ``{tag_values: (times, values)}``, sorted by tags."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        found = self._series_by_tag(schema, level, agg, column, start, end)
        return {key: tv for key, tv in sorted(found.items()) if tv[0]}

    def retrieve_arrays(self, measurement: str, start: float, end: float, column: str, tags: Any = None,
                        aggregate: str | None = None, dt: int | None = None) -> Any:
        """:meth:`retrieve_timeseries` as two numpy float64 arrays: for a reader that takes a long window at once
        (a backtest reads a day of 1 Hz points per tag). numpy is imported here only: the plugin never calls it."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        return self._arrays(schema, series_key(schema, tags), level, agg, column, start, end)

    def retrieve_arrays_by_tag(self, measurement: str, start: float, end: float, column: str,
                               aggregate: str | None = None, dt: int | None = None) -> dict:
        """:meth:`retrieve_timeseries_by_tag` as ``{tag_values: (times, values)}`` numpy float64 arrays."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        found = self._arrays_by_tag(schema, level, agg, column, start, end)
        return {key: tv for key, tv in sorted(found.items()) if len(tv[0])}

    def retrieve_latest(self, measurement: str, column: str, tags: Any = None, aggregate: str | None = None,
                        dt: int | None = None, num_latest: int = 1, before: float | None = None) -> Series:
        """The newest ``num_latest`` points (oldest first) of one series or of the across-tags reduction; with an
        ``aggregate`` and no ``dt``, of the 1 s level. ``before`` (GPS, inclusive) reads "as of" that time: no point
        stamped later (an aggregate's stamp is its bucket start) is seen, which a check replayed over the past needs;
        None, the default, reads the newest stored."""
        schema, level, agg = self._latest_plan(measurement, column, aggregate, dt)
        return self._latest(schema, series_key(schema, tags), level, agg, column, max(int(num_latest), 1),
                            **_bound(before))

    def retrieve_latest_by_tag(self, measurement: str, column: str, aggregate: str | None = None,
                               dt: int | None = None, before: float | None = None
                               ) -> dict[tuple[str, ...], tuple[float, float]]:
        """The newest point of every tag combination: ``{tag_values: (time, value)}``, sorted by tags; ``before``
        as for :meth:`retrieve_latest`."""
        schema, level, agg = self._latest_plan(measurement, column, aggregate, dt)
        return dict(sorted(self._latest_by_tag(schema, level, agg, column, **_bound(before)).items()))

    def retrieve_reduced(self, measurement: str, start: float, end: float, column: str, reduce: str,
                         tags: Any = None, aggregate: str | None = None, dt: int | None = None) -> float | None:
        """One series' (or, with ``tags`` None, the reduction across tags') points in [start, end] reduced to one
        value by ``REDUCE[reduce]``; None when there are none."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        return self._reduced(schema, series_key(schema, tags), level, agg, column, _reducer(reduce), start, end)

    def retrieve_reduced_by_tag(self, measurement: str, start: float, end: float, column: str, reduce: str,
                                aggregate: str | None = None, dt: int | None = None) -> dict[tuple[str, ...], float]:
        """``{tag_values: value}``: each combination's points in [start, end] reduced by ``REDUCE[reduce]`` (the
        combinations without points left out), sorted by tags."""
        start, end = check_range(start, end)
        schema, level, agg = self._read_plan(measurement, column, start, end, aggregate, dt)
        found = self._reduced_by_tag(schema, level, agg, column, _reducer(reduce), start, end)
        return dict(sorted(found.items()))

    def retrieve_triggers(self, measurement: str, start: float | None = None, end: float | None = None,
                          columns: Any = None, far: float | None = None, far_key: str = "far") -> list[dict]:
        """ligo-scald's ``retrieve_triggers``: ``[{"time": bin start, column: value, ...}]`` oldest first, of the
        triggers ``store_triggers`` kept (one per second, the lowest FAR) in [start, end] (None: unbounded) whose
        ``far_key`` column is at most ``far`` (None: every stored trigger, i.e. FAR <= 1e-2); ``columns`` (None:
        every stored column) as ligo-scald selects them. No schema needed, as for ligo-scald. Why on the interface:
        the table route and reports read triggers the same way from either backend."""
        from .triggers import check_columns, check_far, select

        if start is not None and end is not None:
            start, end = check_range(start, end)
        else:  # one open end: the other still a finite GPS time
            start = None if start is None else check_range(start, start)[0]
            end = None if end is None else check_range(end, end)[0]
        far = check_far(far)
        columns = check_columns(columns)
        return select(self._triggers(measurement, start, end, far, far_key), columns, far, far_key)

    def describe_triggers(self, far: float | None) -> str:
        """Where a ``retrieve_triggers(far=far)`` reads from, for the API's ``X-Scald-Source`` header."""
        return "triggers"

    def retrieve_snapshot(self, measurement: str) -> tuple[float | None, dict, dict]:
        """ligo-scald's ``retrieve_snapshot``: ``(time, data, dims)`` of the newest snapshot of ``measurement``,
        ``(None, {}, {})`` when none is stored."""
        import json

        found = self._snapshot(measurement)
        if found is None:
            return None, {}, {}
        t, data, dims = found
        return t, json.loads(data), json.loads(dims)

    # -- what a read means: schema, level and stored aggregate, checked in one order for every backend -------------
    def resolve(self, schema: Schema, start: float, end: float, aggregate: str | None, dt: int | None
                ) -> tuple[int, str | None]:
        """``(level, aggregate)`` of a read: ``(0, None)`` (raw points) when neither is named."""
        if aggregate is None and dt is None:
            return 0, None
        aggregate = aggregate or schema.aggregate or "max"
        check_aggregate(aggregate)
        return pick_level(start, end, dt, self.max_points), aggregate

    def _read_plan(self, measurement: str, column: str, start: float, end: float, aggregate: str | None,
                   dt: int | None) -> tuple[Schema, int, str | None]:
        schema = self.schema(measurement)
        level, agg = self.resolve(schema, start, end, aggregate, dt)
        check_column(schema, column)
        return schema, level, agg

    def _latest_plan(self, measurement: str, column: str, aggregate: str | None, dt: int | None
                     ) -> tuple[Schema, int, str | None]:
        return self._read_plan(measurement, column, 0, 0, aggregate, dt if dt is not None or aggregate is None else 1)

    # -- primitives ---------------------------------------------------------------------------------------------
    def _discover(self, measurement: str) -> None:
        """Add the stored schema of ``measurement`` to ``self.schemas``, if the store knows it."""

    def _series(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> Series:
        raise NotImplementedError

    def _series_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> Mapping[tuple[str, ...], Series]:
        raise NotImplementedError

    def _latest(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                num: int, before: float | None = None) -> Series:
        """The newest ``num`` points stamped at or before ``before`` (None: unbounded)."""
        raise NotImplementedError

    def _latest_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str,
                       before: float | None = None) -> Mapping[tuple[str, ...], tuple[float, float]]:
        """Every combination's newest point stamped at or before ``before`` (None: unbounded)."""
        raise NotImplementedError

    def _arrays(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> Any:
        """``_series`` as numpy arrays; a backend that holds arrays already overrides this to skip the lists."""
        import numpy as np

        t, v = self._series(schema, key, level, aggregate, column, start, end)
        return np.asarray(t, dtype=float), np.asarray(v, dtype=float)

    def _arrays_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict:
        import numpy as np

        return {key: (np.asarray(t, dtype=float), np.asarray(v, dtype=float))
                for key, (t, v) in self._series_by_tag(schema, level, aggregate, column, start, end).items()}

    def _triggers(self, measurement: str, start: float | None, end: float | None, far: float | None,
                  far_key: str) -> list[tuple[float, dict]]:
        """``[(bin start, row)]`` of stored triggers in [start, end] holding at least those with FAR <= ``far``
        (the caller cuts exactly)."""
        raise NotImplementedError

    def _snapshot(self, measurement: str) -> tuple[float, str, str] | None:
        """``(time, data JSON, dims JSON)`` of the newest snapshot, or None."""
        raise NotImplementedError

    def _reduced(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                 reduce: str, start: float, end: float) -> float | None:
        """The points read, then reduced here; a backend that can reduce server-side overrides this."""
        _, values = self._series(schema, key, level, aggregate, column, start, end)
        return REDUCE[reduce](values) if values else None

    def _reduced_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, reduce: str,
                        start: float, end: float) -> dict[tuple[str, ...], float]:
        found = self._series_by_tag(schema, level, aggregate, column, start, end)
        return {key: REDUCE[reduce](values) for key, (_, values) in found.items() if values}


class LigoScaldLoad:
    """ligo-scald's ``Aggregator.load(path)``, for scripts written against it."""

    def load(self, path: str | None = None) -> None:
        """Register every schema of a scald config file (``$SCALDRC_PATH`` by default), as ligo-scald does.

        A compatibility shim only: reading and validating the YAML is the config layer's work, which ``io/`` does
        not depend on, so this hands over to :func:`scald_monitor.schema_loader.register_schemas`, imported here
        when called (new code calls that function, or ``register_schema``, itself).
        """
        from ..schema_loader import register_schemas

        register_schemas(self, path)


def _bound(before: Any) -> dict:
    """The ``before=`` keyword for a backend's ``_latest*`` primitive: none at all when unbounded, so that a backend
    written before the bound existed keeps working for every read that does not ask for it."""
    if before is None:
        return {}
    return {"before": check_range(before, before)[0]}


def _reducer(reduce: str) -> str:
    if reduce not in REDUCE:
        raise ValueError(f"reduce {reduce!r} is not one of {', '.join(REDUCE)}")
    return reduce


class UnknownDataTypeError(ValueError, NotImplementedError):
    """``store(data_type)`` with a name other than rows/columns/triggers/snapshot: a ValueError like every refused
    argument, and the NotImplementedError ligo-scald raised, so code written against either catches it."""


def dispatch(aggregator: Any, data_type: str, *args: Any, **kwargs: Any) -> Any:
    """ligo-scald's ``Aggregator.store(data_type, ...)``: ``rows``, ``columns``, ``triggers`` or ``snapshot``
    (another name: :class:`UnknownDataTypeError`, a ValueError that is also ligo-scald's NotImplementedError)."""
    methods = {"rows": "store_rows", "columns": "store_columns", "triggers": "store_triggers",
               "snapshot": "store_snapshot"}
    if data_type not in methods:
        raise UnknownDataTypeError(f"data_type {data_type!r} is not one of {', '.join(methods)}")
    return getattr(aggregator, methods[data_type])(*args, **kwargs)
