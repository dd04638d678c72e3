"""``scald-monitor backtest``: the replay is the daemon's own evaluation and state machine, only faster.

The specification: on random data with gaps and spikes, the backtest's transitions are those of a naive loop that
calls ``evaluate`` (as of each step) and ``StateStore.apply`` at every step, for threshold and heartbeat checks, per
tag and across tags, on SQLite and on a real influxd; replaying the quickstart's data shows the heartbeat
transitions the daemon's Runner produced live; the CLI's window, ``--set`` and no-data handling; the SVG.
"""
from __future__ import annotations

import json
import math
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor import backtest as bt
from scald_monitor.cli import monitor
from scald_monitor.config import ConfigError, SchemaSpec, load, make_check
from scald_monitor.io import connect
from scald_monitor.io.sqlite import Aggregator, Consumer
from scald_monitor.rules.evaluate import Limits
from scald_monitor.rules.ranges import parse_range
from scald_monitor.timeutil import gps_to_unix, unix_to_gps

T0 = 1_400_000_000.0
SPAN = 1800.0
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SVG = "{http://www.w3.org/2000/svg}"


# ------------------------------------------------------------------------------------------- random cases

def _spec(tags: int) -> SchemaSpec:
    return SchemaSpec("s", "m", ("data",), "data", ("job",) if tags else (), "job" if tags else None, "max", None)


def _data(seed: int, n_tags: int, integer: bool) -> dict:
    """Points every 1-20 s from 10 min before the window, with silent stretches (gaps) and spikes."""
    rng = np.random.default_rng(seed)
    out = {}
    for j in range(max(n_tags, 1)):
        steps = rng.choice([1.0, 1.0, 2.0, 5.0, 20.0], size=1200) * (1 if integer else rng.choice([1.0, 0.5]))
        t = T0 - 600 + np.cumsum(steps)
        t = t[t <= T0 + SPAN]
        for _ in range(int(rng.integers(0, 4))):  # gaps of 30-400 s
            a = rng.uniform(T0 - 600, T0 + SPAN)
            t = t[(t < a) | (t > a + rng.uniform(30, 400))]
        if j == 2 and rng.random() < 0.5:  # one tag that stops for good
            t = t[t < T0 + rng.uniform(0, SPAN)]
        v = 5 + rng.normal(0, 1.5, t.size)
        spikes = rng.random(t.size) < 0.02
        v[spikes] += rng.choice([6.0, 12.0, -8.0], size=int(spikes.sum()))
        out[(f"{j:04d}",) if n_tags else ()] = {"time": t, "fields": {"data": v}}
    return out


@st.composite
def cases(draw, integer: bool = False):
    kind = draw(st.sampled_from(["threshold", "heartbeat"]))
    n_tags = draw(st.sampled_from([0, 1, 3]))
    settings_ = {"type": kind, "schema": "s", "interval": draw(st.sampled_from([10, 30, 60])),
                 "max_attempts": draw(st.sampled_from([1, 1, 3])), "for": draw(st.sampled_from([0, 0, 45]))}
    if n_tags:
        settings_["per_tag"] = draw(st.booleans())
        if settings_["per_tag"] and draw(st.booleans()):
            settings_["tags"] = ["0000", "0001", "0007"][: draw(st.integers(1, 3))]  # 0007 never sends
    if kind == "threshold":
        settings_["aggregate"] = draw(st.sampled_from(["max", "min", "latest"]))
        settings_["lookback"] = draw(st.sampled_from([30, 120, 300]))
        settings_["warning"] = draw(st.sampled_from(["~:8", "2:8", "@4:6", "10"]))
        settings_["critical"] = draw(st.sampled_from(["~:12", "0:14", "@4.5:5"]))
        if draw(st.booleans()) and settings_["critical"] == "~:12":
            settings_["critical_reset"], settings_["warning_reset"] = "~:10", "~:6"
    else:
        settings_["warning"] = draw(st.sampled_from([15, 30]))
        settings_["critical"] = draw(st.sampled_from([45, 90]))
        if draw(st.booleans()):
            settings_["forget_after"] = draw(st.sampled_from([120, 600]))
    slab = draw(st.sampled_from([None, 400.0]))  # small slabs: seeds and slab edges are exercised
    return draw(st.integers(0, 2 ** 31)), n_tags, settings_, slab


