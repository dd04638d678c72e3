#!/usr/bin/env python3
"""How fast ``scald-monitor backtest`` replays a check, beside the naive loop (evaluate + state machine at every
step against the store) in the same run, with the transitions of both compared.

Default: a week at a 60 s interval (10,080 steps) of a 100-tag per-tag check (threshold: max over 300 s; and a
heartbeat) on 1 Hz data: noise around 5 with a stall (a value of 15 for 20-40 s) on a random tag a few times an
hour, and a tag silent for 5-15 minutes now and then. On SQLite and, unless ``--no-influx``, on a loopback influxd
started here (as bench/influx_ingest.py does). ``--quick``: a day of 20 tags. ``--naive-steps N`` times the naive
loop on the first N steps only and scales (it takes minutes over a week); the equality of transitions is then
checked over those N steps.

    python bench/backtest.py [--quick] [--days 7] [--tags 100] [--no-influx] [--naive-steps 1440]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scald_monitor import backtest as bt  # noqa: E402
from scald_monitor.config import SchemaSpec, make_check  # noqa: E402

END = 1_400_000_000.0
CHUNK = 6 * 3600  # seconds of data per store_columns call: big batches for the column writer


def data(tags: int, start: float, stop: float, seed: int = 7):
    """Yield ``{(tag,): {'time', 'fields'}}`` blocks of CHUNK seconds: 1 Hz noise, stalls and silences."""
    rng = np.random.default_rng(seed)
    span = stop - start
    stalls = [(int(rng.integers(tags)), rng.uniform(start, stop), rng.uniform(20, 40)) for _ in range(int(span / 1200))]
    silences = [(int(rng.integers(tags)), rng.uniform(start, stop), rng.uniform(300, 900))
                for _ in range(int(span / 7200))]
    for lo in np.arange(start, stop, CHUNK):
        t = np.arange(lo, min(lo + CHUNK, stop), 1.0)
        block = {}
        for j in range(tags):
            v = 5 + rng.uniform(-1, 1, t.size)
            keep = np.ones(t.size, dtype=bool)
            for tag, a, length in stalls:
                if tag == j:
                    v[(t >= a) & (t < a + length)] = 15.0
            for tag, a, length in silences:
                if tag == j:
                    keep &= ~((t >= a) & (t < a + length))
            block[(f"{j:04d}",)] = {"time": t[keep], "fields": {"data": v[keep]}}
        yield block


def fill(agg, tags: int, start: float, stop: float, per_tag_calls: bool = False) -> float:
    began = time.perf_counter()
    agg.register_schema("lat", "data", tags="job")
    for block in data(tags, start, stop):
        if per_tag_calls:  # influxd refuses one body for every tag (413)
            for key, cols in block.items():
                agg.store_columns("lat", {key: cols})
        else:
            agg.store_columns("lat", block)
    agg.close()
    return time.perf_counter() - began


def checks(tags: int):
    spec = SchemaSpec("lat", "lat", ("data",), "data", ("job",), "job", "max", None)
    threshold = make_check("latency_max", {"type": "threshold", "schema": "lat", "aggregate": "max", "lookback": 300,
                                           "warning": "~:8", "critical": "~:12", "interval": 60}, spec)
    heartbeat = make_check("latency_heartbeat", {"type": "heartbeat", "schema": "lat", "warning": 120,
                                                 "critical": 240, "interval": 60}, spec)
    return spec, [threshold, heartbeat]


def compare(label: str, store, spec, check, start: float, stop: float, naive_steps: int | None) -> None:
    began = time.perf_counter()
    rep = bt.replay(check, spec, store, start, stop)
    fast = time.perf_counter() - began
    steps = rep.steps
    n = steps if naive_steps is None else min(naive_steps, steps)
    naive_end = start + (n - 1) * float(check.interval)
    began = time.perf_counter()
    naive = bt.naive_transitions(check, spec, store, start, naive_end)
    naive_time = (time.perf_counter() - began) * steps / n
    same = [t for t in rep.transitions if t.time <= naive_end + 1e-6] == naive
    scaled = "" if n == steps else f" (timed on {n} steps, scaled)"
    print(f"  {label:9} {check.name:18} {steps:6d} steps  backtest {fast:7.2f} s ({rep.evaluated} evaluated, "
          f"{len(rep.transitions)} transitions)  naive loop {naive_time:8.1f} s{scaled}  "
          f"ratio {naive_time / fast:6.1f}x  same transitions: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a day of 20 tags")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument("--no-influx", action="store_true")
    parser.add_argument("--naive-steps", type=int, default=None,
                        help="time the naive loop on the first N steps and scale (default: every step)")
    args = parser.parse_args()
    days, tags = (1.0, 20) if args.quick else (args.days, args.tags)
    start, stop = END - days * 86400, END
    spec, the_checks = checks(tags)
    print(f"{days:g} days at 60 s ({int(days * 1440)} steps), {tags} tags at 1 Hz "
          f"({int(days * 86400 * tags / 1e6)} M points)")
    with tempfile.TemporaryDirectory() as tmp:
        from scald_monitor.io.sqlite import Aggregator, Consumer

        path = os.path.join(tmp, "bench.sqlite")
        print(f"SQLite: filled in {fill(Aggregator(path=path), tags, start - 900, stop):.0f} s")
        with Consumer(path) as store:
            for check in the_checks:
                compare("SQLite", store, spec, check, start, stop, args.naive_steps)
        if not args.no_influx:
            influx_part(tmp, tags, start, stop, spec, the_checks, args.naive_steps)


def influx_part(tmp: str, tags: int, start: float, stop: float, spec, the_checks, naive_steps) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from influx_ingest import start_influxd  # noqa: PLC0415 - the bench next door starts influxd the same way

    from scald_monitor.io.influx import Aggregator, Consumer

    proc, port = start_influxd(os.path.join(tmp, "influxd"))
    try:
        took = fill(Aggregator(hostname="127.0.0.1", port=port, db="bench"), tags, start - 900, stop,
                    per_tag_calls=True)
        print(f"InfluxDB (influxd on 127.0.0.1:{port}): filled in {took:.0f} s")
        store = Consumer(hostname="127.0.0.1", port=port, db="bench", schemas=[spec])
        try:
            for check in the_checks:
                compare("InfluxDB", store, spec, check, start, stop, naive_steps)
        finally:
            store.close()
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
