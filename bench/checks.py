#!/usr/bin/env python3
"""How fast checks evaluate, and whether the time per check stays flat as the store grows.

Stores of 1M and 10M raw points (100 tags at 1 Hz), then N per-tag checks (100 tags each; half threshold
max-over-300 s, half heartbeat) evaluated against each store. Baseline in the same run: the same threshold check
done the ligo-scald way, one query per tag value.

With ``--influx``, also on a real influxd (started here on 127.0.0.1): one hour of the same 100 tags written by
our Aggregator and, into another database, by ligo-scald 0.8.5's own (``aggregate='max'``: no raw points, the 1 s
level only), and the same per-tag checks on each, beside SQLite on the same hour and beside ligo-scald's own
Consumer asked one query per tag value (its nagios route's way).

With ``--metrics``, the daemon's own path (Runner.run_check: evaluate, state machine, outputs) over the same
checks with Prometheus exposition on and off, alternating rounds in the same run (goal: < 2 % slower with it).

    python bench/checks.py [--checks 1000 10000] [--sizes 1000000 10000000] [--influx [--influx-checks 200]]
                           [--metrics [--metrics-checks 200]]
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


def _hour(rng: np.random.Generator) -> dict:
    t = END - 3600 + np.arange(3600.0)
    return {(f"{j:04d}",): {"time": t.tolist(), "fields": {"data": (rng.random(t.size) * 10).tolist()}}
            for j in range(TAGS)}


def _timed_checks(cfg, store, now: float) -> tuple[float, np.ndarray]:
    spec = cfg.schemas["lat"]
    states = np.zeros(4, dtype=int)
    start = time.perf_counter()
    for check in cfg.checks.values():
        states[evaluate(check, spec, store, now).state] += 1
    return (time.perf_counter() - start) / len(cfg.checks), states


def influx_part(n_checks: int) -> None:
    """Per-tag checks on a real influxd: our data, ligo-scald's data, SQLite, and ligo-scald's own per-tag way."""
    from influx_ingest import start_influxd  # noqa: PLC0415 - the bench next door starts influxd the same way
    from ligo.scald.io import influx as ligo

    from scald_monitor.io import connect
    from scald_monitor.io.influx import Aggregator as InfluxAggregator

    now = gps_to_unix(END)
    data = _hour(np.random.default_rng(2))
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_influxd(os.path.join(tmp, "influxd"))
        try:
            ours = InfluxAggregator(hostname="127.0.0.1", port=port, db="ours")
            ours.register_schema("lat", "data", tags="job")
            ours.store_columns("lat", data)
            ours.close()
            theirs = ligo.Aggregator(hostname="127.0.0.1", port=port, db="ligo", reduce_dt=300)
            theirs.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
            for key, cols in data.items():  # one call per tag: one call for all is a body influxd refuses (413)
                theirs.store_columns("lat", {key: cols}, aggregate="max")
            lite = Aggregator(path=os.path.join(tmp, "hour.sqlite"))
            lite.register_schema("lat", "data", tags="job")
            lite.store_columns("lat", data)
            lite.close()
            rows = []
            for label, entry in (("SQLite, our data", {"backend": "sqlite", "path": os.path.join(tmp, "hour.sqlite")}),
                                 ("influxd, our data", {"backend": "influxdb", "hostname": "127.0.0.1", "port": port,
                                                        "db": "ours"}),
                                 ("influxd, ligo-scald's data", {"backend": "influxdb", "hostname": "127.0.0.1",
                                                                 "port": port, "db": "ligo"})):
                db = entry.get("path") or "unused.sqlite"
                cfg = load(_write(tmp, n_checks, db))
                store = connect(entry, readonly=True, schemas=cfg.schemas.values())
                per_check, states = _timed_checks(cfg, store, now)
                store.close()
                rows.append((label, per_check, states))
            consumer = ligo.Consumer(hostname="127.0.0.1", port=port, db="ligo")
            consumer.register_schema("lat", columns="data", column_key="data", tags="job", tag_key="job")
            start = time.perf_counter()
            reps = 5
            for _ in range(reps):  # ligo-scald's /api/nagios threshold: one query per expected tag value
                for j in range(TAGS):
                    consumer.retrieve_timeseries("lat", END - 300, END, "data", tags=[("job", f"{j:04d}")],
                                                 aggregate="max", dt=1)
            baseline = (time.perf_counter() - start) / reps
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"\nper-tag checks ({TAGS} tags; half threshold max over 300 s, half heartbeat), "
          f"{n_checks} checks, one hour at 1 Hz:")
    for label, per_check, states in rows:
        print(f"  {label:<28} {per_check * 1e3:7.2f} ms/check   ({baseline / per_check:5.1f}x faster than "
              f"ligo-scald's per-tag queries); OK/W/C/U = {'/'.join(map(str, states))}")
    print(f"  {'ligo-scald, one query per tag':<28} {baseline * 1e3:7.2f} ms/threshold check (its own Consumer, "
          "the same influxd and data)")


def metrics_part(tmp: str, db: str, n_checks: int, rounds: int = 10) -> None:
    """Per-check time of the daemon's run_check with NullMetrics and with DaemonMetrics, in rounds of ABBA order
    (so that neither side always runs first, on a warmer cache), and the time inside the metrics step itself."""
    from scald_monitor.daemon import Runner
    from scald_monitor.metrics import DaemonMetrics

    cfg = load(_write(tmp, n_checks, db))
    # one Runner (one state store, one reader), its metrics swapped between rounds: the metrics are the only
    # difference between the two sides
    runner = Runner(cfg)
    sides = {"without": runner.metrics, "with": DaemonMetrics()}
    spent = [0.0]  # time inside the metrics' own step, timed where it runs (less exposed to other load)
    publish = sides["with"].evaluated

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        publish(*args, **kwargs)
        spent[0] += time.perf_counter() - t0

    sides["with"].evaluated = timed
    now = gps_to_unix(END)
    for side in sides.values():  # warm: the first evaluation reads what later ones reuse, and makes the series
        runner.metrics = side
        for name in cfg.checks:
            runner.run_check(name, now)
    spent[0] = 0.0
    times: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(rounds):
        for kind in (("without", "with") if i % 2 == 0 else ("with", "without")):
            runner.metrics = sides[kind]
            start = time.perf_counter()
            for name in cfg.checks:
                runner.run_check(name, now)
            times[kind].append((time.perf_counter() - start) / n_checks)
    base, with_ = float(np.median(times["without"])), float(np.median(times["with"]))
    print(f"daemon run_check, {n_checks} per-tag checks x {rounds} rounds (median): without metrics "
          f"{base * 1e3:.3f} ms/check, with {with_ * 1e3:.3f} ms/check = {with_ / base:.3f}x "
          f"({(with_ / base - 1) * 100:+.1f} %; goal < +2 %); the metrics step itself "
          f"{spent[0] / (rounds * n_checks) * 1e6:.1f} us/check = "
          f"{spent[0] / (rounds * n_checks) / with_ * 100:.2f} % of run_check", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--influx", action="store_true", help="also on a real influxd, incl. ligo-scald's data")
    parser.add_argument("--influx-checks", type=int, default=200)
    parser.add_argument("--metrics", action="store_true", help="daemon path with and without Prometheus metrics")
    parser.add_argument("--metrics-checks", type=int, default=200)
    args = parser.parse_args()
    if args.influx:
        influx_part(args.influx_checks)
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
            if args.metrics and size == args.sizes[0]:
                metrics_part(tmp, db, args.metrics_checks)
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
