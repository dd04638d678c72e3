"""The embedded default store: one SQLite file (WAL mode), one writer process and any number of readers.

The file format (chunks of float64 rows per series, level and aggregate; the ``"*"`` across-tags series; level 1
computed from raw points on read) is defined once, in :mod:`.sqlite_layout`, with the plumbing every reader shares;
this module adds the numpy reads and the writer. :mod:`.sqlite_lite` is a numpy-free reader of the same files.

Every aggregate is recomputed exactly from the raw points of its bucket whenever the bucket changes (late,
out-of-order and repeated points included). Buckets still to recompute are kept in the ``dirty`` table in the same
transaction as the raw points, so a crash never loses that work. Coarse levels (≥ 1000 s), whose buckets hold many
raw points, are recomputed at most every ``coarse_delay * dt`` seconds while streaming, and always by ``flush()`` /
``close()``.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time as _time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .decimate import bucket_intervals, decimate_levels, due_levels
from .errors import BackendError
from .schema import AGGREGATES, LEVELS, Schema, writer_schema
from .sqlite_layout import (ACROSS, AGG_CODE, CHUNK_BUCKETS, DDL, FORMAT_VERSION, RAW_SPAN, READABLE_FORMATS,
                            STORED_LEVELS,
                            StoreBase, agg_code, chunked, column_offset, marks, row_width, span)
from .store import MAX_POINTS, LigoScaldLoad, dispatch
from .validate import SeriesBatch, last_wins, normalize_columns, normalize_rows

__all__ = ["ACROSS", "AGG_CODE", "Aggregator", "CHUNK_BUCKETS", "Consumer", "RAW_SPAN"]


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """Distinct values of an already sorted array (cheaper than np.unique)."""
    if values.size == 0:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def _agg_rows(time: np.ndarray, values: np.ndarray, dec, name: str) -> np.ndarray:
    """Rows ``(bucket_start, row_time, cols...)`` of one aggregate of a decimation."""
    idx = dec.index[name]
    return np.column_stack((dec.starts, time[idx], values[idx]))


def _times_values(rows: np.ndarray | None, col: int) -> tuple[list[float], list[float]]:
    """``(times, values of column col)`` of rows read (none: two empty lists)."""
    if rows is None:
        return [], []
    return rows[:, 0].tolist(), rows[:, col].tolist()


def _column_arrays(rows: np.ndarray | None, col: int) -> tuple[np.ndarray, np.ndarray]:
    """``(times, values of column col)`` of rows read, as contiguous arrays (none: two empty arrays)."""
    if rows is None:
        return np.empty(0), np.empty(0)
    return np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, col])


def _rows_by_time(blocks: list[np.ndarray]) -> np.ndarray:
    rows = np.concatenate(blocks)
    return rows[np.argsort(rows[:, 0], kind="stable")]


class _Store(StoreBase):
    """The numpy reads both the Consumer and the Aggregator use (the shared plumbing is in StoreBase)."""

    # -- chunk reads ------------------------------------------------------------------------------------------
    def _read_chunks(self, sids: Sequence[int], width: int, dt: int, agg: int, start: float | None,
                     end: float | None) -> dict[int, np.ndarray]:
        """Rows of the given series/level/aggregate whose first column is in [start, end]."""
        blobs, owners = [], []
        for sid, blob in self._chunk_blobs(sids, dt, agg, start, end):
            blobs.append(blob)
            owners.append(sid)
        if not blobs:
            return {}
        rows = np.frombuffer(b"".join(blobs), dtype=np.float64).reshape(-1, width)
        counts = np.array([len(b) // (8 * width) for b in blobs])
        owner = np.repeat(np.array(owners), counts)
        t = rows[:, 0]
        keep = np.ones(len(t), dtype=bool)
        if start is not None:
            keep &= t >= start
        if end is not None:
            keep &= t <= end
        if not keep.all():
            rows, owner = rows[keep], owner[keep]
        cuts = np.flatnonzero(owner[1:] != owner[:-1]) + 1
        firsts = np.concatenate(([0], cuts)).tolist()
        ends = cuts.tolist() + [len(owner)]
        out = {int(owner[a]): rows[a:b] for a, b in zip(firsts, ends)} if len(owner) else {}
        for sid in set(owners) - set(out):  # a series whose chunks held nothing in [start, end]
            out[sid] = rows[:0]
        return out

    def _level1(self, schema: Schema, sids: Sequence[int], agg: int, start: float, end: float
                ) -> dict[int, np.ndarray]:
        """The 1 s level over [start, end]: stored rows (pruned ranges) plus rows computed from raw points."""
        width = len(schema.columns)
        out = self._read_chunks(sids, width + 2, 1, agg, start, end)
        sources = self._sources(schema, sids)
        needed = sorted({s for srcs in sources.values() for s in srcs})
        raw = self._read_chunks(needed, width + 1, 0, 0, np.floor(start), np.nextafter(np.floor(end) + 1, -np.inf))
        name = {v: k for k, v in AGG_CODE.items()}[agg]
        key = schema.columns.index(schema.column_key)
        computed: dict[int, np.ndarray] = {}
        single = [sid for sid, srcs in sources.items() if srcs == [sid] and sid in raw and len(raw[sid])]
        if single:  # every plain series decimated in one pass
            rows = np.concatenate([raw[sid] for sid in single])
            group = np.repeat(np.arange(len(single)), [len(raw[sid]) for sid in single])
            dec = decimate_levels(rows[:, 0], rows[:, 1 + key], {1: None}, group=group)[1]
            agg_rows = _agg_rows(rows[:, 0], rows[:, 1:], dec, name)
            bounds = np.searchsorted(dec.group, np.arange(len(single) + 1))
            for i, sid in enumerate(single):
                computed[sid] = agg_rows[bounds[i]:bounds[i + 1]]
        for sid, srcs in sources.items():
            if srcs == [sid]:
                continue
            blocks = [raw[s] for s in srcs if s in raw and len(raw[s])]
            if not blocks:
                continue
            rows = np.concatenate(blocks)
            src = np.concatenate([np.full(len(raw[s]), i) for i, s in enumerate(srcs) if s in raw and len(raw[s])])
            dec = decimate_levels(rows[:, 0], rows[:, 1 + key], {1: None}, src)[1]
            computed[sid] = _agg_rows(rows[:, 0], rows[:, 1:], dec, name)
        for sid, rows in computed.items():
            rows = rows[(rows[:, 0] >= start) & (rows[:, 0] <= end)]
            if sid in out and len(out[sid]):
                rows = np.concatenate((out[sid], rows))
                rows = rows[np.argsort(rows[:, 0], kind="stable")]
            out[sid] = rows
        return out

    def _read_level(self, schema: Schema, sids: Sequence[int], level: int, agg: int, start: float,
                    end: float) -> dict[int, np.ndarray]:
        width = row_width(schema, level)
        if level == 1:
            return self._level1(schema, sids, agg, start, end)
        if level == 0:
            return self._raw_points(schema, sids, lambda ids: self._read_chunks(ids, width, 0, 0, start, end),
                                    _rows_by_time)
        return self._read_chunks(sids, width, level, agg, start, end)

    def _latest_rows(self, schema: Schema, sid: int, level: int, agg: int, num: int,
                     before: float | None = None) -> np.ndarray | None:
        """The newest ``num`` rows of a series (stamped at or before ``before``), walking its chunks backwards."""
        if level == 1:
            return self._latest_level1(schema, sid, agg, num, before)
        width = row_width(schema, level)
        if before is None:
            count = lambda blob: len(blob) // (8 * width)  # noqa: E731
        else:
            count = lambda blob: int(np.count_nonzero(np.frombuffer(blob, dtype=np.float64)[::width] <= before))  # noqa: E731
        blobs = self._newest_blobs(schema, sid, level, agg, num, count, before)
        if not blobs:
            return None
        rows = _rows_by_time([np.frombuffer(b, dtype=np.float64).reshape(-1, width) for b in blobs])
        if before is not None:
            rows = rows[rows[:, 0] <= before]
            if not len(rows):
                return None
        return rows[-num:]

    def _latest_level1(self, schema: Schema, sid: int, agg: int, num: int,
                       before: float | None = None) -> np.ndarray | None:
        """Newest 1 s buckets: raw windows walked backwards (a 1 s bucket never straddles two windows)."""
        srcs = self._sources(schema, [sid])[sid]
        bound = "" if before is None else " AND start <= ?"
        with self._errors():
            starts = [r[0] for r in self._conn.execute(
                f"SELECT DISTINCT start FROM chunks WHERE dt = 0 AND series IN ({marks(len(srcs))}){bound} "
                "ORDER BY start DESC", (*srcs, *(() if before is None else (int(np.floor(before)),))))]
        found: list[np.ndarray] = []
        have = 0
        for window in starts:
            last = window + RAW_SPAN - 1 if before is None else min(window + RAW_SPAN - 1, before)
            rows = self._level1(schema, [sid], agg, window, last).get(sid)
            if rows is not None and len(rows):
                found.append(rows)
                have += len(rows)
                if have >= num:
                    break
        if have < num:  # older buckets may be stored (raw pruned)
            older_end = (min(starts) - 1) if starts else None
            if before is not None:
                older_end = before if older_end is None else min(older_end, before)
            older = self._read_chunks([sid], len(schema.columns) + 2, 1, agg, None, older_end).get(sid)
            if older is not None and len(older):
                found.append(older)
        if not found:
            return None
        rows = np.concatenate(found)
        return rows[np.argsort(rows[:, 0], kind="stable")][-num:]

    # -- the primitives of the store interface (.store.Store) ---------------------------------------------------
    def _series(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> tuple[list[float], list[float]]:
        sid = self._read_series_id(schema, key)
        rows = None if sid is None else self._read_level(schema, [sid], level, agg_code(aggregate), start,
                                                         end).get(sid)
        return _times_values(rows, column_offset(schema, column, level))

    def _series_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict[tuple[str, ...], tuple[list[float], list[float]]]:
        """Every tag combination's points, read in one query."""
        col = column_offset(schema, column, level)
        ids = self._series_ids(schema.measurement)
        rows = self._read_level(schema, list(ids.values()), level, agg_code(aggregate), start, end)
        return {tags: _times_values(rows[sid], col) for tags, sid in ids.items() if sid in rows and len(rows[sid])}

    def _arrays(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """As ``_series``, the rows' columns as arrays (no lists of a million floats)."""
        sid = self._read_series_id(schema, key)
        rows = None if sid is None else self._read_level(schema, [sid], level, agg_code(aggregate), start,
                                                         end).get(sid)
        return _column_arrays(rows, column_offset(schema, column, level))

    def _arrays_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]]:
        col = column_offset(schema, column, level)
        ids = self._series_ids(schema.measurement)
        rows = self._read_level(schema, list(ids.values()), level, agg_code(aggregate), start, end)
        return {tags: _column_arrays(rows[sid], col) for tags, sid in ids.items() if sid in rows and len(rows[sid])}

    def _latest(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                num: int, before: float | None = None) -> tuple[list[float], list[float]]:
        sid = self._read_series_id(schema, key)
        rows = None if sid is None else self._latest_rows(schema, sid, level, agg_code(aggregate), num, before)
        return _times_values(rows, column_offset(schema, column, level))

    def _latest_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str,
                       before: float | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        """The newest point of every tag combination, in one query (with ``before``: one per combination); the 1 s
        level from the newest raw chunk."""
        col = column_offset(schema, column, level)
        by_sid = {sid: tags for tags, sid in self._series_ids(schema.measurement).items()}
        stored_level, stored_agg = (0, 0) if level == 1 else (level, agg_code(aggregate))
        width = row_width(schema, stored_level)
        key = schema.columns.index(schema.column_key)
        out = {}
        for sid, blob in self._newest_chunks(list(by_sid), stored_level, stored_agg, before):
            rows = np.frombuffer(blob, dtype=np.float64).reshape(-1, width)
            if before is not None:
                rows = rows[rows[:, 0] <= before]
            if level == 1:
                rows = rows[rows[:, 0] >= np.floor(rows[-1, 0])]
                dec = decimate_levels(rows[:, 0], rows[:, 1 + key], {1: None})[1]
                rows = _agg_rows(rows[:, 0], rows[:, 1:], dec, aggregate)
            out[by_sid[sid]] = (float(rows[-1, 0]), float(rows[-1, col]))
        return out


