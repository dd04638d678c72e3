"""Threshold and heartbeat evaluation against a real SQLite store fed through the Aggregator."""
from __future__ import annotations

import pytest

from scald_monitor.config import load
from scald_monitor.io import connect
from scald_monitor.io.sqlite import Aggregator, Consumer
from scald_monitor.rules.evaluate import evaluate
from scald_monitor.rules.result import CRITICAL, OK, UNKNOWN, WARNING
from scald_monitor.schema_loader import register_schemas
from scald_monitor.timeutil import gps_to_unix

NOW_GPS = 1_400_000_000.0
NOW = gps_to_unix(NOW_GPS)

CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  latency: {measurement: latency_history, column: data, tag: job, aggregate: max,
            tag_format: 4digit, num_tags: 4}
  range: {measurement: range_history, column: data}
  strain: {measurement: strain, columns: [h, snr], column_key: h, tags: [ifo]}
checks:
  lat_max:
    type: threshold
    schema: latency
    warning: "~:10"
    critical: "~:20"
    units: s
    lookback: 300
  lat_across:
    type: threshold
    schema: latency
    per_tag: false
    aggregate: median
    critical: "~:20"
  heartbeat:
    type: heartbeat
    schema: latency
    warning: 60
    critical: 180
  range_min:
    type: threshold
    schema: range
    aggregate: min
    warning: "100:"
    critical: "60:"
    units: Mpc
  range_beat:
    type: heartbeat
    schema: range
    critical: 120
  strain_small:
    type: threshold
    schema: strain
    aggregate: latest
    critical: "~:1e-21"
