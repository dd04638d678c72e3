"""Pending coarse-level work survives a writer killed with SIGKILL (InfluxDB backend, real influxd).

While streaming, coarse levels (>= 1000 s) are recomputed only every ``coarse_delay * dt`` seconds; the buckets
still to do are marked on the server (measurement ``_scald/pending`` in RP ``_scald``). A writer process is killed
before it flushes; a new Aggregator on the same database must finish that work, so that every level equals what an
Aggregator that never crashed computed from the same points (and that equals a plain-Python reference).
"""
from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scald_monitor.io.influx import PENDING_MEASUREMENT, PENDING_RP, Aggregator, Consumer
from scald_monitor.io.schema import AGGREGATES, LEVELS

T0 = 1_300_000_000.0  # a multiple of 100000 s: every level's buckets start on it
TAGS = [("0001", "H1"), ("0002", "L1")]
ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from scald_monitor.io.influx import Aggregator
host, port, db, path = sys.argv[1:5]
calls = json.load(open(path))
a = Aggregator(hostname=host, port=int(port), db=db, coarse_delay=1e6)  # coarse levels never due after the 1st call
a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"])
a.register_schema("other", "data", tags="job")
for call in calls:
    a.store_columns("lat", {tuple(k.split("|")): v for k, v in call["lat"].items()})
    a.store_columns("other", call["other"])
assert a.buffered_points == 0 and not a._buffer, "everything must be on the server before the kill"
print("stored", flush=True)
time.sleep(600)  # killed long before this ends
"""


def make_calls(seed: int) -> list[dict]:
    """Four calls moving forward in time across 1000 s, 10000 s and 100000 s boundaries (97000 .. 102500 s after
    T0), each also rewriting and adding points in the first call's span, with many ties in the key column."""
    rng = np.random.default_rng(seed)
    calls = []
    for i in range(4):
        lat = {}
        for tag in TAGS:
            t = np.concatenate((T0 + 97_000 + i * 1300 + np.round(rng.uniform(0, 1500, 150), 2),
                                T0 + 97_000 + np.round(rng.uniform(0, 1500, 30), 2)))
            lat["|".join(tag)] = {"time": t.tolist(), "fields": {"data": rng.integers(0, 20, t.size).astype(float)
                                                                 .tolist(), "snr": rng.normal(size=t.size).tolist()}}
        t = T0 + 97_000 + i * 1300 + np.round(rng.uniform(0, 1500, 50), 2)
        calls.append({"lat": lat, "other": {"0001": {"time": t.tolist(), "fields": {"data": rng.random(50).tolist()}}}})
    return calls


def as_data(call: dict) -> dict:
    return {tuple(k.split("|")): v for k, v in call["lat"].items()}


def register(agg, other: bool = True) -> None:
    agg.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"])
    if other:
        agg.register_schema("other", "data", tags="job")


