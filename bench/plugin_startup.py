#!/usr/bin/env python3
"""Start-up cost of the check_scald plugin, which Nagios forks for every check.

Median wall time of, in one run and interleaved:
  baseline      python3 -c "import re, json"   (what any entry-point script that reads JSON pays)
  bare          python3 -c pass
  status-file   check_scald --status-file FILE --max-age 600     (goal <= 1.3x baseline)
  sqlite check  check_scald --config FILE --check NAME           (goal <= 2x baseline)
All commands use this interpreter; bytecode is compiled first and PYTHONDONTWRITEBYTECODE is removed from the
environment, as for an installed plugin.

    python bench/plugin_startup.py [--runs 40]
"""
from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: lat, column: data, tag: job, tag_format: 4digit, num_tags: 10}
checks:
  lat_max: {type: threshold, schema: lat, warning: "~:8", critical: "~:9.9", interval: 60}
outputs:
  status_dir: status
  state_file: state.json
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compileall.compile_dir(str(ROOT / "scald_monitor"), quiet=1)
    plugin = shutil.which("check_scald")
    if plugin is None:
        sys.exit("check_scald is not installed (pip install .)")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "scald.yml"
        cfg.write_text(CONFIG)
        setup = (
            "import numpy as np, sys\n"
            "from scald_monitor.io.sqlite import Aggregator\nfrom scald_monitor.timeutil import gps_now\n"
            f"a = Aggregator(path={str(Path(tmp) / 'store.sqlite')!r}); a.register_schema('lat', 'data', tags='job')\n"
            "t = gps_now() - 3600 + np.arange(3600.0)\n"
            "a.store_columns('lat', {f'{j:04d}': {'time': t, 'fields': {'data': np.random.rand(3600) * 10}}"
            " for j in range(10)}); a.close()\n"
        )
        subprocess.run([sys.executable, "-c", setup], check=True, env=env)
        subprocess.run([shutil.which("scald-monitor"), "run", "--once", "-c", str(cfg)], check=True, env=env,
                       capture_output=True)
        status = Path(tmp) / "status" / "lat_max.json"
        commands = {
            "baseline": [sys.executable, "-c", "import re, json"],
            "bare": [sys.executable, "-c", "pass"],
            "status-file": [sys.executable, plugin, "--status-file", str(status), "--max-age", "600"],
            "sqlite check": [sys.executable, plugin, "--config", str(cfg), "--check", "lat_max"],
        }
        for cmd in commands.values():  # warm the page cache, and check that each command works
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            assert out.returncode in (0, 1, 2) and "Traceback" not in out.stdout + out.stderr, out
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - start)
        base = statistics.median(times["baseline"])
        print(f"check_scald start-up, median of {args.runs} runs ({sys.executable})")
        for name, samples in times.items():
            med = statistics.median(samples)
            goal = {"status-file": "  (goal <= 1.3x)", "sqlite check": "  (goal <= 2x)"}.get(name, "")
            print(f"  {name:<13} {med * 1e3:7.1f} ms   {med / base:5.2f}x baseline{goal}")


if __name__ == "__main__":
    main()