class Consumer(_Store):
    """Read-only access (``mode=ro``): never creates the database file, safe beside a running writer."""

    def __init__(self, path: str | os.PathLike, timeout: float = 30.0, max_points: int = MAX_POINTS, **_: Any):
        super().__init__(path, timeout=timeout, max_points=max_points)


class Aggregator(_Store, LigoScaldLoad):
    """Stores rows or columns of data and keeps exact min/median/max decimations at 1 s ... 100000 s.

    ``Aggregator(path=FILE)`` creates the file when needed. ``raw_retention`` (seconds) bounds how long raw points
    are kept (None: forever); aggregates are kept forever. The constructor takes ligo-scald's keyword arguments
    (``reduce_dt``, ``reduce_across_tags``...) and ignores those that do not apply to SQLite.
    """

    def __init__(self, path: str | os.PathLike = ":memory:", raw_retention: float | None = None,
                 timeout: float = 30.0, coarse_delay: float = 0.01, max_points: int = MAX_POINTS, **_: Any):
        if raw_retention is not None and not raw_retention > 0:
            raise ValueError(f"raw_retention must be a positive number of seconds or None, got {raw_retention!r}")
        self.raw_retention = raw_retention
        self.coarse_delay = float(coarse_delay)
        self._last_run: dict[tuple[str, int], float] = {}
        super().__init__(path, timeout=timeout, max_points=max_points)

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        version = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if version is not None and version[0] not in READABLE_FORMATS:  # checked before anything is created
            conn.close()
            raise BackendError(f"{self.path}: storage format {version[0]} is not supported (expected one of "
                               f"{', '.join(READABLE_FORMATS)})")
        conn.executescript(DDL)  # creates what is missing: a format 1 file gains the triggers/snapshots tables
        conn.execute("INSERT INTO meta VALUES ('format', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (FORMAT_VERSION,))
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything in it lands, or nothing does."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._series_cache.clear()  # ids created in the rolled-back transaction are gone
                raise
            self._conn.execute("COMMIT")

    # -- schema -----------------------------------------------------------------------------------------------
    def register_schema(self, measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                        tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                        aggregate: str | None = None) -> Schema:
        """Declare a measurement (ligo-scald's signature); persisted so that readers know it without a config."""
        schema = writer_schema(measurement, columns, column_key, tags, tag_key, aggregate)
        if measurement not in self.schemas:
            self._discover(measurement)  # a stored schema: the new one must agree with it
        self.schemas.add(schema)  # raises if the columns or tags differ from what is stored
        with self._transaction() as conn:
            conn.execute("INSERT INTO measurements(name, schema) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
                         "SET schema = excluded.schema", (measurement, json.dumps(schema.to_dict())))
        return schema

    # -- writes -----------------------------------------------------------------------------------------------
    def store_columns(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        """Store ``{tags: {'time': [...], 'fields': {col: [...]}}}``; returns the number of points stored.

        ``aggregate`` is accepted for ligo-scald compatibility: min, median and max are always all kept.
        """
        schema = self.schema(measurement)
        return self._store(schema, normalize_columns(schema, data))

    def store_rows(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        """Store ``{tags: [{'time': t, 'fields': {col: v}}, ...]}``; returns the number of points stored."""
        schema = self.schema(measurement)
        return self._store(schema, normalize_rows(schema, data))

    def _store(self, schema: Schema, batches: list[SeriesBatch]) -> int:
        with self._transaction() as conn:
            horizon = conn.execute("SELECT horizon FROM measurements WHERE name = ?",
                                   (schema.measurement,)).fetchone()[0]
            oldest = min(float(b.time.min()) for b in batches)
            if horizon is not None and oldest < horizon:
                raise ValueError(f"{schema.measurement}: a point at GPS {oldest} is older than GPS {horizon}, "
                                 f"before which raw points were pruned (raw_retention={self.raw_retention}); "
                                 "its exact aggregates cannot be recomputed")
            across = self._series_id(schema.measurement, ACROSS) if schema.tags else None
            pending: dict[int, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
            for batch in batches:
                sid = self._series_id(schema.measurement, json.dumps(list(batch.tags)))
                rows = np.column_stack(last_wins(batch.time, batch.values))
                self._upsert(sid, 0, 0, rows, rows[:, 0])
                for level in STORED_LEVELS:
                    buckets = _distinct_sorted(np.floor(rows[:, 0] / level).astype(np.int64))
                    for target in (sid,) if across is None else (sid, across):
                        pending[target][level].append(buckets)
            merged = {sid: {lv: np.unique(np.concatenate(b)) for lv, b in levels.items()}
                      for sid, levels in pending.items()}
            self._process_dirty(schema, force=False, pending=merged)
        return sum(len(b.time) for b in batches)

    def store_triggers(self, measurement: str, rows: Sequence[Mapping[str, Any]], far_key: str = "far",
                       time_key: str = "end") -> int:
        """ligo-scald's ``store_triggers``: keep the lowest-FAR trigger of each second (FAR <= 1e-2), also against
        what is already stored; every row is checked first (ValueError, nothing stored). Returns the number of
        seconds written. No schema needed."""
        from .triggers import normalize_triggers

        found = normalize_triggers(measurement, rows, far_key, time_key)
        if not found:
            return 0
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO triggers VALUES (?, ?, ?, ?) ON CONFLICT(measurement, time) DO UPDATE SET "
                "far = excluded.far, row = excluded.row WHERE excluded.far < triggers.far",
                [(measurement, b, far, json.dumps(row, allow_nan=False)) for b, far, row in found])
            return conn.total_changes - before

    def store_snapshot(self, measurement: str, data: Mapping[str, Any], dims: Mapping[str, str], time: float,
                       **attrs: Any) -> None:
        """ligo-scald's ``store_snapshot``: one ``data``/``dims`` point at ``time`` (a later one at the same time
        replaces it); ``attrs`` accepted and, as by ligo-scald, not stored."""
        from .triggers import normalize_snapshot

        t, data_json, dims_json = normalize_snapshot(measurement, data, dims, time)
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", (measurement, t, data_json,
                                                                                 dims_json))

    def store(self, data_type: str, *args: Any, **kwargs: Any) -> Any:
        """ligo-scald's dispatch: ``rows``, ``columns``, ``triggers`` or ``snapshot``."""
        return dispatch(self, data_type, *args, **kwargs)

    def flush(self) -> None:
        """Bring every aggregate level up to date (coarse levels are otherwise refreshed periodically)."""
        with self._errors():
            names = [r[0] for r in self._conn.execute(
                "SELECT DISTINCT s.measurement FROM dirty d JOIN series s ON s.id = d.series")]
        for name in sorted(set(names) | {s.measurement for s in self.schemas}):
            schema = self.schema(name)
            with self._transaction():
                self._process_dirty(schema, force=True)

    def close(self) -> None:
        if getattr(self, "_conn", None) is not None:
            try:
                self.flush()
            finally:
                super().close()

    def _series_id(self, measurement: str, tags_json: str) -> int:
        key = (measurement, tags_json)
        sid = self._series_cache.get(key)
        if sid is None:
            self._conn.execute("INSERT OR IGNORE INTO series(measurement, tags) VALUES (?, ?)", key)
            sid = self._conn.execute("SELECT id FROM series WHERE measurement = ? AND tags = ?", key).fetchone()[0]
            self._series_cache[key] = sid
        return sid

    def _upsert(self, sid: int, dt: int, agg: int, new_rows: np.ndarray, drop_keys: np.ndarray) -> None:
        """Merge ``new_rows`` (sorted by first column) into the chunks of one series/level/aggregate.

        Existing rows whose first column is in ``drop_keys`` are removed first: for raw points this makes a
        repeated time replace the old point; for aggregates it replaces (or removes) the recomputed buckets.
        """
        window = span(dt)
        new_chunk = (np.floor(new_rows[:, 0] / window) * window).astype(np.int64)
        starts = np.union1d(_distinct_sorted(new_chunk), (np.floor(drop_keys / window) * window).astype(np.int64))
        width = new_rows.shape[1]
        existing = {}
        for group in chunked(starts.tolist()):
            q = (f"SELECT start, data FROM chunks WHERE series = ? AND dt = ? AND agg = ? "
                 f"AND start IN ({marks(len(group))})")
            for start, blob in self._conn.execute(q, (sid, dt, agg, *group)):
                existing[start] = np.frombuffer(blob, dtype=np.float64).reshape(-1, width)
        bounds = np.searchsorted(new_chunk, starts, side="left").tolist() + [len(new_chunk)]
        writes, deletes = [], []
        for i, start in enumerate(starts.tolist()):
            rows = new_rows[bounds[i]:bounds[i + 1]]
            old = existing.get(start)
            if old is not None:
                old = old[~np.isin(old[:, 0], drop_keys)]
                if len(old):
                    rows = np.concatenate((old, rows))
                    rows = rows[np.argsort(rows[:, 0], kind="stable")]
            if len(rows):
                writes.append((sid, dt, agg, start, float(rows[-1, 0]), len(rows),
                               np.ascontiguousarray(rows).tobytes()))
            elif old is not None:
                deletes.append((sid, dt, agg, start))
        if writes:
            self._conn.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", writes)
        if deletes:
            self._conn.executemany("DELETE FROM chunks WHERE series = ? AND dt = ? AND agg = ? AND start = ?",
                                   deletes)

    def _process_dirty(self, schema: Schema, force: bool,
                       pending: Mapping[int, Mapping[int, np.ndarray]] | None = None) -> None:
        """Recompute the dirty buckets of the levels that are due, inside the caller's transaction.

        ``pending`` holds the buckets this store call touched; those of levels not yet due are recorded in the
        ``dirty`` table for a later call or ``flush()``.
        """
        m = schema.measurement
        due = due_levels(self._last_run, m, STORED_LEVELS, force, self.coarse_delay, _time.monotonic())
        work: dict[int, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
        later = []
        for sid, levels in (pending or {}).items():
            for level, buckets in levels.items():
                if level in due:
                    work[sid][level].append(buckets)
                else:
                    later.extend((sid, level, b) for b in buckets.tolist())
        if later:
            self._conn.executemany("INSERT OR IGNORE INTO dirty VALUES (?, ?, ?)", later)
        stored = self._conn.execute(
            f"SELECT d.series, d.dt, d.bucket FROM dirty d JOIN series s ON s.id = d.series "
            f"WHERE s.measurement = ? AND d.dt IN ({marks(len(due))})", (m, *due)).fetchall()
        for sid, level, bucket in stored:
            work[sid][level].append(np.array([bucket], dtype=np.int64))
        if stored:
            self._conn.executemany("DELETE FROM dirty WHERE series = ? AND dt = ? AND bucket = ?", stored)
        now = _time.monotonic()
        for level in due:
            self._last_run[(m, level)] = now
        for sid, levels in work.items():
            self._recompute(schema, sid, {lv: np.unique(np.concatenate(b)) for lv, b in levels.items()})
        self._prune(schema)

    def _recompute(self, schema: Schema, sid: int, buckets: Mapping[int, np.ndarray]) -> None:
        """Recompute the given buckets (per level) of one series from the raw points of its sources."""
        sources = self._sources(schema, [sid])[sid]
        raw_t, raw_v, raw_src = self._raw_for(schema, sources, buckets)
        masks = {}
        for level, b in buckets.items():
            inside = np.isin(np.floor(raw_t / level).astype(np.int64), b)
            masks[level] = None if inside.all() else inside
        key = schema.columns.index(schema.column_key)
        decs = decimate_levels(raw_t, raw_v[:, key], masks, raw_src if len(sources) > 1 else None)
        for level, dec in decs.items():
            for name in AGGREGATES:  # indices from decimate_levels refer to the full raw arrays
                rows = _agg_rows(raw_t, raw_v, dec, name)
                self._upsert(sid, level, AGG_CODE[name], rows, buckets[level].astype(np.float64) * level)

    def _raw_for(self, schema: Schema, sources: list[int], buckets: Mapping[int, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw points of ``sources`` covering the given buckets: one read per disjoint interval."""
        width = len(schema.columns) + 1
        ts, vs, ss = [], [], []
        for lo, hi in bucket_intervals(buckets):
            chunks = self._read_chunks(sources, width, 0, 0, lo, np.nextafter(hi, -np.inf))
            for i, sid in enumerate(sources):
                rows = chunks.get(sid)
                if rows is not None and len(rows):
                    ts.append(rows[:, 0])
                    vs.append(rows[:, 1:])
                    ss.append(np.full(len(rows), i, dtype=np.int64))
        if not ts:
            return np.empty(0), np.empty((0, len(schema.columns))), np.empty(0, dtype=np.int64)
        return np.concatenate(ts), np.concatenate(vs), np.concatenate(ss)

    def _prune(self, schema: Schema) -> None:
        """Drop raw points older than ``raw_retention`` after storing their 1 s level.

        The cut is aligned to the coarsest bucket and never passes a bucket still waiting to be recomputed, so
        every stored aggregate stays exact.
        """
        if self.raw_retention is None:
            return
        conn = self._conn
        sids = sorted(self._series_ids(schema.measurement).values())
        if not sids:
            return
        newest = conn.execute(f"SELECT MAX(last) FROM chunks WHERE dt = 0 AND series IN ({marks(len(sids))})",
                              sids).fetchone()[0]
        if newest is None:
            return
        coarsest = LEVELS[-1]
        horizon = float(np.floor((newest - self.raw_retention) / coarsest) * coarsest)
        pending = conn.execute("SELECT MIN(bucket * dt) FROM dirty WHERE series IN (SELECT id FROM series "
                               "WHERE measurement = ?)", (schema.measurement,)).fetchone()[0]
        if pending is not None:
            horizon = min(horizon, float(np.floor(pending / coarsest) * coarsest))
        old = conn.execute("SELECT horizon FROM measurements WHERE name = ?", (schema.measurement,)).fetchone()[0]
        if old is not None and horizon <= old:
            return
        oldest = conn.execute(f"SELECT MIN(start) FROM chunks WHERE dt = 0 AND series IN ({marks(len(sids))})",
                              sids).fetchone()[0]
        if oldest is None or oldest >= horizon:
            conn.execute("UPDATE measurements SET horizon = ? WHERE name = ?", (horizon, schema.measurement))
            return
        targets = sids + ([self._series_id(schema.measurement, ACROSS)] if schema.tags else [])
        for window in range(int(oldest), int(horizon), coarsest):  # keep the 1 s level of what is pruned
            end = min(window + coarsest, horizon) - 1e-9
            for agg_name, code in AGG_CODE.items():
                level1 = self._level1(schema, targets, code, window, end)
                for sid, rows in level1.items():
                    if len(rows):
                        self._upsert(sid, 1, code, rows, rows[:, 0])
        conn.execute(f"DELETE FROM chunks WHERE dt = 0 AND series IN ({marks(len(sids))}) AND start + ? <= ?",
                     (*sids, RAW_SPAN, int(horizon)))
        conn.execute("UPDATE measurements SET horizon = ? WHERE name = ?", (horizon, schema.measurement))
