"""The Aggregator contract, on both backends (SQLite and a real influxd), checked against a plain-Python reference
computed from the raw points; then what is particular to SQLite (files, locks, retention, crash recovery)."""
from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.io import BackendError, UnknownMeasurementError, connect
from scald_monitor.io.schema import LEVELS
from scald_monitor.io import influx
from scald_monitor.io.sqlite import Aggregator, Consumer

T0 = 1_300_000_000.0


# -- reference -------------------------------------------------------------------------------------------------
def reference(points, dt, agg, column="data", key="data"):
    """points: list of (time, {col: v}, source). Returns (bucket_starts, values) exactly as ligo-scald defines them:
    the row whose key value is the min / median_high / max of its bucket (ties on time, then source)."""
    buckets = {}
    for t, fields, src in points:
        buckets.setdefault(math.floor(t / dt), []).append((fields[key], t, src, fields))
    times, values = [], []
    for b in sorted(buckets):
        rows = sorted(buckets[b], key=lambda r: r[:3])
        pick = {"min": rows[0], "max": rows[-1], "median": rows[len(rows) // 2]}[agg]
        times.append(b * dt)
        values.append(pick[3][column])
    return times, values


def final_points(calls):
    """The raw points a store holds after ``calls`` ({tags: [(t, fields)]} each): the last write of a time wins."""
    latest = {}
    for call in calls:
        for tags, rows in call.items():
            for t, fields in rows:
                latest[(tags, t)] = fields
    return latest


def as_columns(call):
    return {tags: {"time": [t for t, _ in rows], "fields": {c: [f[c] for _, f in rows] for c in ("data", "snr")}}
            for tags, rows in call.items()}


@pytest.fixture(params=["sqlite", "influx"])
def new_agg(request, tmp_path):
    """A factory of empty Aggregators of one backend; each call gives a fresh store."""
    made = []

    def factory(**kwargs):
        n = len(made)
        if request.param == "sqlite":
            a = Aggregator(path=tmp_path / f"store{n}.sqlite", **kwargs)
        else:
            server = request.getfixturevalue("influxd")
            a = influx.Aggregator(hostname=server.host, port=server.port,
                                  db=f"{request.getfixturevalue('influx_db')}_{n}", **kwargs)
        made.append(a)
        return a

    yield factory
    for a in made:
        a.close()


@pytest.fixture
def agg(new_agg):
    a = new_agg()
    a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"], tag_key="job", aggregate="max")
    return a


@pytest.fixture
def sqlite_agg(tmp_path):
    a = Aggregator(path=tmp_path / "store.sqlite")
    a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"], tag_key="job", aggregate="max")
    yield a
    a.close()


def random_calls(rng, n_calls, n_points, tags, span):
    calls = []
    for _ in range(n_calls):
        call = {}
        for tag in tags:
            t = T0 + np.round(rng.uniform(0, span, n_points), 2)  # unsorted, and some repeated times
            t[: n_points // 10] = t[n_points // 10: 2 * (n_points // 10)]
            data = rng.integers(0, 20, n_points).astype(float)  # many ties in the key column
            snr = rng.normal(size=n_points)
            call[tag] = [(float(a), {"data": float(b), "snr": float(c)}) for a, b, c in zip(t, data, snr)]
        calls.append(call)
    return calls


def check_against_reference(store, calls, tags, span):
    points = final_points(calls)
    order = {tag: i for i, tag in enumerate(sorted(tags))}
    for level in LEVELS:
        for aggregate in ("min", "median", "max"):
            for column in ("data", "snr"):
                for tag in tags:
                    mine = [(t, f, 0) for (tg, t), f in points.items() if tg == tag]
                    expect = reference(mine, level, aggregate, column)
                    got = store.retrieve_timeseries("lat", T0 - 1e6, T0 + span + 1e6, column, tags=tag,
                                                    aggregate=aggregate, dt=level)
                    assert got == expect, (level, aggregate, column, tag)
                across = [(t, f, order[tg]) for (tg, t), f in points.items()]
                expect = reference(across, level, aggregate, column)
                got = store.retrieve_timeseries("lat", T0 - 1e6, T0 + span + 1e6, column, aggregate=aggregate,
                                                dt=level)
                assert got == expect, ("across", level, aggregate, column)


# -- aggregates ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_level_matches_reference_with_out_of_order_and_repeated_points(agg, seed):
    rng = np.random.default_rng(seed)
    tags = [("0001", "H1"), ("0001", "L1"), ("0002", "H1")]
    calls = random_calls(rng, n_calls=4, n_points=400, tags=tags, span=30_000)
    for call in calls:
        agg.store_columns("lat", as_columns(call))
    agg.flush()
    check_against_reference(agg, calls, tags, 30_000)


def test_sqlite_pending_work_survives_a_writer_crash(tmp_path):
    a = Aggregator(path=tmp_path / "s.sqlite", coarse_delay=1e6)  # coarse levels never due while streaming
    a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"])
    rng = np.random.default_rng(5)
    tags = [("0001", "H1"), ("0002", "H1")]
    calls = random_calls(rng, n_calls=6, n_points=100, tags=tags, span=5000)
    for call in calls:
        a.store_columns("lat", as_columns(call))
    # fine levels are always current
    points = final_points(calls)
    mine = [(t, f, 0) for (tg, t), f in points.items() if tg == tags[0]]
    assert a.retrieve_timeseries("lat", 0, 2e9, "data", tags=tags[0], aggregate="max", dt=100) == \
        reference(mine, 100, "max")
    a._conn.close()  # a crash: no flush
    a._conn = None
    b = Aggregator(path=tmp_path / "s.sqlite")  # pending work was persisted with the raw points
    b.flush()
    check_against_reference(b, calls, tags, 5000)
    b.close()


def test_streaming_with_deferred_coarse_levels_is_exact_after_flush(new_agg):
    a = new_agg(coarse_delay=1e6)  # coarse levels never due while streaming
    a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"])
    rng = np.random.default_rng(11)
    tags = [("0001", "H1"), ("0002", "H1")]
    calls = random_calls(rng, n_calls=5, n_points=80, tags=tags, span=5000)
    for call in calls:
        a.store_columns("lat", as_columns(call))
    a.flush()
    check_against_reference(a, calls, tags, 5000)


def test_store_rows_and_store_columns_store_the_same(new_agg):
    rng = np.random.default_rng(3)
    tags = [("0001", "H1"), ("0003", "V1")]
    call = random_calls(rng, 1, 300, tags, 2000)[0]
    stores = []
    for method in ("store_rows", "store_columns"):
        a = new_agg()
        a.register_schema("lat", ["data", "snr"], "data", tags=["job", "ifo"])
        data = ({tag: [{"time": t, "fields": f} for t, f in rows] for tag, rows in call.items()}
                if method == "store_rows" else as_columns(call))
        assert getattr(a, method)("lat", data) == 600
        stores.append(a)
    for tag in tags:
        for kw in ({}, {"aggregate": "median", "dt": 10}, {"aggregate": "min", "dt": 1}):
            assert stores[0].retrieve_timeseries("lat", 0, 2e9, "snr", tags=tag, **kw) == \
                stores[1].retrieve_timeseries("lat", 0, 2e9, "snr", tags=tag, **kw)


def test_raw_round_trip_and_repeated_store_is_idempotent(agg):
    times = [T0 + 3.5, T0 + 1.25, T0 + 2.0]
    data = {("0001", "H1"): {"time": times, "fields": {"data": [3.0, 1.0, 2.0], "snr": [30.0, 10.0, 20.0]}}}
    agg.store_columns("lat", data)
    agg.store_columns("lat", data)
    assert agg.retrieve_timeseries("lat", T0, T0 + 10, "snr", tags=[("job", "0001"), ("ifo", "H1")]) == \
        ([T0 + 1.25, T0 + 2.0, T0 + 3.5], [10.0, 20.0, 30.0])
    assert agg.retrieve_timeseries("lat", T0, T0 + 10, "data", tags={"job": "0001", "ifo": "H1"},
                                   aggregate="max", dt=10) == ([T0], [3.0])


def test_a_rewritten_point_replaces_the_old_one_and_aggregates_follow(agg):
    tag = ("0001", "H1")
    agg.store_columns("lat", {tag: {"time": [T0, T0 + 1], "fields": {"data": [5.0, 9.0], "snr": [1.0, 2.0]}}})
    assert agg.retrieve_timeseries("lat", T0, T0 + 99, "data", tags=tag, aggregate="max", dt=100) == ([T0], [9.0])
    agg.store_columns("lat", {tag: {"time": [T0 + 1], "fields": {"data": [4.0], "snr": [7.0]}}})
    agg.flush()
    for dt in LEVELS[2:]:
        assert agg.retrieve_timeseries("lat", T0, T0 + 99, "data", tags=tag, aggregate="max", dt=dt) == \
            ([math.floor(T0 / dt) * dt], [5.0])
        assert agg.retrieve_timeseries("lat", T0, T0 + 99, "snr", tags=tag, aggregate="min", dt=dt)[1] == [7.0]


def test_measurement_without_tags(new_agg):
    a = new_agg()
    a.register_schema("range", "data")
    a.store_columns("range", {"time": [T0, T0 + 1, T0 + 2], "fields": {"data": [1.0, 3.0, 2.0]}})
    a.store_rows("range", [{"time": T0 + 3, "fields": {"data": 0.5}}])
    assert a.retrieve_timeseries("range", T0, T0 + 10, "data") == ([T0, T0 + 1, T0 + 2, T0 + 3], [1, 3, 2, 0.5])
    assert a.retrieve_timeseries("range", T0, T0 + 10, "data", aggregate="median", dt=10) == ([T0], [2.0])
    assert a.retrieve_latest("range", "data") == ([T0 + 3], [0.5])


def test_default_resolution_is_the_coarsest_level_with_at_most_2000_points(agg):
    tag = ("0001", "H1")
    t = T0 + np.arange(0, 86400, 1.0)
    agg.store_columns("lat", {tag: {"time": t, "fields": {"data": np.sin(t), "snr": np.cos(t)}}})
    times, _ = agg.retrieve_timeseries("lat", T0, T0 + 86399, "data", tags=tag, aggregate="max")
    assert len(times) == 864 and times[1] - times[0] == 100  # dt=100: one day is 864 buckets
    times, _ = agg.retrieve_timeseries("lat", T0, T0 + 1500, "data", tags=tag, aggregate="max")
    assert times[1] - times[0] == 1 and len(times) == 1501
    with pytest.raises(ValueError, match="dt=7"):
        agg.retrieve_timeseries("lat", T0, T0 + 10, "data", tags=tag, aggregate="max", dt=7)
    with pytest.raises(ValueError, match="aggregate"):
        agg.retrieve_timeseries("lat", T0, T0 + 10, "data", tags=tag, aggregate="mean")
    with pytest.raises(ValueError, match="before start"):
        agg.retrieve_timeseries("lat", T0 + 10, T0, "data", tags=tag)


def test_latest_and_by_tag_readers(agg):
    agg.store_columns("lat", {
        ("0001", "H1"): {"time": [T0, T0 + 10.5, T0 + 10.2], "fields": {"data": [1.0, 2.0, 8.0], "snr": [1, 2, 3]}},
        ("0002", "H1"): {"time": [T0 + 5], "fields": {"data": [4.0], "snr": [4.0]}},
    })
    assert agg.retrieve_latest("lat", "data", tags=("0001", "H1")) == ([T0 + 10.5], [2.0])
    assert agg.retrieve_latest("lat", "data", tags=("0001", "H1"), num_latest=2) == ([T0 + 10.2, T0 + 10.5],
                                                                                      [8.0, 2.0])
    assert agg.retrieve_latest("lat", "data", tags=("0001", "H1"), aggregate="max") == ([T0 + 10], [8.0])
    assert agg.retrieve_latest("lat", "data", aggregate="max", num_latest=2) == ([T0 + 5, T0 + 10], [4.0, 8.0])
    assert agg.retrieve_latest_by_tag("lat", "data") == {("0001", "H1"): (T0 + 10.5, 2.0),
                                                         ("0002", "H1"): (T0 + 5, 4.0)}
    assert agg.retrieve_latest_by_tag("lat", "data", aggregate="max", dt=10) == {("0001", "H1"): (T0 + 10, 8.0),
                                                                                 ("0002", "H1"): (T0, 4.0)}
    by_tag = agg.retrieve_timeseries_by_tag("lat", T0, T0 + 20, "snr", aggregate="max", dt=1)
    assert by_tag == {("0001", "H1"): ([T0, T0 + 10], [1.0, 3.0]), ("0002", "H1"): ([T0 + 5], [4.0])}
    assert agg.retrieve_latest("lat", "data", tags=("0009", "H1")) == ([], [])
    # raw points across tags: every tag combination's points, in time order
    assert agg.retrieve_latest("lat", "data") == ([T0 + 10.5], [2.0])
    assert agg.retrieve_latest("lat", "data", num_latest=3) == ([T0 + 5, T0 + 10.2, T0 + 10.5], [4.0, 8.0, 2.0])
    assert agg.retrieve_timeseries("lat", T0, T0 + 6, "data") == ([T0, T0 + 5], [1.0, 4.0])


def test_raw_retention_prunes_raw_points_but_keeps_every_level(tmp_path):
    a = Aggregator(path=tmp_path / "r.sqlite", raw_retention=1000)
    a.register_schema("lat", "data", tags="job")
    rng = np.random.default_rng(9)
    t_old = T0 + np.arange(0, 2000, 0.5)
    v_old = rng.normal(size=t_old.size)
    a.store_columns("lat", {"0001": {"time": t_old, "fields": {"data": v_old}}})
    before = {dt: a.retrieve_timeseries("lat", T0, T0 + 2000, "data", tags="0001", aggregate="median", dt=dt)
              for dt in LEVELS}
    t_new = T0 + 400_000 + np.arange(0, 100.0)
    a.store_columns("lat", {"0001": {"time": t_new, "fields": {"data": np.ones(t_new.size)}}})
    assert a.retrieve_timeseries("lat", T0, T0 + 2000, "data", tags="0001") == ([], [])  # raw points pruned
    for dt in LEVELS:
        assert a.retrieve_timeseries("lat", T0, T0 + 2000, "data", tags="0001", aggregate="median", dt=dt) == \
            before[dt]
    assert a.retrieve_timeseries("lat", T0, T0 + 2000, "data", aggregate="median", dt=1) == before[1]
    with pytest.raises(ValueError, match="pruned"):
        a.store_columns("lat", {"0001": {"time": [T0 + 5], "fields": {"data": [1.0]}}})
    a.close()


# -- bad input -------------------------------------------------------------------------------------------------
BAD = [
    ({("0001", "H1"): {"time": [T0], "fields": {"data": [float("nan")], "snr": [1.0]}}}, "not finite"),
    ({("0001", "H1"): {"time": [T0], "fields": {"data": [float("inf")], "snr": [1.0]}}}, "not finite"),
    ({("0001", "H1"): {"time": [float("nan")], "fields": {"data": [1.0], "snr": [1.0]}}}, "not finite"),
    ({("0001", "H1"): {"time": [T0], "fields": {"data": [1.0], "snr": [1.0], "x": [1.0]}}}, "unknown column"),
    ({("0001", "H1"): {"time": [T0], "fields": {"data": [1.0]}}}, "missing column"),
    ({("0001", "H1"): {"time": [T0, T0 + 1], "fields": {"data": [1.0], "snr": [1.0, 2.0]}}}, "1 values for 2"),
    ({("0001", "H1"): {"time": ["soon"], "fields": {"data": [1.0], "snr": [1.0]}}}, "not a number"),
    ({("0001", "H1"): {"time": [], "fields": {"data": [], "snr": []}}}, "empty"),
    ({}, "no data"),
    ({("0001",): {"time": [T0], "fields": {"data": [1.0], "snr": [1.0]}}}, "2 tag"),
    ({("0001", None): {"time": [T0], "fields": {"data": [1.0], "snr": [1.0]}}}, "tag value"),
]


@pytest.mark.parametrize("data,message", BAD)
def test_bad_input_is_rejected_before_anything_is_written(agg, data, message):
    good = ("0002", "H1"), {"time": [T0], "fields": {"data": [1.0], "snr": [1.0]}}
    mixed = {good[0]: good[1], **data}  # a valid series beside the bad one must not land either
    with pytest.raises(ValueError, match=message):
        agg.store_columns("lat", mixed if data else data)
    assert agg.retrieve_timeseries("lat", 0, 2e9, "data", tags=good[0]) == ([], [])


def test_unknown_measurement_and_bad_schema(agg):
    with pytest.raises(UnknownMeasurementError, match="nope"):
        agg.store_columns("nope", {"time": [T0], "fields": {"data": [1.0]}})
    with pytest.raises(UnknownMeasurementError):
        agg.retrieve_timeseries("nope", T0, T0 + 1, "data")
    with pytest.raises(ValueError, match="column_key"):
        agg.register_schema("x", ["a", "b"], "c")
    with pytest.raises(ValueError, match="invalid measurement"):
        agg.register_schema("bad name'; DROP", "a")
    with pytest.raises(ValueError, match="already registered"):
        agg.register_schema("lat", ["data"], tags=["job", "ifo"])
    with pytest.raises(ValueError, match="unknown column"):
        agg.retrieve_timeseries("lat", T0, T0 + 1, "nope", tags=("0001", "H1"))
    with pytest.raises(ValueError, match="lacks"):
        agg.retrieve_timeseries("lat", T0, T0 + 1, "data", tags=[("job", "0001")])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                                 st.none(), st.booleans()), min_size=1, max_size=5))
