"""The caches of ``scald serve``: aligned blocks of stored timeseries, and whole answers of identical requests.

Why blocks. A live dashboard asks every few seconds for a window ending at its browser's now: every request is a
distinct URL, so a cache of answers shares nothing, and each request used to cost the backend a full read. As in
the query frontends of Thanos and Cortex, a read of level ``dt`` over [start, end] is split into blocks aligned to
``BLOCK_BUCKETS * dt`` seconds (raw points: ``RAW_BLOCK`` s); blocks are kept in memory (LRU, bounded in bytes) and
only what is missing is read from the backend, consecutive missing blocks in one read. Every read of the API goes
through :class:`CachedStore`, which answers the store interface's ``retrieve_*`` calls, so the fall back along the
levels (:mod:`scald_monitor.io.levels`) and the ``X-Scald-Source`` header work on it exactly as on a store.

When a block may be kept (correctness first: an answer from blocks equals a read of the backend):

- SQLite: every block, the open one at the edge included, until the file says it changed: each request first asks
  the file's :class:`~scald_monitor.io.blocks.ChangeFeed` (``PRAGMA data_version``, then the chunks the writer's
  commits rewrote) and drops the blocks those chunks overlap. A block read while a commit touched it is not kept.
- InfluxDB: other writers (ligo-scald, other hosts) cannot tell us what they write, so a block is kept only once
  it ended more than ``cache_settle`` seconds (the backend's setting, default 600) plus one bucket ago, as Thanos'
  ``max-cache-freshness``: a point written later than that into an older block is not seen until the block leaves
  the cache. Newer blocks are read from influxd, shared by the requests that need them at the same time, and
  reused for ``ttl`` seconds (the answers' own acceptable age, as for identical requests below; 0: not reused).

Concurrent requests missing the same block wait for one read of it (single flight). ``/api/stats`` shows the
counters (:meth:`BlockCache.stats`), which are also logged once a minute at debug level.

Why whole answers too (:class:`ResponseCache`): many browsers showing the same page send the same URLs; the first
request for a URL computes the answer and identical requests in the next ``ttl`` seconds (default 5) get the same
bytes. Data routes tell clients ``Cache-Control: max-age=10``: an answer up to that old is acceptable. On SQLite the
key includes the file's change count, so a commit ends the sharing at once. Errors are never cached.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..io.blocks import EVERYTHING, Change, ChangeFeed, overlaps, time_keys
from ..io.store import REDUCE, check_column, check_range, series_key
from ..timeutil import gps_now

log = logging.getLogger("scald_monitor.serve")

#: Buckets per block at aggregate levels: a block of level dt covers ``BLOCK_BUCKETS * dt`` seconds.
BLOCK_BUCKETS = 100
#: Seconds per block of raw points (the 1 s level's block).
RAW_BLOCK = 100
#: A read spanning more blocks than this goes straight to the backend (a rare fallback over a long window at a
#: fine level would otherwise fill the cache with thousands of mostly empty blocks).
MAX_BLOCKS = 256
#: Bytes the blocks may take by default (an estimate of their Python objects: see :func:`_size`).
DEFAULT_MAX_BYTES = 128 << 20
#: Seconds after its end before an InfluxDB block is kept (the backend setting ``cache_settle``).
DEFAULT_SETTLE = 600.0
#: Seconds between two debug log lines of the counters.
LOG_EVERY = 60.0
#: Changes remembered to decide whether a block read while a commit landed may be kept.
HISTORY = 4096


# ---------------------------------------------------------------------------------------------------- answers


class ResponseCache:
    """Whole answers by key (URL plus the backend's change count), for ``ttl`` seconds; bounded in entries (LRU)."""

    def __init__(self, ttl: float = 5.0, size: int = 512):
        self.ttl, self.size = float(ttl), int(size)
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}

    def get(self, key: str) -> bytes | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            stamp, body = item
            if time.monotonic() - stamp > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (time.monotonic(), body)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def wait_or_lead(self, key: str, timeout: float = 30.0) -> bool:
        """Collapse a burst of identical misses: True for the one request that should compute the answer; the
        others wait (up to ``timeout``) for it and then read the cache."""
        with self._lock:
            event = self._inflight.get(key)
            if event is None:
                self._inflight[key] = threading.Event()
                return True
        event.wait(timeout)
        return False

    def done(self, key: str) -> None:
        with self._lock:
            event = self._inflight.pop(key, None)
        if event is not None:
            event.set()


