"""The SQLite store's file format and the numpy-free plumbing every reader of it shares.

This is the single definition of the on-disk layout: the numpy store (:mod:`.sqlite`, Aggregator and Consumer) and
the numpy-free reader (:mod:`.sqlite_lite`, used by the Nagios plugin) both build on :class:`StoreBase`, so they
cannot disagree on a constant, on the series a tag filter names or on how a file is opened.  Standard library only:
importing numpy costs a short-lived process (check_scald) several times its own run time.

Layout. Points are kept in *chunks*: one row of ``chunks(series, dt, agg, start, last, n, data)`` per (series,
level, aggregate, time window), ``data`` holding native float64 rows back to back, sorted by their first column:

- level 0 (``dt = 0``, ``agg = 0``) holds the raw points: rows ``(time, col1, ..., colN)`` in windows of
  ``RAW_SPAN`` seconds;
- levels 10 ... 100000 hold, for each of min/median/max (``AGG_CODE``), rows ``(bucket_start, row_time, col1,
  ...)`` in windows of ``CHUNK_BUCKETS * dt`` seconds;
- level 1 is computed from the raw points when read; it is stored only for the time range whose raw points were
  pruned (``measurements.horizon``).

``start`` is the window start (a multiple of the window length), ``last`` the first column of the last row, ``n``
the row count. A series is one tag combination of a measurement, ``series.tags`` the JSON list of its tag values in
schema order (``"[]"`` without tags); the extra series ``tags = "*"`` (``ACROSS``) holds the stored levels of the
reduction across all tag combinations (its raw points are those of every combination).

Format 1.1 adds, beside the chunks (nothing of format 1 changes, so a 1.1 reader reads a format 1 file, and a
writer upgrades a format 1 file by creating the two tables):

- ``triggers(measurement, time, far, row)``: ligo-scald's ``store_triggers`` data (:mod:`.triggers`), one row per
  measurement and 1 s bin (``time`` = the bin's start, integer GPS seconds), the lowest-FAR trigger of that second;
  ``row`` the JSON object of every column. Keyed by time; indexed by (measurement, far) for FAR cuts. Stored once:
  ligo-scald's nested per-threshold copies are answered by ``far <= ?``.
- ``snapshots(measurement, time, data, dims)``: ligo-scald's ``store_snapshot`` data, ``data``/``dims`` the JSON
  strings it keeps in InfluxDB; the newest per measurement is what a reader gets.

Beside them, ``chunk_changes(series, dt, start, seq)`` and the triggers on ``chunks`` that fill it
(:data:`CHANGES_DDL`): which chunk each commit rewrote, for readers that keep blocks of earlier reads (the
dashboard's cache, through :class:`.blocks.ChangeFeed`). Triggers live in the file, so every writer of it, whatever
its version, keeps the log; readers ignore it, so the format number stays. A writer adds both to an older file.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from array import array
from collections.abc import Callable
from contextlib import contextmanager

from .errors import BackendError
from .schema import LEVELS, Schema, SchemaRegistry, schema_from_dict
from .store import MAX_POINTS, Store

TYPE_CHECKING = False  # not ``from typing import ...``: importing typing costs the plugin ~2 ms
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

FORMAT_VERSION = "1.1"
#: Formats a writer opens: "1" (before triggers and snapshots) is upgraded to FORMAT_VERSION in place.
READABLE_FORMATS = ("1", "1.1")
RAW_SPAN = 100  # seconds of raw data per chunk (a multiple of every stored level's dt divides it: 1 s buckets fit)
CHUNK_BUCKETS = 100  # buckets per aggregate chunk
STORED_LEVELS = tuple(level for level in LEVELS if level > 1)
AGG_CODE = {"min": 1, "median": 2, "max": 3}
ACROSS = "*"
IN_BATCH = 500  # parameters per "IN (...)" list

DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS measurements(name TEXT PRIMARY KEY, schema TEXT NOT NULL, horizon REAL);
CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE(measurement, tags));
CREATE TABLE IF NOT EXISTS chunks(series INTEGER NOT NULL, dt INTEGER NOT NULL, agg INTEGER NOT NULL,
    start INTEGER NOT NULL, last REAL NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY(series, dt, agg, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty(series INTEGER NOT NULL, dt INTEGER NOT NULL, bucket INTEGER NOT NULL,
    PRIMARY KEY(series, dt, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS triggers(measurement TEXT NOT NULL, time INTEGER NOT NULL, far REAL NOT NULL,
    row TEXT NOT NULL, PRIMARY KEY(measurement, time)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS triggers_far ON triggers(measurement, far);
CREATE TABLE IF NOT EXISTS snapshots(measurement TEXT NOT NULL, time REAL NOT NULL, data TEXT NOT NULL,
    dims TEXT NOT NULL, PRIMARY KEY(measurement, time)) WITHOUT ROWID;
"""