"""


@pytest.fixture(params=["sqlite", "influx"])
def setup(request, tmp_path):
    """The config and an Aggregator of one backend; checks read it through ``reader(cfg)`` as the daemon does."""
    text = CONFIG
    if request.param == "influx":
        server = request.getfixturevalue("influxd")
        text = CONFIG.replace("{backend: sqlite, path: store.sqlite}",
                              f"{{backend: influxdb, hostname: {server.host}, port: {server.port}, "
                              f"db: {request.getfixturevalue('influx_db')}}}")
    (tmp_path / "scald.yml").write_text(text)
    cfg = load(str(tmp_path / "scald.yml"))
    agg = connect(cfg.backend(), schemas=cfg.schemas.values())
    register_schemas(agg, cfg.path)
    yield cfg, agg
    agg.close()


def reader(cfg):
    return connect(cfg.backend(), readonly=True, schemas=cfg.schemas.values())


def run(cfg, name, store):
    check = cfg.checks[name]
    return evaluate(check, cfg.schemas[check.schema], store, now=NOW)


def series(t_from, t_to, value, step=1.0):
    n = int((t_to - t_from) / step)
    return {"time": [NOW_GPS + t_from + i * step for i in range(n)], "fields": {"data": [value] * n}}


def test_threshold_per_tag_names_the_failing_jobs_worst_first(setup):
    cfg, agg = setup
    agg.store_columns("latency_history", {"0000": series(-200, 0, 1.0), "0001": series(-200, 0, 12.0),
                                          "0002": series(-200, 0, 25.0)})
    result = run(cfg, "lat_max", reader(cfg))
    assert result.state == CRITICAL
    states = {t.label: t.state for t in result.tags}
    assert states == {"job=0000": OK, "job=0001": WARNING, "job=0002": CRITICAL, "job=0003": CRITICAL}
    assert result.long_text[0].startswith("CRITICAL: job=0002 max data=25 s (critical ~:20)")
    assert result.long_text[1] == "CRITICAL: job=0003 sent no data in the last 300 s"
    assert result.long_text[2].startswith("WARNING: job=0001")
    assert result.summary == "2 CRITICAL, 1 WARNING of 4 job: job=0002, job=0003"
    assert result.perf_text() == "job_0000=1s;~:10;~:20 job_0001=12s;~:10;~:20 job_0002=25s;~:10;~:20"
    assert result.plugin_output().splitlines()[0] == \
        "SCALD LAT_MAX CRITICAL - 2 CRITICAL, 1 WARNING of 4 job: job=0002, job=0003 | " + result.perf_text()


def test_old_points_outside_the_lookback_do_not_count(setup):
    cfg, agg = setup
    data = {f"000{i}": series(-1000, -400, 50.0) for i in range(4)}  # loud, but 400 s ago
    for tag in data:
        data[tag]["time"] += [NOW_GPS - 10]
        data[tag]["fields"]["data"] += [2.0]
    agg.store_columns("latency_history", data)
    result = run(cfg, "lat_max", reader(cfg))
    assert result.state == OK, result.plugin_output()
    assert result.summary == "4 job OK, max data over 300 s (2 s to 2 s)"


def test_reduction_across_tags_and_median(setup):
    cfg, agg = setup
    agg.store_columns("latency_history", {"0000": series(-100, 0, 1.0), "0001": series(-100, 0, 30.0),
                                          "0002": series(-100, 0, 31.0)})
    result = run(cfg, "lat_across", reader(cfg))
    assert result.state == CRITICAL and result.tags[0].value == 30.0
    assert result.summary == "median data=30 (critical ~:20)"


def test_threshold_without_data_is_unknown_not_ok(setup):
    cfg, agg = setup
    result = run(cfg, "range_min", reader(cfg))
    assert result.state == UNKNOWN
    assert "no data for range_history in the last 300 s" in result.summary


def test_no_tag_measurement_min_with_below_ranges(setup):
    cfg, agg = setup
    agg.store_columns("range_history", {(): series(-100, 0, 120.0)})
    agg.store_columns("range_history", {(): {"time": [NOW_GPS - 50.5], "fields": {"data": [75.0]}}})
    result = run(cfg, "range_min", reader(cfg))
    assert (result.state, result.tags[0].value) == (WARNING, 75.0)
    assert result.summary == "min data=75 Mpc (warning 100:)"
    assert result.perf_text() == "min_data=75;100:;60:"  # Mpc is no Nagios UOM: kept out of perfdata


def test_tiny_float_thresholds(setup):
    cfg, agg = setup
    agg.store_columns("strain", {"H1": {"time": [NOW_GPS - 5], "fields": {"h": [3e-21], "snr": [1.0]}},
                                 "L1": {"time": [NOW_GPS - 5], "fields": {"h": [5e-22], "snr": [1.0]}}})
    result = run(cfg, "strain_small", reader(cfg))
    assert {t.label: t.state for t in result.tags} == {"ifo=H1": CRITICAL, "ifo=L1": OK}


def test_heartbeat_ages_gaps_and_jobs_that_never_reported(setup):
    cfg, agg = setup
    agg.store_columns("latency_history", {
        "0000": series(-100, -5, 1.0),    # 6 s old: OK
        "0001": series(-300, -90, 1.0),   # 91 s old: WARNING
        "0002": series(-900, -400, 1.0),  # 401 s old: older than the 360 s look-back: CRITICAL
    })
    result = run(cfg, "heartbeat", reader(cfg))
    by = {t.label: t for t in result.tags}
    assert {k: t.state for k, t in by.items()} == {"job=0000": OK, "job=0001": WARNING, "job=0002": CRITICAL,
                                                   "job=0003": CRITICAL}
    assert by["job=0003"].text == "job=0003 never sent data"
    assert by["job=0002"].text == "job=0002 sent no data in the last 360 s (newest point 401 s ago)"
    assert by["job=0001"].value == pytest.approx(91.0)
    assert "job_0001_age=91s;60;180;0" in result.perf_text()


def test_heartbeat_with_no_data_at_all_is_critical(setup):
    cfg, agg = setup
    result = run(cfg, "range_beat", reader(cfg))
    assert result.state == CRITICAL and "no data" in result.summary
    agg.store_columns("range_history", {(): series(-30, -20, 1.0)})
    result = run(cfg, "range_beat", reader(cfg))
    assert result.state == OK and result.summary == "newest point 21.0 s ago"


def test_a_broken_store_gives_unknown_with_the_reason(tmp_path):
    (tmp_path / "scald.yml").write_text(CONFIG)
    cfg = load(str(tmp_path / "scald.yml"))
    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("range_history", "data")
    agg.store_columns("range_history", {(): series(-30, -20, 1.0)})
    consumer = Consumer(agg.path)
    consumer.close()  # a closed connection fails on use
    result = run(cfg, "range_beat", consumer)
    assert result.state == UNKNOWN and result.summary.startswith("cannot evaluate:")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\0" * 4096)
    import sqlite3
    from scald_monitor.io import BackendError
    with pytest.raises(BackendError):
        Consumer(junk)
    assert sqlite3  # the daemon turns a failure to open into UNKNOWN too (tested there)
