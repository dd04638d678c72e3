"""The block cache of ``scald serve`` (scald_monitor.serve.cache): answers from cached blocks equal reads of the
backend, on SQLite whatever is written and however late, on a real influxd for everything newer than the settle
time; it is bounded in bytes, shares reads in progress, and its counters are served at /api/stats.

Each equality test runs two apps side by side over the same database: the cached one as served, and one with every
cache off (its answers are the backend's own). Writes (late and out-of-order points included) interleave with reads
of random windows on every data route that reads through the cache.
"""
from __future__ import annotations

import json
import math
import threading
import time
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.config import load
from scald_monitor.io import connect
from scald_monitor.io.sqlite import Aggregator, Consumer
from scald_monitor.serve import create_app
from scald_monitor.serve.cache import BlockCache, ResponseCache, block_width
from scald_monitor.timeutil import gps_now

JOBS = ("0001", "0002", "0003")
CONFIG = """
backends:
  default: BACKEND
schemas:
  lat:
    measurement: lat
    column: data
    tag: job
    tag_key: job
    aggregate: max
"""


def make_apps(directory, backend_yaml: str, settle: float | None = None, answer_ttl: float = 5.0):
    """(cached client, uncached client, cached app) over the config's backend."""
    (directory / "scald.yml").write_text(CONFIG.replace("BACKEND", backend_yaml))
    cfg = load(str(directory / "scald.yml"))
    cached = create_app(cfg)
    state = cached.extensions["scald_monitor"]
    state.cache = ResponseCache(ttl=answer_ttl)
    state.blocks = BlockCache(cfg.backends, ttl=answer_ttl, settle=settle)
    plain = create_app(cfg)
    plain_state = plain.extensions["scald_monitor"]
    plain_state.cache = ResponseCache(ttl=0)
    plain_state.blocks = BlockCache(cfg.backends, max_bytes=0, ttl=0)
    assert not plain_state.blocks.enabled
    return cached.test_client(), plain.test_client(), cached, cfg


def same_answer(cached, plain, path: str) -> None:
    a, b = cached.get(path), plain.get(path)
    assert a.status_code == b.status_code, (path, a.status_code, b.status_code, a.get_data(as_text=True)[:300])
    assert a.status_code in (200, 400, 404), (path, a.get_data(as_text=True)[:300])
    assert a.get_json() == b.get_json(), path
    assert a.headers.get("X-Scald-Source") == b.headers.get("X-Scald-Source"), path


def route_path(route: str, start: float, end: float, dt: int | None, job: str | None) -> str:
    query = ["aggregate=max"] if dt is not None else []
    if dt is not None:
        query.append(f"dt={dt}")
    if job == "*":
        query += ["tag=job"] + [f"job={j}" for j in JOBS]
    elif job is not None:
        query += ["tag=job", f"job={job}"]
    if route == "heatmap":
        query.append("tag_key=job")
    return f"/api/{route}/lat/{start!r}/{end!r}?" + "&".join(query)


ROUTES = st.sampled_from(["timeseries", "timeseries", "segment", "heatmap", "latest"])
DTS = st.sampled_from([None, None, 0, 1, 10, 100, 1000])
JOB = st.sampled_from([None, "0001", "0002", "*"])


def reads(span: float, recent: float = 0.0):
    """Random windows over [-span/10, span*1.1] (offsets from the data's start), on any data route; with
    ``recent``, starting within that many seconds of ``span``."""
    start = st.floats(span - recent if recent else -span / 10, span * 1.1, allow_nan=False)
    width = st.one_of(st.floats(0, 200), st.floats(0, span), st.sampled_from([0.0, 100.0, 1000.0, 3600.0]))
    return st.tuples(st.just("read"), ROUTES, start, width, DTS, JOB)


def writes(lo: float, hi: float):
    """A batch of points of one job at random times in [lo, hi] (late, out of order, repeated times too)."""
    times = st.lists(st.one_of(st.floats(lo, hi, allow_nan=False), st.integers(int(lo), int(hi)).map(float)),
                     min_size=1, max_size=20)
    return st.tuples(st.just("write"), st.sampled_from(JOBS), times, st.floats(-1e3, 1e3, allow_nan=False))


