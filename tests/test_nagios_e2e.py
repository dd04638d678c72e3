"""End to end against a real Nagios 4: data → scald-monitor → Nagios's own status.dat, passive and active.

The `nagios` fixture (conftest.py, tests/nagios_fixture.py) runs Nagios with interval_length=1, so the generated
objects are made with ``--interval-length 1`` and checks run every few seconds.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from scald_monitor.io.sqlite import Aggregator
from scald_monitor.timeutil import gps_now

BIN = os.path.dirname(sys.executable)
MONITOR = shutil.which("scald-monitor", path=BIN) or shutil.which("scald-monitor")
PLUGIN = shutil.which("check_scald", path=BIN) or shutil.which("check_scald")

#: check → (measurement, value fed, expected state). Limits: WARNING above 10, CRITICAL above 20.
THRESHOLDS = {"ok_check": ("good", 1.0, "OK"), "warn_check": ("warm", 12.0, "WARNING"),
              "crit_check": ("hot", 25.0, "CRITICAL")}

CONFIG = """
backends:
  default: {{backend: sqlite, path: store.sqlite, timeout: 1}}
schemas:
  good: {{measurement: good_history, column: data}}
  warm: {{measurement: warm_history, column: data}}
  hot: {{measurement: hot_history, column: data}}
checks:
{checks}
  beat:
    type: heartbeat
    schema: good
    warning: 60
    critical: 120
    interval: 2
    expiry: {expiry}
    timeout: 5
outputs:
  status_dir: status
  state_file: state.json
  host: scald-e2e
{extra}
"""

CHECK = """\
  {name}:
    type: threshold
    schema: {schema}
    warning: "~:10"
    critical: "~:20"
    units: s
    interval: 2
    expiry: {expiry}
    timeout: 5
"""


def write_config(tmp_path: Path, expiry: float, command_file: Path | None = None) -> Path:
    checks = "".join(CHECK.format(name=n, schema=s, expiry=expiry) for n, (s, _, _) in THRESHOLDS.items())
    extra = f"  nagios_command_file: {command_file}" if command_file else ""
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(checks=checks, expiry=expiry, extra=extra))
    return path


def feed(tmp_path: Path) -> None:
    """Ten minutes of 1 Hz data up to now, one constant value per measurement."""
    agg = Aggregator(path=tmp_path / "store.sqlite")
    t = gps_now() - 600 + np.arange(600.0)
    for schema, value, _ in THRESHOLDS.values():
        agg.register_schema(f"{schema}_history", "data")
        agg.store_columns(f"{schema}_history", {"time": t, "fields": {"data": np.full(t.size, value)}})
    agg.close()


def run(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([MONITOR, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"scald-monitor {' '.join(args)}: {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def expected_perfdata(cfg: Path) -> dict[str, str]:
    """Perfdata of each threshold check as `scald-monitor check` prints it (constant data: the same every time)."""
    out = {}
    for name in THRESHOLDS:
        proc = subprocess.run([MONITOR, "check", "-c", str(cfg), name], capture_output=True, text=True, timeout=60)
        out[name] = proc.stdout.splitlines()[0].partition(" | ")[2]
    return out


def generate(cfg: Path, nagios, mode: str) -> None:
    run("nagios-config", "-c", str(cfg), "-o", str(nagios.objects_dir), "--mode", mode, "--interval-length", "1",
        "--plugin", PLUGIN or "check_scald")


def test_passive_results_reach_nagios_and_go_stale_when_the_daemon_stops(tmp_path, nagios):
    cfg = write_config(tmp_path, expiry=6, command_file=nagios.command_file)
    feed(tmp_path)
    perfdata = expected_perfdata(cfg)
    assert all(perfdata.values())
    generate(cfg, nagios, "passive")
    nagios.start()

    out = run("run", "--once", "-c", str(cfg))  # one result per check into Nagios's command FIFO
    first_lines = {line.split()[1].lower(): line for line in out.stdout.splitlines() if line.startswith("SCALD ")}
    for name, (_, _, state) in [*THRESHOLDS.items(), ("beat", (None, None, "OK"))]:
        svc = nagios.wait_for(name, state, timeout=5)
        assert svc["plugin_output"] == first_lines[name]
        assert svc["plugin_output"].startswith(f"SCALD {name.upper()} {state} - ")
        if name in perfdata:
            assert svc["performance_data"] == perfdata[name]
        else:
            assert re.fullmatch(r"'?age'?=[0-9.]+s;60;120;0", svc["performance_data"]), svc["performance_data"]
        assert svc["check_type"] == "1"  # passive
        assert (svc["state_type"], svc["current_attempt"]) == ("1", "1")  # HARD at once: max_attempts 1

    # no more results: after expiry (6 s) Nagios's freshness check runs the dead-man command
    stale = "no passive result from scald-monitor for 6 s"
    for name in THRESHOLDS:
        svc = nagios.wait_for(name, "UNKNOWN", timeout=12, output_contains=stale)
        assert svc["check_type"] == "0"  # Nagios ran it itself
    nagios.wait_for("beat", "CRITICAL", timeout=5, output_contains=stale)  # a silent heartbeat is CRITICAL
    assert "are stale by" in nagios.log()


def test_active_checks_run_check_scald_on_status_files_and_directly(tmp_path, nagios):
    cfg = write_config(tmp_path, expiry=300)
    feed(tmp_path)
    run("run", "--once", "-c", str(cfg))  # writes status/<check>.json
    generate(cfg, nagios, "active")
    (nagios.objects_dir / "direct.cfg").write_text(textwrap.dedent("""\
        define service {
            use                     scald-service
            service_description     direct_warn
            check_command           check_scald_check!warn_check
            check_interval          2
            retry_interval          2
            max_check_attempts      1
        }
    """))
    nagios.start()

    for name, (_, _, state) in [*THRESHOLDS.items(), ("beat", (None, None, "OK"))]:
        svc = nagios.wait_for(name, state, timeout=10)
        assert svc["plugin_output"].startswith(f"SCALD {name.upper()} {state} - "), svc["plugin_output"]
        assert svc["performance_data"], f"{name}: no perfdata"
        assert svc["check_type"] == "0"  # active
    svc = nagios.wait_for("direct_warn", "WARNING", timeout=10)
    assert svc["plugin_output"].startswith("SCALD WARN_CHECK WARNING - "), svc["plugin_output"]
    assert svc["performance_data"]

    # a status document far older than --max-age (the daemon stopped an hour ago) is UNKNOWN, never its old state
    path = tmp_path / "status" / "ok_check.json"
    doc = json.loads(path.read_text())
    for key in ("created_unix", "created_gps"):
        if key in doc:
            doc[key] -= 3600
    path.write_text(json.dumps(doc))
    svc = nagios.wait_for("ok_check", "UNKNOWN", timeout=10)
    assert svc["plugin_output"].startswith("SCALD OK_CHECK UNKNOWN"), svc["plugin_output"]
    assert nagios.services()["crit_check"]["current_state"] == "2"  # the others are untouched