def _assert_same(check, spec, store, slab):
    with pytest.MonkeyPatch.context() as mp:
        if slab is not None:
            mp.setattr(bt, "SLAB_SECONDS", slab)
        rep = bt.replay(check, spec, store, T0, T0 + SPAN)
    naive = bt.naive_transitions(check, spec, store, T0, T0 + SPAN)
    assert rep.transitions == naive
    assert rep.plan_dropped == ""  # the plan predicted every evaluated step: it models these checks
    return rep


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_backtest_equals_the_naive_loop_on_sqlite(case):
    seed, n_tags, settings_, slab = case
    spec = _spec(n_tags)
    check = make_check("c", settings_, spec)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite"
        agg = Aggregator(path=path)
        agg.register_schema("m", "data", tags="job" if n_tags else None)
        agg.store_columns("m", _data(seed, n_tags, integer=False))
        agg.close()
        with Consumer(path) as store:
            _assert_same(check, spec, store, slab)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(case=cases(integer=True))
def test_backtest_equals_the_naive_loop_on_influxd(influxd, case):
    import uuid

    from scald_monitor.io.influx import Aggregator as InfluxAggregator
    from scald_monitor.io.influx import Consumer as InfluxConsumer

    seed, n_tags, settings_, slab = case
    spec = _spec(n_tags)
    check = make_check("c", settings_, spec)
    influxd.start()
    db = f"bt_{uuid.uuid4().hex[:10]}"
    try:
        agg = InfluxAggregator(hostname="127.0.0.1", port=influxd.port, db=db)
        agg.register_schema("m", "data", tags="job" if n_tags else None)
        for key, cols in _data(seed, n_tags, integer=True).items():
            agg.store_columns("m", {key: cols})
        agg.close()
        store = InfluxConsumer(hostname="127.0.0.1", port=influxd.port, db=db, schemas=[spec])
        try:
            _assert_same(check, spec, store, slab)
        finally:
            store.close()
    finally:
        influxd.query(f'DROP DATABASE "{db}"')


def test_a_week_of_quiet_steps_is_skipped_not_evaluated(tmp_path):
    """Read ahead and slide: a steady check over 2 days at 60 s evaluates a handful of steps, same transitions."""
    spec = _spec(3)
    agg = Aggregator(path=tmp_path / "s.sqlite")
    agg.register_schema("m", "data", tags="job")
    t = T0 - 600 + np.arange(0.0, 2 * 86400 + 600, 10.0)
    v = np.full(t.size, 5.0)
    v[(t > T0 + 40000) & (t < T0 + 40100)] = 20.0  # one stall
    agg.store_columns("m", {(f"{j:04d}",): {"time": t, "fields": {"data": v}} for j in range(3)})
    agg.close()
    check = make_check("c", {"type": "threshold", "schema": "s", "aggregate": "max", "lookback": 300,
                             "warning": "~:8", "critical": "~:12", "interval": 60}, spec)
    with Consumer(tmp_path / "s.sqlite") as store:
        rep = bt.replay(check, spec, store, T0, T0 + 2 * 86400)
        assert rep.steps == 2881 and rep.evaluated < 100
        assert rep.transitions == bt.naive_transitions(check, spec, store, T0, T0 + 2 * 86400)
    assert [(t.tag, t.old, t.new) for t in rep.transitions] == [
        ("job=0000", 0, 2), ("job=0001", 0, 2), ("job=0002", 0, 2), (None, 0, 2),
        ("job=0000", 2, 0), ("job=0001", 2, 0), ("job=0002", 2, 0), (None, 2, 0)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["10", "~:10", "10:", "-5:5", "@2:8", "@~:3", "0:0", "1e-3:2e-3"]),
       st.lists(st.floats(-20, 20, allow_nan=False), min_size=1, max_size=20))
