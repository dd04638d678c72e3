"""The installed commands: help, version, start-up weight, and the quickstart's fill job end to end."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scald_monitor.io.sqlite import Consumer
from scald_monitor.timeutil import gps_now

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


@pytest.mark.parametrize("command", ["scald", "scald-monitor", "check_scald"])
def test_console_scripts_answer_help_and_version(command):
    exe = shutil.which(command)
    assert exe, f"{command} is not installed (pip install -e .)"
    out = run(exe, "--help")
    assert out.returncode == 0 and "Usage" in out.stdout
    version = run(exe, "--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout


def test_plugin_wrapper_in_plugins_dir_runs():
    out = run(sys.executable, str(ROOT / "plugins" / "check_scald"), "--help")
    assert out.returncode == 0 and "--status-file" in out.stdout


def quickstart_copy(tmp_path: Path) -> Path:
    cfg = tmp_path / "quickstart.yml"
    shutil.copy(ROOT / "examples" / "quickstart.yml", cfg)
    return cfg


def test_quickstart_fill_writes_every_schema_and_shows_the_dead_job(tmp_path):
    cfg = quickstart_copy(tmp_path)
    out = run(shutil.which("scald"), "fill", "-c", str(cfg), "--span", "1800")
    assert out.returncode == 0, out.stderr
    db = tmp_path / "var" / "quickstart.sqlite"
    store = Consumer(db)
    assert set(store.measurements()) == {"latency_history", "range_history", "snr_history"}
    latest = store.retrieve_latest_by_tag("latency_history", "data")
    assert len(latest) >= 3
    ages = {tags: gps_now() - t for tags, (t, _) in latest.items()}
    assert min(ages.values()) < 60  # live jobs reach "now"
    for line in ("latency_history:", "range_history:", "snr_history:"):
        assert line in out.stdout
    # running it again over the same span stores the same points (idempotent), nothing doubles
    before = len(store.retrieve_timeseries("range_history", 0, 2e9, "data", tags=("0000",))[0])
    assert run(shutil.which("scald"), "fill", "-c", str(cfg), "--span", "1800").returncode == 0
    after = len(store.retrieve_timeseries("range_history", 0, 2e9, "data", tags=("0000",))[0])
    assert after - before < 120  # only the seconds that passed between the two runs were added
    store.close()


def test_fill_with_a_broken_config_exits_2_naming_the_file(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("schemas:\n  x:\n    columns: [a]\n    colum_key: a\n")
    out = run(shutil.which("scald"), "fill", "-c", str(cfg))
    assert out.returncode == 2
    assert f"{cfg}:4: schemas.x.colum_key" in out.stderr