def run_ops(agg, cached, plain, base: float, ops) -> None:
    """Reads and writes in order; after each write the reads made so far are asked again (a block cached before
    the write must not answer for it)."""
    done: list[str] = []
    for op in ops:
        if op[0] == "write":
            _, job, times, value = op
            agg.store_columns("lat", {(job,): {"time": [base + t for t in times],
                                              "fields": {"data": [value + i for i in range(len(times))]}}})
            for path in done[-8:]:
                same_answer(cached, plain, path)
            continue
        _, route, start, width, dt, job = op
        path = route_path(route, round(base + start, 3), round(base + start + width, 3), dt, job)
        same_answer(cached, plain, path)
        done.append(path)


# ===================================================================================================== SQLite

SQLITE_BASE = 1_000_000_000.0
SQLITE_SPAN = 20_000.0


@pytest.fixture(scope="module")
def sqlite_apps(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cache-sqlite")
    agg = Aggregator(path=directory / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    t = SQLITE_BASE + np.arange(0.0, SQLITE_SPAN, 3.7)
    rng = np.random.default_rng(1)
    agg.store_columns("lat", {(j,): {"time": t, "fields": {"data": rng.random(t.size)}} for j in JOBS[:2]})
    cached, plain, app, _ = make_apps(directory, "{backend: sqlite, path: store.sqlite}")
    try:
        yield agg, cached, plain, app
    finally:
        agg.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(reads(SQLITE_SPAN), writes(-500.0, SQLITE_SPAN + 500)), min_size=1, max_size=25))
def test_sqlite_answers_from_blocks_equal_the_backends_whatever_is_written(sqlite_apps, ops):
    """Every answer (body and X-Scald-Source) equals the uncached one, right after any write, late ones included;
    identical URLs are shared too (answer cache on), yet never across a commit."""
    agg, cached, plain, _ = sqlite_apps
    run_ops(agg, cached, plain, SQLITE_BASE, ops)


def test_sqlite_blocks_are_reused_and_only_what_changed_is_dropped(sqlite_apps):
    agg, cached, plain, app = sqlite_apps
    blocks = app.extensions["scald_monitor"].blocks
    path = route_path("timeseries", SQLITE_BASE + 1000, SQLITE_BASE + 15000.5, 10, "0001")
    same_answer(cached, plain, path)
    before = blocks.stats()
    for shift in range(10, 60, 10):  # a live page's windows, a bucket apart: other answers, the same blocks
        same_answer(cached, plain, route_path("timeseries", SQLITE_BASE + 1000 + shift,
                                              SQLITE_BASE + 15000.5 + shift, 10, "0001"))
    after = blocks.stats()
    assert after["backend"]["reads"] == before["backend"]["reads"]
    assert after["blocks"]["hits"] - before["blocks"]["hits"] >= 5 * 14
    agg.store_columns("lat", {("0001",): {"time": [SQLITE_BASE + 14999.0], "fields": {"data": [1e6]}}})
    body = cached.get(path).get_json()
    assert 1e6 in body[0]["y"]  # seen at once
    dropped = blocks.stats()
    assert dropped["backend"]["reads"] == after["backend"]["reads"] + 1  # only the block that changed was read
    assert dropped["blocks"]["invalidations"] > after["blocks"]["invalidations"]


def test_sqlite_file_without_a_change_log_is_still_exact(tmp_path):
    """A file written before the change log existed: every commit drops every block, answers stay exact."""
    import sqlite3

    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    agg.store_columns("lat", {("0001",): {"time": [SQLITE_BASE + i for i in range(100)],
                                          "fields": {"data": [float(i) for i in range(100)]}}})
    raw = sqlite3.connect(tmp_path / "store.sqlite")
    raw.executescript("DROP TRIGGER chunks_changed_insert; DROP TRIGGER chunks_changed_update; "
                      "DROP TRIGGER chunks_changed_delete; DROP TABLE chunk_changes;")
    raw.close()
    cached, plain, app, _ = make_apps(tmp_path, "{backend: sqlite, path: store.sqlite}")
    path = route_path("timeseries", SQLITE_BASE, SQLITE_BASE + 99, 1, "0001")
    same_answer(cached, plain, path)
    agg.store_columns("lat", {("0001",): {"time": [SQLITE_BASE + 50.5], "fields": {"data": [777.0]}}})
    same_answer(cached, plain, path)
    assert 777.0 in cached.get(path).get_json()[0]["y"]
    assert app.extensions["scald_monitor"].blocks.stats()["blocks"]["invalidations"] > 0
    agg.close()


