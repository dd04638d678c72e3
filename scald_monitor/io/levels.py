"""Reads that fall back along the levels that hold data: raw points → 1 s → 10 s → … → 100000 s.

Why: one reader must see every writer's data. Our Aggregators keep raw points and every level; ligo-scald 0.8.5's
Aggregator keeps *no* raw points when it aggregates (``store_columns(..., aggregate='max')`` writes only the ``"1s"``
retention policy and, every ``reduce_dt``, the coarser ones), and only raw points with ``aggregate=None``. A check
that reads one level is blind to the other layout. These functions ask each level in turn, through the stores'
public ``retrieve_*`` methods, and say which level answered (:class:`Source`), so a result can tell the operator
what it is based on.

Standard library only (the Nagios plugin evaluates checks through this module).
"""
from __future__ import annotations

from ..records import FrozenRecord
from .schema import AGGREGATES, LEVELS
from .store import REDUCE

TYPE_CHECKING = False  # not ``from typing import ...``: check_scald imports this module
if TYPE_CHECKING:
    from typing import Any, Iterable, Sequence

    from .store import Store

RAW = 0
#: Finest first: the order in which a window is looked for when nothing says otherwise.
FINEST_FIRST = (RAW,) + LEVELS


class Source(FrozenRecord):
    """Which level (0 = raw points) and which stored aggregate a read was answered from."""

    _fields = ("level", "aggregate", "merged")
    level: int
    aggregate: str | None
    merged: bool

    def __init__(self, level: int, aggregate: str | None = None, merged: bool = False) -> None:
        # ``merged``: the reduction across tags was built here from every tag combination's series, because the
        # store holds no across-tags series at this level (ligo-scald with reduce_across_tags=False).
        self._init(level=level, aggregate=aggregate, merged=merged)

    @property
    def raw(self) -> bool:
        return self.level == RAW

    def __str__(self) -> str:
        if self.raw:
            return "raw points"
        text = f"{self.level} s {self.aggregate} buckets"
        return text + (" of every tag combination" if self.merged else "")


def aggregates_to_try(preferred: str | None, schema_aggregate: str | None, any_aggregate: bool = False
                      ) -> tuple[str, ...]:
    """Stored aggregates to read at a level, in order: the one the check reduces with (a max over max buckets is
    the max over the raw points), then the one the schema says is written (ligo-scald writes only that one), then —
    where any will do, as for the age of the newest point — the others."""
    order = [a for a in (preferred, schema_aggregate) if a in AGGREGATES]
    if any_aggregate or not order:
        order += list(AGGREGATES[::-1])  # max first: ligo-scald's default
    return tuple(dict.fromkeys(order))


def levels_from(first: int) -> tuple[int, ...]:
    """``first``, then the coarser levels, then the raw points, then the finer stored levels: for a read that
    picked a resolution for its window and should stay as close to it as the data allow. Raw points come before
    the finer levels, which (where a store derives them from raw points, SQLite's 1 s) add nothing after them."""
    coarser = [lv for lv in FINEST_FIRST if lv > first]
    finer = [lv for lv in FINEST_FIRST if RAW < lv < first][::-1]
    return (first, *coarser, *([RAW] if first != RAW else []), *finer)


def _levels(store: Store, levels: Sequence[int]) -> list[int]:
    """The levels worth asking this store, in order: a level it computes from its raw points on read
    (``derived_levels``; SQLite's 1 s level) is skipped once the raw points were asked before it, as it holds
    nothing they did not; asked first (a read at the resolution of its window), it is what is wanted."""
    skip = store.derived_levels
    raw_first = list(levels[:list(levels).index(RAW)]) if RAW in levels else list(levels)
    return [lv for lv in levels if lv not in skip or lv in raw_first]


#: The public name of :func:`_levels`, for a reader that plans ahead what a check will read (the backtest).
levels_to_ask = _levels


def _has_tags(store: Store, measurement: str) -> bool:
    return bool(store.schema(measurement).tags)


def _merge(series: Iterable[tuple[list, list]]) -> tuple[list, list]:
    pairs = sorted((t, v) for ts, vs in series for t, v in zip(ts, vs))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _as_of(before: float | None, level: int = RAW) -> dict:
    """``before=`` for a read "as of" ``before`` at ``level``; nothing when unbounded, so that a store wrapper that
    predates the bound (the dashboard's cache) still answers every unbounded read.

    An aggregate bucket counts once it was complete by then (it starts at least ``level`` s earlier): whether an
    incomplete one already held a point at that time is not known, and counting it would let a replay see a bucket
    filled later (a day-long bucket starting before the time asked about)."""
    if before is None:
        return {}
    return {"before": before - level}


def read_window(store: Store, measurement: str, start: float, end: float, column: str, tags: Any = None,
                aggregates: Sequence[str] = ("max",), levels: Sequence[int] = FINEST_FIRST
                ) -> tuple[Source | None, list, list]:
    """``(source, times, values)`` of one series (``tags``) or of the reduction across tags (None) in [start, end],
    from the first of ``levels`` that holds any point there; ``(None, [], [])`` when none does.

    Across tags, a level without an across-tags series is read per tag combination and merged in time order.
    """
    for level in _levels(store, levels):
        for aggregate in ((None,) if level == RAW else aggregates):
            t, v = store.retrieve_timeseries(measurement, start, end, column, tags=tags, aggregate=aggregate,
                                             dt=None if level == RAW else level)
            if t:
                return Source(level, aggregate), t, v
            if tags is None and level != RAW and _has_tags(store, measurement):
                by_tag = store.retrieve_timeseries_by_tag(measurement, start, end, column, aggregate=aggregate,
                                                          dt=level)
                if by_tag:
                    t, v = _merge(by_tag.values())
                    return Source(level, aggregate, merged=True), t, v
    return None, [], []


