"""End to end against a real Nagios 4: data → scald-monitor → Nagios's own status.dat, passive and active.

The `nagios` fixture (conftest.py, tests/nagios_fixture.py) runs Nagios with interval_length=1, so the generated
objects are made with ``--interval-length 1`` and checks run every few seconds. It runs as root; the last tests run
Nagios as Debian's ``nagios`` user, as a site does, with check_scald installed the way nagios/README.md says (a venv
made by the system's /usr/bin/python3 in a directory every user can read), and show the "Return code of 13" a venv
made by a Python under a private home directory gets.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nagios_fixture import NagiosCore, nagios_binary
from scald_monitor.io.sqlite import Aggregator
from scald_monitor.timeutil import gps_now

ROOT = Path(__file__).resolve().parents[1]
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# ---- Nagios as its own user, check_scald from a system-Python venv ------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"
#: What `pip install <checkout>` needs from it (the package and its data, not tests, benchmarks or the venv).
SOURCE_PARTS = ("setup.py", "pyproject.toml", "README.md", "scald_monitor", "web")


def world_dir(prefix: str) -> Path:
    """A fresh directory under /tmp that every user may enter (mkdtemp's is 0700); removed by the caller."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def system_install():
    """check_scald installed as nagios/README.md tells a Nagios host: ``/usr/bin/python3 -m venv <dir>/opt/scald-
    monitor`` and ``pip install`` of the checkout into it. ``--no-deps``: in --status-file mode check_scald needs
    only the standard library (a site installs with the dependencies, for the other modes). Yields the venv."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.fail(f"{SYSTEM_PYTHON} is missing (apt-get install python3-venv; bash .ci/run does it)")
    top = world_dir("scald-opt-")
    try:
        venv = top / "opt" / "scald-monitor"
        made = subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, f"{SYSTEM_PYTHON} -m venv failed (apt-get install python3-venv?):\n{made.stderr}"
        src = top / "src"
        src.mkdir()
        for part in SOURCE_PARTS:  # a copy: building in the checkout would leave build/ and egg-info in it
            copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy2
            copy(ROOT / part, src / part, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                              if (ROOT / part).is_dir() else {}))
        pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(src)],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        assert pip.returncode == 0, f"pip install --no-deps of the checkout failed:\n{pip.stdout}\n{pip.stderr}"
        shutil.rmtree(src)
        yield venv
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def nagios_user_site():
    """A world-readable directory for one test (Nagios's own dir inside is handed to the nagios user), and the
    nagios user's uid. Fails, not skips, without that user: Debian's nagios4-core creates it."""
    try:
        uid = pwd.getpwnam("nagios").pw_uid
    except KeyError:
        pytest.fail("there is no 'nagios' user (Debian's nagios4-core creates it: apt-get install nagios4-core)")
    if nagios_binary() is None:
        pytest.fail("nagios4 is not installed (apt-get install nagios4-core monitoring-plugins-basic)")
    top = world_dir("scald-nagios-user-")
    cores: list[NagiosCore] = []
    try:
        yield top, uid, cores
    finally:
        for core in cores:
            core.stop()
        shutil.rmtree(top, ignore_errors=True)


def private_interpreter_copy(venv: Path, top: Path) -> Path:
    """check_scald whose interpreter is under a root-only (0700) directory, as in a venv made by a Python under
    /root/.pyenv: the venv is copied under ``top/root-home`` (0700) and the script, outside it, names that copy's
    python. Root can run it; any other user's exec fails with EACCES (13)."""
    home = top / "root-home"
    home.mkdir(mode=0o700)
    shutil.copytree(venv, home / "venv", symlinks=True)
    script = (venv / "bin" / "check_scald").read_text()
    first, _, rest = script.partition("\n")
    assert first.startswith("#!"), first
    out = top / "bin" / "check_scald"
    out.parent.mkdir(mode=0o755)
    out.write_text(f"#!{home / 'venv' / 'bin' / 'python3'}\n{rest}")
    out.chmod(0o755)
    return out


@pytest.mark.slow
def test_nagios_runs_check_scald_as_its_nagios_user_from_a_system_python_venv(system_install, nagios_user_site):
    top, nagios_uid, cores = nagios_user_site
    plugin = system_install / "bin" / "check_scald"
    assert os.path.realpath(system_install / "bin" / "python3").startswith("/usr/bin/"), "not the system Python"
    site = top / "site"  # the daemon's side: config, data, status files (written by root, readable by all)
    site.mkdir(mode=0o755)
    cfg = write_config(site, expiry=300)
    feed(site)
    run("run", "--once", "-c", str(cfg))
    status_file = site / "status" / "warn_check.json"
    assert stat.S_IMODE(status_file.stat().st_mode) & 0o004, "status files must be readable by Nagios's user"

    core = NagiosCore(top / "nagios", nagios_binary(), user="nagios")
    cores.append(core)
    run("nagios-config", "-c", str(cfg), "-o", str(core.objects_dir), "--mode", "active", "--interval-length", "1",
        "--plugin", str(plugin))
    assert f"command_line    {plugin} --status-file" in (core.objects_dir / "commands.cfg").read_text()
    private = private_interpreter_copy(system_install, top)
    as_root = subprocess.run([str(private), "--status-file", str(status_file), "--max-age", "300"],
                             capture_output=True, text=True, timeout=30)
    assert as_root.returncode == 1 and as_root.stdout.startswith("SCALD WARN_CHECK WARNING - "), as_root
    (core.objects_dir / "private.cfg").write_text(textwrap.dedent(f"""\
        define command {{
            command_name    check_scald_private_python
            command_line    {private} --status-file $ARG1$ --max-age 300
        }}
        define service {{
            use                     scald-service
            service_description     private_python
            check_command           check_scald_private_python!{status_file}
            check_interval          2
            retry_interval          2
            max_check_attempts      1
        }}
    """))
    verify = core.verify()
    assert verify.returncode == 0, verify.stdout
    core.start()
    assert core.process_uids() == {nagios_uid}, "Nagios did not drop to its nagios user"

    for name, (_, _, state) in [*THRESHOLDS.items(), ("beat", (None, None, "OK"))]:
        svc = core.wait_for(name, state, timeout=15)
        assert svc["plugin_output"].startswith(f"SCALD {name.upper()} {state} - "), svc["plugin_output"]
        assert svc["performance_data"], f"{name}: no perfdata"
        assert svc["check_type"] == "0"  # active: Nagios ran the plugin, as its user

    # the venv of a Python under a private home: the nagios user cannot execute the interpreter (execve: EACCES,
    # errno 13), and Nagios 4.4 reports the "return code" 13 as out of bounds: CRITICAL, not even UNKNOWN
    svc = core.wait_for("private_python", "CRITICAL", timeout=15)
    assert svc["plugin_output"] == ("(Return code of 13 for service 'private_python' on host 'scald-e2e' was out of "
                                    "bounds)"), svc["plugin_output"]
    assert "Warning: Return code of 13 for check of service 'private_python'" in core.log()
