"""The alerting core end to end: data through the Aggregator → `scald-monitor run` → status files and state."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from scald_monitor.io.sqlite import Aggregator
from scald_monitor.timeutil import gps_now

EXE = shutil.which("scald-monitor")

CONFIG = """
backends:
  default: {{backend: sqlite, path: store.sqlite, timeout: 1}}
schemas:
  latency: {{measurement: latency_history, column: data, tag: job, aggregate: max,
            tag_format: 4digit, num_tags: 4}}
  range: {{measurement: range_history, column: data}}
checks:
  latency_heartbeat:
    type: heartbeat
    schema: latency
    warning: 60
    critical: 180
    interval: {interval}
    timeout: 3
  latency_max:
    type: threshold
    schema: latency
    warning: "~:10"
    critical: "~:20"
    units: s
    interval: {interval}
    max_attempts: {attempts}
    timeout: 3
  range_min:
    type: threshold
    schema: range
    aggregate: min
    critical: "60:"
    units: Mpc
    interval: {interval}
    timeout: 3
{extra}
outputs:
  status_dir: status
  state_file: state/state.json
  host: testhost
"""


def write_config(tmp_path: Path, interval: float = 60, attempts: int = 1, extra: str = "") -> Path:
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(interval=interval, attempts=attempts, extra=extra))
    return path


def feed(tmp_path: Path, latency: dict[str, float], dead: tuple[str, ...] = (), range_value: float = 120.0) -> None:
    """Ten minutes of 1 Hz data up to now; jobs in ``dead`` stopped 10 minutes ago."""
    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("latency_history", "data", tags="job")
    agg.register_schema("range_history", "data")
    now = gps_now()
    t = now - 600 + np.arange(600.0)
    data = {}
    for job, value in latency.items():
        times = t - 600 if job in dead else t
        data[job] = {"time": times, "fields": {"data": np.full(times.size, value)}}
    agg.store_columns("latency_history", data)
    agg.store_columns("range_history", {"time": t, "fields": {"data": np.full(t.size, range_value)}})
    agg.close()


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout)


def status(tmp_path: Path, name: str) -> dict:
    return json.loads((tmp_path / "status" / f"{name}.json").read_text())


def test_once_writes_one_status_file_per_check_with_the_right_states(tmp_path):
    cfg = write_config(tmp_path)
    feed(tmp_path, {"0000": 1.0, "0001": 12.0, "0002": 2.0, "0003": 3.0}, dead=("0003",), range_value=45.0)
    out = run("run", "--once", "-c", str(cfg))
    assert out.returncode == 0, out.stderr  # CRITICAL checks do not make the run fail
    files = sorted(p.name for p in (tmp_path / "status").iterdir())
    assert files == ["latency_heartbeat.json", "latency_max.json", "range_min.json"]
    beat = status(tmp_path, "latency_heartbeat")
    assert beat["status_intervals"][0]["num_status"] == 2
    assert "job=0003" in beat["status_intervals"][0]["txt_status"]
    assert beat["status_intervals"][1]["num_status"] == 2  # a heartbeat turns CRITICAL when it goes stale
    assert beat["nagios_shib_scraper_ver"] == 0.1
    lat = status(tmp_path, "latency_max")["status_intervals"][0]
    assert lat["num_status"] == 2  # the dead job is named, not hidden by the live ones
    assert "CRITICAL: job=0003 sent no data" in lat["txt_status"] and "WARNING: job=0001" in lat["txt_status"]
    assert status(tmp_path, "range_min")["status_intervals"][0]["num_status"] == 2
    assert "SCALD RANGE_MIN CRITICAL" in out.stdout
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert set(state["checks"]) == {"latency_heartbeat", "latency_max", "range_min"}


def test_bad_config_exits_2_and_check_command_exits_with_the_state(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("checks:\n  x:\n    type: threshhold\n")
    out = run("run", "--once", "-c", str(bad))
    assert out.returncode == 2 and f"{bad}:3: checks.x.type" in out.stderr
    cfg = write_config(tmp_path)
    feed(tmp_path, {"0000": 1.0, "0001": 25.0, "0002": 2.0, "0003": 3.0})
    out = run("check", "-c", str(cfg), "latency_max")
    assert out.returncode == 2
    assert out.stdout.startswith("SCALD LATENCY_MAX CRITICAL - 1 CRITICAL of 4 job: job=0001 | ")
    assert run("check", "-c", str(cfg), "range_min").returncode == 0
    unknown = run("check", "-c", str(cfg), "nope")
    assert unknown.returncode == 3 and "no check named 'nope'" in unknown.stdout
    assert not (tmp_path / "status").exists()  # check is one-shot: no outputs, no state


def test_missing_or_locked_backend_is_unknown_never_ok(tmp_path):
    cfg = write_config(tmp_path)
    out = run("run", "--once", "-c", str(cfg))  # nothing stored yet: no database file
    assert out.returncode == 0
    for name in ("latency_heartbeat", "latency_max", "range_min"):
        doc = status(tmp_path, name)
        assert doc["status_intervals"][0]["num_status"] == 3, doc
        assert "no such database" in doc["status_intervals"][0]["txt_status"]
    assert not (tmp_path / "store.sqlite").exists()  # readers never create the database
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    locker = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("DELETE FROM dirty")  # holds the write lock, and exclusive mode keeps readers out
    try:
        out = run("check", "-c", str(cfg), "range_min")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert out.returncode == 3, out.stdout
    assert "locked" in out.stdout or "timed out" in out.stdout


def test_state_survives_restarts_without_re_alerting(tmp_path):
    cfg = write_config(tmp_path, attempts=2)
    feed(tmp_path, {"0000": 25.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    first = run("run", "--once", "-c", str(cfg))
    doc = status(tmp_path, "latency_max")
    assert doc["status_intervals"][0]["num_status"] == 2 and doc["state_type"] == "SOFT"
    assert "latency_max: OK -> CRITICAL (SOFT)" in first.stderr
    second = run("run", "--once", "-c", str(cfg))
    doc = status(tmp_path, "latency_max")
    assert doc["state_type"] == "HARD" and doc["attempt"] == 2
    assert "latency_max: CRITICAL -> CRITICAL (HARD)" in second.stderr or "(HARD)" in second.stderr
    changed = doc["last_change"]
    third = run("run", "--once", "-c", str(cfg))  # a new process: the hard state is remembered
    doc = status(tmp_path, "latency_max")
    assert doc["state_type"] == "HARD" and doc["last_change"] == changed
    assert "latency_max" not in third.stderr  # no state change logged: no re-alert


WATCHER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    status_dir, state_file, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    reads = bad = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for path in list(status_dir.glob("*")) + [state_file]:
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            reads += 1
            try:
                doc = json.loads(text)
                assert "status_intervals" in doc or "checks" in doc
            except Exception:
                bad += 1
                print("partial:", path, repr(text[:80]), flush=True)
    print(json.dumps({"reads": reads, "bad": bad}))
""")