def test_the_plans_range_test_is_the_rules(text, values):
    values += [parse_range(text).start, parse_range(text).end]
    values = [v for v in values if math.isfinite(v)]
    rng = parse_range(text)
    assert bt.alerts_many(rng, np.array(values)).tolist() == [rng.alerts(v) for v in values]
    limits = Limits(rng, parse_range("~:15"))
    assert bt.states_many(limits, np.array(values)).tolist() == [int(limits.state(v)) for v in values]


# ----------------------------------------------------------------------------------------- the quickstart

def _quickstart(tmp_path: Path):
    raw = yaml.safe_load((EXAMPLES / "quickstart.yml").read_text())
    raw["backends"]["default"]["path"] = str(tmp_path / "quickstart.sqlite")
    raw["outputs"] = {}
    (tmp_path / "quickstart.yml").write_text(yaml.safe_dump(raw))
    return load(str(tmp_path / "quickstart.yml"))


@pytest.mark.slow
def test_quickstart_hour_replayed_shows_the_heartbeat_transitions_the_daemon_produced_live(tmp_path):
    """The daemon's Runner, run stepwise on a controlled clock while the data are written as they would be live
    (each evaluation sees what was written by then); then the backtest of the same hour from the stored data."""
    from scald_monitor.daemon import Runner
    from scald_monitor.mock.feed import feed

    cfg = _quickstart(tmp_path)
    name = "latency_heartbeat"
    check = cfg.checks[name]
    start, end = T0 - 3600, T0
    agg = Aggregator(path=cfg.backend()["path"])
    live = []
    try:
        feed(cfg, agg, start - 600, start + 0.5)
        runner = Runner(cfg)
        for now in bt.step_times(start, end, check.interval).tolist():
            gps = float(unix_to_gps(now))  # this step's GPS time
            feed(cfg, agg, gps - check.interval + 0.5, gps + 0.5)  # points up to this step's time are written
            agg.flush()
            status = runner.run_check(name, now)
            live.extend((c.label or None, int(c.old), int(c.new), c.state_type, c.time) for c in status.changes)
    finally:
        agg.close()
    doc = bt.run_backtest(cfg, name, start, end)
    replayed = [(t["tag"], t["from"], t["to"], t["state_type"], t["time"]) for t in doc["transitions"]]
    names = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
    expected = [(tag, names[a], names[b], kind, float(unix_to_gps(t))) for tag, a, b, kind, t in live]
    assert replayed == expected
    job3 = [t for t in doc["transitions"] if t["tag"] == "job=0003"]
    assert [(t["from"], t["to"]) for t in job3[:3]] in ([("OK", "WARNING"), ("WARNING", "CRITICAL"),
                                                         ("CRITICAL", "OK")],
                                                        [("WARNING", "CRITICAL"), ("CRITICAL", "OK"),
                                                         ("OK", "WARNING")],
                                                        [("CRITICAL", "OK"), ("OK", "WARNING"),
                                                         ("WARNING", "CRITICAL")])
    assert len(job3) >= 3 * 38  # 40 cycles of 90 s in the hour, three changes each
    assert {t["tag"] for t in doc["transitions"]} == {"job=0003", None}


# ------------------------------------------------------------------------------------------------- CLI

@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    from scald_monitor.mock.feed import feed

    tmp = tmp_path_factory.mktemp("quickstart")
    cfg = _quickstart(tmp)
    agg = Aggregator(path=cfg.backend()["path"])
    feed(cfg, agg, T0 - 7200, T0)
    agg.close()
    return cfg


def _run(cfg, *args):
    return CliRunner().invoke(monitor, ["backtest", "-c", cfg.path, *args], catch_exceptions=False)


