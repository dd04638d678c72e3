"""What is particular to InfluxDB, against a real influxd: escaping, no data loss through an outage, errors, and
drop-in compatibility with ligo-scald's data in both directions. (The Aggregator contract itself runs on both
backends in test_aggregator.py.)"""
from __future__ import annotations

import socket

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.io import BackendError, connect
from scald_monitor.io.influx import Aggregator, BufferFullError, Consumer, gps_to_ns, ns_to_gps, quote_ident, \
    quote_literal

T0 = 1_400_000_000.0


def count(server, db, measurement="lat", rp="autogen"):
    result = server.query(f'SELECT count("data") FROM "{db}"."{rp}"."{measurement}"', db)
    series = result["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def agg(influxd, influx_db):
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, retry_max=0.2)
    a.register_schema("lat", "data", tags="job", aggregate="max")
    yield a
    a.close()


# -- quoting -------------------------------------------------------------------------------------------------------
def test_quoting_rules():
    assert quote_ident('my"db') == '"my\\"db"'
    assert quote_literal("it's") == "'it\\'s'"
    assert quote_literal("a\\'b") == "'a\\\\\\'b'"
    with pytest.raises(ValueError):
        quote_literal("two\nlines")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12))
def test_any_tag_value_round_trips_and_filters_exactly(agg, value):
    """Tag values with quotes, backslashes, commas, spaces, '=' ... are stored and matched literally."""
    value = value.rstrip("\\") or "x"  # a trailing backslash cannot be stored in line protocol (refused, below)
    agg.store_columns("lat", {value: {"time": [T0], "fields": {"data": [1.5]}},
                              "other": {"time": [T0], "fields": {"data": [9.0]}}})
    assert agg.retrieve_timeseries("lat", T0, T0, "data", tags=[("job", value)]) == ([T0], [1.5])
    assert agg.retrieve_latest_by_tag("lat", "data")[(value,)] == (T0, 1.5)


def test_a_tag_value_ending_in_a_backslash_is_refused_before_writing(agg):
    with pytest.raises(ValueError, match="ends with a backslash"):
        agg.store_columns("lat", {"ok": {"time": [T0], "fields": {"data": [1.0]}},
                                  "bad\\": {"time": [T0], "fields": {"data": [1.0]}}})
    assert agg.retrieve_latest_by_tag("lat", "data") == {}


def test_injection_attempts_match_nothing(agg):
    agg.store_columns("lat", {"0001": {"time": [T0], "fields": {"data": [1.0]}}})
    for evil in ("0001' OR job='0001", "0001\\' OR 1=1 --", '0001"; DROP DATABASE x'):
        assert agg.retrieve_timeseries("lat", T0, T0, "data", tags={"job": evil}) == ([], [])
    assert agg.retrieve_timeseries("lat", T0, T0, "data", tags={"job": "0001"}) == ([T0], [1.0])


def test_gps_ns_conversion_is_exact_and_uses_leap_seconds():
    t = T0 + np.round(np.random.default_rng(1).uniform(0, 1e6, 10_000), 6)
    assert (ns_to_gps(gps_to_ns(t)) == t).all()
    assert int(gps_to_ns(1187008882)[0]) == 1502973664_000_000_000  # GW170817: GPS - 18 s + epoch
    assert int(gps_to_ns(700000000)[0]) == (700000000 + 315964800 - 13) * 10 ** 9  # before the 2006 leap second


