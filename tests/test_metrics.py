"""The daemon's and the dashboard's own health for Prometheus: the series, their labels, and a real Prometheus
(Debian's ``prometheus``, on 127.0.0.1) scraping a running ``scald-monitor run --metrics-port``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from procs import free_port, stop_process
from scald_monitor.config import load
from scald_monitor.daemon import Runner
from scald_monitor.metrics import DaemonMetrics
from scald_monitor.serve import create_app
from test_daemon import feed, write_config

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MONITOR = shutil.which("scald-monitor", path=str(BIN)) or shutil.which("scald-monitor")
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")


def samples(text: str, name: str) -> dict[tuple, float]:
    """``{(label pairs sorted): value}`` of the samples called ``name`` in an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def exposition(metrics: DaemonMetrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def test_check_states_per_check_and_per_expected_tag_only(tmp_path):
    cfg_path = write_config(tmp_path)
    # job 0001 above the warning limit, 0003 silent; a stray job 'G1' is not expected: no series of its own
    feed(tmp_path, {"0000": 1.0, "0001": 12.0, "0002": 2.0, "0003": 3.0, "G1": 50.0}, dead=("0003",))
    metrics = DaemonMetrics()
    runner = Runner(load(str(cfg_path)), metrics)
    statuses = {s.result.check: s for s in runner.run_all()}
    text = exposition(metrics)
    states = samples(text, "scald_check_state")
    for name, status in statuses.items():
        assert states[(("check", name), ("tag", ""))] == int(status.result.state)
        doc = json.loads((tmp_path / "status" / f"{name}.json").read_text())
        assert states[(("check", name), ("tag", ""))] == doc["status_intervals"][0]["num_status"]
    per_tag = {dict(k)["tag"]: v for k, v in states.items() if dict(k)["check"] == "latency_max" and dict(k)["tag"]}
    assert per_tag == {"0000": 0, "0001": 1, "0002": 0, "0003": 2}  # expected jobs only: no 'G1'
    assert not any(dict(k)["check"] == "range_min" and dict(k)["tag"] for k in states)  # no tags: whole only
    since = samples(text, "scald_check_seconds_since_evaluation")
    assert set(since) == {(("check", n),) for n in statuses} and all(0 <= v < 60 for v in since.values())
    counts = samples(text, "scald_check_evaluation_duration_seconds_count")
    assert counts == {(("check", n),): 1.0 for n in statuses}
    assert samples(text, "scald_check_interval_seconds") == {(("check", n),): 60.0 for n in statuses}
    assert samples(text, "scald_outputs_total") == {(("result", "sent"), ("sink", "status_dir")): 3.0}
    assert samples(text, "scald_backend_errors_total") == {}
    assert samples(text, "scald_config_last_reload_successful") == {(): 1.0}


def test_backend_errors_counted_by_backend_and_series_of_removed_checks_dropped(tmp_path):
    cfg_path = write_config(tmp_path)  # nothing stored: the SQLite file does not exist, every check is UNKNOWN
    metrics = DaemonMetrics()
    runner = Runner(load(str(cfg_path)), metrics)
    runner.run_all()
    text = exposition(metrics)
    assert samples(text, "scald_backend_errors_total") == {(("backend", "default"),): 3.0}
    assert set(samples(text, "scald_check_state").values()) == {3.0}
    # the same config without range_min: its series go with it (a reload)
    text = cfg_path.read_text()
    cfg_path.write_text(text.split("  range_min:")[0] + "outputs:" + text.split("\noutputs:")[1])
    runner.reconfigure(load(str(cfg_path)))
    checks = {dict(k)["check"] for k in samples(exposition(metrics), "scald_check_state")}
    assert "range_min" not in checks and "latency_max" in checks


def test_serve_counts_requests_by_route_not_by_url(tmp_path):
    cfg_path = write_config(tmp_path)
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    client = create_app(load(str(cfg_path))).test_client()
    for n in range(3):
        assert client.get(f"/api/timeseries/latency_history/{1e9 + n}/{1e9 + 10 + n}").status_code == 200
    assert client.get("/api/timeseries/latency_history/20/10").status_code == 400
    assert client.get("/no/such/page/123").status_code == 404
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain; version=0.0.4")
    text = r.get_data(as_text=True)
    counts = samples(text, "scald_http_requests_total")
    route = "/api/timeseries/<measurement>/<start>/<end>"
    assert counts[(("method", "GET"), ("route", route), ("status", "200"))] == 3.0
    assert counts[(("method", "GET"), ("route", route), ("status", "400"))] == 1.0
    assert counts[(("method", "GET"), ("route", "(no route)"), ("status", "404"))] == 1.0
    assert all("123" not in dict(k)["route"] and "1000000000" not in dict(k)["route"] for k in counts)
    assert samples(text, "scald_http_request_duration_seconds_count")[(("route", route),)] == 4.0


def test_metrics_port_in_use_is_a_clear_error(tmp_path):
    import socket

    cfg_path = write_config(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([MONITOR, "run", "-c", str(cfg_path), "--metrics-port", str(port), "--duration", "5"],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and f"cannot listen for metrics on 127.0.0.1:{port}" in out.stderr


# ============================================================================================ a real Prometheus


def need_prometheus() -> None:
    if not (PROMETHEUS and PROMTOOL):
        pytest.fail("prometheus/promtool are not installed (apt-get install prometheus; bash .ci/run does it)")


def test_example_rules_and_scrape_config_load_in_promtool():
    need_prometheus()
    rules = subprocess.run([PROMTOOL, "check", "rules", str(ROOT / "examples/prometheus/alerts.yml")],
                           capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 5 rules found" in rules.stdout
    config = subprocess.run([PROMTOOL, "check", "config", str(ROOT / "examples/prometheus/prometheus.yml")],
                            capture_output=True, text=True)
    assert config.returncode == 0, config.stdout + config.stderr
    test = subprocess.run([PROMTOOL, "test", "rules", str(ROOT / "examples/prometheus/alerts.test.yml")],
                          capture_output=True, text=True, cwd=ROOT / "examples/prometheus")
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.slow
def test_prometheus_scrapes_the_daemon_and_its_states_match_the_status_files(tmp_path):
    """Debian's prometheus scrapes ``scald-monitor run --metrics-port``; its HTTP API then holds one
    scald_check_state series per check whose value is the status file's state, and the daemon is "up"."""
    need_prometheus()
    cfg_path = write_config(tmp_path, interval=1)
    feed(tmp_path, {"0000": 1.0, "0001": 12.0, "0002": 2.0, "0003": 3.0}, dead=("0003",))
    metrics_port, prom_port = free_port(), free_port()
    daemon = subprocess.Popen([MONITOR, "run", "-c", str(cfg_path), "--metrics-port", str(metrics_port)],
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "daemon.log", "w"))
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{ROOT}/examples/prometheus/alerts.yml']\n"
        "scrape_configs:\n  - job_name: scald-monitor\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path}/prometheus.yml",
                             f"--storage.tsdb.path={tmp_path}/data", f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
    base = f"http://127.0.0.1:{prom_port}"
    try:
        def query(q: str) -> list[dict]:
            body = requests.get(f"{base}/api/v1/query", params={"query": q}, timeout=5).json()
            assert body["status"] == "success", body
            return body["data"]["result"]

        deadline = time.monotonic() + 60  # the first scrape lands ~5 s after start (servers.md)
        found: list[dict] = []
        while time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
            assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            try:
                found = query('scald_check_state{tag=""}')
            except requests.ConnectionError:
                found = []
            if len(found) == 3:
                break
            time.sleep(0.5)
        assert len(found) == 3, found
        for series in found:
            name = series["metric"]["check"]
            doc = json.loads((tmp_path / "status" / f"{name}.json").read_text())
            assert float(series["value"][1]) == doc["status_intervals"][0]["num_status"], (name, series)
        assert [float(s["value"][1]) for s in query('up{job="scald-monitor"}')] == [1.0]
        per_tag = {s["metric"]["tag"]: float(s["value"][1]) for s in query('scald_check_state{check="latency_max",'
                                                                              'tag!=""}')}
        assert per_tag == {"0000": 0.0, "0001": 1.0, "0002": 0.0, "0003": 2.0}
        assert query("scald_scheduler_lag_seconds_count") and query("scald_check_seconds_since_evaluation < 30")
    finally:
        stop_process(prom, 10)
        stop_process(daemon, 20)
