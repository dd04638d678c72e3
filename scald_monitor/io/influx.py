"""InfluxDB 1.x backend, storing data exactly where ligo-scald 0.8.5 does, so either tool reads the other's data.

Layout (ligo-scald's): database ``db``; raw points in the default retention policy (``autogen``); aggregates in
retention policies ``"1s"``, ``"10s"`` ... ``"100000s"`` with the schema's tags plus ``aggregate=min|median|max``;
fields = the schema's columns; the reduction across tags in measurement ``<measurement>_across_<tag_key>s``; times
are GPS converted to Unix nanoseconds with the leap-second table, aggregates stamped with their bucket's start.

Unlike ligo-scald every level is computed exactly from the raw points (read back from the server for buckets that
already hold data), all three aggregates are kept, every tag combination is kept, and no write is ever dropped:
bodies are split into batches under influxd's request limit, and while the server is down or slow, batches wait in
a bounded buffer and are retried with backoff; the caller gets ``BufferFullError`` only when the buffer is full.
While backing off after influxd could not be reached, each write call probes ``GET /ping`` (short timeout, at most
every ``PROBE_INTERVAL`` s) and sends the buffer as soon as the server answers, so an outage does not outlast
itself by the backoff (a heartbeat check would otherwise stay CRITICAL for up to ``retry_max`` s after it).
InfluxQL is built with quoted identifiers and escaped string literals only.

Pending work (our own bookkeeping, in the same database). Buckets whose aggregates still have to be recomputed —
the coarse levels (>= 1000 s), which are refreshed only every ``coarse_delay * dt`` s while streaming, and any level
while raw points wait in the buffer — are marked on the server, so that a writer killed between two refreshes
leaves its work to the next one instead of stale aggregates:

* retention policy ``"_scald"`` (``DURATION INF``, 52-week shards), measurement ``"_scald/pending"`` — a name no
  schema can have (``/`` is not allowed in measurement names), so it never collides with user data, and ligo-scald,
  which reads only the measurements of its schemas, never sees it; ``measurements()`` leaves it out;
* one point per pending bucket: tags ``level`` (``"1000"`` ...), ``measurement`` (the schema's name) and ``series``
  (``*`` for the reduction across tags, else ``t`` followed by ``/<value>`` per tag, each value percent-encoded),
  field ``pending=true``, time = the bucket's start (the time of the aggregate points it stands for);
* marks are queued *before* the raw points they describe (the buffer is sent in order, so they reach influxd no
  later than those points); once a level is recomputed, one ``DELETE FROM "_scald/pending" WHERE measurement=...
  AND level=... AND time in [first, last marked bucket]`` is queued *after* the recomputed aggregate lines, so it
  runs only once influxd has accepted them. Every mark written before that DELETE belongs to a bucket this writer
  has just recomputed (marks left by an earlier writer are read before a measurement is first processed), so the
  range removes nothing still pending. One writer per measurement is assumed, as with ligo-scald;
* a new Aggregator reads the marks of a measurement before it first recomputes it (first store of it, or
  ``flush()``/``close()``, which read the marks of every measurement that has a schema) and finishes them; marks of
  a measurement without a schema are left where they are and logged once.
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
from urllib.parse import quote, unquote

import numpy as np

from ..timeutil import gps_to_unix, unix_to_gps
from .decimate import bucket_intervals, decimate_levels, due_levels
from .errors import BackendError
from .schema import AGGREGATES, LEVELS, Schema, SchemaRegistry, make_schema, writer_schema
from .store import MAX_POINTS, LigoScaldLoad, Store, dispatch
from .triggers import FAR_THRESHOLDS, normalize_snapshot, normalize_triggers, rp_name, threshold_for
from .validate import SeriesBatch, last_wins, normalize_columns, normalize_rows

log = logging.getLogger(__name__)

RAW_RP = "autogen"
BATCH_LINES = 5000  # lines per POST: far below influxd's 25 MB default body limit
BUFFER_POINTS = 1_000_000  # lines kept while influxd is unreachable
PENDING_RP = "_scald"  # our bookkeeping (see the module docstring); infinite, so old buckets' marks are kept
PENDING_MEASUREMENT = "_scald/pending"  # "/" cannot be in a schema's measurement name: no collision possible
INTERNAL_MEASUREMENTS = frozenset({PENDING_MEASUREMENT})
PROBE_INTERVAL = 0.5  # s between GET /ping probes while backing off after influxd could not be reached
PROBE_TIMEOUT = 0.5  # s; a probe must cost a write call little even when the host does not answer at all
MARKS_PAGE = 10_000  # marks read per query when a new writer picks up an earlier one's pending work
#: Key of the reduction across tags among a measurement's series (real keys are tuples of strings).
_ACROSS: tuple = (None,)


class AuthError(BackendError):
    """influxd refused the credentials (401/403): retrying will not help until the configuration is fixed."""


class BufferFullError(BackendError):
    """influxd has been unreachable long enough that the write buffer is full; this call stored nothing."""


class _UnreachableError(BackendError):
    """influxd could not be connected to or did not answer in time (as opposed to answering with an error): the
    case in which a cheap ``/ping`` tells when trying again is worth it."""


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


@dataclass
class _Batch:
    """One POST waiting in the buffer: line protocol for ``rp``, or (``query``) InfluxQL statements to run once
    everything queued before them has been accepted."""

    rp: str
    body: bytes
    points: int  # data points (raw and aggregate) in the body: what ``buffered_points`` and ``buffer_size`` count
    lines: int  # lines in the body, bookkeeping marks included
    query: bool = False


class _Influx(Store):
    """Connection, quoting, schema lookup and the primitives of the store interface, for Consumer and Aggregator."""

    def __init__(self, hostname: str = "localhost", port: int = 8086, db: str = "mydb", auth: bool = False,
                 https: bool = False, check_certs: bool = True, timeout: float = 10.0, max_points: int = MAX_POINTS,
                 netrc_file: str | None = None, schemas: Iterable[Any] | None = None, **_: Any):
        from influxdb import InfluxDBClient

        self.hostname, self.port, self.db = hostname, int(port), db
        self.max_points = int(max_points)
        self.timeout = float(timeout)
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

    #: How ``register_schema`` builds a schema: a reader accepts any storable one, a writer refuses more.
    _make_schema = staticmethod(make_schema)

    def register_schema(self, measurement: str, columns: str | Sequence[str], column_key: str | None = None,
                        tags: str | Sequence[str] | None = None, tag_key: str | None = None,
                        aggregate: str | None = None) -> Schema:
        """Declare a measurement (ligo-scald's signature): influxd keeps no tag order nor column_key."""
        schema = self._make_schema(measurement, columns, column_key, tags, tag_key, aggregate)
        self.schemas.add(schema)
        return schema

    def close(self) -> None:
        self.client.close()

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
            raise _Unavailable(f"{self.where}: unreachable: {_first_line(exc)}", connect=True) from None

    def query(self, q: str, method: str = "GET") -> list[dict]:
        """Run one InfluxQL statement; the series of its result (``[]`` for none). Errors are BackendError."""
        return self.query_many([q], method)[0]

    def query_many(self, statements: Sequence[str], method: str = "GET") -> list[list[dict]]:
        """Run ``;``-separated statements in one request (one round trip); the series of each, in order.

        influxd stops at the first statement that fails (the later ones are "not executed"): that one's error is
        raised as BackendError, naming the statement when there are several.
        """
        try:
            response = self._call("query", method, {"q": "; ".join(statements), "db": self.db, "epoch": "ns"})
        except _HTTPError as exc:
            if exc.code in (401, 403):
                raise AuthError(f"{self.where}: authentication failed ({exc.code}): {exc}") from None
            raise BackendError(f"{self.where}: query failed ({exc.code}): {exc}") from None
        except _Unavailable as exc:
            raise (_UnreachableError if exc.connect else BackendError)(str(exc)) from None
        results = response.json().get("results") or [{}]
        out = []
        for i, statement in enumerate(statements):
            result = results[i] if i < len(results) else {}
            if "error" in result:
                if "database not found" in result["error"]:
                    raise BackendError(f"{self.where}: database {self.db!r} does not exist (nothing stored yet?)")
                which = f" ({statement})" if len(statements) > 1 else ""
                raise BackendError(f"{self.where}: query failed{which}: {result['error']}")
            out.append(result.get("series", []))
        return out

    # -- schema -----------------------------------------------------------------------------------------------
    def _discover(self, measurement: str) -> None:
        """A schema inferred from the server (cached): columns from the field keys, tags
        from the tag keys without ``aggregate``; tag order and column_key are not kept by influxd, so a
        configured schema is better. Looked for where data exist: raw points (``autogen``), else the first level
        that holds the measurement — ligo-scald with ``aggregate='max'`` writes no raw points at all."""
        if measurement not in INTERNAL_MEASUREMENTS:
            name = quote_ident(measurement)
            fields = _field_keys(self.query(f"SHOW FIELD KEYS FROM {quote_ident(RAW_RP)}.{name}"))
            rp = RAW_RP if fields else None
            if rp is None:  # one round trip for every level that exists (a missing RP would stop the statements)
                existing = {v[0] for s in self.query(f"SHOW RETENTION POLICIES ON {quote_ident(self.db)}")
                            for v in s.get("values", [])}
                candidates = [f"{lv}s" for lv in LEVELS if f"{lv}s" in existing]
                found = self.query_many([f"SHOW FIELD KEYS FROM {quote_ident(c)}.{name}" for c in candidates]
                                        ) if candidates else []
                rp, fields = next(((c, _field_keys(f)) for c, f in zip(candidates, found) if _field_keys(f)),
                                  (None, []))
            if rp is not None:
                tag_series = self.query(f"SHOW TAG KEYS FROM {quote_ident(rp)}.{name}")
                tags = [v[0] for s in tag_series for v in s.get("values", []) if v[0] != "aggregate"]
                self.schemas.add(make_schema(measurement, fields, None, tags or None))

    def measurements(self) -> list[str]:
        """The measurements on the server, without the across-tags ones and our own bookkeeping."""
        return sorted(v[0] for s in self.query("SHOW MEASUREMENTS") for v in s.get("values", [])
                      if "_across_" not in v[0] and v[0] not in INTERNAL_MEASUREMENTS)

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

    def _select(self, schema: Schema, expr: str, key: tuple[str, ...] | None, level: int, aggregate: str | None,
                start: float | None, end: float | None, tail: str = "") -> list[dict]:
        """The series of ``SELECT expr`` over one series (``key``) or the reduction across tags (None)."""
        where_tags = None if key is None else dict(zip(schema.tags, key))
        return self.query(f"SELECT {expr} FROM {self._source(schema, level, key is None)}"
                          f"{self._where(start, end, aggregate, where_tags)}{tail}")

    def _select_by_tag(self, schema: Schema, expr: str, level: int, aggregate: str | None, start: float | None,
                       end: float | None) -> list[tuple[tuple[str, ...], list[list]]]:
        """``[(tag_values, rows)]`` of ``SELECT expr`` over every tag combination, grouped by the tags."""
        group = ",".join(quote_ident(t) for t in schema.tags)
        series = self.query(f"SELECT {expr} FROM {self._source(schema, level, False)}"
                            f"{self._where(start, end, aggregate, None)}" + (f" GROUP BY {group}" if group else ""))
        return [(tuple(s.get("tags", {}).get(t, "") for t in schema.tags), s["values"]) for s in series]

    # -- the primitives of the store interface (.store.Store) -------------------------------------------------
    def _series(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> tuple[list[float], list[float]]:
        series = self._select(schema, quote_ident(column), key, level, aggregate, start, end)
        return _points(series[0]["values"], level) if series else ([], [])

    def _series_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict[tuple[str, ...], tuple[list[float], list[float]]]:
        return {key: _points(values, level)
                for key, values in self._select_by_tag(schema, quote_ident(column), level, aggregate, start, end)}

    def _latest(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                num: int, before: float | None = None) -> tuple[list[float], list[float]]:
        series = self._select(schema, quote_ident(column), key, level, aggregate, None, before,
                              f" ORDER BY time DESC LIMIT {num}")
        return _points(series[0]["values"][::-1], level) if series else ([], [])

    def _latest_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str,
                       before: float | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        out = {}
        for key, values in self._select_by_tag(schema, f"last({quote_ident(column)})", level, aggregate, None,
                                               before):
            gps = float(ns_to_gps([values[0][0]])[0])
            out[key] = (float(round(gps)) if level else gps, values[0][1])
        return out

    #: Reductions InfluxQL computes exactly as ``store.REDUCE`` does (selectors: a value of the data). Its
    #: median() averages the two middle values of an even count, unlike median_high: medians read the points.
    SERVER_REDUCE = {"max": "max", "min": "min", "latest": "last"}

    def _reduced(self, schema: Schema, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                 reduce: str, start: float, end: float) -> float | None:
        """max, min and latest computed by influxd; the median from the points."""
        if reduce not in self.SERVER_REDUCE:
            return super()._reduced(schema, key, level, aggregate, column, reduce, start, end)
        series = self._select(schema, f"{self.SERVER_REDUCE[reduce]}({quote_ident(column)})", key, level, aggregate,
                              start, end)
        return series[0]["values"][0][1] if series and series[0].get("values") else None

    def _reduced_by_tag(self, schema: Schema, level: int, aggregate: str | None, column: str, reduce: str,
                        start: float, end: float) -> dict[tuple[str, ...], float]:
        """max, min and latest computed by influxd (a 300 s window of 100 tags at 1 Hz: ~14 ms instead of ~150 ms
        to ship and parse the points); the median from the points."""
        if reduce not in self.SERVER_REDUCE:
            return super()._reduced_by_tag(schema, level, aggregate, column, reduce, start, end)
        expr = f"{self.SERVER_REDUCE[reduce]}({quote_ident(column)})"
        return {key: values[0][1] for key, values in self._select_by_tag(schema, expr, level, aggregate, start, end)
                if values[0][1] is not None}


    # -- triggers and snapshots (ligo-scald's layout: module .triggers) ---------------------------------------
    def _triggers(self, measurement: str, start: float | None, end: float | None, far: float | None,
                  far_key: str) -> list[tuple[float, dict]]:
        """From the finest ``"<threshold>_hz"`` policy that holds every trigger with FAR <= ``far`` (the caller
        cuts exactly: ``far=5e-3`` reads ``"0.01_hz"``); nothing when the policy does not exist."""
        source = ".".join(quote_ident(n) for n in (self.db, rp_name(threshold_for(far)), measurement))
        try:
            series = self.query(f"SELECT * FROM {source}{self._where(start, end, None, None)}")
        except BackendError as exc:
            if "retention policy not found" in str(exc):
                return []
            raise
        if not series or not series[0].get("values"):
            return []
        names = series[0]["columns"][1:]
        values = series[0]["values"]
        stamps = ns_to_gps([row[0] for row in values]).tolist()
        return [(t, dict(zip(names, row[1:]))) for t, row in zip(stamps, values)]

    def describe_triggers(self, far: float | None) -> str:
        return f"triggers from retention policy {rp_name(threshold_for(far))}"

    def _snapshot(self, measurement: str) -> tuple[float, str, str] | None:
        """The newest point of fields ``data``/``dims`` in the default retention policy, where ligo-scald keeps
        snapshots."""
        series = self.query(f"SELECT {quote_ident('data')},{quote_ident('dims')} FROM {quote_ident(self.db)}.."
                            f"{quote_ident(measurement)} ORDER BY time DESC LIMIT 1")
        if not series or not series[0].get("values"):
            return None
        ns, data, dims = series[0]["values"][0][:3]
        if not isinstance(data, str) or not isinstance(dims, str):
            return None
        return float(ns_to_gps([ns])[0]), data, dims


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
    """The server could not be reached (``connect``) or answered 5xx: worth retrying."""

    def __init__(self, message: str, connect: bool = False):
        super().__init__(message)
        self.connect = connect


def _field_keys(series: list[dict]) -> list[str]:
    return [v[0] for s in series for v in s.get("values", [])]


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


class Aggregator(_Influx, LigoScaldLoad):
    """Stores rows or columns (ligo-scald's API) with exact min/median/max at every level, losing nothing.

    ``buffer_size`` bounds how many points wait while influxd is unreachable; ``retry_max`` caps the backoff
    between retries (seconds); ``batch_size`` is the number of lines per POST. ``raw_retention`` (seconds, ≥ 3600)
    sets the duration of the default retention policy that holds raw points. Coarse levels (>= 1000 s) are
    recomputed at most every ``coarse_delay * dt`` seconds while streaming (their buckets hold many raw points);
    what is still to do is marked on the server (module docstring), so a crash between two refreshes loses none of it.
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
        self._probe = False  # the last failure was "could not connect": a /ping may end the backoff early
        self._last_probe = -math.inf
        self._ready = False  # database and retention policies exist
        # Buckets to recompute: measurement -> level -> series (tag tuple, or _ACROSS) -> bucket numbers.
        self._pending: dict[str, dict[int, dict[tuple, set[int]]]] = {}
        # Marks queued or on the server: measurement -> level -> [first, last] bucket number (what a DELETE spans).
        self._marked: dict[str, dict[int, list[int]]] = {}
        self._marks_read: set[str] = set()  # measurements whose marks on the server are in _pending
        self._orphans: set[str] = set()  # measurements with marks but no schema here, already logged
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
        statements += [f"CREATE RETENTION POLICY {quote_ident(rp_name(far))} ON {quote_ident(self.db)} "
                       "DURATION INF REPLICATION 1" for far in FAR_THRESHOLDS]  # ligo-scald's trigger policies
        if self.raw_retention:
            hours = max(1, math.ceil(float(self.raw_retention) / 3600))
            statements.append(f"ALTER RETENTION POLICY {quote_ident(RAW_RP)} ON {quote_ident(self.db)} "
                              f"DURATION {hours}h")
        for q in statements:
            self.query(q, method="POST")
        try:
            self.query(f"CREATE RETENTION POLICY {quote_ident(PENDING_RP)} ON {quote_ident(self.db)} "
                       "DURATION INF REPLICATION 1 SHARD DURATION 52w", method="POST")
        except BackendError as exc:
            if "already exists" not in str(exc):  # made by hand with other settings: still ours to use
                raise
        self._ready = True

    # -- public write API -------------------------------------------------------------------------------------
    #: ``register_schema`` refuses what a writer must not write, as SQLite's does.
    _make_schema = staticmethod(writer_schema)

    def store_columns(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        """Store ``{tags: {'time': [...], 'fields': {col: [...]}}}``; ``aggregate`` is accepted for ligo-scald
        compatibility (min, median and max are always kept)."""
        schema = self.schemas.get(measurement)
        batches = normalize_columns(schema, data)
        _check_tags(schema, batches)
        return self._store(schema, batches)

    def store_rows(self, measurement: str, data: Mapping[Any, Any], aggregate: str | None = None) -> int:
        """Store ``{tags: [{'time': t, 'fields': {col: v}}, ...]}`` (see ``store_columns``)."""
        schema = self.schemas.get(measurement)
        batches = normalize_rows(schema, data)
        _check_tags(schema, batches)
        return self._store(schema, batches)

    def store_triggers(self, measurement: str, rows: Sequence[Mapping[str, Any]], far_key: str = "far",
                       time_key: str = "end") -> int:
        """ligo-scald's ``store_triggers``, in its layout: the lowest-FAR trigger of each second (FAR <= 1e-2) to
        ``"0.01_hz"``, and to each finer ``"<threshold>_hz"`` policy while its FAR is at most the threshold.

        Beyond ligo-scald: every row is checked first (ValueError, nothing stored); a second already stored with a
        lower FAR keeps it (influxd would otherwise overwrite the point); values follow the field types already on
        the server (a new numeric field is a float), so a field type conflict cannot drop the write. Reading what
        is stored needs the server: BackendError (nothing stored) when it cannot be read. Returns the seconds
        written."""
        found = normalize_triggers(measurement, rows, far_key, time_key)
        if not found:
            return 0
        self._setup()
        source = ".".join(quote_ident(n) for n in (self.db, rp_name(FAR_THRESHOLDS[0]), measurement))
        types_series, stored = self.query_many([
            f"SHOW FIELD KEYS FROM {quote_ident(rp_name(FAR_THRESHOLDS[0]))}.{quote_ident(measurement)}",
            f"SELECT {quote_ident(far_key)} FROM {source}{self._where(found[0][0], found[-1][0], None, None)}"])
        types = {v[0]: v[1] for s in types_series for v in s.get("values", [])}
        have = {}
        for s in stored:
            stamps = ns_to_gps([v[0] for v in s.get("values", [])]).tolist()
            have.update((int(round(t)), v[1]) for t, v in zip(stamps, s.get("values", [])))
        keep = [(b, far, row) for b, far, row in found
                if not (isinstance(have.get(b), (int, float)) and not far < have[b])]
        lines = [(far, _trigger_line(measurement, b, row, types)) for b, far, row in keep]
        for threshold in FAR_THRESHOLDS:
            chosen = [line for far, line in lines if far <= threshold]
            if not chosen:
                break
            self._enqueue(rp_name(threshold), chosen)
        self._drain()
        return len(keep)

    def store_snapshot(self, measurement: str, data: Mapping[str, Any], dims: Mapping[str, str], time: float,
                       **attrs: Any) -> None:
        """ligo-scald's ``store_snapshot``: string fields ``data``/``dims`` (JSON) in the default retention
        policy; checked first (ValueError); ``attrs`` accepted and, as by ligo-scald, not stored."""
        t, data_json, dims_json = normalize_snapshot(measurement, data, dims, time)
        self._enqueue("", [f"{_escape_measurement(measurement)} data={_string_field(data_json)},"
                           f"dims={_string_field(dims_json)} {int(gps_to_ns(t)[0])}"])
        self._drain()

    def store(self, data_type: str, *args: Any, **kwargs: Any) -> Any:
        """ligo-scald's dispatch: ``rows``, ``columns``, ``triggers`` or ``snapshot``."""
        return dispatch(self, data_type, *args, **kwargs)

    @property
    def buffered_points(self) -> int:
        """Data points (raw and aggregate) accepted but not yet on the server."""
        return self._buffered

    def flush(self, timeout: float = 30.0) -> None:
        """Send everything buffered and bring every level up to date — including the pending work an earlier
        writer left on the server for any measurement this one has a schema for; BackendError if influxd stays
        away (nothing is dropped: the buffer and the pending buckets are kept for the next try)."""
        deadline = _time.monotonic() + timeout
        self._send_all(deadline)
        self._read_all_marks()
        for measurement in list(self._pending):
            if self._pending[measurement] and measurement in self.schemas:
                self._process(self.schemas.get(measurement), force=True, strict=True)
                self._send_all(deadline)  # recomputing needs an empty buffer (it reads the server's raw points)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            super().close()

    # -- write path -------------------------------------------------------------------------------------------
    def _store(self, schema: Schema, batches: list[SeriesBatch]) -> int:
        points = sum(len(b.time) for b in batches)
        earlier: BackendError | None = None
        if self._buffer:  # an earlier call's points still wait: influxd may be back; sending them first also lets
            try:          # this call's aggregates be computed from a complete server copy
                self._drain()
            except BackendError as exc:  # about earlier points: this call is stored all the same, then it is raised
                earlier = exc
        if self._buffer and self._buffered + points > self.buffer_size:
            raise BufferFullError(f"{self.where}: unreachable and the write buffer is full "
                                  f"({self._buffered} of {self.buffer_size} points); nothing of this call was "
                                  "stored — retry later or raise buffer_size") from earlier
        rows_by_tags = {}
        for batch in batches:
            rows_by_tags[batch.tags] = last_wins(batch.time, batch.values)
        # Buckets to recompute, per level and series, and those among them that were not pending yet.
        pending = self._pending.setdefault(schema.measurement, {})
        added: dict[int, dict[tuple, set[int]]] = {}
        for tags, (t, _) in rows_by_tags.items():
            for level in LEVELS:
                buckets = set(np.unique(np.floor(t / level).astype(np.int64)).tolist())
                for key in (tags, _ACROSS) if schema.tags else (tags,):
                    have = pending.setdefault(level, {}).setdefault(key, set())
                    fresh = buckets - have
                    if fresh:
                        have |= fresh
                        added.setdefault(level, {}).setdefault(key, set()).update(fresh)
        self._process(schema, force=False, new=rows_by_tags)
        later = {level: per for level, per in added.items() if pending.get(level)}  # levels this call left pending
        if later:
            self._mark(schema.measurement, later)  # queued before the raw points: on the server no later than them
        for tags, (t, v) in rows_by_tags.items():
            self._enqueue(RAW_RP, _lines(_escape_measurement(schema.measurement), _tagset(schema.tags, tags),
                                         schema.columns, gps_to_ns(t), v))
        try:
            self._drain()
        except BackendError:
            if earlier is not None:
                log.error("%s", earlier)
            raise
        if earlier is not None:
            raise earlier
        return points

    def _process(self, schema: Schema, force: bool, new: Mapping[tuple[str, ...], tuple] | None = None,
                 strict: bool = False) -> None:
        """Recompute the pending buckets of the due levels from the raw points (server's + this call's), then
        queue the DELETE of those levels' marks after the recomputed lines. Deferred (logged) when the server
        cannot be read; with ``strict`` (flush), that is raised instead."""
        if self._buffer:  # raw points still waiting to be sent: the server's copy is incomplete, recompute later
            if strict:
                raise BackendError(f"{self.where}: {self._buffered} points still buffered: server unreachable")
            return
        m = schema.measurement
        try:
            self._read_marks(schema)  # an earlier writer's pending work joins ours before any DELETE of marks
        except BackendError as exc:
            if strict:
                raise
            log.warning("%s: aggregates deferred: %s", m, exc)
            return
        pending = self._pending.get(m, {})
        due = [lv for lv in due_levels(self._last_run, m, LEVELS, force, self.coarse_delay, _time.monotonic())
               if pending.get(lv)]
        if not due:
            return
        intervals = bucket_intervals({lv: np.fromiter(set().union(*pending[lv].values()), dtype=np.int64)
                                      for lv in due})
        try:
            stored = self._read_raw(schema, intervals)
        except BackendError as exc:
            if strict:
                raise
            log.warning("%s: aggregates deferred: %s", m, exc)
            return
        raw = _merge(stored, new or {})
        now = _time.monotonic()
        key = schema.columns.index(schema.column_key)
        name = _escape_measurement(m)
        across_name = _escape_measurement(f"{m}_across_{schema.tag_key}s") if schema.tags else name
        work: dict[tuple, dict[int, np.ndarray]] = defaultdict(dict)
        marked = self._marked.get(m, {})
        clear = []
        for level in due:
            self._last_run[(m, level)] = now
            for tags, buckets in pending.pop(level).items():
                work[tags][level] = np.fromiter(buckets, dtype=np.int64, count=len(buckets))
            span = marked.pop(level, None)
            if span is not None:
                lo_ns, hi_ns = gps_to_ns([span[0] * level, span[1] * level]).tolist()
                clear.append(f"DELETE FROM {quote_ident(PENDING_MEASUREMENT)} WHERE "
                             f"{quote_ident('measurement')} = {quote_literal(m)} AND "
                             f"{quote_ident('level')} = {quote_literal(str(level))} AND "
                             f"time >= {lo_ns} AND time <= {hi_ns}")
        for tags, levels in work.items():
            across = tags == _ACROSS and bool(schema.tags)
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
                for agg in AGGREGATES:
                    self._enqueue(f"{level}s", _lines(across_name if across else name, tagset + f",aggregate={agg}",
                                                      schema.columns, ns, v[dec.index[agg]]))
        if clear:  # after the recomputed lines: the marks go only once influxd has accepted those
            self._buffer.append(_Batch("", "; ".join(clear).encode("utf-8"), 0, 0, query=True))

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

    # -- pending marks on the server (module docstring) ------------------------------------------------------
    def _marks_source(self) -> str:
        return f"{quote_ident(self.db)}.{quote_ident(PENDING_RP)}.{quote_ident(PENDING_MEASUREMENT)}"

    def _note_marked(self, measurement: str, level: int, lo: int, hi: int) -> None:
        span = self._marked.setdefault(measurement, {}).get(level)
        if span is None:
            self._marked[measurement][level] = [lo, hi]
        else:
            span[0], span[1] = min(span[0], lo), max(span[1], hi)

    def _mark(self, measurement: str, per_level: Mapping[int, Mapping[tuple, set[int]]]) -> None:
        """Queue one mark per pending bucket (not counted as buffered points: bookkeeping, bounded by the
        buckets)."""
        lines = []
        for level, per in per_level.items():
            prefix = (f"{_escape_measurement(PENDING_MEASUREMENT)},level={level},"
                      f"measurement={_escape_key(measurement)},series=")
            lo, hi = math.inf, -math.inf
            for key, buckets in per.items():
                b = np.fromiter(buckets, dtype=np.int64, count=len(buckets))
                head = f"{prefix}{_series_tag(key)} pending=true "
                lines.extend(head + str(ns) for ns in gps_to_ns(b.astype(np.float64) * level).tolist())
                lo, hi = min(lo, int(b.min())), max(hi, int(b.max()))
            self._note_marked(measurement, level, lo, hi)
        self._enqueue(PENDING_RP, lines, counted=False)

    def _read_marks(self, schema: Schema) -> None:
        """Once per measurement, before it is first recomputed: the marks on the server (an earlier writer's, if
        it died with work pending) join the pending buckets, so they are finished and no DELETE of marks can
        remove one whose bucket was not recomputed."""
        m = schema.measurement
        if m in self._marks_read:
            return
        self._setup()
        rows: list[list] = []
        while True:
            page = [v for s in self.query(
                f"SELECT {quote_ident('pending')}, {quote_ident('level')}, {quote_ident('series')} "
                f"FROM {self._marks_source()} WHERE {quote_ident('measurement')} = {quote_literal(m)} "
                f"LIMIT {MARKS_PAGE} OFFSET {len(rows)}") for v in s.get("values", [])]
            rows.extend(page)
            if len(page) < MARKS_PAGE:
                break
        self._marks_read.add(m)
        if not rows:
            return
        starts = ns_to_gps([r[0] for r in rows]).tolist()
        pending = self._pending.setdefault(m, {})
        found: dict[int, list[int]] = defaultdict(list)
        bad = theirs = 0
        for start, (_, _, level_text, series_text) in zip(starts, rows):
            level = int(level_text) if str(level_text).isdigit() else 0
            series = _series_key(series_text, schema)
            if level not in LEVELS or series is None:
                bad += 1
                continue
            bucket = int(math.floor(start / level + 0.5))  # marks carry a bucket's start: a multiple of level
            have = pending.setdefault(level, {}).setdefault(series, set())
            theirs += bucket not in have  # ours too when they were written while the server could not be read
            have.add(bucket)
            found[level].append(bucket)
        for level, buckets in found.items():
            self._note_marked(m, level, min(buckets), max(buckets))
        if theirs:
            log.info("%s: %s: %d pending buckets left by an earlier writer, to be recomputed", self.where, m, theirs)
        if bad:
            log.warning("%s: %s: %d pending marks not understood (level or series), ignored", self.where, m, bad)

    def _read_all_marks(self) -> None:
        """Read the marks of every measurement that has any and a schema here; log once each one without."""
        self._setup()
        for s in self.query(f"SELECT count({quote_ident('pending')}) FROM {self._marks_source()} "
                            f"GROUP BY {quote_ident('measurement')}"):
            name = s.get("tags", {}).get("measurement", "")
            if name in self.schemas:
                self._read_marks(self.schemas.get(name))
            elif name not in self._orphans:
                self._orphans.add(name)
                count = s["values"][0][1] if s.get("values") else 0
                log.warning("%s: %s pending buckets of measurement %r left by an earlier writer; no schema for it "
                            "here, so they are left for a writer that has one", self.where, count, name)

    # -- buffered, batched sending ----------------------------------------------------------------------------
    def _enqueue(self, rp: str, lines: list[str], counted: bool = True) -> None:
        for i in range(0, len(lines), self.batch_size):
            chunk = lines[i:i + self.batch_size]
            points = len(chunk) if counted else 0
            self._buffer.append(_Batch(rp, ("\n".join(chunk) + "\n").encode("utf-8"), points, len(chunk)))
            self._buffered += points

    def _send_all(self, deadline: float) -> None:
        """Send the whole buffer, trying every 0.5 s until ``deadline``; BackendError if it cannot."""
        while self._buffer:
            self._next_try = 0.0
            self._drain()
            if self._buffer:
                if _time.monotonic() >= deadline:
                    raise BackendError(f"{self.where}: {self._buffered} points still buffered: server unreachable")
                _time.sleep(min(0.5, max(deadline - _time.monotonic(), 0)))

    def _answering(self) -> bool:
        """While backing off because influxd could not be reached: has it come back? A ``GET /ping`` with a
        short timeout, at most every PROBE_INTERVAL s, so the buffer goes out within about that much of the
        server's return instead of at the end of a backoff of up to ``retry_max`` s."""
        now = _time.monotonic()
        if not self._probe or now - self._last_probe < PROBE_INTERVAL:
            return False
        self._last_probe = now
        import requests

        try:
            response = self.client._session.get(f"{self.client._baseurl}/ping", timeout=min(PROBE_TIMEOUT,
                                                 self.timeout), verify=self.client._verify_ssl,
                                                 proxies=self.client._proxies)
        except requests.exceptions.RequestException:
            return False
        return response.status_code == 204

    def _drain(self) -> None:
        """Send buffered batches in order; stop at the first failure and retry later with backoff."""
        if not self._buffer:
            return
        if _time.monotonic() < self._next_try:
            if not self._answering():
                return
            self._next_try = 0.0  # it answers: the backoff is over
        try:
            self._setup()
        except AuthError as exc:
            self._backoff(exc)
            raise AuthError(f"{exc}; {self._buffered} points kept in the buffer") from None
        except BackendError as exc:
            self._backoff(exc, probe=isinstance(exc, _UnreachableError))
            return
        setup_again = True
        while self._buffer:
            batch = self._buffer[0]
            try:
                if batch.query:
                    self._run_queued(batch)
                else:
                    params = {"db": self.db, "precision": "n"}
                    if batch.rp:  # "": the database's default retention policy (ligo-scald's snapshots)
                        params["rp"] = batch.rp
                    self._call("write", "POST", params, batch.body, 204)
            except _Unavailable as exc:
                self._backoff(exc, probe=exc.connect)
                return
            except _HTTPError as exc:
                if exc.code == 413 and batch.lines > 1:  # too large for this server: halve it and go on
                    self._split_head()
                    continue
                if setup_again and ("database not found" in str(exc) or "retention policy not found" in str(exc)):
                    self._ready, setup_again = False, False  # dropped behind our back: create it again, once
                    self._setup()
                    continue
                if exc.code in (401, 403):
                    self._backoff(BackendError(f"{self.where}: authentication failed: {exc}"))
                    raise AuthError(f"{self.where}: authentication failed ({exc.code}): {exc}; "
                                    f"{self._buffered} points kept in the buffer") from None
                self._buffer.popleft()  # the server refuses these lines for good (e.g. a field type conflict)
                self._buffered -= batch.points
                if batch.query:
                    log.warning("%s: could not clear pending marks (%s): %s; they will only cause a recomputation",
                                self.where, exc.code, exc)
                    continue
                raise BackendError(f"{self.where}: influxd refused {batch.lines} points for RP {batch.rp!r} "
                                   f"({exc.code}): {exc}") from None
            self._buffer.popleft()
            self._buffered -= batch.points
            setup_again = True
            if self._failures:
                log.info("%s: reachable again; buffered points sent", self.where)
            self._failures, self._probe = 0, False

    def _run_queued(self, batch: _Batch) -> None:
        """Run queued statements (DELETEs of marks); a statement influxd rejects is logged, not retried: a mark
        left behind only makes a later writer recompute a bucket again."""
        response = self._call("query", "POST", {"q": batch.body.decode("utf-8"), "db": self.db}, None, 200)
        for result in response.json().get("results", []):
            if "error" in result:
                log.warning("%s: could not clear pending marks: %s", self.where, result["error"])

    def _split_head(self) -> None:
        batch = self._buffer.popleft()
        lines = batch.body.decode("utf-8").rstrip("\n").split("\n")
        half = len(lines) // 2
        for part in (lines[half:], lines[:half]):
            self._buffer.appendleft(_Batch(batch.rp, ("\n".join(part) + "\n").encode("utf-8"),
                                           len(part) if batch.points else 0, len(part)))

    def _backoff(self, exc: Exception, probe: bool = False) -> None:
        self._failures += 1
        self._probe = probe
        delay = min(self.retry_max, 0.5 * 2 ** min(self._failures - 1, 16))
        self._next_try = _time.monotonic() + delay
        log.warning("%s; %d points buffered, retrying in %.1f s%s", exc, self._buffered, delay,
                    " (or as soon as it answers /ping)" if probe else "")


def _string_field(text: str) -> str:
    """A line-protocol string field value: double-quoted, backslashes and quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _trigger_line(measurement: str, bin_start: int, row: Mapping[str, Any], types: Mapping[str, str]) -> str:
    """One trigger as line protocol, each value in the type its field already has on the server (``types``, from
    SHOW FIELD KEYS); ValueError when it cannot be (a string into a numeric field, 2.5 into an integer one)."""
    parts = []
    for key in sorted(row):
        value, kind = row[key], types.get(key)
        where = f"{measurement}: trigger column {key!r} = {value!r}"
        if isinstance(value, bool):
            if kind not in (None, "boolean"):
                raise ValueError(f"{where}: the field is {kind} on the server, not boolean")
            text = "true" if value else "false"
        elif isinstance(value, str):
            if kind not in (None, "string"):
                raise ValueError(f"{where}: the field is {kind} on the server, not a string")
            text = _string_field(value)
        elif kind == "integer":
            if float(value) != int(value):
                raise ValueError(f"{where}: the field is integer on the server")
            text = f"{int(value)}i"
        elif kind in (None, "float"):
            text = repr(float(value))
        else:
            raise ValueError(f"{where}: the field is {kind} on the server, not a number")
        parts.append(f"{_escape_key(key)}={text}")
    return f"{_escape_measurement(measurement)} {','.join(parts)} {int(gps_to_ns(float(bin_start))[0])}"


def _series_tag(key: tuple) -> str:
    """A series of a measurement as a mark's ``series`` tag: ``*`` across tags, else ``t`` + ``/value`` per tag,
    percent-encoded (nothing left that line protocol would need to escape)."""
    if key == _ACROSS:
        return "*"
    return "t" + "".join("/" + quote(value, safe="") for value in key)


def _series_key(text: str, schema: Schema) -> tuple | None:
    """The inverse of ``_series_tag`` for ``schema``; None for a tag that cannot be one of its series."""
    if text == "*":
        return _ACROSS if schema.tags else None
    if not isinstance(text, str) or not text.startswith("t"):
        return None
    values = tuple(unquote(v) for v in text[1:].split("/")[1:])
    return values if len(values) == len(schema.tags) else None


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


def _merge(stored: Mapping[tuple, tuple], new: Mapping[tuple, tuple]) -> dict[tuple, tuple]:
    """Server points plus this call's, sorted by time; a time present in both takes the new value."""
    out = {}
    for key in set(stored) | set(new):
        parts = [src[key] for src in (stored, new) if key in src]
        out[key] = last_wins(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return out