def test_memory_bound_is_kept_and_least_recently_used_blocks_go_first(tmp_path):
    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    t = SQLITE_BASE + np.arange(0.0, 50_000.0, 1.0)
    agg.store_columns("lat", {("0001",): {"time": t, "fields": {"data": np.sin(t)}}})
    agg.close()
    cfg_backends = {"default": {"backend": "sqlite", "path": str(tmp_path / "store.sqlite")}}
    cache = BlockCache(cfg_backends, max_bytes=200_000)
    reader = Consumer(tmp_path / "store.sqlite")
    for k in range(0, 49_000, 700):
        store = cache.wrap(reader, "default")
        got = store.retrieve_timeseries("lat", SQLITE_BASE + k, SQLITE_BASE + k + 900, "data", tags=("0001",),
                                        aggregate="max", dt=1)
        assert got == reader.retrieve_timeseries("lat", SQLITE_BASE + k, SQLITE_BASE + k + 900, "data",
                                                 tags=("0001",), aggregate="max", dt=1)
        assert cache.bytes <= cache.max_bytes
    s = cache.stats()["blocks"]
    assert s["evictions"] > 0 and 0 < s["bytes"] <= 200_000
    newest = cache.wrap(reader, "default")  # the last window's blocks are still there: no backend read
    reads = cache.stats()["backend"]["reads"]
    newest.retrieve_timeseries("lat", SQLITE_BASE + k, SQLITE_BASE + k + 900, "data", tags=("0001",),
                               aggregate="max", dt=1)
    assert cache.stats()["backend"]["reads"] == reads
    reader.close()


def test_concurrent_misses_share_one_read(tmp_path):
    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    agg.store_columns("lat", {("0001",): {"time": [SQLITE_BASE + i for i in range(1000)],
                                          "fields": {"data": [float(i) for i in range(1000)]}}})
    agg.close()

    class Slow(Consumer):
        calls = 0

        def retrieve_timeseries(self, *args, **kwargs):
            type(self).calls += 1
            time.sleep(0.3)
            return super().retrieve_timeseries(*args, **kwargs)

    cache = BlockCache({"default": {"backend": "sqlite", "path": str(tmp_path / "store.sqlite")}})
    cache.sync("default")
    answers = []

    def one(i: int) -> None:
        reader = Slow(tmp_path / "store.sqlite")
        store = cache.wrap(reader, "default")
        answers.append(store.retrieve_timeseries("lat", SQLITE_BASE + i, SQLITE_BASE + 900 + i, "data",
                                                 tags=("0001",), aggregate="max", dt=10))
        reader.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Slow.calls == 1
    assert cache.stats()["blocks"]["shared"] == 7
    assert len(answers) == 8 and all(a[0] and a[0][0] >= SQLITE_BASE for a in answers)


def test_stats_route_and_its_openapi_entry(sqlite_apps):
    agg, cached, plain, app = sqlite_apps
    cached.get(route_path("timeseries", SQLITE_BASE, SQLITE_BASE + 5000, 10, None))
    cached.get(route_path("timeseries", SQLITE_BASE + 1, SQLITE_BASE + 5001, 10, None))
    r = cached.get("/api/stats")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    body = r.get_json()
    assert body["blocks"]["hits"] > 0 and 0 < body["blocks"]["hit_ratio"] <= 1
    assert body["blocks"]["bytes"] > 0 and body["blocks"]["max_bytes"] == 128 << 20
    assert body["backend"]["reads"] > 0
    doc = cached.get("/api/openapi.json").get_json()
    assert "/api/stats" in doc["paths"] and doc["paths"]["/api/stats"]["get"]["responses"]["200"]