# ---------------------------------------------------------------------------------------------------- blocks


class _Backend:
    """How the blocks of one configured backend may be kept: by its change feed (SQLite) or by age (InfluxDB)."""

    def __init__(self, name: str, kind: str, feed: ChangeFeed | None = None, settle: float = DEFAULT_SETTLE):
        self.name, self.kind, self.feed, self.settle = name, kind, feed, float(settle)
        self.epoch = 0  # changes seen so far (SQLite): answers' keys and fills compare it
        self.history: deque[tuple[int, Change | None]] = deque(maxlen=HISTORY)  # (epoch, change; None: all)

    @property
    def exact(self) -> bool:
        """True when the backend tells every change (SQLite): every block may be kept until it changes."""
        return self.feed is not None


class _Entry:
    __slots__ = ("value", "size", "expires", "backend", "measurement", "level", "lo", "hi")

    def __init__(self, value: Any, size: int, expires: float | None, backend: str, measurement: str, level: int,
                 lo: float, hi: float):
        self.value, self.size, self.expires = value, size, expires
        self.backend, self.measurement, self.level, self.lo, self.hi = backend, measurement, level, lo, hi


class _Flight:
    """One read in progress that other requests wait for: its value (None if it failed) and the epoch it began at."""

    __slots__ = ("event", "value", "seen", "ok")

    def __init__(self, seen: int):
        self.event = threading.Event()
        self.value: Any = None
        self.seen = seen
        self.ok = False


