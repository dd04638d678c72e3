"""The numpy-free LiteConsumer against the numpy Consumer, on stores written by the real Aggregator.

Every read that check evaluation makes must return exactly what the Consumer returns (same lists, same floats, same
errors), and ``evaluate()`` must give identical Results with either store. check_scald's store modes must not import
numpy at all.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.config import load
from scald_monitor.io import connect
from scald_monitor.io.schema import LEVELS
from scald_monitor.io.sqlite import Aggregator, Consumer
from scald_monitor.io.sqlite_lite import LevelUnavailable, LiteConsumer
from scald_monitor.rules.evaluate import RAW_LOOKBACK, evaluate
from scald_monitor.timeutil import gps_now, gps_to_unix

T0 = 1_299_990_000.0  # 10000 s before a 100000 s boundary, up to which raw_retention can prune
SPAN = 30_000.0  # enough for every stored level up to 10000 s to hold several buckets
HORIZON = 1_300_000_000.0  # where pruning stops in the "raw-pruned" store
JOBS = ("0001", "0002", "0003")
IFOS = ("H1", "L1")
COMBOS = [(j, i) for j in JOBS for i in IFOS if (j, i) != ("0003", "L1")]  # one combination never written

CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: lat, columns: [data, snr], column_key: data, tags: [job, ifo], tag_key: job,
        aggregate: max}
  rng: {measurement: rng, column: data}
checks:
  lat_max: {type: threshold, schema: lat, warning: "~:10", critical: "~:15", lookback: 300}
  lat_median_across: {type: threshold, schema: lat, per_tag: false, aggregate: median, critical: "~:12",
                      lookback: 1000}
  lat_min_day: {type: threshold, schema: lat, aggregate: min, warning: "2:", critical: "1:", lookback: 86400}
  lat_latest: {type: threshold, schema: lat, aggregate: latest, critical: "~:18", lookback: 600}
  lat_beat: {type: heartbeat, schema: lat, warning: 60, critical: 600}
  lat_beat_across: {type: heartbeat, schema: lat, per_tag: false, critical: 60}
  rng_max_long: {type: threshold, schema: rng, critical: "~:15", lookback: 20000}
  rng_median: {type: threshold, schema: rng, aggregate: median, critical: "~:15", lookback: 3600}
  rng_beat: {type: heartbeat, schema: rng, critical: 100}
"""