def reference(calls: list[dict], level: int, aggregate: str, column: str, tag=None) -> tuple[list, list]:
    """ligo-scald's meaning from the raw points: the row whose ``data`` is the min / median_high / max of its
    bucket, ties broken on time, then series; the last write of a time wins."""
    latest = {}
    for call in calls:
        for key, entry in call["lat"].items():
            tg = tuple(key.split("|"))
            for t, d, s in zip(entry["time"], entry["fields"]["data"], entry["fields"]["snr"]):
                latest[(tg, t)] = {"data": d, "snr": s}
    order = {tg: i for i, tg in enumerate(sorted(TAGS))}
    buckets: dict[int, list] = {}
    for (tg, t), f in latest.items():
        if tag is None or tg == tag:
            buckets.setdefault(math.floor(t / level), []).append((f["data"], t, order[tg], f))
    times, values = [], []
    for b in sorted(buckets):
        rows = sorted(buckets[b], key=lambda r: r[:3])
        pick = {"min": rows[0], "max": rows[-1], "median": rows[len(rows) // 2]}[aggregate]
        times.append(float(b * level))
        values.append(pick[3][column])
    return times, values


def every_level(store, measurement: str = "lat", columns=("data", "snr"), tags=TAGS) -> dict:
    """Every level x aggregate x column, per tag combination and across tags."""
    out = {}
    for level in LEVELS:
        for aggregate in AGGREGATES:
            for column in columns:
                for tag in [*tags, None]:
                    out[(level, aggregate, column, tag)] = store.retrieve_timeseries(
                        measurement, T0, T0 + 300_000, column, tags=tag, aggregate=aggregate, dt=level)
    return out


def marks(influxd, db: str, measurement: str | None = None) -> int:
    where = f" WHERE \"measurement\" = '{measurement}'" if measurement else ""
    result = influxd.query(f'SELECT count("pending") FROM "{db}"."{PENDING_RP}"."{PENDING_MEASUREMENT}"{where}', db)
    series = result["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def raw_count(influxd, db: str, measurement: str = "lat") -> int:
    series = influxd.query(f'SELECT count("data") FROM "{db}"."autogen"."{measurement}"', db)["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def crash_writer(influxd, db: str, calls: list[dict], tmp_path: Path) -> None:
    """Run the writer in a child process and SIGKILL it once it has stored everything (it never flushes)."""
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(calls))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", CHILD, influxd.host, str(influxd.port), db, str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    try:
        if child.stdout.readline().strip() != "stored":
            child.wait(60)
            pytest.fail(f"the writer failed before storing everything:\n{child.stderr.read()}")
        os.kill(child.pid, signal.SIGKILL)  # no flush, no close, no atexit: whatever is pending is left as is
        child.wait(30)
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)


@pytest.fixture
def dbs(influxd, influx_db):
    """Two databases: the crashed writer's and the one of a writer that never crashed."""
    names = (f"{influx_db}_crash", f"{influx_db}_clean")
    yield names
    for name in names:
        influxd.query(f'DROP DATABASE "{name}"')


@pytest.fixture
def clean(influxd, dbs):
    """What a writer that never crashed stored for the same calls (and the reference agrees with it)."""
    calls = make_calls(7)
    agg = Aggregator(hostname=influxd.host, port=influxd.port, db=dbs[1], coarse_delay=1e6)
    register(agg)
    for call in calls:
        agg.store_columns("lat", as_data(call))
        agg.store_columns("other", call["other"])
    agg.close()
    reader = Consumer(hostname=influxd.host, port=influxd.port, db=dbs[1])
    register(reader)
    expect = every_level(reader)
    for (level, aggregate, column, tag), got in expect.items():
        assert got == reference(calls, level, aggregate, column, tag), (level, aggregate, column, tag)
    assert marks(influxd, dbs[1]) == 0
    return calls, expect, every_level(reader, "other", ("data",), [("0001",)])


def crashed(influxd, dbs, clean, tmp_path) -> Consumer:
    """Crash a writer of the same calls; check that its coarse levels are indeed stale and its marks are there."""
    calls, expect, _ = clean
    crash_writer(influxd, dbs[0], calls, tmp_path)
    reader = Consumer(hostname=influxd.host, port=influxd.port, db=dbs[0])
    register(reader)
    assert raw_count(influxd, dbs[0]) == raw_count(influxd, dbs[1]) > 0  # every raw point made it
    before = every_level(reader)
    for level in LEVELS:
        same = all(before[k] == expect[k] for k in expect if k[0] == level)
        assert same == (level < 1000), level  # fine levels current, every coarse level stale or missing buckets
    assert marks(influxd, dbs[0], "lat") > 0 and marks(influxd, dbs[0], "other") > 0
    # the bookkeeping is on the server but in no listing
    shown = {v[0] for v in influxd.query("SHOW MEASUREMENTS", dbs[0])["results"][0]["series"][0]["values"]}
    assert PENDING_MEASUREMENT in shown
    assert reader.measurements() == ["lat", "other"]
    return reader


def test_flush_of_a_new_writer_finishes_a_killed_writers_pending_buckets(influxd, dbs, clean, tmp_path, caplog):
    reader = crashed(influxd, dbs, clean, tmp_path)
    caplog.set_level(logging.WARNING, logger="scald_monitor.io.influx")
    b = Aggregator(hostname=influxd.host, port=influxd.port, db=dbs[0], coarse_delay=1e6)
    register(b, other=False)  # no schema for "other" here: its marks stay, said once
    b.flush()
    b.flush()
    assert every_level(reader) == clean[1]
    assert marks(influxd, dbs[0], "lat") == 0
    assert marks(influxd, dbs[0], "other") > 0
    orphans = [r for r in caplog.records if "'other'" in r.getMessage() and "no schema" in r.getMessage()]
    assert len(orphans) == 1
    b.register_schema("other", "data", tags="job")
    b.close()
    assert marks(influxd, dbs[0]) == 0
    assert every_level(reader, "other", ("data",), [("0001",)]) == clean[2]
    assert reader.measurements() == ["lat", "other"]


def test_a_writer_that_only_opens_and_closes_finishes_them(influxd, dbs, clean, tmp_path):
    reader = crashed(influxd, dbs, clean, tmp_path)
    b = Aggregator(hostname=influxd.host, port=influxd.port, db=dbs[0], coarse_delay=1e6)
    register(b)
    b.close()  # nothing stored: close() flushes, which reads the marks
    assert every_level(reader) == clean[1]
    assert every_level(reader, "other", ("data",), [("0001",)]) == clean[2]
    assert marks(influxd, dbs[0]) == 0


def test_the_first_store_of_a_new_writer_finishes_them_without_a_flush(influxd, dbs, clean, tmp_path):
    reader = crashed(influxd, dbs, clean, tmp_path)
    calls = clean[0]
    extra = make_calls(8)[0]  # more data in the same buckets, stored by the new writer and by the clean one
    b = Aggregator(hostname=influxd.host, port=influxd.port, db=dbs[0], coarse_delay=1e6)
    register(b)
    b.store_columns("lat", as_data(extra))
    assert b.buffered_points == 0
    assert marks(influxd, dbs[0], "lat") == 0  # finished in that call (its first recomputation covers every level)
    got = every_level(reader)
    for key, value in got.items():
        assert value == reference(calls + [extra], *key), key
    b.close()


def test_marks_are_queued_before_the_raw_points_they_describe(influxd, influx_db):
    """With influxd down nothing can be recomputed: every level's buckets are marked, and the marks sit ahead of
    the raw lines in the buffer (sent in order, so on the server no later than them). Once it is back, the levels
    are computed and the marks are gone."""
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, retry_max=0.2, timeout=2)
    a.register_schema("lat", "data", tags="job")
    a.store_columns("lat", {"0001": {"time": [T0], "fields": {"data": [1.0]}}})
    influxd.stop()
    try:
        t = T0 + 5000 + np.arange(10.0)
        a.store_columns("lat", {"0001": {"time": t, "fields": {"data": t - T0}}})
        rps = [batch.rp for batch in a._buffer]
        assert rps.index(PENDING_RP) < rps.index("autogen")
        body = next(b.body.decode() for b in a._buffer if b.rp == PENDING_RP)
        assert body.count("\n") == 2 * (10 + 1 + 1 + 1 + 1 + 1)  # series 0001 and across, per level's buckets
        assert "series=t/0001 " in body and "series=* " in body
        assert a.buffered_points == 10  # marks are bookkeeping, not buffered points
    finally:
        influxd.start()
    a.flush()
    assert marks(influxd, influx_db) == 0
    assert a.retrieve_timeseries("lat", T0, T0 + 6000, "data", tags="0001", aggregate="max", dt=1000) == \
        ([T0, T0 + 5000], [1.0, 5009.0])
    a.close()


def test_series_with_awkward_tag_values_are_marked_and_finished(influxd, influx_db, tmp_path):
    """Tag values that need escaping (or look like the across-tags series) survive the trip through the marks."""
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, coarse_delay=1e6)
    a.register_schema("lat", "data", tags="job")
    values = ["*", "a b,c=d", "t/x%2F", "é\"'"]
    for i in range(3):
        t = T0 + i * 1500 + np.arange(5.0)
        a.store_columns("lat", {v: {"time": t, "fields": {"data": t - T0 + j}} for j, v in enumerate(values)})
    assert marks(influxd, influx_db) > 0
    assert not a._buffer  # everything is on the server; "a" is abandoned from here on, as if it had been killed
    b = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, coarse_delay=1e6)
    b.register_schema("lat", "data", tags="job")
    b.flush()
    assert marks(influxd, influx_db) == 0
    for j, v in enumerate(values):
        assert b.retrieve_timeseries("lat", T0, T0 + 5000, "data", tags=v, aggregate="max", dt=1000) == \
            ([T0, T0 + 1000, T0 + 3000], [4.0 + j, 1504.0 + j, 3004.0 + j])
    assert b.retrieve_timeseries("lat", T0, T0 + 5000, "data", aggregate="max", dt=1000)[1] == [7.0, 1507.0, 3007.0]
    b.close()
