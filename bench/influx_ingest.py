#!/usr/bin/env python3
"""Ingest into a real influxd (started here on 127.0.0.1), three ways, in one run:

  raw POST      the same raw points as line protocol, POSTed in 10,000-line bodies (lines built inside the timing)
  scald         scald_monitor.io.influx.Aggregator.store_columns: raw points + min/median/max at 1 s ... 100000 s,
                per tag and across tags, then flush()
  ligo-scald    ligo.scald.io.influx.Aggregator.store_columns(aggregate='max') per tag (one call for all tags is one
                HTTP body that influxd refuses with 413), reduce_dt=1 so that its coarser levels are computed too

Data: TAGS x POINTS x 2 columns at RATE Hz. Prints points/s for each, the ratios, and the points that landed.

    python bench/influx_ingest.py [--tags 10] [--points 100000] [--rate 16]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scald_monitor.io import influx  # noqa: E402

T0 = 1_400_000_000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_influxd(directory: str) -> tuple[subprocess.Popen, int]:
    if not shutil.which("influxd"):
        sys.exit("influxd is not installed (apt-get install influxdb)")
    port = free_port()
    env = dict(os.environ, INFLUXDB_REPORTING_DISABLED="true", INFLUXDB_BIND_ADDRESS=f"127.0.0.1:{free_port()}",
               INFLUXDB_META_DIR=f"{directory}/meta", INFLUXDB_DATA_DIR=f"{directory}/data",
               INFLUXDB_DATA_WAL_DIR=f"{directory}/wal", INFLUXDB_DATA_QUERY_LOG_ENABLED="false",
               INFLUXDB_HTTP_BIND_ADDRESS=f"127.0.0.1:{port}", INFLUXDB_HTTP_LOG_ENABLED="false",
               INFLUXDB_MONITOR_STORE_ENABLED="false")
    proc = subprocess.Popen(["influxd", "run", "-config", "/dev/null"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 204:
                return proc, port
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("influxd did not start")


def count(port: int, db: str, rp: str, measurement: str) -> int:
    r = requests.get(f"http://127.0.0.1:{port}/query", params={
        "db": db, "q": f'SELECT count("data") FROM "{db}"."{rp}"."{measurement}"'}).json()
    series = r["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000, help="points per tag")
    parser.add_argument("--rate", type=float, default=16.0, help="Hz (LIGO pipelines report at 16 Hz)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    t = T0 + np.arange(args.points) / args.rate
    data = {f"{j:04d}": {"time": t, "fields": {"data": rng.random(args.points), "snr": rng.random(args.points)}}
            for j in range(args.tags)}
    n = args.tags * args.points
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_influxd(tmp)
        try:
            session = requests.Session()
            session.post(f"http://127.0.0.1:{port}/query", params={"q": 'CREATE DATABASE "raw"'})
            start = time.perf_counter()
            for tag, entry in data.items():
                ns = influx.gps_to_ns(entry["time"]).tolist()
                a, b = entry["fields"]["data"].tolist(), entry["fields"]["snr"].tolist()
                lines = [f"lat,job={tag} data={x!r},snr={y!r} {s}" for x, y, s in zip(a, b, ns)]
                for i in range(0, len(lines), 10_000):
                    r = session.post(f"http://127.0.0.1:{port}/write", params={"db": "raw", "precision": "n"},
                                     data=("\n".join(lines[i:i + 10_000])).encode())
                    r.raise_for_status()
            results["raw POST"] = time.perf_counter() - start
            landed = {"raw POST": count(port, "raw", "autogen", "lat")}

            agg = influx.Aggregator(hostname="127.0.0.1", port=port, db="scald")
            agg.register_schema("lat", ["data", "snr"], "data", tags="job", aggregate="max")
            start = time.perf_counter()
            agg.store_columns("lat", data)
            agg.flush()
            results["scald"] = time.perf_counter() - start
            agg.close()
            landed["scald"] = count(port, "scald", "autogen", "lat")
            levels = {dt: count(port, "scald", f"{dt}s", "lat") for dt in (1, 10, 100)}

            try:
                from ligo.scald.io import influx as ligo_influx
            except ImportError:
                print("ligo-scald is not installed (pip install ligo-scald): its row is left out")
            else:
                lagg = ligo_influx.Aggregator(hostname="127.0.0.1", port=port, db="ligo", reduce_dt=1)
                lagg.register_schema("lat", columns=["data", "snr"], column_key="data", tags="job", tag_key="job")
                start = time.perf_counter()
                for tag, entry in data.items():
                    lagg.store_columns("lat", {(tag,): {"time": entry["time"].tolist(), "fields": {
                        "data": entry["fields"]["data"].tolist(), "snr": entry["fields"]["snr"].tolist()}}},
                        aggregate="max")
                results["ligo-scald"] = time.perf_counter() - start
                landed["ligo-scald"] = count(port, "ligo", "1s", "lat")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    base = results["raw POST"]
    print(f"influx ingest: {args.tags} tags x {args.points:,} points x 2 columns at {args.rate:g} Hz = {n:,} points")
    for name, seconds in results.items():
        print(f"  {name:<11} {n / seconds:>10,.0f} points/s  {seconds:6.2f} s   {base / seconds:5.2f}x raw POST   "
              f"landed: {landed[name]:,}" + (" (1 s level, max only)" if name == "ligo-scald" else ""))
    print(f"  scald aggregate rows (min+median+max) per tag combination: 1 s {levels[1]:,} / 10 s {levels[10]:,} / "
          f"100 s {levels[100]:,}, plus the same across tags")
    if "ligo-scald" in results:
        print(f"  scald / ligo-scald: {results['ligo-scald'] / results['scald']:.1f}x")


if __name__ == "__main__":
    main()
