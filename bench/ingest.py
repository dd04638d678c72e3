#!/usr/bin/env python3
"""Ingest and read speed of the SQLite Aggregator, each beside a plain-SQLite baseline measured in the same run.

Ingest: ``store_columns`` of TAGS x POINTS rows x 2 columns (all aggregate levels written, then flushed) against a
plain ``executemany`` of the same raw rows into one SQLite table (same WAL/synchronous settings, one transaction;
building the baseline's Python tuples is not timed, which favours the baseline).
Read: a one-day query of 1 Hz data through the Aggregator (decimated, default resolution) against a raw ``SELECT``
of the same range from the baseline table with an index on (tag, time).

    python bench/ingest.py [--tags 10] [--points 100000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scald_monitor.io.sqlite import Aggregator, Consumer  # noqa: E402

T0 = 1_300_000_000.0


def make_data(tags: int, points: int) -> dict:
    rng = np.random.default_rng(0)
    t = T0 + np.arange(points, dtype=np.float64)
    return {(f"{j:04d}",): {"time": t, "fields": {"data": rng.random(points), "snr": rng.exponential(size=points)}}
            for j in range(tags)}


def ours_ingest(path: str, data: dict) -> float:
    agg = Aggregator(path=path)
    agg.register_schema("lat", ["data", "snr"], "data", tags="job", aggregate="max")
    start = time.perf_counter()
    agg.store_columns("lat", data)
    agg.close()  # includes flush(): every level is complete when the clock stops
    return time.perf_counter() - start


def baseline_ingest(path: str, data: dict) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE raw(tag TEXT, time REAL, data REAL, snr REAL)")
    rows = [row for (tag,), d in data.items()
            for row in zip([tag] * len(d["time"]), d["time"].tolist(), d["fields"]["data"].tolist(),
                           d["fields"]["snr"].tolist())]
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.execute("CREATE INDEX raw_tag_time ON raw(tag, time)")  # for the read baseline, not timed
    conn.close()
    return elapsed


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000, help="points per tag (1 Hz)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = make_data(args.tags, args.points)
    n = args.tags * args.points
    with tempfile.TemporaryDirectory() as tmp:
        ours_t, base_t = [], []
        for i in range(args.repeat):  # alternate so that both see the same machine state
            base_t.append(baseline_ingest(os.path.join(tmp, f"base{i}.sqlite"), data))
            ours_t.append(ours_ingest(os.path.join(tmp, f"ours{i}.sqlite"), data))
        ours, base = statistics.median(ours_t), statistics.median(base_t)
        print(f"ingest: {args.tags} tags x {args.points} points x 2 columns = {n:,} rows ({2 * n:,} values)")
        print(f"  baseline executemany (raw rows only)   {n / base:>12,.0f} rows/s  ({base:.2f} s)")
        print(f"  scald Aggregator (raw + all levels)    {n / ours:>12,.0f} rows/s  ({ours:.2f} s)")
        print(f"  ratio ours/baseline                    {base / ours:>12.2f}x   (goal >= 0.5x)")
        ours_db = os.path.join(tmp, "ours0.sqlite")
        base_db = os.path.join(tmp, "base0.sqlite")
        consumer = Consumer(ours_db)
        end = T0 + min(86400, args.points) - 1
        raw_conn = sqlite3.connect(f"file:{base_db}?mode=ro", uri=True)

        def read_ours():
            t, v = consumer.retrieve_timeseries("lat", T0, end, "data", tags=("0001",), aggregate="max")
            assert t and len(t) == len(v)

        def read_raw():
            rows = raw_conn.execute("SELECT time, data FROM raw WHERE tag = ? AND time >= ? AND time <= ? "
                                    "ORDER BY time", ("0001", T0, end)).fetchall()
            assert rows

        read_ours()
        read_raw()
        ours_r, raw_r = timed(read_ours, args.repeat * 4), timed(read_raw, args.repeat * 4)
        points = len(consumer.retrieve_timeseries("lat", T0, end, "data", tags=("0001",), aggregate="max")[0])
        print(f"read: one day of 1 Hz data, one tag ({end - T0 + 1:,.0f} raw points)")
        print(f"  baseline raw SELECT                    {raw_r * 1e3:>10.2f} ms")
        print(f"  scald decimated read ({points} points)     {ours_r * 1e3:>10.2f} ms")
        print(f"  speed-up decimated/raw                 {raw_r / ours_r:>10.1f}x   (goal >= 10x)")
        consumer.close()
        raw_conn.close()


if __name__ == "__main__":
    main()