class BlockCache:
    """Blocks of reads, shared by every thread of the app; one lock, held only for dictionary work and the SQLite
    change polls (a function call when nothing changed)."""

    def __init__(self, backends: Mapping[str, Mapping[str, Any]] | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 ttl: float = 5.0, settle: float | None = None):
        self.max_bytes = int(max_bytes)
        self.ttl = float(ttl)
        self._backends: dict[str, _Backend] = {}
        for name, entry in (backends or {}).items():
            kind = entry.get("backend")
            if kind == "sqlite" and entry.get("path") and str(entry.get("path")) != ":memory:":
                self._backends[name] = _Backend(name, kind, feed=ChangeFeed(entry["path"]))
            elif kind == "influxdb":
                value = entry.get("cache_settle")
                if value is None:
                    value = DEFAULT_SETTLE if settle is None else settle
                self._backends[name] = _Backend(name, kind, settle=float(value))
        self._lru: OrderedDict[tuple, _Entry] = OrderedDict()
        self._by_measurement: dict[tuple[str, str], set[tuple]] = {}
        self._flights: dict[tuple, _Flight] = {}
        self._lock = threading.Lock()
        self.bytes = 0
        self.counters = {"hits": 0, "misses": 0, "shared": 0, "backend_reads": 0, "bypassed_reads": 0,
                         "evictions": 0, "invalidations": 0, "refused_fills": 0}
        self._last_log = time.monotonic()

    # -- public -------------------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 or self.ttl > 0

    def wrap(self, store: Any, backend: str) -> Any:
        """``store`` (this thread's reader of ``backend``) behind the cache, after taking in the backend's changes;
        the store itself when its kind cannot be cached or the cache is off."""
        policy = self._backends.get(backend)
        if policy is None or not self.enabled:
            return store
        self.sync(backend)
        return CachedStore(store, self, policy)

    def token(self, backend: str) -> str:
        """What an identical-request answer of ``backend`` must share besides its URL: the SQLite change count
        (synced now), nothing for a backend that cannot tell its changes."""
        policy = self._backends.get(backend)
        if policy is None or not policy.exact:
            return ""
        self.sync(backend)
        return str(policy.epoch)

    def sync(self, backend: str) -> None:
        """Take in what changed in ``backend`` since the last look (SQLite), dropping the blocks it touched."""
        policy = self._backends.get(backend)
        if policy is None or policy.feed is None:
            return
        with self._lock:
            self._sync(policy)

    def stats(self) -> dict:
        """The counters of ``/api/stats``: blocks served from memory vs read, bytes held, backend reads."""
        with self._lock:
            c = dict(self.counters)
            blocks = len(self._lru)
            held = self.bytes
        looked = c["hits"] + c["misses"]
        return {
            "blocks": {"hits": c["hits"], "misses": c["misses"], "shared": c["shared"],
                       "hit_ratio": round(c["hits"] / looked, 4) if looked else None,
                       "held": blocks, "bytes": held, "max_bytes": self.max_bytes,
                       "evictions": c["evictions"], "invalidations": c["invalidations"],
                       "refused_fills": c["refused_fills"]},
            "backend": {"reads": c["backend_reads"] + c["bypassed_reads"], "block_reads": c["backend_reads"],
                        "uncached_reads": c["bypassed_reads"]},
            "settings": {"block_buckets": BLOCK_BUCKETS, "raw_block": RAW_BLOCK, "ttl": self.ttl,
                         "backends": {p.name: ({"kind": p.kind, "invalidation": "change feed"} if p.exact else
                                               {"kind": p.kind, "cache_settle": p.settle})
                                      for p in self._backends.values()}},
        }

    def maybe_log(self) -> None:
        """The counters at debug level, at most once a minute (called on the way out of each data request)."""
        now = time.monotonic()
        if now - self._last_log < LOG_EVERY:
            return
        self._last_log = now
        if log.isEnabledFor(logging.DEBUG):
            s = self.stats()
            b = s["blocks"]
            log.debug("block cache: %d hits, %d misses (hit ratio %s), %d shared, %d blocks in %d of %d bytes, "
                      "%d backend reads, %d evictions, %d invalidations", b["hits"], b["misses"], b["hit_ratio"],
                      b["shared"], b["held"], b["bytes"], b["max_bytes"], s["backend"]["reads"], b["evictions"],
                      b["invalidations"])

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def close(self) -> None:
        for policy in self._backends.values():
            if policy.feed is not None:
                policy.feed.close()

    # -- under the lock -----------------------------------------------------------------------------------------
    def _sync(self, policy: _Backend) -> None:
        changes = policy.feed.poll()
        if changes == []:
            return
        policy.epoch += 1
        if changes is EVERYTHING:
            policy.history.append((policy.epoch, None))
            doomed = [key for key, entry in self._lru.items() if entry.backend == policy.name]
        else:
            doomed = []
            for change in changes:
                policy.history.append((policy.epoch, change))
                for key in self._by_measurement.get((policy.name, change.measurement), ()):
                    entry = self._lru[key]
                    if overlaps(change, entry.level, entry.lo, entry.hi):
                        doomed.append(key)
        for key in doomed:
            if key in self._lru:
                self._drop(key)
                self.counters["invalidations"] += 1

    def _unchanged_since(self, policy: _Backend, seen: int, measurement: str, level: int, lo: float,
                         hi: float) -> bool:
        """Whether nothing seen after epoch ``seen`` may have touched this block (syncing first)."""
        if not policy.exact:
            return True
        self._sync(policy)
        if policy.epoch == seen:
            return True
        if not policy.history or policy.history[0][0] > seen + 1:
            return False  # forgotten: assume the worst
        for epoch, change in policy.history:
            if epoch <= seen:
                continue
            if change is None or (change.measurement == measurement and overlaps(change, level, lo, hi)):
                return False
        return True

    def _get(self, key: tuple, now: float) -> Any:
        entry = self._lru.get(key)
        if entry is None:
            return None
        if entry.expires is not None and now >= entry.expires:
            self._drop(key)
            return None
        self._lru.move_to_end(key)
        return entry.value

    def _put(self, key: tuple, entry: _Entry) -> None:
        if key in self._lru:
            self._drop(key)
        if entry.size > self.max_bytes:
            return
        self._lru[key] = entry
        self.bytes += entry.size
        self._by_measurement.setdefault((entry.backend, entry.measurement), set()).add(key)
        while self.bytes > self.max_bytes and self._lru:
            oldest = next(iter(self._lru))
            self._drop(oldest)
            self.counters["evictions"] += 1

    def _drop(self, key: tuple) -> None:
        entry = self._lru.pop(key)
        self.bytes -= entry.size
        index = self._by_measurement.get((entry.backend, entry.measurement))
        if index is not None:
            index.discard(key)
            if not index:
                del self._by_measurement[(entry.backend, entry.measurement)]

    # -- the fill protocol, for CachedStore -------------------------------------------------------------------
    def fetch(self, policy: _Backend, keys: Sequence[tuple], spans: Sequence[tuple[float, float]],
              keep: Sequence[bool], measurement: str, level: int,
              read: Callable[[list[int]], list[Any]], size: Callable[[Any], int]) -> list[Any]:
        """The values of blocks ``keys`` (covering ``spans``): from memory, from a read in progress, or read now.

        ``read(indices)`` reads consecutive blocks (indices into ``keys``) from the backend in one call and returns
        their values; ``keep[i]`` says whether block i may be kept for good (else for ``ttl`` seconds at most, and
        never on SQLite, where every block is exact). Blocks read while a commit may have touched them are used
        for this answer only if nothing overlapping changed, and kept only then.
        """
        now = time.monotonic()
        values: list[Any] = [None] * len(keys)
        mine: list[int] = []
        theirs: list[tuple[int, _Flight]] = []
        with self._lock:
            seen = policy.epoch
            for i, key in enumerate(keys):
                value = self._get(key, now)
                if value is not None:
                    values[i] = value
                    self.counters["hits"] += 1
                    continue
                self.counters["misses"] += 1
                flight = self._flights.get(key)
                if flight is not None:
                    theirs.append((i, flight))
                else:
                    self._flights[key] = _Flight(seen)
                    mine.append(i)
        try:
            self._read_runs(policy, keys, spans, keep, measurement, level, read, size, mine, values, seen)
        finally:
            with self._lock:
                for i in mine:
                    flight = self._flights.pop(keys[i], None)
                    if flight is not None:
                        flight.event.set()
        retry = []
        for i, flight in theirs:
            flight.event.wait(30.0)
            ok = flight.ok
            if ok:
                with self._lock:
                    ok = self._unchanged_since(policy, flight.seen, measurement, level, *spans[i])
            if ok:
                values[i] = flight.value
                self.count("shared")
            else:
                retry.append(i)
        if retry:
            with self._lock:
                seen = policy.epoch
            self._read_runs(policy, keys, spans, keep, measurement, level, read, size, retry, values, seen,
                            flights=False)
        self.maybe_log()
        return values

    def _read_runs(self, policy: _Backend, keys: Sequence[tuple], spans: Sequence[tuple[float, float]],
                   keep: Sequence[bool], measurement: str, level: int, read: Callable[[list[int]], list[Any]],
                   size: Callable[[Any], int], todo: list[int], values: list[Any], seen: int,
                   flights: bool = True) -> None:
        for run in _runs(todo):
            got = read(run)
            self.count("backend_reads")
            now = time.monotonic()
            with self._lock:
                for i, value in zip(run, got):
                    values[i] = value
                    fresh = self._unchanged_since(policy, seen, measurement, level, *spans[i])
                    flight = self._flights.get(keys[i]) if flights else None
                    if flight is not None and fresh:
                        flight.value, flight.ok = value, True
                    if not fresh:
                        self.counters["refused_fills"] += 1
                        continue
                    if policy.exact or keep[i]:
                        expires = None
                    elif self.ttl > 0:
                        expires = now + self.ttl
                    else:
                        continue
                    if self.max_bytes > 0:
                        self._put(keys[i], _Entry(value, size(value), expires, policy.name, measurement, level,
                                                  *spans[i]))


