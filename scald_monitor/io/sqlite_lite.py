"""A numpy-free, read-only reader of the SQLite store, for short-lived processes such as the Nagios plugin.

Importing numpy costs a forked ``check_scald`` several times what the check itself takes, and a check reads little:
raw points (level 0) for look-backs up to an hour, stored aggregates (levels >= 10) beyond.  :class:`LiteConsumer`
serves exactly those reads with the standard library (``array('d')`` over the float64 blobs) and returns what
:class:`.sqlite.Consumer` returns, list for list.  The 1 s level, which the Consumer computes by decimating raw
points, is refused with :class:`LevelUnavailable`: the daemon and the dashboard keep the numpy Consumer.

Every row of a chunk is sorted by its first column (the writer keeps them so, see :mod:`.sqlite_layout`), which is
what lets a read cut each chunk with ``bisect`` instead of testing every row.
"""
from __future__ import annotations

import os
from array import array
from bisect import bisect_left, bisect_right

from .schema import Schema
from .sqlite_layout import (ACROSS, MAX_POINTS, StoreBase, check_range, chunk_bounds, chunked, marks,
                            row_width)

TYPE_CHECKING = False  # not ``from typing import ...``: importing typing costs the plugin ~2 ms
if TYPE_CHECKING:
    from typing import Any, Sequence

__all__ = ["ACROSS", "LevelUnavailable", "LiteConsumer"]

Series = tuple[list[float], list[float]]  # (times, values of one column)


class LevelUnavailable(ValueError):
    """A read of the 1 s level, which only the numpy Consumer computes."""


def _rows(blob: bytes, width: int, col: int) -> tuple[array, array]:
    """The first column and column ``col`` of a chunk's float64 rows."""
    values = array("d", blob)
    return values[0::width], values[col::width]


def _cut(times: array, values: array, start: float | None, end: float | None) -> tuple[array, array]:
    """The rows of one (sorted) chunk whose time is in [start, end]."""
    lo = 0 if start is None else bisect_left(times, start)
    hi = len(times) if end is None else bisect_right(times, end)
    if lo == 0 and hi == len(times):
        return times, values
    return times[lo:hi], values[lo:hi]


def _by_time(blocks: list[tuple[Sequence[float], Sequence[float]]]) -> Series:
    """Blocks concatenated in order then stably sorted by time, as the Consumer's ``argsort(kind="stable")``."""
    pairs = [pair for times, values in blocks for pair in zip(times, values)]
    pairs.sort(key=lambda pair: pair[0])
    return [t for t, _ in pairs], [v for _, v in pairs]