def test_cli_json_document(quickstart):
    out = _run(quickstart, "latency_threshold", "--start", str(T0 - 3600), "--end", "2024-05-17T16:53:02Z",
               "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert set(doc) == {"check", "start", "end", "settings", "transitions", "summary"}
    assert doc["check"] == "latency_threshold" and doc["start"] == T0 - 3600 and doc["end"] == T0
    assert doc["transitions"], "the quickstart's stalls alert within the hour"
    for t in doc["transitions"]:
        assert set(t) == {"time", "tag", "from", "to", "state_type", "value", "summary"}
        assert t["from"] in ("OK", "WARNING", "CRITICAL", "UNKNOWN") and t["state_type"] in ("SOFT", "HARD")
    s = doc["summary"]
    assert math.isclose(sum(s["time_in_state"].values()), 3600)
    assert s["notifications"] >= 1 and s["longest_problem"]["seconds"] > 0


def test_cli_set_and_compare_side_by_side(quickstart):
    out = _run(quickstart, "latency_threshold", "--last", "1h", "--end", str(T0), "--set", "warning=~:12",
               "--set", "for=300", "--compare", "warning=~:30", "--format", "json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["settings"]["warning"] == "~:12" and doc["settings"]["for"] == 300
    assert doc["compare"]["settings"]["warning"] == "~:30" and doc["compare"]["settings"]["for"] == 0
    text = _run(quickstart, "latency_threshold", "--last", "1h", "--end", str(T0), "--compare", "critical=~:50")
    assert text.exit_code == 0
    assert "A: settings:" in text.output and "B: settings:" in text.output and "notifications" in text.output


def test_cli_shell_expanded_tilde_is_read_back(quickstart):
    import os

    out = _run(quickstart, "latency_threshold", "--last", "1h", "--end", str(T0), "--set",
               f"warning={os.path.expanduser('~')}:12", "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["settings"]["warning"] == "~:12"


@pytest.mark.parametrize("args, key", [(["--set", "warning=abc"], "checks.latency_threshold.warning"),
                                       (["--set", "for=-5"], "checks.latency_threshold.for"),
                                       (["--set", "thresold=3"], "checks.latency_threshold")])
def test_cli_bad_setting_is_a_config_error_naming_the_key(quickstart, args, key):
    out = _run(quickstart, "latency_threshold", "--last", "1h", "--end", str(T0), *args)
    assert out.exit_code == 2
    assert key in out.output and "Traceback" not in out.output


@pytest.mark.parametrize("args", [["--last", "7x"], ["--start", str(T0)], ["--start", str(T0), "--end", str(T0 - 5)],
                                  ["--last", "1h", "--start", str(T0)], ["--set", "nonsense"]])
def test_cli_usage_errors_exit_2(quickstart, args):
    out = _run(quickstart, "latency_threshold", *args)
    assert out.exit_code == 2 and "scald-monitor backtest:" in out.output


def test_cli_window_without_data_exits_3(quickstart):
    out = _run(quickstart, "latency_heartbeat", "--last", "90m", "--end", str(T0 - 86400))
    assert out.exit_code == 3 and "no data for latency_history" in out.output


def test_cli_unknown_check_exits_2(quickstart):
    out = _run(quickstart, "nope", "--last", "1h")
    assert out.exit_code == 2 and "checks.nope" in out.output


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("7d", 604800), ("3600", 3600), ("1.5h", 5400),
                                           ("2w", 1209600)])
def test_durations(text, seconds):
    assert bt.parse_duration(text) == seconds


def test_times_gps_or_iso():
    assert bt.parse_time("1400000000") == T0
    assert bt.parse_time("2024-05-17T16:53:02Z") == T0


def test_plot_has_the_bands_and_the_state_strip(quickstart, tmp_path):
    svg = tmp_path / "bt.svg"
    out = _run(quickstart, "latency_threshold", "--last", "1h", "--end", str(T0), "--compare", "warning=~:30",
               "--plot", str(svg))
    assert out.exit_code == 0, out.output
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    classes = [e.get("class") or "" for e in root.iter(f"{SVG}rect")]
    assert "band band-warning" in classes and "band band-critical" in classes
    strips = [g for g in root.iter(f"{SVG}g") if g.get("class") == "state-strip"]
    assert len(strips) == 2  # one per side of --compare
    states = {r.get("class") for r in strips[0].iter(f"{SVG}rect")}
    assert {"state state-OK", "state state-WARNING"} <= states
    lines = [p for p in root.iter(f"{SVG}path") if p.get("class") == "line"]
    assert len(lines) == 4  # the checked value of each of the four jobs


def test_run_backtest_is_callable_for_a_route(quickstart):
    doc = bt.run_backtest(quickstart, "range_bns", T0 - 1800, T0, {"warning": "110:"})
    assert doc["settings"]["overrides"] == {"warning": "110:"}
    with pytest.raises(ConfigError):
        bt.run_backtest(quickstart, "range_bns", T0 - 1800, T0, {"warning": "x"})
    with pytest.raises(ValueError):
        bt.run_backtest(quickstart, "range_bns", T0 - 86400, T0, max_steps=100)
    with pytest.raises(bt.NoDataError):
        bt.run_backtest(quickstart, "range_bns", T0 - 9e5, T0 - 8e5)


def test_heartbeat_as_of_sees_no_newer_point(tmp_path):
    """The store-layer bound: a heartbeat evaluated at a past time ignores what was written after it."""
    from scald_monitor.rules.evaluate import evaluate

    spec = _spec(1)
    agg = Aggregator(path=tmp_path / "s.sqlite")
    agg.register_schema("m", "data", tags="job")
    agg.store_columns("m", {("0000",): {"time": [T0 - 100, T0 + 500], "fields": {"data": [1.0, 2.0]}}})
    agg.close()
    check = make_check("c", {"type": "heartbeat", "schema": "s", "warning": 30, "critical": 60}, spec)
    for store in (Consumer(tmp_path / "s.sqlite"), connect({"backend": "sqlite", "path": str(tmp_path / "s.sqlite")},
                                                          readonly=True, lite=True)):
        with store:
            now = gps_to_unix(T0)
            assert evaluate(check, spec, store, now).tags[0].value == 0.0  # live: the newest stored
            assert evaluate(check, spec, store, now, as_of=True).tags[0].value == 100.0
            assert store.retrieve_latest("m", "data", tags=("0000",), before=T0) == ([T0 - 100], [1.0])
            assert store.retrieve_latest_by_tag("m", "data", before=T0 - 101) == {}


def test_the_api_route_answers_the_clis_document(quickstart):
    from scald_monitor.serve import create_app

    client = create_app(quickstart).test_client()
    url = "/api/checks/latency_threshold/backtest"
    api = client.get(f"{url}?start={T0 - 3600}&end={T0}&warning=~:12&for=300")
    assert api.status_code == 200, api.json
    cli = _run(quickstart, "latency_threshold", "--start", str(T0 - 3600), "--end", str(T0), "--set", "warning=~:12",
               "--set", "for=300", "--format", "json")
    assert api.json == json.loads(cli.output)
    assert api.json["settings"]["overrides"] == {"warning": "~:12", "for": 300}
    assert client.get(f"{url}?last=1h&end=2024-05-17T16:53:02Z").json["end"] == T0


@pytest.mark.parametrize("query, status, words", [
    ("", 400, "give start"),
    (f"start={T0 - 60}&last=1h", 400, "not both"),
    (f"start={T0}&end={T0 - 60}", 400, "is not after"),
    (f"start={T0 - 30 * 86400}&end={T0}", 400, "steps of"),
    (f"start={T0 - 600}&end={T0}&warning=nonsense", 400, "setting warning"),
    (f"start={T0 - 600}&end={T0}&colour=red", 400, "unknown parameter 'colour'"),
    ("start=900000&end=903600", 404, "no data"),
])
def test_the_api_route_refuses_in_json(quickstart, query, status, words):
    from scald_monitor.serve import create_app

    answer = create_app(quickstart).test_client().get(f"/api/checks/latency_threshold/backtest?{query}")
    assert answer.status_code == status and words in answer.json["error"], answer.json
    assert create_app(quickstart).test_client().get("/api/checks/nope/backtest?last=1h").status_code == 404
