"""The example configurations keep their promises: every check can reach the states its comments announce.

The quickstart's data are generated (a pure function of time and the seed), so the promise is checked on the
generated data itself, over several hours at fixed times: each check leaves OK at least once in every hour (what
the README states) and reaches each state it announces. Heartbeats are evaluated live: data are fed up to the
moment of each evaluation only, as ``scald fill --follow`` does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from scald_monitor.config import load
from scald_monitor.io import connect
from scald_monitor.io.sqlite import Aggregator
from scald_monitor.mock.feed import feed
from scald_monitor.rules.evaluate import evaluate
from scald_monitor.rules.result import CRITICAL, OK, WARNING
from scald_monitor.timeutil import gps_to_unix

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: The README: "each example check leaves OK at least once in every hour of the generated data".
LEAVES_OK_WITHIN = 3600
#: The states each quickstart check's comments promise (besides OK).
PROMISED = {
    "latency_heartbeat": {WARNING, CRITICAL},
    "latency_threshold": {WARNING, CRITICAL},
    "range_bns": {WARNING, CRITICAL},
    "snr_max": {CRITICAL},
}


def _quickstart(tmp_path: Path):
    raw = yaml.safe_load((EXAMPLES / "quickstart.yml").read_text())
    raw["backends"]["default"]["path"] = str(tmp_path / "quickstart.sqlite")
    raw["outputs"] = {}
    (tmp_path / "quickstart.yml").write_text(yaml.safe_dump(raw))
    return load(str(tmp_path / "quickstart.yml"))


def test_the_quickstart_promises_every_state_its_comments_announce():
    assert set(PROMISED) == set(load(str(EXAMPLES / "quickstart.yml")).checks)


@pytest.mark.parametrize("end", [1_400_000_000.0, 1_450_000_000.0])
def test_quickstart_thresholds_leave_ok_within_the_stated_time(tmp_path, end):
    cfg = _quickstart(tmp_path)
    hours = 4
    agg = Aggregator(path=cfg.backend()["path"])
    feed(cfg, agg, end - hours * 3600 - 600, end)
    agg.close()
    store = connect(cfg.backend(), readonly=True)
    try:
        for name, check in cfg.checks.items():
            if check.type != "threshold":
                continue
            step = 30
            times = np.arange(end - hours * 3600, end + 1, step)
            states = [evaluate(check, cfg.schemas[check.schema], store, gps_to_unix(t)).state for t in times]
            assert PROMISED[name] <= set(states), (name, sorted(set(states)))
            longest = run = 0
            for state in states:
                run = run + step if state == OK else 0
                longest = max(longest, run)
            assert longest < LEAVES_OK_WITHIN, (name, longest)
            assert states.count(OK) > len(states) / 3, (name, "mostly alerting: a poor demo")
    finally:
        store.close()


def test_quickstart_heartbeat_cycles_ok_warning_critical_ok_live(tmp_path):
    cfg = _quickstart(tmp_path)
    check = cfg.checks["latency_heartbeat"]
    end = 1_400_000_000.0
    agg = Aggregator(path=cfg.backend()["path"])
    store = None
    try:
        t = end - 300
        feed(cfg, agg, t - 120, t)
        agg.flush()
        store = connect(cfg.backend(), readonly=True)
        states = []
        while t < end:
            feed(cfg, agg, t, t + check.interval)  # the daemon evaluates every interval (5 s)
            agg.flush()
            t += check.interval
            states.append(evaluate(check, cfg.schemas[check.schema], store, gps_to_unix(t)).state)
    finally:
        agg.close()
        if store is not None:
            store.close()
    # job 0003 is silent 45 s of every 90 s: OK -> WARNING (15 s) -> CRITICAL (30 s) -> OK, every cycle
    changes = [b for a, b in zip(states, states[1:]) if a != b]
    assert changes[:6] in ([WARNING, CRITICAL, OK] * 2, [CRITICAL, OK, WARNING] * 2, [OK, WARNING, CRITICAL] * 2)
    assert len(changes) >= 9  # three cycles in five minutes


def test_ligo_scald_style_checks_reach_the_states_their_comments_announce(tmp_path):
    """latency: CRITICAL when a job has no point within 180 s; snr: CRITICAL when the max over 600 s is above 50."""
    raw = yaml.safe_load((EXAMPLES / "ligo-scald-style.yml").read_text())
    raw["backends"]["default"] = {"backend": "sqlite", "path": str(tmp_path / "s.sqlite")}
    (tmp_path / "s.yml").write_text(yaml.safe_dump(raw))
    cfg = load(str(tmp_path / "s.yml"))
    now = 1_400_000_000.0
    agg = Aggregator(path=tmp_path / "s.sqlite")
    for spec in (cfg.schemas["latency"], cfg.schemas["snr"]):
        agg.register_schema(spec.measurement, spec.columns, spec.column_key, spec.tags, spec.tag_key)
    t = now - 500 + np.arange(495.0)
    for job in ("0000", "0001", "0002"):
        agg.store_columns("latency_history", {(job,): {"time": t, "fields": {"data": np.full(t.size, 2.0)}}})
        agg.store_columns("snr_history", {(job,): {"time": t, "fields": {"data": np.full(t.size, 7.0)}}})
    agg.flush()

    def states():
        store = connect(cfg.backend(), readonly=True)
        try:
            return {n: evaluate(cfg.checks[n], cfg.schemas[n], store, gps_to_unix(now)).state
                    for n in ("latency", "snr")}
        finally:
            store.close()

    assert states() == {"latency": OK, "snr": OK}
    agg.store_columns("snr_history", {("0001",): {"time": [now - 30], "fields": {"data": [51.0]}}})
    agg.flush()
    assert states() == {"latency": OK, "snr": CRITICAL}
    # job 0002 silent for the last 200 s: its heartbeat (no point within 180 s) goes CRITICAL
    now += 200
    agg.store_columns("latency_history", {(j,): {"time": now - 5 + np.arange(5.0), "fields": {"data": np.ones(5)}}
                                          for j in ("0000", "0001")})
    agg.close()
    assert states()["latency"] == CRITICAL