def read_window_by_tag(store: Store, measurement: str, start: float, end: float, column: str,
                       aggregates: Sequence[str] = ("max",), levels: Sequence[int] = FINEST_FIRST
                       ) -> tuple[Source | None, dict[tuple[str, ...], tuple[list, list]]]:
    """``(source, {tag_values: (times, values)})`` from the first of ``levels`` where any tag combination has a
    point in [start, end]; ``(None, {})`` when none does. One level answers for all combinations, so every value of
    one result is on the same footing."""
    for level in _levels(store, levels):
        for aggregate in ((None,) if level == RAW else aggregates):
            found = store.retrieve_timeseries_by_tag(measurement, start, end, column, aggregate=aggregate,
                                                     dt=None if level == RAW else level)
            found = {k: tv for k, tv in found.items() if tv[0]}
            if found:
                return Source(level, aggregate), found
    return None, {}


def reduce_window_by_tag(store: Store, measurement: str, start: float, end: float, column: str, reduce: str,
                         aggregates: Sequence[str] = ("max",), levels: Sequence[int] = FINEST_FIRST
                         ) -> tuple[Source | None, dict[tuple[str, ...], float]]:
    """As :func:`read_window_by_tag`, each combination's points reduced to one value (``REDUCE[reduce]``) by the
    store, which may do it server-side: a window of raw points need not cross the network."""
    for level in _levels(store, levels):
        for aggregate in ((None,) if level == RAW else aggregates):
            found = store.retrieve_reduced_by_tag(measurement, start, end, column, reduce, aggregate=aggregate,
                                                  dt=None if level == RAW else level)
            if found:
                return Source(level, aggregate), found
    return None, {}


def reduce_window(store: Store, measurement: str, start: float, end: float, column: str, reduce: str,
                  tags: Any = None, aggregates: Sequence[str] = ("max",), levels: Sequence[int] = FINEST_FIRST
                  ) -> tuple[Source | None, float | None]:
    """As :func:`read_window`, the points reduced to one value (None when no level has any)."""
    for level in _levels(store, levels):
        for aggregate in ((None,) if level == RAW else aggregates):
            value = store.retrieve_reduced(measurement, start, end, column, reduce, tags=tags, aggregate=aggregate,
                                           dt=None if level == RAW else level)
            if value is not None:
                return Source(level, aggregate), value
            if tags is None and level != RAW and _has_tags(store, measurement):
                by_tag = store.retrieve_timeseries_by_tag(measurement, start, end, column, aggregate=aggregate,
                                                          dt=level)
                if by_tag:
                    return Source(level, aggregate, merged=True), REDUCE[reduce](_merge(by_tag.values())[1])
    return None, None


def read_newest_by_tag(store: Store, measurement: str, column: str, aggregates: Sequence[str] = AGGREGATES[::-1],
                       before: float | None = None) -> dict[tuple[str, ...], tuple[float, float, Source]]:
    """The newest point of every tag combination in any level: ``{tag_values: (time, value, source)}``; with
    ``before`` (GPS), as of that time (no point stamped later is seen: a replay of the past).

    Raw points and the 1 s level are always asked (a combination may exist only in one of them: two writers, or
    ligo-scald's layout); coarser levels only when neither has anything. Per combination the newest time wins,
    raw points on a tie (a bucket start is never later than the points in it).
    """
    out: dict[tuple[str, ...], tuple[float, float, Source]] = {}
    for level in _levels(store, FINEST_FIRST):
        if level > 1 and out:
            break
        for aggregate in ((None,) if level == RAW else aggregates):
            found = store.retrieve_latest_by_tag(measurement, column, aggregate=aggregate,
                                                 dt=None if level == RAW else level, **_as_of(before, level))
            for key, (t, v) in found.items():
                if key not in out or t > out[key][0]:
                    out[key] = (t, v, Source(level, aggregate))
            if found:
                break  # one stored aggregate per level is enough: they share their bucket starts
    return dict(sorted(out.items()))


def read_newest(store: Store, measurement: str, column: str, tags: Any = None,
                aggregates: Sequence[str] = AGGREGATES[::-1], before: float | None = None
                ) -> tuple[float, float, Source] | None:
    """The newest point of one series (``tags``) or across tags (None) in any level, as ``read_newest_by_tag``;
    across tags, a level without an across-tags series is answered from the newest of every combination."""
    best: tuple[float, float, Source] | None = None
    for level in _levels(store, FINEST_FIRST):
        if level > 1 and best is not None:
            break
        for aggregate in ((None,) if level == RAW else aggregates):
            t, v = store.retrieve_latest(measurement, column, tags=tags, aggregate=aggregate,
                                         dt=None if level == RAW else level, **_as_of(before, level))
            hit = (t[-1], v[-1], Source(level, aggregate)) if t else None
            if hit is None and tags is None and level != RAW and _has_tags(store, measurement):
                found = store.retrieve_latest_by_tag(measurement, column, aggregate=aggregate, dt=level,
                                                     **_as_of(before, level))
                if found:
                    t_max, v_max = max(found.values())
                    hit = (t_max, v_max, Source(level, aggregate, merged=True))
            if hit is not None:
                if best is None or hit[0] > best[0]:
                    best = hit
                break
    return best
