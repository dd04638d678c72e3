"""Imports stay light: what each entry point loads, measured in a fresh interpreter with ``python -X importtime``.

Why: ``check_scald`` is forked by Nagios for every check (DESIGN §7: in ``--status-file`` mode none of flask,
werkzeug, jinja2, numpy, yaml, click, apscheduler, influxdb, requests or sqlite3); the CLI must start without the web
stack; the outputs must not pull an HTTP client until they post. One table, one way of measuring.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = frozenset({"flask", "werkzeug", "jinja2", "waitress"})
HEAVY = WEB | {"influxdb", "apscheduler", "requests"}
#: What the Nagios plugin's start-up path must never load (DESIGN §7).
PLUGIN_HEAVY = HEAVY | {"numpy", "yaml", "click", "sqlite3"}


def loaded(argv: list[str]) -> set[str]:
    """Every module a fresh ``python argv...`` imports (dotted names), from ``-X importtime``'s report."""
    out = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    modules = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert len(modules) > 1, out.stderr[-2000:]  # the header line alone: the report was not produced
    return modules - {"package"}  # the header's last column


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def status_document(tmp_path: Path) -> str:
    path = tmp_path / "lat.json"
    path.write_text(json.dumps({"created_unix": time.time(), "check": "lat", "status_intervals": [
        {"start_sec": 0, "end_sec": 3600, "num_status": 0, "txt_status": "SCALD LAT OK - fine"},
        {"start_sec": 3600, "num_status": 3, "txt_status": "lat is not updating"}]}))
    return str(path)


# id: (argv for python, or a function of tmp_path giving it; top-level modules it must not load)
CASES = {
    "scald_monitor": (["-c", "import scald_monitor"], PLUGIN_HEAVY),
    "scald_monitor.plugin": (["-c", "import scald_monitor.plugin"], PLUGIN_HEAVY),
    "timeutil in use": (["-c", "import scald_monitor.timeutil as t; t.gps_now(); t.gps_to_iso(1e9)"], PLUGIN_HEAVY),
    "check_scald --status-file": (lambda tmp: [shutil.which("check_scald"), "--status-file", status_document(tmp)],
                                  PLUGIN_HEAVY),
    "scald_monitor.cli": (["-c", "import scald_monitor.cli"], HEAVY),
    "scald_monitor.io": (["-c", "import scald_monitor.io"], HEAVY),
    "outputs": (["-c", "import scald_monitor.outputs.icinga2, scald_monitor.outputs.status, "
                       "scald_monitor.outputs.nagios_cmd"], {"requests"}),
}


@pytest.mark.parametrize("name", CASES)
def test_imports_stay_light(name, tmp_path):
    argv, forbidden = CASES[name]
    argv = argv(tmp_path) if callable(argv) else argv
    heavy = top_level(loaded(argv)) & forbidden
    assert not heavy, f"{name} imports {sorted(heavy)}"


def test_the_plugin_gets_the_state_enum_for_free():
    """``State`` is an IntEnum because ``enum`` is already loaded by ``re``: the states module loads no standard-
    library module beyond what ``import re, json`` does, but math (perfdata) and the tiny ``__future__``. An allow-
    list, stricter than the table above; ``-S``: no site-packages, as nothing beyond the standard library may come."""
    base = loaded(["-S", "-c", "import re, json"])
    new = loaded(["-S", "-c", "import re, json; import scald_monitor.rules.result"]) - base
    assert {m for m in new if not m.startswith("scald_monitor")} <= {"math", "__future__"}, new
