"""InfluxDB 1.x backend, storing data exactly where ligo-scald 0.8.5 does, so either tool reads the other's data.

Layout (ligo-scald's): database ``db``; raw points in the default retention policy (``autogen``); aggregates in
retention policies ``"1s"``, ``"10s"`` ... ``"100000s"`` with the schema's tags plus ``aggregate=min|median|max``;
fields = the schema's columns; the reduction across tags in measurement ``<measurement>_across_<tag_key>s``; times
are GPS converted to Unix nanoseconds with the leap-second table, aggregates stamped with their bucket's start.

Unlike ligo-scald every level is computed exactly from the raw points (read back from the server for buckets that
already hold data), all three aggregates are kept, every tag combination is kept, and no write is ever dropped:
bodies are split into batches under influxd's request limit, and while the server is down or slow, batches wait in
a bounded buffer and are retried with backoff; the caller gets ``BufferFullError`` only when the buffer is full.
InfluxQL is built with quoted identifiers and escaped string literals only.
"""
from __future__ import annotations

import logging
import math
import netrc
import os
import time as _time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..timeutil import gps_to_unix, unix_to_gps
from .decimate import decimate_levels, due_levels
from .errors import BackendError, UnknownMeasurementError
from .schema import AGGREGATES, LEVELS, Schema, SchemaRegistry, make_schema
from .sqlite_layout import check_range, pick_level, tag_values
from .validate import SeriesBatch, normalize_columns, normalize_rows

log = logging.getLogger(__name__)

RAW_RP = "autogen"
MAX_POINTS = 2000
BATCH_LINES = 5000  # lines per POST: far below influxd's 25 MB default body limit
BUFFER_POINTS = 1_000_000  # lines kept while influxd is unreachable


class AuthError(BackendError):
    """influxd refused the credentials (401/403): retrying will not help until the configuration is fixed."""


class BufferFullError(BackendError):
    """influxd has been unreachable long enough that the write buffer is full; this call stored nothing."""


# -- quoting: the only way names and values get into InfluxQL or line protocol ------------------------------------
def quote_ident(name: str) -> str:
    """An InfluxQL identifier: always double-quoted, backslashes and quotes escaped."""
    return '"' + str(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal: single-quoted, backslashes and quotes escaped; no newlines smuggled in."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"{text!r}: newlines are not allowed in InfluxQL string literals")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _escape_key(text: str) -> str:
    """Line-protocol tag keys/values and field keys: escape comma, equals and space.

    InfluxDB 1.x does not unescape backslashes (``a\\b`` is stored with two), so they are written as they are; a
    value *ending* in a backslash would escape the delimiter after it and cannot be stored (see ``_check_tags``).
    """
    return str(text).replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_measurement(text: str) -> str:
    return str(text).replace(",", "\\,").replace(" ", "\\ ")


def _check_tags(schema: Schema, batches: Sequence[SeriesBatch]) -> None:
    for batch in batches:
        for name, value in zip(schema.tags, batch.tags):
            if value.endswith("\\"):
                raise ValueError(f"{schema.measurement}: tag {name}={value!r} ends with a backslash, which InfluxDB "
                                 "line protocol cannot store")


def gps_to_ns(gps: Any) -> np.ndarray:
    """GPS seconds → Unix nanoseconds, with the leap-second table.

    Whole seconds and the fraction are converted separately, in integers, so that ``ns_to_gps(gps_to_ns(t))``
    gives back exactly the float ``t`` (ligo-scald's single float multiplication is off by up to ~100 ns).
    """
    gps = np.atleast_1d(np.asarray(gps, dtype=np.float64))
    if gps.size == 0:
        return np.empty(0, dtype=np.int64)
    whole = np.floor(gps)
    frac_ns = np.round((gps - whole) * 1e9).astype(np.int64)
    unix_whole = np.asarray(gps_to_unix(whole), dtype=np.float64).astype(np.int64)
    return unix_whole * 1_000_000_000 + frac_ns


def ns_to_gps(ns: Any) -> np.ndarray:
    """Unix nanoseconds → GPS seconds (the nearest float), with the leap-second table."""
    ns = np.atleast_1d(np.asarray(ns, dtype=np.int64))
    if ns.size == 0:
        return np.empty(0, dtype=np.float64)
    whole, frac = np.divmod(ns, 1_000_000_000)
    gps_whole = np.asarray(unix_to_gps(whole.astype(np.float64)), dtype=np.float64)
    return gps_whole + frac / 1e9


def _credentials(hostname: str, netrc_file: str | None) -> tuple[str, str]:
    """INFLUX_USERNAME/INFLUX_PASSWORD, else the .netrc entry for the host (given file, $NETRC, ~/.netrc)."""
    user, password = os.environ.get("INFLUX_USERNAME"), os.environ.get("INFLUX_PASSWORD")
    if user and password:
        return user, password
    candidates = [netrc_file, os.environ.get("NETRC"), os.path.expanduser("~/.netrc")]
    for path in candidates:
        if path and os.path.exists(path):
            try:
                entry = netrc.netrc(path).authenticators(hostname)
            except (netrc.NetrcParseError, OSError) as exc:
                raise BackendError(f"{path}: cannot read credentials: {exc}") from None
            if entry:
                return entry[0], entry[2]
    raise BackendError(f"auth is on but no credentials for {hostname}: set INFLUX_USERNAME and INFLUX_PASSWORD "
                       "or add a .netrc entry")


def _level(schema: Schema, start: float, end: float, aggregate: str | None, dt: int | None,
           max_points: int) -> tuple[int, str | None]:
    if aggregate is None and dt is None:
        return 0, None
    aggregate = aggregate or schema.aggregate or "max"
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}")
    return pick_level(start, end, dt, max_points), aggregate


