"""Drop-in on ligo-scald deployments: checks give the same states on data ligo-scald 0.8.5 wrote as on ours.

ligo-scald's Aggregator keeps no raw points when it aggregates (only RP "1s" and, every reduce_dt, the coarser
ones) and only raw points with ``aggregate=None``; our Aggregator keeps both. The same values are written by each
writer into its own database on one real influxd, and every check must reach the same state, tag by tag. The data
leave clear margins (spikes and dips last whole seconds), so that any exact reduction gives the same state.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from scald_monitor.config import load
from scald_monitor.io import connect
from scald_monitor.io.sqlite import Aggregator as SqliteAggregator
from scald_monitor.rules.evaluate import evaluate
from scald_monitor.rules.result import CRITICAL, OK, WARNING
from scald_monitor.timeutil import gps_to_unix

N = 1_400_000_000.0  # "now", GPS
NOW = gps_to_unix(N)
RATE = 4  # Hz

CONFIG = """
backends:
  default: {{backend: influxdb, hostname: {host}, port: {port}, db: {db}}}
schemas:
  lat:
    measurement: lat
    column: data
    tag: job
    tag_key: job
    aggregate: {aggregate}
    tags: [[job, '0001'], [job, '0002'], [job, '0003']]
checks:
  beat: {{type: heartbeat, schema: lat, warning: 60, critical: 180}}
  hot: {{type: threshold, schema: lat, aggregate: max, lookback: 900, critical: "~:5"}}
  cold: {{type: threshold, schema: lat, aggregate: min, lookback: 900, warning: "2:"}}
  across_beat: {{type: heartbeat, schema: lat, per_tag: false, critical: 180}}
  across_max: {{type: threshold, schema: lat, per_tag: false, aggregate: max, lookback: 900, critical: "~:20"}}
nagios:
  lat: {{lookback: 180, alert_type: heartbeat}}
"""


def _series(n: float = N) -> dict[tuple[str], dict]:
    """Per job, "now" being GPS ``n``: times and values. 0001 dips to 1 for 4 s, 0002 spikes to 9 for 4 s, 0003 stopped 400 s ago,
    0099 is not an expected job (and would be CRITICAL for `hot` if it were counted)."""
    out = {}
    for job, first, last, base in (("0001", n - 600, n - 5, 3.0), ("0002", n - 600, n - 5, 3.0),
                                   ("0003", n - 800, n - 400, 3.0), ("0099", n - 100, n - 2, 50.0)):
        t = first + np.arange(0, last - first, 1 / RATE)
        v = base + 0.1 * np.sin(t)
        if job == "0001":
            v[(t >= n - 300) & (t < n - 296)] = 1.0
        if job == "0002":
            v[(t >= n - 200) & (t < n - 196)] = 9.0
        out[(job,)] = {"time": t.tolist(), "fields": {"data": v.tolist()}}
    return out


def _write(writer: str, influxd, db: str, n: float = N) -> None:
    data = _series(n)
    if writer == "ours":
        from scald_monitor.io.influx import Aggregator

        agg = Aggregator(hostname=influxd.host, port=influxd.port, db=db)
        agg.register_schema("lat", "data", tags="job")
        agg.store_columns("lat", data)
        agg.close()
        return
    from ligo.scald.io import influx as ligo

    aggregate = {"ligo-raw": None}.get(writer, writer.split("-")[1])
    lagg = ligo.Aggregator(hostname=influxd.host, port=influxd.port, db=db, reduce_dt=300,
                           reduce_across_tags=not writer.endswith("noacross"))
    lagg.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
    lagg.store_columns("lat", data, aggregate=aggregate)


def _outcome(cfg, store) -> dict[str, tuple[int, dict[str, int], list[str], str]]:
    out = {}
    for name, check in cfg.checks.items():
        r = evaluate(check, cfg.schemas[check.schema], store, NOW)
        out[name] = (r.state, {t.label: t.state for t in r.tags}, r.notes, r.source)
    return out


def _config(tmp_path, influxd, db: str, aggregate: str) -> object:
    path = tmp_path / f"{db}.yml"
    path.write_text(CONFIG.format(host=influxd.host, port=influxd.port, db=db, aggregate=aggregate))
    return load(str(path))


@pytest.fixture(scope="module")
def baseline(influxd, tmp_path_factory):
    """What every check says on data written by our own Aggregator (raw points and every level)."""
    db = "dropin_ours"
    influxd.start()
    influxd.query(f'DROP DATABASE "{db}"')
    _write("ours", influxd, db)
    cfg = _config(tmp_path_factory.mktemp("ours"), influxd, db, "max")
    store = connect(cfg.backend(), readonly=True, schemas=cfg.schemas.values())
    try:
        yield _outcome(cfg, store)
    finally:
        store.close()
        influxd.query(f'DROP DATABASE "{db}"')


def test_baseline_states_are_the_ones_the_data_call_for(baseline):
    beat, hot, cold = baseline["beat"], baseline["hot"], baseline["cold"]
    assert beat[0] == CRITICAL and beat[1] == {"job=0001": OK, "job=0002": OK, "job=0003": CRITICAL}
    assert hot[0] == CRITICAL and hot[1] == {"job=0001": OK, "job=0002": CRITICAL, "job=0003": OK}
    assert cold[0] == WARNING and cold[1] == {"job=0001": WARNING, "job=0002": OK, "job=0003": OK}
    assert baseline["across_max"][0] == CRITICAL  # 0099's 50: across tags every series counts
    assert baseline["across_beat"][0] == OK
    assert baseline["lat"][0] == CRITICAL and baseline["lat"][1]["job=0003"] == CRITICAL  # ligo-scald's nagios:
    for name in ("beat", "hot", "cold", "lat"):  # the stray job is named once and never raises the state
        assert [n for n in baseline[name][2] if "unexpected" in n] == [
            "unexpected job values (not in the expected list, not checked): 0099"]
        assert baseline[name][3] == "raw points"


@pytest.mark.parametrize("writer,source", [
    ("ligo-max", "1 s max buckets"),
    ("ligo-max-noacross", "1 s max buckets"),
    ("ligo-min", "1 s min buckets"),
    ("ligo-median", "1 s median buckets"),
    ("ligo-raw", "raw points"),
])
def test_data_written_by_ligo_scald_give_the_same_states(baseline, influxd, influx_db, tmp_path, writer, source):
    _write(writer, influxd, influx_db)
    aggregate = {"ligo-raw": "max"}.get(writer, writer.split("-")[1])
    cfg = _config(tmp_path, influxd, influx_db, aggregate)
    store = connect(cfg.backend(), readonly=True, schemas=cfg.schemas.values())
    try:
        got = _outcome(cfg, store)
    finally:
        store.close()
    for name, (state, tags, _notes, _source) in baseline.items():
        assert (got[name][0], got[name][1]) == (state, tags), name
    assert got["beat"][3] == source and got["hot"][3] == source
    if source != "raw points":
        assert any(f"values from {source} (no raw points" in n for n in got["hot"][2])
        assert any("up to 1 s more than the newest point's" in n for n in got["beat"][2])
    if writer == "ligo-max-noacross":  # no across-tags series: built from every job's buckets
        assert got["across_max"][3] == "1 s max buckets of every tag combination"


def test_check_scald_reads_ligo_scald_data(influxd, influx_db, tmp_path):
    """The Nagios plugin, on data ligo-scald wrote just now: it sees the 1 s buckets and says so."""
    from scald_monitor.timeutil import gps_now

    _write("ligo-max", influxd, influx_db, n=gps_now())
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(host=influxd.host, port=influxd.port, db=influx_db, aggregate="max"))
    plugin = shutil.which("check_scald", path=os.path.dirname(sys.executable)) or shutil.which("check_scald")
    hot = subprocess.run([plugin, "--config", str(path), "--check", "hot"], capture_output=True, text=True)
    assert hot.returncode == CRITICAL, hot
    assert hot.stdout.startswith("SCALD HOT CRITICAL - 1 CRITICAL of 3 job: job=0002")
    assert "values from 1 s max buckets" in hot.stdout
    beat = subprocess.run([plugin, "--config", str(path), "--check", "beat"], capture_output=True, text=True)
    assert beat.returncode == CRITICAL and "job=0003" in beat.stdout.splitlines()[0], beat


# -- tag semantics without InfluxDB ------------------------------------------------------------------------------
SQLITE_CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: lat, column: data, tag: job}
  listed: {measurement: lat, column: data, tag: job, tags: [[job, '0001'], [job, '0002']]}
checks:
  beat: {type: heartbeat, schema: lat, critical: 180}
  beat_short: {type: heartbeat, schema: lat, critical: 180, forget_after: 3600}
  listed_beat: {type: heartbeat, schema: listed, critical: 180}
  listed_hot: {type: threshold, schema: listed, lookback: 300, critical: "~:5"}
"""