def test_value_validation_accepts_finite_numbers_only(sqlite_agg, values):
    agg = sqlite_agg
    data = {("0001", "H1"): {"time": [T0 + i for i in range(len(values))], "fields": {"data": values,
                                                                                       "snr": [0.0] * len(values)}}}
    finite = all(isinstance(v, float) and math.isfinite(v) for v in values)  # no strings, None or booleans
    if finite:
        agg.store_columns("lat", data)
        assert agg.retrieve_timeseries("lat", T0, T0 + 10, "data", tags=("0001", "H1"))[1][: len(values)] == \
            [float(v) for v in values]
    else:
        with pytest.raises(ValueError):
            agg.store_columns("lat", data)


# -- files, readers, errors ------------------------------------------------------------------------------------
def test_consumer_is_read_only_and_never_creates_the_file(tmp_path, sqlite_agg):
    agg = sqlite_agg
    missing = tmp_path / "absent.sqlite"
    with pytest.raises(BackendError, match="no such database"):
        Consumer(missing)
    assert not missing.exists()
    agg.store_columns("lat", {("0001", "H1"): {"time": [T0], "fields": {"data": [1.0], "snr": [2.0]}}})
    c = Consumer(agg.path)
    assert c.retrieve_timeseries("lat", T0, T0 + 1, "snr", tags=("0001", "H1")) == ([T0], [2.0])
    assert c.measurements() == ["lat"]
    with pytest.raises(sqlite3.OperationalError):
        c._conn.execute("DELETE FROM chunks")
    c.close()