def _write(agg: Aggregator, rng: np.random.Generator) -> None:
    """Random points in several store calls: unsorted, repeated times within and across calls, ties in values."""
    for _ in range(3):
        call = {}
        for combo in COMBOS:
            n = int(rng.integers(200, 800))
            t = T0 + np.round(rng.uniform(0, SPAN, n), 1)
            t[: n // 10] = t[n // 10: 2 * (n // 10)]  # repeated times: the last one wins
            call[combo] = {"time": t.tolist(), "fields": {"data": rng.integers(0, 20, n).astype(float).tolist(),
                                                          "snr": rng.normal(size=n).tolist()}}
        agg.store_columns("lat", call)
        n = int(rng.integers(300, 900))
        t = T0 + np.round(rng.uniform(0, SPAN, n), 2)
        agg.store_columns("rng", {"time": t.tolist(), "fields": {"data": rng.normal(10, 3, n).tolist()}})


def _burst(agg: Aggregator, rng: np.random.Generator) -> None:
    """Points in the newest raw window, out of order, so that "latest" walks more than one chunk."""
    t = T0 + SPAN + rng.permutation(50) * 0.5
    agg.store_columns("lat", {COMBOS[0]: {"time": t.tolist(), "fields": {"data": [7.0] * 50, "snr": [1.0] * 50}}})
    agg.store_columns("rng", {"time": t.tolist(), "fields": {"data": [9.0] * 50}})


@pytest.fixture(scope="module", params=[None, 6000.0], ids=["all-raw", "raw-pruned"])
def stores(request, tmp_path_factory):
    """(Consumer, LiteConsumer, config) on one store; the second store has its old raw points pruned."""
    tmp = tmp_path_factory.mktemp("lite")
    (tmp / "scald.yml").write_text(CONFIG)
    rng = np.random.default_rng(7)
    agg = Aggregator(path=tmp / "store.sqlite")
    agg.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"], tag_key="job", aggregate="max")
    agg.register_schema("rng", "data")
    _write(agg, rng)
    if request.param is not None:  # the last writes prune the raw points before HORIZON (their 1 s level stays)
        agg.close()
        agg = Aggregator(path=tmp / "store.sqlite", raw_retention=request.param)
    _burst(agg, rng)
    agg.close()
    full, lite = Consumer(tmp / "store.sqlite"), LiteConsumer(tmp / "store.sqlite")
    yield full, lite, load(str(tmp / "scald.yml"))
    full.close()
    lite.close()


def outcome(call, store) -> tuple:
    """``call(store)``'s value, or its exception's type and message; the LiteConsumer's refusal of level 1."""
    try:
        return "ok", call(store)
    except LevelUnavailable:
        return "level1", None
    except Exception as exc:  # noqa: BLE001 - compared by the caller
        return "error", (type(exc), str(exc))


def assert_same(stores, call, level: int | None) -> None:
    """Both readers give the same value or the same error, except a valid read of the 1 s level (``level`` 1),
    which the LiteConsumer refuses."""
    full, lite, _ = stores
    want, got = outcome(call, full), outcome(call, lite)
    if level == 1 and want[0] == "ok":
        assert got[0] == "level1", (want, got)
    else:
        assert got == want


def level_of(start, end, aggregate, dt) -> int | None:
    """The level a read goes to (None when the arguments are refused anyway)."""
    from scald_monitor.io.store import pick_level

    if aggregate is None and dt is None:
        return 0
    try:
        return pick_level(start, end, dt)
    except ValueError:
        return None


TAGS = st.one_of(st.none(), st.none(), st.sampled_from(COMBOS + [("0003", "L1"), ("0009", "H1")]),
                 st.sampled_from(COMBOS).map(lambda c: {"job": c[0], "ifo": c[1]}),
                 st.sampled_from(COMBOS).map(lambda c: [("ifo", c[1]), ("job", c[0])]),
                 st.just({"job": "0001"}), st.just(("0001",)))
AGGREGATES = st.sampled_from([None, None, "min", "median", "max", "min", "median", "max", "mean"])
DTS = st.sampled_from([None, None, None, 1, 10, 100, 1000, 10000, 100000, 10, 100, 1000, 5])
TIMES = st.floats(-2000, SPAN + 2000, allow_nan=False).map(lambda x: T0 + x)
HYPO = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPO
@given(a=TIMES, b=TIMES, tags=TAGS, aggregate=AGGREGATES, dt=DTS,
       column=st.sampled_from(["data", "snr", "data", "snr", "x"]),
       measurement=st.sampled_from(["lat", "rng", "lat", "rng", "nope"]))
def test_retrieve_timeseries_is_the_consumers(stores, a, b, tags, aggregate, dt, column, measurement):
    start, end = (a, b) if a <= b or dt == 5 else (b, a)  # sometimes end < start: the same error from both
    if measurement == "rng" and tags is not None and not isinstance(tags, tuple):
        tags = None if isinstance(tags, dict) else ()  # mostly valid reads of the measurement without tags
    assert_same(stores, lambda s: s.retrieve_timeseries(measurement, start, end, column, tags=tags,
                                                         aggregate=aggregate, dt=dt),
                level_of(start, end, aggregate, dt))


@HYPO
@given(a=TIMES, b=TIMES, aggregate=AGGREGATES, dt=DTS, column=st.sampled_from(["data", "snr"]))
def test_retrieve_timeseries_by_tag_is_the_consumers(stores, a, b, aggregate, dt, column):
    start, end = min(a, b), max(a, b)
    assert_same(stores, lambda s: s.retrieve_timeseries_by_tag("lat", start, end, column, aggregate=aggregate,
                                                                dt=dt), level_of(start, end, aggregate, dt))


@HYPO
@given(tags=TAGS, aggregate=AGGREGATES, dt=DTS, num=st.sampled_from([1, 2, 7, 60, 500, 5000]),
       column=st.sampled_from(["data", "snr"]), measurement=st.sampled_from(["lat", "rng"]))
def test_retrieve_latest_is_the_consumers(stores, tags, aggregate, dt, num, column, measurement):
    if measurement == "rng":
        tags, column = None, "data"
    level = level_of(0, 0, aggregate, dt if dt is not None or aggregate is None else 1)
    assert_same(stores, lambda s: s.retrieve_latest(measurement, column, tags=tags, aggregate=aggregate, dt=dt,
                                                    num_latest=num), level)


@pytest.mark.parametrize("aggregate,dt", [(None, None), ("min", 10), ("median", 100), ("max", 1000),
                                          ("max", 100000), (None, 10000), ("mean", 10), ("max", None)])
@pytest.mark.parametrize("column", ["data", "snr"])
def test_retrieve_latest_by_tag_is_the_consumers(stores, aggregate, dt, column):
    level = level_of(0, 0, aggregate, dt if dt is not None or aggregate is None else 1)
    assert_same(stores, lambda s: s.retrieve_latest_by_tag("lat", column, aggregate=aggregate, dt=dt), level)
    assert_same(stores, lambda s: s.retrieve_latest_by_tag("rng", "data", aggregate=aggregate, dt=dt), level)


def test_reads_cover_every_level_and_real_data(stores):
    """Guard against a vacuous comparison: the stores do hold raw points and every stored level."""
    full, lite, _ = stores
    for level in LEVELS[1:]:
        t, v = lite.retrieve_timeseries("lat", T0, T0 + SPAN, "data", tags=COMBOS[1], aggregate="median", dt=level)
        assert t and (t, v) == full.retrieve_timeseries("lat", T0, T0 + SPAN, "data", tags=COMBOS[1],
                                                        aggregate="median", dt=level)
    t, _ = lite.retrieve_timeseries("lat", T0 + SPAN - 3000, T0 + SPAN + 100, "data")
    assert len(t) > 100 and t == sorted(t)
    assert lite.retrieve_latest("lat", "data", tags=COMBOS[0], num_latest=80)[1][-50:] == [7.0] * 50
    raw_before = lite.retrieve_timeseries("lat", T0, HORIZON - 1, "data")[0]
    pruned = full.retrieve_timeseries("lat", T0, T0 + 20, "data", aggregate="max", dt=1)[0] and not raw_before
    assert pruned == (full._conn.execute("SELECT horizon FROM measurements WHERE name = 'lat'").fetchone()[0]
                      == HORIZON)


def test_the_1s_level_is_refused_clearly(stores):
    _, lite, _ = stores
    with pytest.raises(LevelUnavailable, match="1 s level.*numpy"):
        lite.retrieve_timeseries("lat", T0, T0 + 100, "data", aggregate="max")
    with pytest.raises(LevelUnavailable):
        lite.retrieve_latest_by_tag("lat", "data", aggregate="max")
    assert isinstance(LevelUnavailable("x"), ValueError)  # evaluate() reports it as UNKNOWN, like any bad read


@pytest.mark.parametrize("name", ["lat_max", "lat_median_across", "lat_min_day", "lat_latest", "lat_beat",
                                  "lat_beat_across", "rng_max_long", "rng_median", "rng_beat"])
@pytest.mark.parametrize("age", [-200.0, 0.0, 50.0, 900.0, 7200.0, 40_000.0])
def test_evaluate_gives_identical_results_with_either_store(stores, name, age):
    full, lite, cfg = stores
    check = cfg.checks[name]
    now = gps_to_unix(T0 + SPAN + age)
    spec = cfg.schemas[check.schema]
    want = evaluate(check, spec, full, now)
    assert evaluate(check, spec, lite, now) == want
    if check.type == "threshold" and check.lookback > RAW_LOOKBACK:
        assert "cannot evaluate" not in want.summary  # aggregates at a stored level (>= 10 s), never 1 s
    for tag in COMBOS[:2]:  # check_scald --tag: one tag combination
        one = check.replace(tag_filter=(("job", tag[0]), ("ifo", tag[1])), per_tag=False)
        assert evaluate(one, spec, lite, now) == evaluate(one, spec, full, now)


def test_connect_lite(stores, tmp_path):
    full, _, _ = stores
    reader = connect({"backend": "sqlite", "path": full.path, "raw_retention": 100}, readonly=True, lite=True)
    assert isinstance(reader, LiteConsumer)
    reader.close()
    with pytest.raises(ValueError, match="read-only"):
        connect({"backend": "sqlite", "path": full.path}, lite=True)
    with pytest.raises(Exception, match="no such database"):
        connect({"backend": "sqlite", "path": str(tmp_path / "absent.sqlite")}, readonly=True, lite=True)
    assert not (tmp_path / "absent.sqlite").exists()


# -- check_scald imports no numpy --------------------------------------------------------------------------------
PLUGIN_CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: lat, column: data, tag: job}
checks:
  lat_max: {type: threshold, schema: lat, warning: "~:10", critical: "~:20"}
  lat_beat: {type: heartbeat, schema: lat, critical: 120}