@pytest.fixture
def sqlite_cfg(tmp_path):
    (tmp_path / "scald.yml").write_text(SQLITE_CONFIG)
    cfg = load(str(tmp_path / "scald.yml"))
    agg = SqliteAggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("lat", "data", tags="job")
    for job, last, value in (("0001", N - 10, 1.0), ("0002", N - 20, 2.0), ("retired", N - 2 * 86400, 1.0),
                             ("recent", N - 7200, 1.0), ("G1", N - 5, 99.0)):
        t = last - np.arange(100.0)[::-1]
        agg.store_columns("lat", {(job,): {"time": t, "fields": {"data": np.full(t.size, value)}}})
    agg.close()
    store = connect(cfg.backend(), readonly=True)
    yield cfg, store
    store.close()


def _run(cfg, store, name):
    check = cfg.checks[name]
    return evaluate(check, cfg.schemas[check.schema], store, NOW)


def test_a_heartbeat_without_a_list_forgets_tag_values_silent_for_forget_after(sqlite_cfg):
    cfg, store = sqlite_cfg
    r = _run(cfg, store, "beat")  # default forget_after: one day
    labels = {t.label: t.state for t in r.tags}
    assert "job=retired" not in labels and labels["job=recent"] == CRITICAL and labels["job=G1"] == OK
    assert [n for n in r.notes if n.startswith("dropped")] == [
        "dropped, no data for more than forget_after=86400 s: job=retired (2.0 d ago)"]
    assert "dropped, no data" in r.plugin_output()
    short = _run(cfg, store, "beat_short")  # an hour: the job silent for two hours is dropped as well
    assert {t.label for t in short.tags} == {"job=0001", "job=0002", "job=G1"} and short.state == OK
    assert "job=recent (0.1 d ago), job=retired (2.0 d ago)" in short.notes[-1]


def test_expected_tags_bound_what_is_checked_and_counted(sqlite_cfg):
    cfg, store = sqlite_cfg
    beat = _run(cfg, store, "listed_beat")
    assert beat.state == OK and {t.label for t in beat.tags} == {"job=0001", "job=0002"}
    assert beat.summary.startswith("2 job OK")
    assert beat.notes == ["unexpected job values (not in the expected list, not checked): G1, recent, retired"]
    hot = _run(cfg, store, "listed_hot")  # G1's 99 would be CRITICAL: it is not counted
    assert hot.state == OK and len(hot.tags) == 2
    assert "unexpected job values (not in the expected list, not checked): G1" in hot.plugin_output()