#: The change log (``chunk_changes``) of the chunks, and the triggers that keep it. ``seq`` grows with every change
#: (a chunk's row keeps the seq of its latest change), so "what changed since seq S" is one indexed query; the
#: table holds at most one row per chunk that ever existed. ``INSERT OR REPLACE INTO chunks`` fires the insert
#: trigger.
CHANGES_DDL = """
CREATE TABLE IF NOT EXISTS chunk_changes(series INTEGER NOT NULL, dt INTEGER NOT NULL, start INTEGER NOT NULL,
    seq INTEGER NOT NULL, PRIMARY KEY(series, dt, start)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_changes_seq ON chunk_changes(seq);
CREATE TRIGGER IF NOT EXISTS chunks_changed_insert AFTER INSERT ON chunks BEGIN
    INSERT OR REPLACE INTO chunk_changes VALUES (NEW.series, NEW.dt, NEW.start,
        (SELECT IFNULL(MAX(seq), 0) + 1 FROM chunk_changes));
END;
CREATE TRIGGER IF NOT EXISTS chunks_changed_update AFTER UPDATE ON chunks BEGIN
    INSERT OR REPLACE INTO chunk_changes VALUES (OLD.series, OLD.dt, OLD.start,
        (SELECT IFNULL(MAX(seq), 0) + 1 FROM chunk_changes));
    INSERT OR REPLACE INTO chunk_changes VALUES (NEW.series, NEW.dt, NEW.start,
        (SELECT IFNULL(MAX(seq), 0) + 1 FROM chunk_changes));
END;
CREATE TRIGGER IF NOT EXISTS chunks_changed_delete AFTER DELETE ON chunks BEGIN
    INSERT OR REPLACE INTO chunk_changes VALUES (OLD.series, OLD.dt, OLD.start,
        (SELECT IFNULL(MAX(seq), 0) + 1 FROM chunk_changes));
END;
"""
DDL += CHANGES_DDL


def span(dt: int) -> int:
    """Seconds covered by one chunk of level ``dt``."""
    return RAW_SPAN if dt in (0, 1) else CHUNK_BUCKETS * dt


def row_width(schema: Schema, level: int) -> int:
    """float64 values per row at ``level``: the time, plus the bucket start for aggregates, plus the columns."""
    return len(schema.columns) + (1 if level == 0 else 2)


def chunk_bounds(dt: int, start: float | None, end: float | None) -> tuple[int, int]:
    """The ``chunks.start`` range whose windows can hold rows with first column in [start, end]."""
    width = span(dt)
    lo = -(2 ** 62) if start is None else int(math.floor(start / width) * width)
    hi = 2 ** 62 if end is None else int(math.floor(end))
    return lo, hi


def first_time(blob: bytes) -> float:
    """The first column of a chunk's first row (its rows are sorted by it), without decoding the rest."""
    return array("d", blob[:8])[0]