def test_corrupt_and_locked_files_give_clear_errors(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    for opener in (Aggregator, Consumer):
        with pytest.raises(BackendError, match="junk.sqlite: not a SQLite database"):
            opener(junk)
    path = tmp_path / "locked.sqlite"
    a = Aggregator(path=path, timeout=0.2)
    a.register_schema("m", "x")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackendError, match="locked"):
            a.store_columns("m", {"time": [T0], "fields": {"x": [1.0]}})
    finally:
        other.execute("ROLLBACK")
        other.close()
    a.store_columns("m", {"time": [T0], "fields": {"x": [1.0]}})  # works once the lock is gone
    assert a.retrieve_timeseries("m", T0, T0, "x") == ([T0], [1.0])
    a.close()


def test_connect_builds_backends_from_config_entries(tmp_path):
    path = tmp_path / "c.sqlite"
    with pytest.raises(BackendError):
        connect({"backend": "sqlite", "path": str(path)}, readonly=True)
    a = connect({"backend": "sqlite", "path": str(path), "raw_retention": None})
    assert isinstance(a, Aggregator)
    a.close()
    assert isinstance(connect({"backend": "sqlite", "path": str(path)}, readonly=True), Consumer)
    with pytest.raises(ValueError, match="unknown backend"):
        connect({"backend": "mysql"})


