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
from .sqlite_layout import ACROSS, StoreBase, agg_code, column_offset, row_width
from .store import MAX_POINTS

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
        out: dict[int, Series] = {}
        for sid, blob in self._chunk_blobs(sids, dt, agg, start, end):
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

    def _latest_rows(self, schema: Schema, sid: int, level: int, agg: int, col: int, num: int,
                     before: float | None = None) -> Series | None:
        """The newest ``num`` rows of a series (stamped at or before ``before``), walking its chunks backwards."""
        width = row_width(schema, level)
        if before is None:
            count = lambda blob: len(blob) // (8 * width)  # noqa: E731
        else:
            count = lambda blob: sum(1 for t in array("d", blob)[::width] if t <= before)  # noqa: E731
        blobs = self._newest_blobs(schema, sid, level, agg, num, count, before)
        if not blobs:
            return None
        times, values = _by_time([_rows(b, width, col) for b in blobs])
        if before is not None:
            keep = bisect_right(times, before)
            times, values = times[:keep], values[:keep]
            if not times:
                return None
        return times[-num:], values[-num:]

    # -- the primitives of the store interface (.store.Store) ---------------------------------------------------
    @staticmethod
    def _refuse_level1(schema: Schema, level: int) -> None:
        if level == 1:
            raise LevelUnavailable(f"{schema.measurement}: the 1 s level is computed from raw points by the numpy "
                                   "reader (scald_monitor.io.sqlite.Consumer); this reader serves raw points and "
                                   "levels >= 10 s")

    def _series(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> Series:
        sid = self._read_series_id(schema, key)
        self._refuse_level1(schema, level)
        col = column_offset(schema, column, level)
        series = None if sid is None else self._read_level(schema, [sid], level, agg_code(aggregate), col, start,
                                                           end).get(sid)
        return ([], []) if series is None else series

    def _series_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict[tuple[str, ...], Series]:
        self._refuse_level1(schema, level)
        ids = self._series_ids(schema.measurement)
        rows = self._read_level(schema, list(ids.values()), level, agg_code(aggregate),
                                column_offset(schema, column, level), start, end)
        return {tags: rows[sid] for tags, sid in ids.items() if sid in rows}

    def _latest(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                num: int, before: float | None = None) -> Series:
        """With an ``aggregate``, ``dt`` (>= 10) must be given: the 1 s level is refused."""
        sid = self._read_series_id(schema, key)
        self._refuse_level1(schema, level)
        col = column_offset(schema, column, level)
        rows = None if sid is None else self._latest_rows(schema, sid, level, agg_code(aggregate), col, num, before)
        return ([], []) if rows is None else rows

    def _latest_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str,
                       before: float | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        self._refuse_level1(schema, level)
        col = column_offset(schema, column, level)
        by_sid = {sid: tags for tags, sid in self._series_ids(schema.measurement).items()}
        width = row_width(schema, level)
        out = {}
        for sid, blob in self._newest_chunks(list(by_sid), level, agg_code(aggregate), before):
            rows = array("d", blob)
            n = len(rows) // width
            if before is not None:  # rows are sorted by time: the last one stamped at or before ``before``
                n = bisect_right(rows[::width], before)
            last = rows[(n - 1) * width:n * width]
            out[by_sid[sid]] = (last[0], last[col])
        return out