def test_counters_are_logged_once_a_minute_at_debug_level(sqlite_apps, caplog, monkeypatch):
    from scald_monitor.serve import cache as cache_module

    agg, cached, plain, app = sqlite_apps
    blocks = app.extensions["scald_monitor"].blocks
    caplog.set_level("DEBUG", logger="scald_monitor.serve")
    monkeypatch.setattr(blocks, "_last_log", time.monotonic() - cache_module.LOG_EVERY - 1)
    cached.get(route_path("timeseries", SQLITE_BASE, SQLITE_BASE + 333, 1, "0001"))
    cached.get(route_path("timeseries", SQLITE_BASE, SQLITE_BASE + 334, 1, "0001"))
    lines = [r for r in caplog.records if r.getMessage().startswith("block cache:")]
    assert len(lines) == 1 and lines[0].levelname == "DEBUG" and "hit ratio" in lines[0].getMessage()


# =================================================================================================== InfluxDB

SETTLE = 600.0
INFLUX_SPAN = 30_000.0


@pytest.fixture(scope="module")
def influx_apps(tmp_path_factory, influxd):
    db = f"cache_{uuid.uuid4().hex[:10]}"
    directory = tmp_path_factory.mktemp("cache-influx")
    yaml = f"{{backend: influxdb, hostname: {influxd.host}, port: {influxd.port}, db: {db}}}"
    # answers are not shared for a few seconds here (ttl 0): the test asks for writes newer than the settle time
    cached, plain, app, cfg = make_apps(directory, yaml, settle=SETTLE, answer_ttl=0)
    agg = connect(cfg.backend(), schemas=cfg.schemas.values())
    base = float(int(gps_now()) - INFLUX_SPAN)
    t = base + np.arange(0.0, INFLUX_SPAN, 7.3)
    rng = np.random.default_rng(2)
    agg.store_columns("lat", {(j,): {"time": t, "fields": {"data": rng.random(t.size)}} for j in JOBS[:2]})
    agg.flush()
    try:
        yield agg, cached, plain, app, base
    finally:
        agg.close()
        if influxd.running():
            influxd.query(f'DROP DATABASE "{db}"')


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(reads(INFLUX_SPAN), reads(INFLUX_SPAN, recent=3000),
                              writes(INFLUX_SPAN - SETTLE + 100, INFLUX_SPAN + 200)), min_size=1, max_size=15))
def test_influx_answers_from_blocks_equal_the_backends_for_writes_newer_than_the_settle_time(influx_apps, ops):
    """On a real influxd, with points written (late and out of order) up to ``SETTLE - 100`` s in the past."""
    agg, cached, plain, _, base = influx_apps
    shifted = []
    for op in ops:  # times relative to now, which moves on while the test runs
        if op[0] == "write":
            now_offset = gps_now() - base - INFLUX_SPAN
            shifted.append((op[0], op[1], [t + now_offset for t in op[2]], op[3]))
        else:
            shifted.append(op)
    run_ops(agg, cached, plain, base, shifted)
    agg.flush()


def test_influx_keeps_only_settled_blocks(influx_apps):
    """A block that ended long enough ago is read once and kept (a write into it later is not seen: the trade-off
    the settle time names); newer blocks are read from influxd every time."""
    agg, cached, plain, app, base = influx_apps
    blocks = app.extensions["scald_monitor"].blocks
    old_lo = base + 1000.0
    old_hi = base + 5000.0
    path = route_path("timeseries", old_lo, old_hi, 10, "0001")
    same_answer(cached, plain, path)
    reads = blocks.stats()["backend"]["reads"]
    for shift in range(1, 4):
        same_answer(cached, plain, route_path("timeseries", old_lo + shift, old_hi + shift, 10, "0001"))
    assert blocks.stats()["backend"]["reads"] == reads  # all settled: no backend read
    width = block_width(10)
    inside = math.floor((old_lo + 2000) / width) * width + 5.0
    agg.store_columns("lat", {("0001",): {"time": [inside], "fields": {"data": [4242.0]}}})
    agg.flush()
    assert 4242.0 not in cached.get(path).get_json()[0]["y"]  # the documented trade-off
    assert 4242.0 in plain.get(path).get_json()[0]["y"]
    now = gps_now()
    live = route_path("timeseries", now - 3000, now, 10, "0001")
    cached.get(live)
    reads = blocks.stats()["backend"]["reads"]
    cached.get(route_path("timeseries", now - 2999, now + 1, 10, "0001"))
    assert blocks.stats()["backend"]["reads"] == reads + 1  # the open edge, read again (answers ttl 0 here)