def _runs(indices: list[int]) -> Iterable[list[int]]:
    """Consecutive indices grouped: each run is read from the backend in one call."""
    run: list[int] = []
    for i in sorted(indices):
        if run and i != run[-1] + 1:
            yield run
            run = []
        run.append(i)
    if run:
        yield run


# ---------------------------------------------------------------------------------------------------- the store


#: Estimated bytes per point of a block (a time and a value as Python floats in lists, plus the float64 key).
POINT_BYTES = 72
#: Estimated bytes of a block's own objects (entry, key, lists, array header).
BLOCK_BYTES = 400


def _size(value: Any) -> int:
    """Bytes a block's value is counted for: its points and its series (an estimate, see :data:`POINT_BYTES`)."""
    if isinstance(value, dict):
        return BLOCK_BYTES + sum(BLOCK_BYTES + POINT_BYTES * len(k) for k, _, _ in value.values())
    if isinstance(value, tuple) and len(value) == 3:
        return BLOCK_BYTES + POINT_BYTES * len(value[0])
    return BLOCK_BYTES


def block_width(level: int) -> int:
    """Seconds covered by one block of ``level`` (0: raw points)."""
    return RAW_BLOCK if level == 0 else BLOCK_BUCKETS * level


def uncached(store: Any) -> Any:
    """The backend's own reader behind a :class:`CachedStore` (for reads outside the store interface)."""
    return store.inner if isinstance(store, CachedStore) else store