# -- no data loss --------------------------------------------------------------------------------------------------
def test_an_outage_mid_ingest_loses_nothing_and_lands_exactly_once(influxd, influx_db):
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, retry_max=0.2, timeout=2)
    a.register_schema("lat", "data", tags="job")
    total = 0
    for i in range(10):
        if i == 3:
            influxd.stop()
        if i == 7:
            influxd.start()
        t = T0 + i * 100 + np.arange(100.0)
        total += a.store_columns("lat", {"0001": {"time": t, "fields": {"data": t - T0}}})
        if 3 <= i < 7:
            assert a.buffered_points > 0  # accepted into the buffer while influxd is down
    a.flush()
    assert a.buffered_points == 0
    assert count(influxd, influx_db) == total == 1000
    assert a.retrieve_timeseries("lat", T0, T0 + 999, "data", tags="0001", aggregate="max", dt=100)[1] == \
        [float(99 + 100 * i) for i in range(10)]  # aggregates computed once the raw points were in
    a.close()


def test_a_full_buffer_refuses_the_call_and_keeps_what_it_accepted(influxd, influx_db):
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, buffer_size=250, retry_max=0.2,
                   timeout=2)
    a.register_schema("lat", "data", tags="job")
    a.store_columns("lat", {"0001": {"time": T0 + np.arange(100.0), "fields": {"data": np.ones(100)}}})
    influxd.stop()
    try:
        a.store_columns("lat", {"0001": {"time": T0 + 100 + np.arange(100.0), "fields": {"data": np.ones(100)}}})
        with pytest.raises(BufferFullError, match="buffer is full"):
            a.store_columns("lat", {"0001": {"time": T0 + 200 + np.arange(200.0), "fields": {"data": np.ones(200)}}})
    finally:
        influxd.start()
    a.flush()
    assert count(influxd, influx_db) == 200
    a.close()


def test_large_calls_are_split_into_batches(influxd, influx_db):
    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, batch_size=1000)
    a.register_schema("lat", ["data", "snr"], tags="job")
    n = 60_000
    t = T0 + np.arange(n) / 16
    a.store_columns("lat", {f"{j}": {"time": t, "fields": {"data": np.ones(n), "snr": np.ones(n)}} for j in range(3)})
    a.close()
    assert count(influxd, influx_db) == 3 * n


# -- errors --------------------------------------------------------------------------------------------------------
def test_unreachable_server_and_missing_database_give_clear_errors(influxd, influx_db, free_port):
    consumer = Consumer(hostname="127.0.0.1", port=free_port, db="x", timeout=2)
    consumer.register_schema("lat", "data", tags="job")
    with pytest.raises(BackendError, match="unreachable"):
        consumer.retrieve_latest_by_tag("lat", "data")
    missing = Consumer(hostname=influxd.host, port=influxd.port, db=f"{influx_db}_absent")
    missing.register_schema("lat", "data", tags="job")
    with pytest.raises(BackendError, match="does not exist"):
        missing.retrieve_latest_by_tag("lat", "data")
    tls = Consumer(hostname=influxd.host, port=influxd.port, db=influx_db, https=True, timeout=2)
    tls.register_schema("lat", "data", tags="job")
    with pytest.raises(BackendError, match="TLS|SSL|unreachable"):
        tls.retrieve_latest_by_tag("lat", "data")