def test_stats_json_is_plain_numbers(sqlite_apps):
    agg, cached, plain, app = sqlite_apps
    body = cached.get("/api/stats").get_json()
    json.dumps(body, allow_nan=False)
    assert set(body) >= {"blocks", "backend", "settings"}


# ============================================================================================ answers by buckets


@given(start=st.floats(2.0 ** 23, 1e10), width=st.floats(0, 1e6), dt=st.sampled_from([1, 10, 100, 1000, 100000]))
def test_bucket_range_of_a_window_is_exact(start, width, dt):
    from scald_monitor.serve.api import _buckets

    end = start + width
    first, last = _buckets(start, end, dt)
    assert first * dt >= start and (first - 1) * dt < start
    assert last * dt <= end and (last + 1) * dt > end


def test_windows_holding_the_same_buckets_share_one_answer(sqlite_apps, monkeypatch):
    """Live pages: windows ending at each browser's own now, with a parameter of the poller's own, are one answer
    while they hold the same buckets of the level named; a bucket more is another answer; bad times stay 400."""
    from scald_monitor.serve import data

    agg, cached, plain, app = sqlite_apps
    calls = []
    real = data.timeseries
    monkeypatch.setattr(data, "timeseries", lambda *a, **k: calls.append(1) or real(*a, **k))
    base = SQLITE_BASE + 7000.0
    paths = [route_path("timeseries", base + skew, base + 3600 + skew, 100, "0001") + f"&poll={i}"
             for i, skew in enumerate((0.5, 3.25, 17.0, 99.0))]
    bodies = [cached.get(p).get_data() for p in paths]
    assert len(calls) == 1 and len(set(bodies)) == 1
    for p in paths:
        same_answer(cached, plain, p)
    assert cached.get(route_path("timeseries", base + 100.5, base + 3700.5, 100, "0001")).status_code == 200
    assert len(calls) == 2 + len(paths)  # the next bucket: computed; plus the plain app's reads above
    assert cached.get(f"/api/timeseries/lat/{base + 10}/{base}?dt=100").status_code == 400


# ============================================================================================ checks on the spot

CHECKS = """
checks:
  lat_max:
    type: threshold
    schema: lat
    warning: "~:0.5"
    critical: "~:600"
    lookback: LOOKBACK
  lat_beat:
    type: heartbeat
    schema: lat
    warning: 60
    critical: 180
"""


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lookback=st.sampled_from([30, 300, 3000, 30000]),
       batches=st.lists(st.tuples(st.sampled_from(JOBS), st.lists(st.floats(-4000, 5, allow_nan=False), min_size=1,
                                                                    max_size=5),
                                  st.floats(0, 1000, allow_nan=False)), min_size=1, max_size=4))