@pytest.mark.slow
def test_kill_9_never_leaves_partial_status_or_state_files(tmp_path):
    many = "\n".join(f"""  copy{i}:
    type: threshold
    schema: latency
    critical: "~:20"
    interval: 0.2
    timeout: 3""" for i in range(20))
    cfg = write_config(tmp_path, interval=0.2, extra=many)
    feed(tmp_path, {"0000": 25.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    (tmp_path / "status").mkdir()
    (tmp_path / "state").mkdir()
    watcher = subprocess.Popen([sys.executable, "-c", WATCHER, str(tmp_path / "status"),
                                str(tmp_path / "state" / "state.json"), "12"], stdout=subprocess.PIPE, text=True)
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        daemon = subprocess.Popen([EXE, "run", "-c", str(cfg)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(rng.uniform(0.6, 1.5))
        finally:
            daemon.send_signal(signal.SIGKILL)  # also when the test itself is interrupted: no orphan daemons
            daemon.wait()
        kills += 1
    out, _ = watcher.communicate(timeout=60)
    summary = json.loads(out.strip().splitlines()[-1])
    assert kills >= 5 and summary["reads"] > 100
    assert summary["bad"] == 0, out
    names = {p.name for p in (tmp_path / "status").iterdir()}
    assert all(n.endswith(".json") and not n.startswith(".") for n in names)  # nothing else in status_dir
    json.loads((tmp_path / "state" / "state.json").read_text())


def test_sighup_reloads_and_a_broken_config_keeps_the_old_checks_running(tmp_path):
    cfg = write_config(tmp_path, interval=0.5)
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([EXE, "run", "-c", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (tmp_path / "status" / "range_min.json").exists(), 20)
        good = cfg.read_text()
        cfg.write_text(good + "\n  broken: [\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in (tmp_path / "daemon.log").read_text(), 10)
        before = status(tmp_path, "range_min")["created_unix"]
        wait_for(lambda: status(tmp_path, "range_min")["created_unix"] > before + 0.4, 10)  # still running
        cfg.write_text(good.replace("  range_min:", "  range_min_copy:\n    type: threshold\n    schema: range\n"
                                    "    critical: '60:'\n    interval: 0.5\n  range_min:"))
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: (tmp_path / "status" / "range_min_copy.json").exists(), 10)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert "configuration reloaded" in text and "stopped" in text
    assert "Traceback" not in text


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {seconds} s")


@pytest.fixture(autouse=True)
def _installed():
    assert EXE, "scald-monitor is not installed (pip install -e .)"
    os.environ.pop("SCALDRC_PATH", None)


def test_daemon_tells_systemd_it_is_ready_and_stopping(tmp_path):
    """Type=notify: READY=1 once checks are scheduled, STOPPING=1 on SIGTERM (a NOTIFY_SOCKET as systemd gives)."""
    import socket as socket_module

    cfg = write_config(tmp_path, interval=1)
    feed(tmp_path, {"0000": 1.0, "0001": 1.0, "0002": 1.0, "0003": 1.0})
    sock_path = str(tmp_path / "notify.sock")
    listener = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(20)
    daemon = subprocess.Popen([EXE, "run", "-c", str(cfg)], env=dict(os.environ, NOTIFY_SOCKET=sock_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert listener.recv(256) == b"READY=1"
        daemon.send_signal(signal.SIGTERM)
        assert listener.recv(256) == b"STOPPING=1"
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        listener.close()


def _blocked(tmp_path: Path, name: str) -> str:
    """A path under a regular file: no one can create it, root included (tests run as root in CI)."""
    (tmp_path / "a_file").write_text("not a directory\n")
    return str(tmp_path / "a_file" / name)


@pytest.mark.slow
def test_an_unwritable_state_file_is_one_log_line_and_the_other_outputs_go_on(tmp_path):
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("state_file: state/state.json",
                                           f"state_file: {_blocked(tmp_path, 'state.json')}"))
    feed(tmp_path, {"0000": 1.0, "0001": 2.0, "0002": 2.0, "0003": 3.0})
    out = run("run", "--once", "-c", str(cfg))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "status").iterdir()) == [
        "latency_heartbeat.json", "latency_max.json", "range_min.json"]
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if "state" in line and "ERROR" in line]
    assert lines and all("a_file" in line for line in lines)
    assert "cannot write in" in out.stderr and "the other outputs go on" in out.stderr
    daemon = subprocess.run([EXE, "run", "-c", str(cfg), "--duration", "3"], capture_output=True, text=True,
                            timeout=60)
    assert daemon.returncode == 0 and "Traceback" not in daemon.stderr, daemon.stderr
    assert "cannot write the state file" in daemon.stderr


def test_nothing_writable_refuses_to_start_with_one_line_and_exit_2(tmp_path):
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text()
                   .replace("state_file: state/state.json", f"state_file: {_blocked(tmp_path, 'state.json')}")
                   .replace("status_dir: status", f"status_dir: {_blocked(tmp_path, 'status')}"))
    for args in (["run", "--once"], ["run", "--duration", "3"]):
        out = run(*args, "-c", str(cfg))
        assert out.returncode == 2, out
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("scald-monitor run: nothing can be written: ")
        assert "outputs.state_file" in out.stderr and "outputs.status_dir" in out.stderr