@dataclass
class _Batch:
    rp: str
    body: bytes
    points: int


class _Influx:
    """Connection, quoting, schema lookup and the readers shared by Consumer and Aggregator."""

    def __init__(self, hostname: str = "localhost", port: int = 8086, db: str = "mydb", auth: bool = False,
                 https: bool = False, check_certs: bool = True, timeout: float = 10.0, max_points: int = MAX_POINTS,
                 netrc_file: str | None = None, schemas: Iterable[Any] | None = None, **_: Any):
        from influxdb import InfluxDBClient

        self.hostname, self.port, self.db = hostname, int(port), db
        self.max_points = int(max_points)
        self.schemas = SchemaRegistry()
        username = password = None
        if auth:
            username, password = _credentials(hostname, netrc_file)
        verify: bool | str = False
        if https and check_certs:
            verify = os.environ.get("SCALD_SSL_CA_CERT") or True
        self.client = InfluxDBClient(host=hostname, port=self.port, username=username, password=password,
                                     database=db, ssl=bool(https), verify_ssl=verify, timeout=float(timeout),
                                     retries=1)
        self.client._session.trust_env = False  # no proxy look-up per request: ~0.5 ms each, and never wanted here
        for spec in schemas or ():
            self._adopt(spec)

    @property
    def where(self) -> str:
        return f"influxdb {self.hostname}:{self.port}/{self.db}"

    def _adopt(self, spec: Any) -> None:
        """Use a schema from the configuration (the server does not know tag order or column_key)."""
        if getattr(spec, "measurement", None) and spec.measurement not in self.schemas:
            self.schemas.add(make_schema(spec.measurement, spec.columns, spec.column_key, spec.tags or None,
                                         spec.tag_key, spec.aggregate))

    def register_schema(self, measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                        tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                        aggregate: str | None = None) -> Schema:
        schema = make_schema(measurement, columns, column_key, tags, tag_key, aggregate)
        self.schemas.add(schema)
        return schema

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- HTTP -------------------------------------------------------------------------------------------------
    def _call(self, url: str, method: str, params: dict, data: bytes | None = None, expected: int = 200):
        from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError
        import requests

        try:
            return self.client.request(url, method=method, params=params, data=data, expected_response_code=expected,
                                       headers={"Content-Type": "application/octet-stream",
                                                "Accept": "application/json"})
        except InfluxDBClientError as exc:
            raise _HTTPError(exc.code, _message(exc.content)) from None
        except InfluxDBServerError as exc:
            raise _Unavailable(f"{self.where}: server error: {_message(exc.content)}") from None
        except requests.exceptions.SSLError as exc:
            raise BackendError(f"{self.where}: TLS failure: {_first_line(exc)}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise _Unavailable(f"{self.where}: unreachable: {_first_line(exc)}") from None

    def query(self, q: str, method: str = "GET") -> list[dict]:
        """Run one InfluxQL statement; the series of its result (``[]`` for none). Errors are BackendError."""
        try:
            response = self._call("query", method, {"q": q, "db": self.db, "epoch": "ns"})
        except _HTTPError as exc:
            if exc.code in (401, 403):
                raise AuthError(f"{self.where}: authentication failed ({exc.code}): {exc}") from None
            raise BackendError(f"{self.where}: query failed ({exc.code}): {exc}") from None
        except _Unavailable as exc:
            raise BackendError(str(exc)) from None
        result = response.json().get("results", [{}])[0]
        if "error" in result:
            if "database not found" in result["error"]:
                raise BackendError(f"{self.where}: database {self.db!r} does not exist (nothing stored yet?)")
            raise BackendError(f"{self.where}: query failed: {result['error']}")
        return result.get("series", [])

    # -- schema -----------------------------------------------------------------------------------------------
    def _schema(self, measurement: str) -> Schema:
        if measurement not in self.schemas:
            series = self.query(f"SHOW FIELD KEYS FROM {quote_ident(RAW_RP)}.{quote_ident(measurement)}")
            fields = [v[0] for s in series for v in s.get("values", [])]
            if fields:
                tag_series = self.query(f"SHOW TAG KEYS FROM {quote_ident(RAW_RP)}.{quote_ident(measurement)}")
                tags = [v[0] for s in tag_series for v in s.get("values", []) if v[0] != "aggregate"]
                self.schemas.add(make_schema(measurement, fields, None, tags or None))
        return self.schemas.get(measurement)

    def measurements(self) -> list[str]:
        return sorted(v[0] for s in self.query("SHOW MEASUREMENTS") for v in s.get("values", [])
                      if "_across_" not in v[0])

    def _source(self, schema: Schema, level: int, across: bool) -> str:
        rp = RAW_RP if level == 0 else f"{level}s"
        name = schema.measurement
        if across and level and schema.tags:
            name = f"{name}_across_{schema.tag_key}s"
        return f"{quote_ident(self.db)}.{quote_ident(rp)}.{quote_ident(name)}"

    def _where(self, start: float | None, end: float | None, aggregate: str | None,
               tags: Mapping[str, str] | None) -> str:
        cond = []
        if aggregate:
            cond.append(f"{quote_ident('aggregate')} = {quote_literal(aggregate)}")
        for key, value in (tags or {}).items():
            cond.append(f"{quote_ident(key)} = {quote_literal(value)}")
        if start is not None:
            cond.append(f"time >= {int(gps_to_ns(start)[0])}")
        if end is not None:
            cond.append(f"time <= {int(gps_to_ns(end)[0])}")
        return (" WHERE " + " AND ".join(cond)) if cond else ""

    def _tag_filter(self, schema: Schema, tags: Any) -> dict[str, str] | None:
        if tags is None or (not schema.tags and not tags):
            return None
        return dict(zip(schema.tags, tag_values(schema, tags)))

    @staticmethod
    def _column_index(schema: Schema, column: str) -> None:
        if column not in schema.columns:
            raise ValueError(f"{schema.measurement}: unknown column {column!r}; the schema has {list(schema.columns)}")

    # -- readers ----------------------------------------------------------------------------------------------
    def retrieve_timeseries(self, measurement: str, start: float, end: float, column: str, tags: Any = None,
                            aggregate: str | None = None, dt: int | None = None) -> tuple[list[float], list[float]]:
        """Same contract as the SQLite Consumer: raw points, or the aggregate at ``dt`` / the default resolution."""
        start, end = check_range(start, end)
        schema = self._schema(measurement)
        self._column_index(schema, column)
        level, agg = _level(schema, start, end, aggregate, dt, self.max_points)
        where_tags = self._tag_filter(schema, tags)
        q = (f"SELECT {quote_ident(column)} FROM {self._source(schema, level, where_tags is None)}"
             f"{self._where(start, end, agg, where_tags)}")
        series = self.query(q)
        return _points(series[0]["values"], level) if series else ([], [])

    def retrieve_timeseries_by_tag(self, measurement: str, start: float, end: float, column: str,
                                   aggregate: str | None = None, dt: int | None = None
                                   ) -> dict[tuple[str, ...], tuple[list[float], list[float]]]:
        start, end = check_range(start, end)
        schema = self._schema(measurement)
        self._column_index(schema, column)
        level, agg = _level(schema, start, end, aggregate, dt, self.max_points)
        group = ",".join(quote_ident(t) for t in schema.tags)
        q = (f"SELECT {quote_ident(column)} FROM {self._source(schema, level, False)}"
             f"{self._where(start, end, agg, None)}" + (f" GROUP BY {group}" if group else ""))
        out = {}
        for s in self.query(q):
            out[tuple(s.get("tags", {}).get(t, "") for t in schema.tags)] = _points(s["values"], level)
        return dict(sorted(out.items()))

    def retrieve_latest(self, measurement: str, column: str, tags: Any = None, aggregate: str | None = None,
                        dt: int | None = None, num_latest: int = 1) -> tuple[list[float], list[float]]:
        schema = self._schema(measurement)
        self._column_index(schema, column)
        level, agg = _level(schema, 0, 0, aggregate, dt if dt is not None or aggregate is None else 1,
                            self.max_points)
        where_tags = self._tag_filter(schema, tags)
        q = (f"SELECT {quote_ident(column)} FROM {self._source(schema, level, where_tags is None)}"
             f"{self._where(None, None, agg, where_tags)} ORDER BY time DESC LIMIT {max(int(num_latest), 1)}")
        series = self.query(q)
        return _points(series[0]["values"][::-1], level) if series else ([], [])

    def retrieve_latest_by_tag(self, measurement: str, column: str, aggregate: str | None = None,
                               dt: int | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        schema = self._schema(measurement)
        self._column_index(schema, column)
        level, agg = _level(schema, 0, 0, aggregate, dt if dt is not None or aggregate is None else 1,
                            self.max_points)
        group = ",".join(quote_ident(t) for t in schema.tags)
        q = (f"SELECT last({quote_ident(column)}) FROM {self._source(schema, level, False)}"
             f"{self._where(None, None, agg, None)}" + (f" GROUP BY {group}" if group else ""))
        out = {}
        for s in self.query(q):
            key = tuple(s.get("tags", {}).get(t, "") for t in schema.tags)
            t, v = s["values"][0][0], s["values"][0][1]
            gps = float(ns_to_gps([t])[0])
            out[key] = (float(round(gps)) if level else gps, v)
        return dict(sorted(out.items()))


def _points(values: list[list], level: int) -> tuple[list[float], list[float]]:
    """``(times, values)`` of a query's rows; aggregate points carry whole-second bucket starts."""
    times = ns_to_gps([v[0] for v in values])
    if level:
        times = np.round(times)
    return times.tolist(), [v[1] for v in values]


class _HTTPError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class _Unavailable(Exception):
    """The server could not be reached or answered 5xx: worth retrying."""


def _message(content: Any) -> str:
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    try:
        import json

        return json.loads(text).get("error", text).strip()
    except (ValueError, AttributeError):
        return text.strip()[:200]


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return (text.splitlines() or [type(exc).__name__])[0][:300]


class Consumer(_Influx):
    """Read-only access to a ligo-scald-layout InfluxDB database."""


class Aggregator(_Influx):
    """Stores rows or columns (ligo-scald's API) with exact min/median/max at every level, losing nothing.

    ``buffer_size`` bounds how many points wait while influxd is unreachable; ``retry_max`` caps the backoff
    between retries (seconds); ``batch_size`` is the number of lines per POST. ``raw_retention`` (seconds, ≥ 3600)
    sets the duration of the default retention policy that holds raw points.
    """

    def __init__(self, hostname: str = "localhost", port: int = 8086, db: str = "mydb", auth: bool = False,
                 https: bool = False, check_certs: bool = True, timeout: float = 10.0,
                 buffer_size: int = BUFFER_POINTS, retry_max: float = 60.0, batch_size: int = BATCH_LINES,
                 coarse_delay: float = 0.01, raw_retention: float | None = None, max_points: int = MAX_POINTS,
                 **kwargs: Any):
        super().__init__(hostname, port, db, auth, https, check_certs, timeout, max_points, **kwargs)
        self.buffer_size, self.retry_max, self.batch_size = int(buffer_size), float(retry_max), int(batch_size)
        self.coarse_delay = float(coarse_delay)
        self.raw_retention = raw_retention
        self._buffer: deque[_Batch] = deque()
        self._buffered = 0
        self._failures = 0
        self._next_try = 0.0
        self._ready = False  # database and retention policies exist
        self._pending: dict[str, dict[int, dict[tuple[str, ...], set[int]]]] = {}
        self._last_run: dict[tuple[str, int], float] = {}
        try:
            self._setup()
        except BackendError as exc:  # keep going: writes are buffered until the server answers
            log.warning("%s", exc)

    # -- database set-up --------------------------------------------------------------------------------------
    def _setup(self) -> None:
        if self._ready:
            return
        statements = [f"CREATE DATABASE {quote_ident(self.db)}"]
        statements += [f"CREATE RETENTION POLICY {quote_ident(f'{dt}s')} ON {quote_ident(self.db)} "
                       "DURATION INF REPLICATION 1" for dt in LEVELS]
        if self.raw_retention:
            hours = max(1, math.ceil(float(self.raw_retention) / 3600))
            statements.append(f"ALTER RETENTION POLICY {quote_ident(RAW_RP)} ON {quote_ident(self.db)} "
                              f"DURATION {hours}h")
        for q in statements:
            self.query(q, method="POST")
        self._ready = True

    # -- public write API -------------------------------------------------------------------------------------
    def store_columns(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        """Store ``{tags: {'time': [...], 'fields': {col: [...]}}}``; ``aggregate`` is accepted for ligo-scald
        compatibility (min, median and max are always kept)."""
        schema = self.schemas.get(measurement)
        batches = normalize_columns(schema, data)
        _check_tags(schema, batches)
        return self._store(schema, batches)

    def store_rows(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        schema = self.schemas.get(measurement)
        batches = normalize_rows(schema, data)
        _check_tags(schema, batches)
        return self._store(schema, batches)

    def load(self, path: str | None = None) -> None:
        from ..config import load, resolve_path

        for spec in load(resolve_path(path)).schemas.values():
            self._adopt(spec)

    @property
    def buffered_points(self) -> int:
        return self._buffered

    def flush(self, timeout: float = 30.0) -> None:
        """Send everything buffered and bring every level up to date; BackendError if influxd stays away."""
        deadline = _time.monotonic() + timeout
        while self._buffer:
            self._next_try = 0.0
            self._drain()
            if self._buffer:
                if _time.monotonic() >= deadline:
                    raise BackendError(f"{self.where}: {self._buffered} points still buffered: server unreachable")
                _time.sleep(min(0.5, max(deadline - _time.monotonic(), 0)))
        for measurement in list(self._pending):
            self._process(self.schemas.get(measurement), force=True)
        self._drain()
        if self._buffer:
            raise BackendError(f"{self.where}: {self._buffered} points still buffered: server unreachable")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            super().close()

    # -- write path -------------------------------------------------------------------------------------------
    def _store(self, schema: Schema, batches: list[SeriesBatch]) -> int:
        points = sum(len(b.time) for b in batches)
        if self._buffer and self._buffered + points > self.buffer_size:
            self._drain()
            if self._buffer and self._buffered + points > self.buffer_size:
                raise BufferFullError(f"{self.where}: unreachable and the write buffer is full "
                                      f"({self._buffered} of {self.buffer_size} points); nothing of this call was "
                                      "stored — retry later or raise buffer_size")
        rows_by_tags = {}
        for batch in batches:
            order = np.argsort(batch.time, kind="stable")
            t, v = batch.time[order], batch.values[order]
            last = np.concatenate((t[1:] != t[:-1], [True]))
            rows_by_tags[batch.tags] = (t[last], v[last])
        # Buckets to recompute, per level and series; the across-tags series is keyed "*".
        pending = self._pending.setdefault(schema.measurement, {})
        for tags, (t, _) in rows_by_tags.items():
            for level in LEVELS:
                b = np.unique(np.floor(t / level).astype(np.int64)).tolist()
                pending.setdefault(level, {}).setdefault(tags, set()).update(b)
                if schema.tags:
                    pending[level].setdefault(("*",), set()).update(b)
        self._process(schema, force=False, new=rows_by_tags)
        for tags, (t, v) in rows_by_tags.items():
            self._enqueue(RAW_RP, _lines(_escape_measurement(schema.measurement), _tagset(schema.tags, tags), schema.columns,
                                         gps_to_ns(t), v))
        self._drain()
        return points

    def _process(self, schema: Schema, force: bool, new: Mapping[tuple[str, ...], tuple] | None = None) -> None:
        """Recompute the pending buckets of the due levels from the raw points (server's + this call's)."""
        if self._buffer:  # raw points still waiting to be sent: the server's copy is incomplete, recompute later
            return
        pending = self._pending.get(schema.measurement, {})
        due = [lv for lv in due_levels(self._last_run, schema.measurement, LEVELS, force, self.coarse_delay,
                                       _time.monotonic()) if pending.get(lv)]
        if not due:
            return
        intervals = _intervals({lv: pending[lv] for lv in due})
        try:
            stored = self._read_raw(schema, intervals)
        except BackendError as exc:
            log.warning("%s: aggregates deferred: %s", schema.measurement, exc)
            return
        raw = _merge(stored, new or {})
        now = _time.monotonic()
        key = schema.columns.index(schema.column_key)
        m = _escape_measurement(schema.measurement)
        across_name = _escape_measurement(f"{schema.measurement}_across_{schema.tag_key}s") if schema.tags else m
        work: dict[tuple[str, ...], dict[int, np.ndarray]] = defaultdict(dict)
        for level in due:
            self._last_run[(schema.measurement, level)] = now
            for tags, buckets in pending.pop(level).items():
                work[tags][level] = np.fromiter(buckets, dtype=np.int64, count=len(buckets))
        for tags, levels in work.items():
            across = tags == ("*",) and bool(schema.tags)
            if across:
                parts = [(i, raw[k]) for i, k in enumerate(sorted(raw)) if len(raw[k][0])]
                if not parts:
                    continue
                t = np.concatenate([p[1][0] for p in parts])
                v = np.concatenate([p[1][1] for p in parts])
                src = np.concatenate([np.full(len(p[1][0]), p[0]) for p in parts])
            elif tags in raw:
                (t, v), src = raw[tags], None
            else:
                continue
            masks = {}
            for level, b in levels.items():
                inside = np.isin(np.floor(t / level).astype(np.int64), b)
                if inside.any():
                    masks[level] = None if inside.all() else inside
            tagset = "" if across else _tagset(schema.tags, tags)
            for level, dec in decimate_levels(t, v[:, key], masks, src).items():  # one ranking, every level
                ns = gps_to_ns(dec.starts)
                for name in AGGREGATES:
                    self._enqueue(f"{level}s", _lines(across_name if across else m, tagset + f",aggregate={name}",
                                                      schema.columns, ns, v[dec.index[name]]))

    def _read_raw(self, schema: Schema, intervals: list[tuple[float, float]]) -> dict[tuple[str, ...], tuple]:
        """Raw points already on the server in the given GPS intervals, per tag combination."""
        cols = ",".join(quote_ident(c) for c in schema.columns)
        group = ",".join(quote_ident(t) for t in schema.tags)
        out: dict[tuple[str, ...], list] = defaultdict(list)
        source = f"{quote_ident(self.db)}.{quote_ident(RAW_RP)}.{quote_ident(schema.measurement)}"
        for lo, hi in intervals:
            lo_ns, hi_ns = int(gps_to_ns(lo)[0]), int(gps_to_ns(hi)[0])
            q = (f"SELECT {cols} FROM {source} WHERE time >= {lo_ns} AND time < {hi_ns}"
                 + (f" GROUP BY {group}" if group else ""))
            for s in self.query(q):
                key = tuple(s.get("tags", {}).get(t, "") for t in schema.tags)
                out[key].extend(s["values"])
        result = {}
        for key, values in out.items():
            arr = np.array([[np.nan if x is None else x for x in row] for row in values], dtype=np.float64)
            result[key] = (ns_to_gps(arr[:, 0].astype(np.int64)), arr[:, 1:])
        return result

    # -- buffered, batched sending ----------------------------------------------------------------------------
    def _enqueue(self, rp: str, lines: list[str]) -> None:
        for i in range(0, len(lines), self.batch_size):
            chunk = lines[i:i + self.batch_size]
            self._buffer.append(_Batch(rp, ("\n".join(chunk) + "\n").encode("utf-8"), len(chunk)))
            self._buffered += len(chunk)

    def _drain(self) -> None:
        """Send buffered batches in order; stop at the first failure and retry later with backoff."""
        if not self._buffer or _time.monotonic() < self._next_try:
            return
        try:
            self._setup()
        except AuthError as exc:
            self._backoff(exc)
            raise AuthError(f"{exc}; {self._buffered} points kept in the buffer") from None
        except BackendError as exc:
            self._backoff(exc)
            return
        while self._buffer:
            batch = self._buffer[0]
            try:
                self._call("write", "POST", {"db": self.db, "rp": batch.rp, "precision": "n"}, batch.body, 204)
            except _Unavailable as exc:
                self._backoff(exc)
                return
            except _HTTPError as exc:
                if exc.code == 413 and batch.points > 1:  # too large for this server: halve it and go on
                    self._split_head()
                    continue
                if exc.code == 404 and "database not found" in str(exc):
                    self._ready = False
                    self._setup()
                    continue
                if exc.code in (401, 403):
                    self._backoff(BackendError(f"{self.where}: authentication failed: {exc}"))
                    raise AuthError(f"{self.where}: authentication failed ({exc.code}): {exc}; "
                                    f"{self._buffered} points kept in the buffer") from None
                self._buffer.popleft()  # the server refuses these lines for good (e.g. a field type conflict)
                self._buffered -= batch.points
                raise BackendError(f"{self.where}: influxd refused {batch.points} points for RP {batch.rp!r} "
                                   f"({exc.code}): {exc}") from None
            self._buffer.popleft()
            self._buffered -= batch.points
            if self._failures:
                log.info("%s: reachable again; buffered points sent", self.where)
            self._failures = 0

    def _split_head(self) -> None:
        batch = self._buffer.popleft()
        lines = batch.body.decode("utf-8").rstrip("\n").split("\n")
        half = len(lines) // 2
        for part in (lines[half:], lines[:half]):
            self._buffer.appendleft(_Batch(batch.rp, ("\n".join(part) + "\n").encode("utf-8"), len(part)))

    def _backoff(self, exc: Exception) -> None:
        self._failures += 1
        delay = min(self.retry_max, 0.5 * 2 ** min(self._failures - 1, 16))
        self._next_try = _time.monotonic() + delay
        log.warning("%s; %d points buffered, retrying in %.1f s", exc, self._buffered, delay)


def _tagset(names: Sequence[str], values: Sequence[str]) -> str:
    return "".join(f",{_escape_key(k)}={_escape_key(v)}" for k, v in sorted(zip(names, values)))


def _lines(measurement: str, tagset: str, columns: Sequence[str], ns: np.ndarray, values: np.ndarray) -> list[str]:
    """Line protocol for rows of float fields (fields always floats, as ligo-scald writes them)."""
    prefix = f"{measurement}{tagset} "
    keys = [f"{_escape_key(c)}=" for c in columns]
    cols = [values[:, i].tolist() for i in range(values.shape[1])]
    stamps = ns.tolist()
    if len(keys) == 1:
        k = keys[0]
        return [f"{prefix}{k}{a!r} {s}" for a, s in zip(cols[0], stamps)]
    if len(keys) == 2:
        k1, k2 = keys
        return [f"{prefix}{k1}{a!r},{k2}{b!r} {s}" for a, b, s in zip(cols[0], cols[1], stamps)]
    return [prefix + ",".join(f"{k}{x!r}" for k, x in zip(keys, row)) + f" {s}"
            for *row, s in zip(*cols, stamps)]


def _intervals(pending: Mapping[int, Mapping[tuple, set[int]]]) -> list[tuple[float, float]]:
    """Disjoint GPS intervals covering every pending bucket."""
    spans = sorted({(b * lv, (b + 1) * lv) for lv, per in pending.items() for bs in per.values() for b in bs})
    merged: list[list[float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(float(a), float(b)) for a, b in merged]


def _merge(stored: Mapping[tuple, tuple], new: Mapping[tuple, tuple]) -> dict[tuple, tuple]:
    """Server points plus this call's, sorted by time; a time present in both takes the new value."""
    out = {}
    for key in set(stored) | set(new):
        parts_t, parts_v = [], []
        if key in stored:
            parts_t.append(stored[key][0])
            parts_v.append(stored[key][1])
        if key in new:
            parts_t.append(new[key][0])
            parts_v.append(new[key][1])
        t = np.concatenate(parts_t)
        v = np.concatenate(parts_v)
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        last = np.concatenate((t[1:] != t[:-1], [True]))
        out[key] = (t[last], v[last])
    return out
