#!/usr/bin/env python3
"""How fast checks evaluate, and whether the time per check stays flat as the store grows.

Stores of 1M and 10M raw points (100 tags at 1 Hz), then N per-tag checks (100 tags each; half threshold
max-over-300 s, half heartbeat) evaluated against each store. Baseline in the same run: the same threshold check
done the ligo-scald way, one query per tag value.

    python bench/checks.py [--checks 1000 10000] [--sizes 1000000 10000000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scald_monitor.config import load  # noqa: E402
from scald_monitor.io.sqlite import Aggregator, Consumer  # noqa: E402
from scald_monitor.rules.evaluate import evaluate  # noqa: E402
from scald_monitor.timeutil import gps_to_unix  # noqa: E402

TAGS = 100
END = 1_400_000_000.0


def build_store(path: str, points: int) -> float:
    per_tag = points // TAGS
    agg = Aggregator(path=path)
    agg.register_schema("lat", "data", tags="job")
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    step = 100_000
    for lo in range(0, per_tag, step):  # in pieces, as a pipeline would
        t = END - per_tag + lo + np.arange(min(step, per_tag - lo), dtype=float)
        agg.store_columns("lat", {f"{j:04d}": {"time": t, "fields": {"data": rng.random(t.size) * 10}}
                                  for j in range(TAGS)})
    agg.close()
    return time.perf_counter() - start


def config_text(n_checks: int, db: str) -> str:
    lines = [f"backends:\n  default: {{backend: sqlite, path: {db}}}",
             "schemas:\n  lat: {measurement: lat, column: data, tag: job, tag_format: 4digit, num_tags: 100}",
             "checks:"]
    for i in range(n_checks):
        if i % 2:
            lines.append(f"  c{i}: {{type: heartbeat, schema: lat, warning: 60, critical: 180}}")
        else:
            lines.append(f"  c{i}: {{type: threshold, schema: lat, aggregate: max, lookback: 300, "
                         f"warning: '~:{8 + i % 3}', critical: '~:20'}}")
    return "\n".join(lines) + "\n"


def per_tag_baseline(store: Consumer, n: int, now_gps: float) -> float:
    """ligo-scald's way: one query per tag value for a threshold check."""
    start = time.perf_counter()
    for _ in range(n):
        worst = -np.inf
        for j in range(TAGS):
            _, v = store.retrieve_timeseries("lat", now_gps - 300, now_gps, "data", tags=(f"{j:04d}",),
                                             aggregate="max")
            worst = max(worst, max(v, default=-np.inf))
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    now = gps_to_unix(END)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for size in args.sizes:
            db = os.path.join(tmp, f"store{size}.sqlite")
            built = build_store(db, size)
            print(f"store of {size:,} points ({TAGS} tags): built in {built:.1f} s", flush=True)
            store = Consumer(db)
            base = per_tag_baseline(store, 20, END)
            for n in args.checks:
                cfg = load(_write(tmp, n, db))
                spec = cfg.schemas["lat"]
                states = np.zeros(4, dtype=int)
                start = time.perf_counter()
                for check in cfg.checks.values():
                    states[evaluate(check, spec, store, now).state] += 1
                elapsed = time.perf_counter() - start
                rows.append((size, n, elapsed, n / elapsed, elapsed / n * 1e3, base * 1e3, states))
                print(f"  {n:>6,} checks: {n / elapsed:8.0f} checks/s, {elapsed / n * 1e3:6.2f} ms/check "
                      f"(ligo-scald-style per-tag queries: {base * 1e3:6.2f} ms/threshold check); "
                      f"states OK/W/C/U = {'/'.join(map(str, states))}", flush=True)
            store.close()
        print("\nsummary (time per check as the store grows; flat is the goal)")
        print(f"{'points':>12} {'checks':>7} {'checks/s':>9} {'ms/check':>9} {'per-tag ms':>11}")
        for size, n, _, rate, ms, base_ms, _ in rows:
            print(f"{size:>12,} {n:>7,} {rate:>9.0f} {ms:>9.2f} {base_ms:>11.2f}")
        for n in args.checks:
            sel = [r for r in rows if r[1] == n]
            if len(sel) > 1:
                print(f"{n:,} checks: ms/check at {sel[-1][0]:,} points / at {sel[0][0]:,} points = "
                      f"{sel[-1][4] / sel[0][4]:.2f}x")


def _write(tmp: str, n: int, db: str) -> str:
    path = os.path.join(tmp, f"checks{n}.yml")
    with open(path, "w") as fh:
        fh.write(config_text(n, db))
    return path


if __name__ == "__main__":
    main()
