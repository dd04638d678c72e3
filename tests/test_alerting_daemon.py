"""The alert lifecycle wired into the daemon: `scald-monitor run` notifies a real Alertmanager (Debian's
`prometheus-alertmanager` on 127.0.0.1) on hard-state changes, says "in downtime until ..." / "acknowledged by ..."
in every output, is silent in a downtime and after an ack, and two daemons on one config give one alert."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alertmanager_fixture import running_alertmanager
from procs import stop_process
from scald_monitor.config import load
from scald_monitor.daemon import Runner
from test_daemon import feed

BIN = Path(sys.executable).parent
MONITOR = shutil.which("scald-monitor", path=str(BIN)) or shutil.which("scald-monitor")

#: The checks of test_daemon.feed's data, ending in the outputs section (tests add keys to it, then sections).
SITE = """
backends:
  default: {{backend: sqlite, path: {store}, timeout: 2}}
schemas:
  latency: {{measurement: latency_history, column: data, tag: job, aggregate: max, tag_format: 4digit, num_tags: 4}}
  range: {{measurement: range_history, column: data}}
checks:
  latency_max: {{type: threshold, schema: latency, warning: "~:10", critical: "~:20", interval: {interval}}}
  range_min: {{type: threshold, schema: range, aggregate: min, critical: "60:", interval: {interval}}}
outputs:
  status_dir: status
  state_file: state.json
"""
CONFIG = SITE + """\
  nagios_command_file: nagios.cmd
  host: h
serve: {{url: "http://127.0.0.1:8080"}}
notifications:
  - {{type: alertmanager, url: "{am}", resend_interval: 1}}
"""


am = pytest.fixture(name="am")(running_alertmanager)


def write(tmp_path: Path, am, interval: float = 60, extra: str = "", store: str | None = None) -> Path:
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(am=am.base, interval=interval, store=store or tmp_path / "store.sqlite") + extra)
    (tmp_path / "nagios.cmd").touch()
    return path


def wait_alerts(am, predicate, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        alerts = am.alerts()
        if predicate(alerts) or time.monotonic() > deadline:
            return alerts
        time.sleep(0.2)


def firing(alerts: list[dict]) -> dict[tuple, dict]:
    return {(a["labels"]["alertname"], a["labels"].get("job", "")): a for a in alerts
            if a["status"]["state"] == "active"}


def test_run_once_notifies_per_tag_and_resolves_on_recovery(tmp_path, am):
    cfg_path = write(tmp_path, am)
    feed(tmp_path, {"0000": 1.0, "0001": 25.0, "0002": 2.0, "0003": 3.0}, range_value=45.0)
    out = subprocess.run([MONITOR, "run", "--once", "-c", str(cfg_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    alerts = firing(wait_alerts(am, lambda a: len(firing(a)) == 2))
    assert set(alerts) == {("latency_max", "0001"), ("range_min", "")}
    lat = alerts[("latency_max", "0001")]
    assert lat["labels"]["severity"] == "critical" and lat["labels"]["instance"] == "scald-monitor"
    assert lat["generatorURL"].startswith("http://127.0.0.1:8080/status")
    assert "0001" in lat["annotations"]["summary"]
    # recovery: the next run resolves both (endsAt now), nothing is left firing
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 2.0, "0003": 3.0}, range_value=120.0)
    time.sleep(1.1)  # past the first run's second: the new points are what the look-back reads
    out = subprocess.run([MONITOR, "run", "--once", "-c", str(cfg_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert firing(wait_alerts(am, lambda a: not firing(a))) == {}


def test_downtime_and_ack_silence_notifications_and_say_so_everywhere(tmp_path, am):
    cfg_path = write(tmp_path, am)
    feed(tmp_path, {"0000": 1.0, "0001": 25.0, "0002": 2.0, "0003": 3.0}, range_value=45.0)
    add = subprocess.run([MONITOR, "downtime", "add", "-c", str(cfg_path), "range_min", "--duration", "1h",
                          "--comment", "detector maintenance", "--author", "ops"], capture_output=True, text=True)
    assert add.returncode == 0, add.stderr
    ack = subprocess.run([MONITOR, "ack", "-c", str(cfg_path), "latency_max", "--tag", "job=0001", "--comment",
                          "on it", "--author", "alice", "--sticky"], capture_output=True, text=True)
    assert ack.returncode == 0, ack.stderr
    runner = Runner(load(str(cfg_path)))
    statuses = {s.result.check: s for s in runner.run_all()}
    runner.close(drain=10)
    assert am.alerts() == []  # nothing sent: one check in downtime, the other's only problem acknowledged
    doc = json.loads((tmp_path / "status" / "range_min.json").read_text())
    assert doc["state"] == 2 and doc["downtime"]["text"].startswith("in downtime until ")
    assert "detector maintenance" in doc["summary"] and "in downtime until" in doc["status_intervals"][0]["txt_status"]
    lat = json.loads((tmp_path / "status" / "latency_max.json").read_text())
    assert lat["tags_acknowledged"]["job=0001"]["author"] == "alice"
    assert "1 tag value(s) acknowledged" in statuses["latency_max"].result.summary
    passive = (tmp_path / "nagios.cmd").read_text()
    assert "in downtime until" in passive and "detector maintenance" in passive
    # the downtime removed: the problem is notified at the next evaluation (level-triggered, not lost)
    assert subprocess.run([MONITOR, "downtime", "remove", "-c", str(cfg_path), "1"]).returncode == 0
    runner = Runner(load(str(cfg_path)))
    runner.run_all()
    runner.close(drain=10)
    assert set(firing(wait_alerts(am, lambda a: len(firing(a)) == 1))) == {("range_min", "")}


@pytest.mark.slow
def test_two_daemons_give_one_alert_that_stays_firing_when_one_is_killed(tmp_path, am):
    """The Prometheus way to HA: both daemons evaluate and send; Alertmanager deduplicates identical alerts."""
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 2.0, "0003": 3.0}, range_value=45.0)
    daemons = []
    for side in ("a", "b"):
        home = tmp_path / side
        home.mkdir()
        cfg_path = write(home, am, interval=1, store=str(tmp_path / "store.sqlite"))
        log = open(home / "daemon.log", "w")
        daemons.append(subprocess.Popen([MONITOR, "run", "-c", str(cfg_path)], stdout=log, stderr=log))
    try:
        alerts = wait_alerts(am, lambda a: len(firing(a)) == 1)
        assert list(firing(alerts)) == [("range_min", "")] and len(alerts) == 1
        stop_process(daemons[0], 20)
        time.sleep(6)  # well past endsAt of the killed daemon's last post (4 x resend_interval)
        alerts = am.alerts()
        assert list(firing(alerts)) == [("range_min", "")] and len(alerts) == 1
    finally:
        for d in daemons:
            stop_process(d, 20)


def test_the_alerting_example_loads_and_its_alertmanager_config_passes_amtool():
    root = Path(__file__).resolve().parent.parent / "examples" / "alerting"
    cfg = load(str(root / "scald.yml"))
    assert [n["type"] for n in cfg.notifications] == ["alertmanager"]
    assert cfg.downtimes[0].name == "tuesday-maintenance" and cfg.serve["tokens_file"]
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed (it comes with prometheus-alertmanager; bash .ci/run installs it)")
    out = subprocess.run([amtool, "check-config", str(root / "alertmanager.yml")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