"""


@pytest.mark.parametrize("args,state,text", [
    (["--check", "lat_max"], 1, "SCALD LAT_MAX WARNING - 1 WARNING of 2 job: job=0002"),
    (["--check", "lat_beat"], 0, "SCALD LAT_BEAT OK - 2 job OK"),
    (["--measurement", "lat", "-c", "~:12", "--lookback", "5000", "--aggregate", "median"], 2,
     "SCALD LAT CRITICAL - 1 CRITICAL of 2 job: job=0002"),
    (["--measurement", "lat", "--tag", "job=0001", "--heartbeat", "-c", "100"], 0, "SCALD LAT OK - job=0001"),
])
def test_check_scald_store_modes_import_no_numpy(tmp_path, make_store, args, state, text):
    t = gps_now() - 4000 + np.arange(4000.0)
    make_store(tmp_path, PLUGIN_CONFIG, {"lat": {"0001": {"time": t, "fields": {"data": np.full(4000, 3.0)}},
                                                 "0002": {"time": t, "fields": {"data": np.full(4000, 15.0)}}}})
    out = subprocess.run([sys.executable, "-X", "importtime", shutil.which("check_scald"),
                          "--config", str(tmp_path / "scald.yml"), *args], capture_output=True, text=True)
    modules = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "scald_monitor.io.sqlite_lite" in modules
    assert not {m for m in modules if m.split(".")[0] in ("numpy", "dataclasses", "statistics")}
    assert out.returncode == state and out.stdout.startswith(text), out.stdout