class LiteConsumer(StoreBase):
    """Read-only access (``mode=ro``) without numpy: levels 0 and >= 10 of ``sqlite.Consumer``'s readers."""

    def __init__(self, path: str | os.PathLike, timeout: float = 30.0, max_points: int = MAX_POINTS, **_: Any):
        super().__init__(path, timeout=timeout, max_points=max_points)

    # -- chunk reads ------------------------------------------------------------------------------------------
    def _read_chunks(self, sids: Sequence[int], width: int, col: int, dt: int, agg: int, start: float,
                     end: float) -> dict[int, Series]:
        """Times and column ``col`` of the rows of the given series/level/aggregate with time in [start, end].

        A series with chunks in the window but no row in [start, end] maps to empty lists, as in the Consumer.
        """
        lo, hi = chunk_bounds(dt, start, end)
        out: dict[int, Series] = {}
        with self._errors():
            for group in chunked(list(sids)):
                q = (f"SELECT series, data FROM chunks WHERE series IN ({marks(len(group))}) "
                     "AND dt = ? AND agg = ? AND start >= ? AND start <= ? ORDER BY series, start")
                for sid, blob in self._conn.execute(q, (*group, dt, agg, lo, hi)):
                    times, values = _cut(*_rows(blob, width, col), start, end)
                    got = out.setdefault(sid, ([], []))
                    got[0].extend(times)
                    got[1].extend(values)
        return out

    def _read_level(self, schema: Schema, sids: Sequence[int], level: int, agg: int, col: int, start: float,
                    end: float) -> dict[int, Series]:
        width = row_width(schema, level)
        if level != 0:
            return self._read_chunks(sids, width, col, level, agg, start, end)
        return self._raw_points(schema, sids, lambda ids: self._read_chunks(ids, width, col, 0, 0, start, end),
                                _by_time)

    def _latest_rows(self, schema: Schema, sid: int, level: int, agg: int, col: int, num: int) -> Series | None:
        """The newest ``num`` rows of a series, walking its chunks backwards from the newest."""
        width = row_width(schema, level)
        blobs = self._newest_blobs(schema, sid, level, agg, num, lambda blob: len(blob) // (8 * width))
        if not blobs:
            return None
        times, values = _by_time([_rows(b, width, col) for b in blobs])
        return times[-num:], values[-num:]

    # -- public readers ---------------------------------------------------------------------------------------
    @staticmethod
    def _refuse_level1(schema: Schema, level: int) -> None:
        if level == 1:
            raise LevelUnavailable(f"{schema.measurement}: the 1 s level is computed from raw points by the numpy "
                                   "reader (scald_monitor.io.sqlite.Consumer); this reader serves raw points and "
                                   "levels >= 10 s")

    def retrieve_timeseries(self, measurement: str, start: float, end: float, column: str, tags: Any = None,
                            aggregate: str | None = None, dt: int | None = None) -> Series:
        """As ``sqlite.Consumer.retrieve_timeseries`` (raw points, or an aggregate at a level >= 10 s)."""
        start, end = check_range(start, end)
        schema = self._schema(measurement)
        level, agg = self._level(schema, start, end, aggregate, dt)
        col = self._column_index(schema, column, level)
        sid = self._read_series_id(schema, tags)  # a bad tag filter: the Consumer's error, level or not
        self._refuse_level1(schema, level)
        series = None if sid is None else self._read_level(schema, [sid], level, agg, col, start, end).get(sid)
        return ([], []) if series is None else series

    def retrieve_timeseries_by_tag(self, measurement: str, start: float, end: float, column: str,
                                   aggregate: str | None = None, dt: int | None = None) -> dict[tuple[str, ...], Series]:
        """As ``sqlite.Consumer.retrieve_timeseries_by_tag``: ``{tag_values: (times, values)}``, empty ones left out."""
        start, end = check_range(start, end)
        schema = self._schema(measurement)
        level, agg = self._level(schema, start, end, aggregate, dt)
        col = self._column_index(schema, column, level)
        self._refuse_level1(schema, level)
        ids = self._series_ids(measurement)
        rows = self._read_level(schema, list(ids.values()), level, agg, col, start, end)
        return {tags: rows[sid] for tags, sid in sorted(ids.items()) if sid in rows and rows[sid][0]}

    def retrieve_latest(self, measurement: str, column: str, tags: Any = None, aggregate: str | None = None,
                        dt: int | None = None, num_latest: int = 1) -> Series:
        """As ``sqlite.Consumer.retrieve_latest``; with an ``aggregate``, ``dt`` (>= 10) must be given."""
        schema = self._schema(measurement)
        dt = dt if dt is not None or aggregate is None else 1
        level, agg = self._level(schema, 0, 0, aggregate, dt)
        col = self._column_index(schema, column, level)
        sid = self._read_series_id(schema, tags)
        self._refuse_level1(schema, level)
        rows = None if sid is None else self._latest_rows(schema, sid, level, agg, col, max(int(num_latest), 1))
        return ([], []) if rows is None else rows

    def retrieve_latest_by_tag(self, measurement: str, column: str, aggregate: str | None = None,
                               dt: int | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        """As ``sqlite.Consumer.retrieve_latest_by_tag``; with an ``aggregate``, ``dt`` (>= 10) must be given."""
        schema = self._schema(measurement)
        dt = dt if dt is not None or aggregate is None else 1
        level, agg = self._level(schema, 0, 0, aggregate, dt)
        col = self._column_index(schema, column, level)
        self._refuse_level1(schema, level)
        by_sid = {sid: tags for tags, sid in self._series_ids(measurement).items()}
        width = row_width(schema, level)
        out = {}
        with self._errors():
            for group in chunked(list(by_sid)):
                q = ("SELECT s.id, (SELECT c.data FROM chunks c WHERE c.series = s.id AND c.dt = ? AND c.agg = ? "
                     f"ORDER BY c.start DESC LIMIT 1) FROM series s WHERE s.id IN ({marks(len(group))})")
                for sid, blob in self._conn.execute(q, (level, agg, *group)).fetchall():
                    if blob is None:
                        continue
                    last = array("d", blob)[-width:]
                    out[by_sid[sid]] = (last[0], last[col])
        return dict(sorted(out.items()))
