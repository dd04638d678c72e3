"""After an influxd outage the buffered points go out as soon as the server answers again, not at the end of the
writer's backoff (which grows to ``retry_max``, 60 s by default): a heartbeat check reading those points would
otherwise stay CRITICAL long after the outage ended. Real influxd, stopped and started by the fixture."""
from __future__ import annotations

import logging
import re
import time

import pytest

from scald_monitor.io.influx import PROBE_INTERVAL, Aggregator, gps_to_ns

T0 = 1_400_000_000.0
STEP = 0.1  # s between store calls, as a pipeline reporting at a few Hz would make them


def server_count(influxd, db: str, before: float | None = None) -> int:
    where = f" WHERE time < {int(gps_to_ns(before)[0])}" if before is not None else ""
    result = influxd.query(f'SELECT count("data") FROM "{db}"."autogen"."lat"{where}', db)
    series = result["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def longest_backoff(caplog) -> float:
    delays = [float(m.group(1)) for r in caplog.records if (m := re.search(r"retrying in ([0-9.]+) s", r.getMessage()))]
    return max(delays, default=0.0)


class Writer:
    """One point per call, each at its own time, values 0, 1, 2 ... so that what landed can be checked exactly."""

    def __init__(self, agg: Aggregator):
        self.agg, self.n = agg, 0

    def store(self) -> None:
        t = T0 + self.n
        self.agg.store_columns("lat", {"0001": {"time": [t], "fields": {"data": [float(self.n)]}}})
        self.n += 1


@pytest.mark.slow
def test_buffered_points_reach_influxd_within_2_s_of_it_answering_again(influxd, influx_db, caplog):
    caplog.set_level(logging.INFO, logger="scald_monitor.io.influx")
    agg = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, timeout=2)  # retry_max: default 60 s
    agg.register_schema("lat", "data", tags="job")
    w = Writer(agg)
    w.store()
    assert server_count(influxd, influx_db) == 1
    influxd.stop()
    try:
        give_up = time.monotonic() + 60
        while longest_backoff(caplog) < 8 and time.monotonic() < give_up:  # the backoff has grown to 8 s
            w.store()
            time.sleep(STEP)
        assert longest_backoff(caplog) >= 8
        assert agg.buffered_points == w.n - 1
        assert agg._next_try - time.monotonic() > 5  # without a probe, nothing would be tried for > 5 s more
    finally:
        influxd.start()  # returns once GET /ping answers 204
    up = time.monotonic()
    during = w.n  # points stored before the server came back
    while server_count(influxd, influx_db, before=T0 + during) < during:
        assert time.monotonic() - up <= 2.0, f"{agg.buffered_points} points still buffered 2 s after influxd returned"
        w.store()
        time.sleep(STEP)
    assert server_count(influxd, influx_db, before=T0 + during) == during  # exactly: none lost, none doubled
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    agg.flush()
    assert agg.buffered_points == 0
    assert server_count(influxd, influx_db) == w.n
    times, values = agg.retrieve_timeseries("lat", T0, T0 + w.n, "data", tags="0001")
    assert values == [float(i) for i in range(w.n)]
    assert agg.retrieve_timeseries("lat", T0, T0 + w.n, "data", tags="0001", aggregate="max", dt=1)[1] == values
    agg.close()


@pytest.mark.slow
def test_probes_while_influxd_is_down_are_cheap_and_rate_limited(influxd, influx_db):
    """Calls keep returning at once while the server is down (a refused connection is noticed at once) and
    ``/ping`` is asked at most every PROBE_INTERVAL s, however often the writer stores."""
    agg = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, timeout=2)
    agg.register_schema("lat", "data", tags="job")
    w = Writer(agg)
    w.store()
    pings = []
    real_get = agg.client._session.get

    def counting_get(url, *args, **kwargs):
        if url.endswith("/ping"):
            pings.append(time.monotonic())
        return real_get(url, *args, **kwargs)

    agg.client._session.get = counting_get
    influxd.stop()
    try:
        start = time.monotonic()
        while time.monotonic() - start < 2.0:
            w.store()
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        assert w.n > 50  # many calls, none held up
        assert 1 <= len(pings) <= elapsed / PROBE_INTERVAL + 1
        assert all(b - a >= PROBE_INTERVAL for a, b in zip(pings, pings[1:]))
    finally:
        influxd.start()
    agg.flush()
    assert server_count(influxd, influx_db) == w.n
    agg.close()


def test_a_writer_started_while_influxd_is_down_sends_once_it_answers(influxd, influx_db):
    influxd.stop()
    try:
        agg = Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db, timeout=2)
        agg.register_schema("lat", "data", tags="job")
        w = Writer(agg)
        for _ in range(5):
            w.store()
        assert agg.buffered_points == 5
        agg._next_try = time.monotonic() + 3600  # a backoff that would outlast the test
    finally:
        influxd.start()
    give_up = time.monotonic() + 30
    while agg.buffered_points and time.monotonic() < give_up:
        w.store()  # the probe sees the server; the database and RPs are created, then the buffer goes out
        time.sleep(STEP)
    assert agg.buffered_points == 0
    assert server_count(influxd, influx_db) == w.n
    agg.close()