class CachedStore:
    """The store interface's reads (``retrieve_*``) answered from aligned blocks; everything else is the store's.

    Made per request around the thread's reader (cheap): the blocks live in the shared :class:`BlockCache`.
    """

    def __init__(self, store: Any, cache: BlockCache, policy: _Backend):
        self.inner = store
        self._cache = cache
        self._policy = policy
        self._now = gps_now()

    def __getattr__(self, name: str) -> Any:  # schema, resolve, derived_levels, max_points, measurements...
        return getattr(self.inner, name)

    # -- reads of windows -------------------------------------------------------------------------------------
    def retrieve_timeseries(self, measurement: str, start: float, end: float, column: str, tags: Any = None,
                            aggregate: str | None = None, dt: int | None = None) -> tuple[list, list]:
        """As :meth:`Store.retrieve_timeseries <scald_monitor.io.store.Store.retrieve_timeseries>`, from blocks."""
        start, end = check_range(start, end)
        schema = self.inner.schema(measurement)
        level, agg = self.inner.resolve(schema, start, end, aggregate, dt)
        check_column(schema, column)
        key = series_key(schema, tags)
        lo_key, hi_key = time_keys(self.inner, [start, end]).tolist()

        def read(a: float, b: float) -> Any:
            t, v = self.inner.retrieve_timeseries(measurement, a, b, column, tags=key, aggregate=agg,
                                                  dt=level or None)
            return _one_series(self.inner, t, v)

        blocks = self._blocks(("series", schema.measurement, column, level, agg, key), level, start, end, read)
        if blocks is None:
            return self.inner.retrieve_timeseries(measurement, start, end, column, tags=key, aggregate=agg,
                                                  dt=level or None)
        times: list = []
        values: list = []
        for keys, t, v in blocks:
            a, b = _cut(keys, lo_key, hi_key)
            times += t[a:b]
            values += v[a:b]
        return times, values

    def retrieve_timeseries_by_tag(self, measurement: str, start: float, end: float, column: str,
                                   aggregate: str | None = None, dt: int | None = None
                                   ) -> dict[tuple[str, ...], tuple[list, list]]:
        """As :meth:`Store.retrieve_timeseries_by_tag <scald_monitor.io.store.Store.retrieve_timeseries_by_tag>`,
        from blocks."""
        start, end = check_range(start, end)
        schema = self.inner.schema(measurement)
        level, agg = self.inner.resolve(schema, start, end, aggregate, dt)
        check_column(schema, column)
        lo_key, hi_key = time_keys(self.inner, [start, end]).tolist()

        def read(a: float, b: float) -> Any:
            found = self.inner.retrieve_timeseries_by_tag(measurement, a, b, column, aggregate=agg, dt=level or None)
            return {tags: _one_series(self.inner, t, v) for tags, (t, v) in found.items()}

        blocks = self._blocks(("by_tag", schema.measurement, column, level, agg), level, start, end, read)
        if blocks is None:
            return self.inner.retrieve_timeseries_by_tag(measurement, start, end, column, aggregate=agg,
                                                         dt=level or None)
        out: dict[tuple[str, ...], tuple[list, list]] = {}
        for block in blocks:
            for tags, (keys, t, v) in block.items():
                a, b = _cut(keys, lo_key, hi_key)
                if a < b:
                    times, values = out.setdefault(tags, ([], []))
                    times += t[a:b]
                    values += v[a:b]
        return dict(sorted(out.items()))

    def retrieve_reduced(self, measurement: str, start: float, end: float, column: str, reduce: str,
                         tags: Any = None, aggregate: str | None = None, dt: int | None = None) -> float | None:
        """The window's points (from blocks) reduced by ``REDUCE[reduce]``, as the store's own reduction."""
        if reduce not in REDUCE:
            raise ValueError(f"reduce {reduce!r} is not one of {', '.join(REDUCE)}")
        _, values = self.retrieve_timeseries(measurement, start, end, column, tags=tags, aggregate=aggregate, dt=dt)
        return REDUCE[reduce](values) if values else None

    def retrieve_reduced_by_tag(self, measurement: str, start: float, end: float, column: str, reduce: str,
                                aggregate: str | None = None, dt: int | None = None) -> dict[tuple[str, ...], float]:
        """Each combination's points (from blocks) reduced by ``REDUCE[reduce]``."""
        if reduce not in REDUCE:
            raise ValueError(f"reduce {reduce!r} is not one of {', '.join(REDUCE)}")
        found = self.retrieve_timeseries_by_tag(measurement, start, end, column, aggregate=aggregate, dt=dt)
        return {tags: REDUCE[reduce](values) for tags, (_, values) in found.items() if values}

    # -- reads of the newest points ---------------------------------------------------------------------------
    def retrieve_latest(self, measurement: str, column: str, tags: Any = None, aggregate: str | None = None,
                        dt: int | None = None, num_latest: int = 1) -> tuple[list, list]:
        """The store's newest points, kept while the file says nothing changed at that level (SQLite) or for
        ``ttl`` seconds (InfluxDB, where the newest point is never settled)."""
        schema = self.inner.schema(measurement)
        level, agg = self._latest_level(schema, aggregate, dt)
        check_column(schema, column)
        key = series_key(schema, tags)
        num = max(int(num_latest), 1)
        return self._newest(("latest", schema.measurement, column, level, agg, key, num), schema.measurement, level,
                            lambda: self.inner.retrieve_latest(measurement, column, tags=key, aggregate=agg,
                                                               dt=level if agg else None, num_latest=num))

    def retrieve_latest_by_tag(self, measurement: str, column: str, aggregate: str | None = None,
                               dt: int | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        """Every combination's newest point, kept as :meth:`retrieve_latest`'s."""
        schema = self.inner.schema(measurement)
        level, agg = self._latest_level(schema, aggregate, dt)
        check_column(schema, column)
        return self._newest(("latest_by_tag", schema.measurement, column, level, agg), schema.measurement, level,
                            lambda: self.inner.retrieve_latest_by_tag(measurement, column, aggregate=agg,
                                                                      dt=level if agg else None))

    # -- insides ------------------------------------------------------------------------------------------------
    def _latest_level(self, schema: Any, aggregate: str | None, dt: int | None) -> tuple[int, str | None]:
        """The level a newest-point read uses: as the store's (an aggregate without ``dt``: the 1 s level)."""
        return self.inner.resolve(schema, 0, 0, aggregate, dt if dt is not None or aggregate is None else 1)

    def _newest(self, key: tuple, measurement: str, level: int, read: Callable[[], Any]) -> Any:
        cache, policy = self._cache, self._policy
        full = (policy.name, *key)
        values = cache.fetch(policy, [full], [(-math.inf, math.inf)], [False], measurement, level,
                             lambda run: [read()], _newest_size)
        return values[0]

    def _blocks(self, spec: tuple, level: int, start: float, end: float, read: Callable[[float, float], Any]
                ) -> list[Any] | None:
        """The blocks covering [start, end] (None: too many, read the window directly)."""
        width = block_width(level)
        first, last = math.floor(start / width), math.floor(end / width)
        if last - first + 1 > MAX_BLOCKS:
            self._cache.count("bypassed_reads")
            return None
        indices = range(first, last + 1)
        policy = self._policy
        keys = [(policy.name, *spec, k) for k in indices]
        spans = [(float(k * width), float((k + 1) * width)) for k in indices]
        settled = self._now - policy.settle - level
        keep = [hi <= settled for _, hi in spans]
        measurement = spec[1]

        def read_run(run: list[int]) -> list[Any]:
            lo, hi = spans[run[0]][0], spans[run[-1]][1]
            got = read(lo, hi)  # [lo, hi] inclusive: a point at hi belongs to the next block, cut off below
            bounds = time_keys(self.inner, [spans[i][0] for i in run] + [hi])
            return [_split(got, bounds[j], bounds[j + 1]) for j in range(len(run))]

        return self._cache.fetch(policy, keys, spans, keep, measurement, level, read_run, _size)


def _one_series(store: Any, times: list, values: list) -> tuple[np.ndarray, list, list]:
    return time_keys(store, times) if times else _EMPTY_KEYS, times, values


_EMPTY_KEYS = np.empty(0)


def _split(got: Any, lo_key: Any, hi_key: Any) -> Any:
    """The part of a read (one series, or a dict of them) whose keys are in [lo_key, hi_key)."""
    if isinstance(got, dict):
        out = {}
        for tags, series in got.items():
            part = _split(series, lo_key, hi_key)
            if part[1]:
                out[tags] = part
        return out
    keys, t, v = got
    if not t:
        return got
    a = int(np.searchsorted(keys, lo_key, "left"))
    b = int(np.searchsorted(keys, hi_key, "left"))
    return keys[a:b], t[a:b], v[a:b]


def _cut(keys: np.ndarray, lo_key: Any, hi_key: Any) -> tuple[int, int]:
    """Indices of the points with keys in [lo_key, hi_key]: what the store returns for that window."""
    if not len(keys):
        return 0, 0
    if keys[0] >= lo_key and keys[-1] <= hi_key:
        return 0, len(keys)
    return int(np.searchsorted(keys, lo_key, "left")), int(np.searchsorted(keys, hi_key, "right"))


def _newest_size(value: Any) -> int:
    if isinstance(value, dict):
        return BLOCK_BYTES + len(value) * (BLOCK_BYTES + POINT_BYTES)
    return BLOCK_BYTES + POINT_BYTES * len(value[0])