def test_auth_credentials_come_from_environment_or_netrc(tmp_path, monkeypatch):
    monkeypatch.delenv("INFLUX_USERNAME", raising=False)
    monkeypatch.delenv("INFLUX_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    with pytest.raises(BackendError, match="no credentials for db.example"):
        Consumer(hostname="db.example", auth=True)
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine db.example login scald password s3cret\n")
    netrc_file.chmod(0o600)
    c = Consumer(hostname="db.example", auth=True, netrc_file=str(netrc_file))
    assert (c.client._username, c.client._password) == ("scald", "s3cret")
    monkeypatch.setenv("INFLUX_USERNAME", "envuser")
    monkeypatch.setenv("INFLUX_PASSWORD", "envpass")
    c = Consumer(hostname="db.example", auth=True, netrc_file=str(netrc_file))
    assert (c.client._username, c.client._password) == ("envuser", "envpass")


def test_connect_builds_influx_backends(influxd, influx_db):
    entry = {"backend": "influxdb", "db": influx_db, "hostname": influxd.host, "port": influxd.port}
    writer = connect(entry)
    assert isinstance(writer, Aggregator)
    writer.close()
    assert isinstance(connect(entry, readonly=True), Consumer)


# -- ligo-scald compatibility --------------------------------------------------------------------------------------
def test_data_written_by_ligo_scald_reads_back_identically(influxd, influx_db):
    from ligo.scald.io import influx as ligo

    lagg = ligo.Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, reduce_dt=1)
    lagg.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
    rng = np.random.default_rng(3)
    t = (T0 + np.arange(0, 300, 1 / 16)).tolist()
    for job in ("0001", "0002"):
        lagg.store_columns("lat", {(job,): {"time": t, "fields": {"data": rng.random(len(t)).tolist()}}},
                           aggregate="max")
    # ligo-scald computes its coarser levels only at a store call made once reduce_dt has passed since the last
    # reduction; make the next call that one, whatever the clock did during the calls above
    lagg.last_reduce = 0
    lagg.store_columns("lat", {("0001",): {"time": [T0 + 5000], "fields": {"data": [0.5]}}}, aggregate="max")
    theirs = ligo.Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)
    theirs.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
    ours = Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)
    ours.register_schema("lat", "data", tags="job")
    for dt in (1, 10, 100):
        expect = theirs.retrieve_timeseries("lat", T0, T0 + 300, "data", tags=[("job", "0001")], aggregate="max",
                                            dt=dt)
        got = ours.retrieve_timeseries("lat", T0, T0 + 300, "data", tags=[("job", "0001")], aggregate="max", dt=dt)
        assert got[1] == list(expect[1]) and len(got[1]) > 0
        assert got[0] == pytest.approx(list(expect[0]), abs=1e-6)


def test_data_written_by_us_reads_back_identically_in_ligo_scald(influxd, influx_db):
    from ligo.scald.io import influx as ligo

    a = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db)
    a.register_schema("lat", "data", tags="job", aggregate="max")
    rng = np.random.default_rng(4)
    t = T0 + np.arange(0, 300, 1 / 16)
    a.store_columns("lat", {j: {"time": t, "fields": {"data": rng.random(t.size)}} for j in ("0001", "0002")})
    a.close()
    theirs = ligo.Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)
    theirs.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
    ours = Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)
    ours.register_schema("lat", "data", tags="job")
    for aggregate in ("min", "median", "max"):
        for dt in (1, 10, 100):
            got = theirs.retrieve_timeseries("lat", T0, T0 + 300, "data", tags=[("job", "0002")],
                                             aggregate=aggregate, dt=dt)
            mine = ours.retrieve_timeseries("lat", T0, T0 + 300, "data", tags=[("job", "0002")],
                                            aggregate=aggregate, dt=dt)
            assert list(got[1]) == mine[1] and len(mine[1]) > 0
            assert list(got[0]) == pytest.approx(mine[0], abs=1e-6)
    across = theirs.retrieve_timeseries("lat_across_jobs", T0, T0 + 300, "data", aggregate="max", dt=10)
    assert list(across[1]) == ours.retrieve_timeseries("lat", T0, T0 + 300, "data", aggregate="max", dt=10)[1]