def test_checks_evaluated_through_the_blocks_equal_the_backends(tmp_path_factory, lookback, batches):
    """/api/nagios's evaluation on the spot reads through the block cache: the same results as reading the store,
    between writes (late points included), for a threshold and a heartbeat check."""
    from scald_monitor.rules.run import evaluate_check

    directory = tmp_path_factory.mktemp("cache-checks")
    agg = Aggregator(path=directory / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    now_unix = time.time()
    gps = gps_now()
    agg.store_columns("lat", {(j,): {"time": list(gps - 5000 + np.arange(0, 5000, 7.0)),
                                     "fields": {"data": list(np.linspace(0, 1, len(np.arange(0, 5000, 7.0))))}}
                              for j in JOBS[:2]})
    (directory / "scald.yml").write_text(CONFIG.replace("BACKEND", "{backend: sqlite, path: store.sqlite}")
                                         + CHECKS.replace("LOOKBACK", str(lookback)))
    cfg = load(str(directory / "scald.yml"))
    blocks = BlockCache(cfg.backends)
    try:
        for job, offsets, value in [(None, [], 0.0)] + batches:
            if job is not None:
                agg.store_columns("lat", {(job,): {"time": [gps + o for o in offsets],
                                                   "fields": {"data": [value] * len(offsets)}}})
            for name in [n for n in cfg.checks for _ in range(2)]:  # twice: the second from blocks
                mine = evaluate_check(cfg, name, now=now_unix, wrap=blocks.wrap)
                theirs = evaluate_check(cfg, name, now=now_unix)
                assert (mine.state, mine.summary, repr(mine.tags), repr(mine.perfdata), mine.source) == \
                    (theirs.state, theirs.summary, repr(theirs.tags), repr(theirs.perfdata), theirs.source), name
        assert blocks.stats()["blocks"]["hits"] > 0
    finally:
        agg.close()
        blocks.close()


def test_cache_settle_is_a_checked_backend_setting(tmp_path):
    from scald_monitor.config import ConfigError

    (tmp_path / "a.yml").write_text(CONFIG.replace("BACKEND", "{backend: influxdb, db: x, cache_settle: 120}"))
    cfg = load(str(tmp_path / "a.yml"))
    assert BlockCache(cfg.backends).stats()["settings"]["backends"]["default"]["cache_settle"] == 120
    (tmp_path / "b.yml").write_text(CONFIG.replace("BACKEND", "{backend: influxdb, db: x}"))
    assert BlockCache(load(str(tmp_path / "b.yml")).backends).stats()["settings"]["backends"]["default"][
        "cache_settle"] == 600
    (tmp_path / "c.yml").write_text(CONFIG.replace("BACKEND", "{backend: influxdb, db: x, cache_settle: -5}"))
    with pytest.raises(ConfigError, match="cache_settle"):
        load(str(tmp_path / "c.yml"))


def test_cache_bytes_is_a_checked_serve_setting_that_bounds_the_app(tmp_path):
    from scald_monitor.config import ConfigError
    from scald_monitor.serve.cache import DEFAULT_MAX_BYTES

    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("lat", ["data"], "data", ["job"], "job", "max")
    t = SQLITE_BASE + np.arange(0.0, 5000.0, 1.0)
    agg.store_columns("lat", {("0001",): {"time": t, "fields": {"data": np.sin(t)}}})
    agg.close()
    base = CONFIG.replace("BACKEND", "{backend: sqlite, path: store.sqlite}")
    held = {}
    for name, serve in (("default", ""), ("small", "serve: {cache_bytes: 20000}\n"), ("off", "serve: {cache_bytes: 0}\n")):
        (tmp_path / f"{name}.yml").write_text(base + serve)
        client = create_app(load(str(tmp_path / f"{name}.yml"))).test_client()
        for k in range(0, 4000, 500):
            path = f"/api/timeseries/lat/{SQLITE_BASE + k}/{SQLITE_BASE + k + 900}?tag=job&job=0001&dt=1"
            assert client.get(path).status_code == 200
        blocks = client.get("/api/stats").get_json()["blocks"]
        held[name] = (blocks["max_bytes"], blocks["bytes"])
    assert held["default"][0] == DEFAULT_MAX_BYTES and held["default"][1] > 20000
    assert held["small"][0] == 20000 and 0 < held["small"][1] <= 20000
    assert held["off"] == (0, 0)
    (tmp_path / "bad.yml").write_text(base + "serve: {cache_bytes: lots}\n")
    with pytest.raises(ConfigError, match=r"bad.yml:\d+: serve.cache_bytes: expected an integer >= 0"):
        load(str(tmp_path / "bad.yml"))