def chunked(seq: Sequence, size: int = IN_BATCH) -> Iterator[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def marks(n: int) -> str:
    return ",".join("?" * n)


def agg_code(aggregate: str | None) -> int:
    """``chunks.agg`` of a stored aggregate; 0 for raw points (``aggregate`` None)."""
    return 0 if aggregate is None else AGG_CODE[aggregate]


def column_offset(schema: Schema, column: str, level: int) -> int:
    """Where ``column`` is in a row of ``level``: after the time, and for aggregates the bucket start."""
    return schema.columns.index(column) + (1 if level == 0 else 2)


class StoreBase(Store):
    """What every SQLite reader and the writer share: opening the file, error translation, schema and series
    lookup, the chunk queries. Subclasses add the reads of :class:`.store.Store` (numpy or plain Python) and, for
    the writer, override :meth:`_open`.
    """

    #: Levels computed from the raw points on read (see the module docstring): a read that falls back along the
    #: levels (:mod:`.levels`) skips them, as they hold nothing the raw points do not; past the raw horizon the
    #: 10 s level answers. Both SQLite readers thus fall back alike.
    derived_levels = (1,)

    def __init__(self, path: str | os.PathLike = ":memory:", timeout: float = 30.0, max_points: int = MAX_POINTS):
        self.path = str(path)
        self.timeout = float(timeout)
        self.max_points = int(max_points)
        self.schemas = SchemaRegistry()
        self._series_cache: dict[tuple[str, str], int] = {}
        with self._errors():
            self._conn = self._open()

    # -- connection -------------------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        """Read-only (``mode=ro``): never creates the file, safe beside a running writer."""
        if self.path == ":memory:":
            raise ValueError("a read-only Consumer cannot open ':memory:'; read through the Aggregator instead")
        if not os.path.exists(self.path):
            raise BackendError(f"{self.path}: no such database (nothing has been stored there yet)")
        uri = "file://" + _quote_path(os.path.realpath(self.path)) + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT COUNT(*) FROM measurements").fetchone()  # fail now on a corrupt or foreign file
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn sqlite3's exceptions into one clear BackendError naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "locked" in msg or "busy" in msg:
                raise BackendError(f"{self.path}: database is locked by another writer "
                                   f"(waited {self.timeout:g} s): {msg}") from None
            if "no such table" in msg:
                raise BackendError(f"{self.path}: not a scald-monitor database") from None
            if "interrupted" in msg:
                raise BackendError(f"{self.path}: query interrupted (it took too long)") from None
            raise BackendError(f"{self.path}: {msg}") from None
        except sqlite3.DatabaseError as exc:
            raise BackendError(f"{self.path}: not a SQLite database, or it is corrupt: {exc}") from None

    def interrupt(self) -> None:
        """Abort the query running on this store's connection in another thread (sqlite3 allows exactly this
        across threads): a query blocked on a locked file or a hung disk holds its thread inside SQLite, where
        nothing else of Python runs until SQLite returns."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.interrupt()
            except sqlite3.ProgrammingError:  # closed meanwhile: the read is over anyway
                pass

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None

    # -- schema and series ------------------------------------------------------------------------------------
    def _discover(self, measurement: str) -> None:
        with self._errors():
            row = self._conn.execute("SELECT schema FROM measurements WHERE name = ?", (measurement,)).fetchone()
        if row is not None:
            self.schemas.add(schema_from_dict(json.loads(row[0])))

    def measurements(self) -> list[str]:
        """Every measurement stored in the file."""
        with self._errors():
            return [r[0] for r in self._conn.execute("SELECT name FROM measurements ORDER BY name")]

    def _series_ids(self, measurement: str) -> dict[tuple[str, ...], int]:
        """Per-tag series of a measurement (not the across-tags one), by tag values."""
        with self._errors():
            rows = self._conn.execute("SELECT id, tags FROM series WHERE measurement = ? AND tags != ?",
                                      (measurement, ACROSS)).fetchall()
        return {tuple(json.loads(tags)): sid for sid, tags in rows}

    def _read_series_id(self, schema: Schema, key: tuple[str, ...] | None) -> int | None:
        """The series to read: a full tag combination, or (``key`` None) the across-tags reduction."""
        if key is None:
            text = ACROSS if schema.tags else "[]"
        else:
            text = json.dumps(list(key))
        with self._errors():
            row = self._conn.execute("SELECT id FROM series WHERE measurement = ? AND tags = ?",
                                     (schema.measurement, text)).fetchone()
        return None if row is None else row[0]

    def _sources(self, schema: Schema, sids: Sequence[int]) -> dict[int, list[int]]:
        """The raw series each series is computed from: itself, or every tag combination for '*'."""
        per_tag = set(self._series_ids(schema.measurement).values())
        every = sorted(per_tag)
        return {sid: [sid] if not schema.tags or sid in per_tag else every for sid in sids}

    # -- triggers and snapshots (format 1.1; a format 1 file has neither table: nothing stored) ---------------
    def _has_table(self, name: str) -> bool:
        with self._errors():
            return self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                      (name,)).fetchone() is not None

    def _triggers(self, measurement: str, start: float | None, end: float | None, far: float | None,
                  far_key: str) -> list[tuple[float, dict]]:
        if not self._has_table("triggers"):
            return []
        q = "SELECT time, row FROM triggers WHERE measurement = ?"
        args: list = [measurement]
        if start is not None:
            q += " AND time >= ?"
            args.append(start)
        if end is not None:
            q += " AND time <= ?"
            args.append(end)
        if far is not None:
            q += " AND far <= ?"
            args.append(far)
        with self._errors():
            rows = self._conn.execute(q + " ORDER BY time", args).fetchall()
        return [(float(t), json.loads(row)) for t, row in rows]

    def _snapshot(self, measurement: str) -> tuple[float, str, str] | None:
        if not self._has_table("snapshots"):
            return None
        with self._errors():
            row = self._conn.execute("SELECT time, data, dims FROM snapshots WHERE measurement = ? "
                                     "ORDER BY time DESC LIMIT 1", (measurement,)).fetchone()
        return None if row is None else (float(row[0]), row[1], row[2])

    # -- chunk queries ----------------------------------------------------------------------------------------
    def _chunk_blobs(self, sids: Sequence[int], dt: int, agg: int, start: float | None, end: float | None
                     ) -> Iterator[tuple[int, bytes]]:
        """``(series, blob)`` of the chunks of the given series/level/aggregate that can hold rows with first column
        in [start, end], by series then time."""
        lo, hi = chunk_bounds(dt, start, end)
        with self._errors():
            for group in chunked(list(sids)):
                q = (f"SELECT series, data FROM chunks WHERE series IN ({marks(len(group))}) "
                     "AND dt = ? AND agg = ? AND start >= ? AND start <= ? ORDER BY series, start")
                yield from self._conn.execute(q, (*group, dt, agg, lo, hi)).fetchall()

    def _newest_chunks(self, sids: Sequence[int], dt: int, agg: int, before: float | None = None
                       ) -> Iterator[tuple[int, bytes]]:
        """``(series, blob)`` of the newest chunk of each given series that has one at this level/aggregate; with
        ``before``, the newest holding a row stamped at or before it (the blob may hold later rows too: the caller
        cuts them)."""
        if before is not None:
            yield from self._newest_chunks_before(sids, dt, agg, before)
            return
        with self._errors():
            for group in chunked(list(sids)):
                q = ("SELECT s.id, (SELECT c.data FROM chunks c WHERE c.series = s.id AND c.dt = ? AND c.agg = ? "
                     f"ORDER BY c.start DESC LIMIT 1) FROM series s WHERE s.id IN ({marks(len(group))})")
                yield from ((sid, blob) for sid, blob in self._conn.execute(q, (dt, agg, *group)).fetchall()
                            if blob is not None)

    def _newest_chunks_before(self, sids: Sequence[int], dt: int, agg: int, before: float
                              ) -> Iterator[tuple[int, bytes]]:
        """One query per series: chunks starting at or before ``before``, newest first, until one's first row (rows
        are sorted, so the blob's first float) is not later than ``before``."""
        _, hi = chunk_bounds(dt, None, before)
        with self._errors():
            for sid in sids:
                cur = self._conn.execute("SELECT data FROM chunks WHERE series = ? AND dt = ? AND agg = ? "
                                         "AND start <= ? ORDER BY start DESC", (sid, dt, agg, hi))
                for (blob,) in cur:
                    if first_time(blob) <= before:
                        yield sid, blob
                        break

    def _raw_points(self, schema: Schema, sids: Sequence[int], read: Callable[[list[int]], dict],
                    by_time: Callable[[list], Any]) -> dict[int, Any]:
        """Raw points of each series: its own, or for the across-tags series '*' those of every tag combination
        merged in time order. ``read`` reads the raw chunks of some series; ``by_time`` merges blocks (the numpy
        and the numpy-free readers each bring their own)."""
        sources = self._sources(schema, sids)
        raw = read(sorted({s for srcs in sources.values() for s in srcs}))
        out = {}
        for sid, srcs in sources.items():
            if srcs == [sid]:
                if sid in raw:
                    out[sid] = raw[sid]
                continue
            blocks = [raw[s] for s in srcs if s in raw]
            if blocks:
                out[sid] = by_time(blocks)
        return out

    def _newest_blobs(self, schema: Schema, sid: int, level: int, agg: int, num: int,
                      rows_in: Callable[[bytes], int], before: float | None = None) -> list[bytes]:
        """Chunk blobs holding (at least) the newest ``num`` rows of a series, newest first per source; for raw
        points "across tags" the sources are every tag combination. ``rows_in`` counts a blob's rows (with
        ``before``: those stamped at or before it; only chunks starting by then are read, the caller cuts)."""
        found: list[bytes] = []
        _, hi = chunk_bounds(level, None, before)
        for source in self._sources(schema, [sid])[sid] if level == 0 else [sid]:
            have = 0
            with self._errors():
                cur = self._conn.execute("SELECT data FROM chunks WHERE series = ? AND dt = ? AND agg = ? "
                                         "AND start <= ? ORDER BY start DESC", (source, level, agg, hi))
                for (blob,) in cur:
                    found.append(blob)
                    have += rows_in(blob)
                    if have >= num:
                        break
        return found


_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


def _quote_path(path: str) -> str:
    """Percent-encode a path for an SQLite URI as ``Path.as_uri`` does, without importing pathlib or urllib."""
    return "".join(chr(b) if b in _URI_SAFE else f"%{b:02X}" for b in os.fsencode(path))