def test_authentication_failures_are_clear_and_lose_nothing(tmp_path, monkeypatch):
    """A real influxd with authentication on: no or wrong credentials give a clear error, buffered points wait."""
    from influxd_fixture import InfluxD, influxd_binary

    (tmp_path / "auth").mkdir()
    server = InfluxD(tmp_path / "auth", influxd_binary(), extra_env={"INFLUXDB_HTTP_AUTH_ENABLED": "true"})
    server.start()
    try:
        server.query("CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
        anonymous = Consumer(hostname=server.host, port=server.port, db="x")
        anonymous.register_schema("lat", "data", tags="job")
        with pytest.raises(BackendError, match="authentication failed"):
            anonymous.retrieve_latest_by_tag("lat", "data")
        monkeypatch.setenv("INFLUX_USERNAME", "admin")
        monkeypatch.setenv("INFLUX_PASSWORD", "wrong")
        writer = Aggregator(hostname=server.host, port=server.port, db="x", auth=True, retry_max=0.2)
        writer.register_schema("lat", "data", tags="job")
        with pytest.raises(BackendError, match="authentication failed") as info:
            writer.store_columns("lat", {"0001": {"time": [T0], "fields": {"data": [1.0]}}})
        assert "wrong" not in str(info.value)  # never a secret in a message
        assert writer.buffered_points == 1  # kept, not dropped
        monkeypatch.setenv("INFLUX_PASSWORD", "s3cret")
        good = Aggregator(hostname=server.host, port=server.port, db="x", auth=True)
        good.register_schema("lat", "data", tags="job")
        good.store_columns("lat", {"0001": {"time": [T0], "fields": {"data": [2.0]}}})
        good.close()
        assert good.retrieve_latest_by_tag("lat", "data") == {("0001",): (T0, 2.0)}
    finally:
        server.stop()


def test_a_measurement_ligo_scald_aggregated_without_raw_points_is_discovered(influxd, influx_db):
    """ligo-scald's Aggregator with aggregate='max' writes nothing to autogen (only RP "1s" and the coarser ones):
    a reader without a configured schema infers it from the first RP holding the measurement."""
    from ligo.scald.io import influx as ligo

    from scald_monitor.io import UnknownMeasurementError
    from scald_monitor.io.levels import read_newest_by_tag, read_window

    lagg = ligo.Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, reduce_dt=1)
    lagg.register_schema("lat", columns=["data", "snr"], column_key="data", tags="job", tag_key="job")
    rng = np.random.default_rng(8)
    t = (T0 + np.arange(0, 300, 1 / 16)).tolist()
    for job in ("0001", "0002"):
        lagg.store_columns("lat", {(job,): {"time": t, "fields": {"data": rng.random(len(t)).tolist(),
                                                                  "snr": rng.random(len(t)).tolist()}}},
                           aggregate="max")
    lagg.last_reduce = 0  # make the next call compute the coarser levels (see the test above)
    lagg.store_columns("lat", {("0001",): {"time": [T0 + 5000], "fields": {"data": [0.5], "snr": [0.5]}}},
                       aggregate="max")
    assert count(influxd, influx_db, "lat", "autogen") == 0 and count(influxd, influx_db, "lat", "1s") > 0
    theirs = ligo.Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)
    theirs.register_schema("lat", columns=["data", "snr"], column_key="data", tags="job", tag_key="job")
    ours = Consumer(hostname=influxd.host, port=influxd.port, db=influx_db)  # no schema registered
    assert ours.measurements() == ["lat"]
    schema = ours.schema("lat")
    assert (schema.columns, schema.tags) == (("data", "snr"), ("job",))  # no "aggregate" tag
    for dt in (1, 10, 100):
        for column in ("data", "snr"):
            expect = theirs.retrieve_timeseries("lat", T0, T0 + 300, column, tags=[("job", "0002")],
                                                aggregate="max", dt=dt)
            got = ours.retrieve_timeseries("lat", T0, T0 + 300, column, tags=[("job", "0002")], aggregate="max",
                                           dt=dt)
            assert got[1] == list(expect[1]) and len(got[1]) > 0
    # what the checks read: the fallback from raw points (none) to the 1 s level
    source, times, values = read_window(ours, "lat", T0, T0 + 300, "data", tags=("0001",))
    assert (source.level, source.aggregate) == (1, "max") and len(values) == 300
    newest = read_newest_by_tag(ours, "lat", "data")
    assert sorted(newest) == [("0001",), ("0002",)] and newest[("0001",)][0] == T0 + 5000
    with pytest.raises(UnknownMeasurementError):
        ours.retrieve_timeseries("nothing_here", T0, T0 + 300, "data")