# -- one store interface ------------------------------------------------------------------------------------------
def test_every_reader_and_writer_is_a_store(tmp_path, influxd, influx_db):
    """The callers (rules, plugin, web) rely on one interface: ``schema``, ``interrupt``, ``derived_levels`` and the
    ``retrieve_*`` calls, whatever the backend."""
    from scald_monitor.io.sqlite_lite import LiteConsumer
    from scald_monitor.io.store import Store

    a = Aggregator(path=tmp_path / "s.sqlite")
    a.register_schema("lat", "data", tags="job")
    a.store_columns("lat", {"0001": {"time": [T0], "fields": {"data": [1.0]}}})
    i = influx.Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db)
    i.register_schema("lat", "data", tags="job")
    stores = [a, Consumer(a.path), LiteConsumer(a.path), i,
              influx.Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)]
    for store in stores:
        assert isinstance(store, Store)
        store.interrupt()  # nothing running: harmless
    for store in stores[:4]:
        assert store.schema("lat").tags == ("job",)
        with pytest.raises(UnknownMeasurementError):
            store.schema("nope")
    assert [s.derived_levels for s in stores] == [(1,), (1,), (1,), (), ()]
    for store in stores:
        store.close()


def test_interrupt_ends_a_check_blocked_in_an_sqlite_query(tmp_path, monkeypatch):
    """A check that times out interrupts its store's query (``Store.interrupt``), so its worker thread ends instead
    of holding the connection until SQLite returns."""
    from scald_monitor.config import load
    from scald_monitor.rules import run

    a = Aggregator(path=tmp_path / "store.sqlite")
    a.register_schema("lat", "data")
    a.close()
    (tmp_path / "scald.yml").write_text("backends:\n  default: {backend: sqlite, path: store.sqlite}\n"
                                        "schemas:\n  lat: {measurement: lat, column: data}\n"
                                        "checks:\n  slow: {type: heartbeat, schema: lat, critical: 60, timeout: 0.5}\n")
    cfg = load(str(tmp_path / "scald.yml"))
    seen = []

    def endless(check, spec, store, now=None):  # stands for a read blocked on a hung disk: its query never ends
        try:
            with store._errors():
                store._conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                    "SELECT count(*) FROM c").fetchone()
        except BackendError as exc:  # what a retrieve_* call raises there
            seen.append(str(exc))

    monkeypatch.setattr(run, "evaluate", endless)
    busy = {}
    result = run.evaluate_check(cfg, "slow", busy=busy)
    assert result.state == 3 and "timed out after 0.5 s" in result.summary
    busy["slow"].join(10)
    assert not busy["slow"].is_alive()
    assert seen == [f"{tmp_path / 'store.sqlite'}: query interrupted (it took too long)"]


