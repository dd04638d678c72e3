"""What a cache of aligned blocks of stored timeseries needs to know from the stores.

Why here: the dashboard's block cache (:mod:`scald_monitor.serve.cache`) keeps pieces of earlier reads and answers
later ones from them. That is only right if (1) it cuts a block exactly where the store would have cut a read of
the window, and (2) it learns when what a block holds has changed. Both are facts about the storage, so they live in
``io/``:

- :func:`time_keys`: the values a store compares with a window's bounds. SQLite compares the float64 times
  themselves; InfluxDB compares integer nanoseconds (:func:`.influx.gps_to_ns` of the bounds), so a cached block must
  be cut in nanoseconds too, or a point within a nanosecond of a bound would be in one answer and not the other.
- :class:`ChangeFeed`: what changed in an SQLite file since the last look. ``PRAGMA data_version`` tells, for the
  price of a function call, whether any other connection committed anything; the ``chunk_changes`` table (kept by
  triggers on ``chunks`` that are part of the file, so every writer of the file fills it, whatever its version)
  tells which chunk — series, level, time window — each commit rewrote (:data:`.sqlite_layout.CHANGES_DDL`). A
  file without that table (written before it existed) still gets a correct answer: "everything may have changed"
  on every commit.

InfluxDB has no such feed (other hosts and ligo-scald write to it without telling us): there the cache only keeps
blocks that ended long enough ago (``cache_settle``), see the serve cache.

Standard library only, beside numpy for :func:`time_keys` (the cache works on numpy arrays).
"""
from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any, NamedTuple, Sequence


def time_keys(store: Any, times: Sequence[float]) -> Any:
    """The values ``store`` compares with a window's bounds, for ``times`` (a numpy array, in the times' order).

    A read of [start, end] returns the points whose key is in [key(start), key(end)]; the keys of points are in
    the order of their times, so a block is cut with two binary searches.
    """
    import numpy as np

    from . import influx

    if isinstance(store, influx._Influx):
        return influx.gps_to_ns(times)
    return np.asarray(times, dtype=np.float64)


class Change(NamedTuple):
    """Stored data of ``measurement`` at ``levels`` (0 = raw points) in [lo, hi) (GPS seconds) may differ."""

    measurement: str
    levels: tuple[int, ...]
    lo: float
    hi: float


#: :meth:`ChangeFeed.poll`'s answer when what changed cannot be told: drop everything read from this file.
EVERYTHING = None


class ChangeFeed:
    """What changed in an SQLite store since the last :meth:`poll`, for a cache of its reads (one per file).

    Its own read-only connection (never creates the file), used under a lock by every thread: ``PRAGMA data_version``
    is per connection, so one connection must see every commit for the answers to chain.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 5.0):
        self.path = str(path)
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._seq = 0
        self._has_log = False
        self._measurement_of: dict[int, str] = {}
        self._lock = threading.Lock()

    def poll(self) -> list[Change] | None:
        """Changes committed since the previous call (``[]``: none), or :data:`EVERYTHING` when they cannot be told
        (first call, no change log in the file, the file missing or unreadable)."""
        with self._lock:
            try:
                return self._poll()
            except sqlite3.Error:
                self._close()
                return EVERYTHING

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- insides ------------------------------------------------------------------------------------------------
    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._version = None

    def _open(self) -> sqlite3.Connection | None:
        from .sqlite_layout import _quote_path

        if not os.path.exists(self.path):
            return None
        uri = "file://" + _quote_path(os.path.realpath(self.path)) + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        return conn

    def _poll(self) -> list[Change] | None:
        if self._conn is None:
            self._conn = self._open()
            if self._conn is None:
                return EVERYTHING
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return []
        first = self._version is None
        self._version = version
        if first:
            self._has_log = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunk_changes'").fetchone() is not None
            if self._has_log:
                self._seq = self._conn.execute("SELECT IFNULL(MAX(seq), 0) FROM chunk_changes").fetchone()[0]
            return EVERYTHING
        if not self._has_log:
            # The first writer of this reader's version may have just added the table: from now on it tells.
            self._has_log = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunk_changes'").fetchone() is not None
            if self._has_log:
                self._seq = self._conn.execute("SELECT IFNULL(MAX(seq), 0) FROM chunk_changes").fetchone()[0]
            return EVERYTHING
        rows = self._conn.execute("SELECT series, dt, start, seq FROM chunk_changes WHERE seq > ? ORDER BY seq",
                                  (self._seq,)).fetchall()
        if not rows:
            if self._conn.execute("SELECT IFNULL(MAX(seq), 0) FROM chunk_changes").fetchone()[0] < self._seq:
                self._seq = 0  # the log went backwards: another file at this path
                return EVERYTHING
            return []
        self._seq = rows[-1][3]
        return self._changes(rows)

    def _changes(self, rows: list[tuple[int, int, int, int]]) -> list[Change] | None:
        from .sqlite_layout import span

        if any(sid not in self._measurement_of for sid, _, _, _ in rows):
            self._measurement_of = dict(self._conn.execute("SELECT id, measurement FROM series").fetchall())
        windows: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for sid, dt, start, _ in rows:
            measurement = self._measurement_of.get(sid)
            if measurement is None:
                return EVERYTHING  # a series we cannot name: be safe
            windows.setdefault((measurement, dt), []).append((start, start + span(dt)))
        out = []
        for (measurement, dt), spans in windows.items():
            # raw chunks (dt 0) are what the 1 s level is computed from on read
            levels = (0, 1) if dt == 0 else (dt,)
            for lo, hi in _merge(spans):
                out.append(Change(measurement, levels, float(lo), float(hi)))
        return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching half-open spans joined (fewer, wider changes: each is checked against the cache)."""
    out: list[list[int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def overlaps(change: Change, level: int, lo: float, hi: float) -> bool:
    """Whether a block of ``level`` covering [lo, hi) may hold data ``change`` rewrote."""
    return level in change.levels and lo < change.hi and change.lo < hi