@pytest.mark.parametrize("backend", ["sqlite", "influx"])
def test_load_registers_the_schemas_of_a_config_file(backend, tmp_path, monkeypatch, request):
    """ligo-scald's ``Aggregator.load(path)`` (``$SCALDRC_PATH`` by default): every schema of the file is registered,
    one already registered is kept, and data can be stored right away."""
    if backend == "sqlite":
        a = Aggregator(path=tmp_path / "s.sqlite")
    else:
        server = request.getfixturevalue("influxd")
        a = influx.Aggregator(hostname=server.host, port=server.port, db=request.getfixturevalue("influx_db"))
    a.register_schema("rng", "data", aggregate="min")
    (tmp_path / "scald.yml").write_text("backends:\n  default: {backend: sqlite, path: s.sqlite}\n"
                                        "schemas:\n  lat: {measurement: lat, columns: [data, snr], column_key: snr, "
                                        "tags: [job, ifo], tag_key: ifo}\n  rng: {measurement: rng, column: data}\n")
    monkeypatch.setenv("SCALDRC_PATH", str(tmp_path / "scald.yml"))
    a.load()
    lat = a.schema("lat")
    assert (lat.columns, lat.column_key, lat.tags, lat.tag_key) == (("data", "snr"), "snr", ("job", "ifo"), "ifo")
    assert a.schema("rng").aggregate == "min"  # registered before: kept
    a.store_columns("lat", {("0001", "H1"): {"time": [T0], "fields": {"data": [1.0], "snr": [2.0]}}})
    assert a.retrieve_timeseries("lat", T0, T0, "snr", tags=("0001", "H1")) == ([T0], [2.0])
    a.close()


def test_bucket_intervals_join_touching_and_overlapping_spans_of_every_level():
    from scald_monitor.io.decimate import bucket_intervals

    assert bucket_intervals({}) == [] and bucket_intervals({10: np.array([], dtype=np.int64)}) == []
    assert bucket_intervals({10: np.array([3, 1, 2, 7])}) == [(10.0, 40.0), (70.0, 80.0)]
    assert bucket_intervals({10: np.array([5]), 100: np.array([0]), 1000: np.array([2])}) == \
        [(0.0, 100.0), (2000.0, 3000.0)]


def test_last_wins_sorts_and_keeps_the_last_of_each_repeated_time():
    from scald_monitor.io.validate import last_wins

    t, v = last_wins(np.array([3.0, 1.0, 3.0, 2.0, 1.0]), np.array([[30.0], [10.0], [31.0], [20.0], [11.0]]))
    assert t.tolist() == [1.0, 2.0, 3.0] and v[:, 0].tolist() == [11.0, 20.0, 31.0]
