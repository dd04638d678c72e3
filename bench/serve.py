#!/usr/bin/env python3
"""Dashboard API under load: /api/timeseries over one day of 1 Hz data, 50 concurrent clients on loopback.

One real influxd (started here) holds one day of 1 Hz data for 10 jobs, written by scald-monitor's InfluxDB
Aggregator in ligo-scald's layout. Then, in the same run, the same request mix is sent to:
  scald-monitor   `scald serve` (Flask app on waitress)
  ligo-scald      its own `scald serve` (bottle on wsgiref), on the same database
Each server gets CLIENTS threads sending requests for SECONDS; prints requests/s, p50/p99 latency, errors.
The request is what ligo-scald's dashboard sends for a one-day plot: dt=100, one job, aggregate max.

    python bench/serve.py [--clients 50] [--seconds 20]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from influx_ingest import free_port, start_influxd  # noqa: E402  (same directory)

from scald_monitor.io import influx  # noqa: E402
from scald_monitor.timeutil import gps_now  # noqa: E402

CONFIG = """
backends:
  default: {{backend: influxdb, db: bench, hostname: 127.0.0.1, port: {port}}}
schemas:
  latency: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max}}
navbar: {{title: bench, pages: [index], tabs: []}}
pages:
  index: {{title: bench, lookback: 86400, delay: 0, plots: []}}
plots: {{}}
"""


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def load(url: str, clients: int, seconds: float, distinct: bool = False) -> dict:
    """``distinct``: every request carries a unique, ignored parameter, so no two requests share a cached answer."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        session = requests.Session()
        mine, bad = [], 0
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                r = session.get(f"{url}&nocache={threading.get_ident()}.{start}" if distinct else url, timeout=30)
                ok = r.status_code == 200 and r.json() and r.json()[0]["y"]
            except (requests.RequestException, ValueError, KeyError, IndexError):
                ok = False
            mine.append(time.perf_counter() - start)
            bad += 0 if ok else 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {"n": len(latencies), "rps": len(latencies) / elapsed, "p50": q[49], "p99": q[98], "errors": errors[0]}


WRK_DISTINCT = """
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&nocache=" .. n .. "." .. math.random(1000000000))
end
"""


def load_wrk(url: str, clients: int, seconds: float, distinct: bool, tmp: str) -> dict:
    """The same load from wrk (C, epoll): the client's own CPU no longer competes with the servers as much."""
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "--timeout", "30s"]
    if distinct:
        script = os.path.join(tmp, "distinct.lua")
        with open(script, "w") as fh:
            fh.write(WRK_DISTINCT)
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]

    n = int(re.search(r"(\d+) requests in", out).group(1))
    bad = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    bad += sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"n": n, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"),
            "p99": ms("99%"), "errors": bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator: wrk (Debian package wrk; default when installed) or Python threads")
    args = parser.parse_args()
    scald = shutil.which("scald")
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_influxd(tmp)
        servers = []
        try:
            cfg = Path(tmp) / "bench.yml"
            cfg.write_text(CONFIG.format(port=port))
            agg = influx.Aggregator(hostname="127.0.0.1", port=port, db="bench")
            agg.register_schema("latency_history", "data", tags="job", aggregate="max")
            end = float(int(gps_now()))
            t = end - 86400 + np.arange(86400.0)
            rng = np.random.default_rng(0)
            agg.store_columns("latency_history", {f"{j:04d}": {"time": t, "fields": {"data": rng.random(t.size)}}
                                                  for j in range(10)})
            agg.close()
            start = int(end - 86400)
            query = f"/api/timeseries/latency_history/{start}/{int(end)}?column=data&tag=job&job=0001&aggregate=max&dt=100"
            ours_port, theirs_port = free_port(), free_port()
            env = dict(os.environ, SCALDRC_PATH=str(cfg))
            servers.append(subprocess.Popen([scald, "serve", "-c", str(cfg), "--hostname", "127.0.0.1",
                                             "--port", str(ours_port)], env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            servers.append(subprocess.Popen([sys.executable, "-c", "from ligo.scald.__main__ import main; main()",
                                             "serve", "-c", str(cfg), "--hostname", "127.0.0.1", "-p",
                                             str(theirs_port)], env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            results = {}
            for distinct in (False, True):
                for name, p in (("scald-monitor", ours_port), ("ligo-scald", theirs_port)):
                    url = f"http://127.0.0.1:{p}{query}"
                    wait_http(url)
                    requests.get(url, timeout=30)  # warm up
                    if args.client == "wrk":
                        results[(name, distinct)] = load_wrk(url, args.clients, args.seconds, distinct, tmp)
                    else:
                        results[(name, distinct)] = load(url, args.clients, args.seconds, distinct)
        finally:
            for s in servers:
                s.send_signal(signal.SIGTERM)
                try:
                    s.wait(10)
                except subprocess.TimeoutExpired:
                    s.kill()
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"/api/timeseries, one day of 1 Hz data (dt=100: 864 points), {args.clients} clients, {args.seconds:g} s "
          f"each, load from {args.client}")
    for distinct in (False, True):
        print("  every client asks the same URL (a dashboard open in many browsers)" if not distinct else
              "  every request a distinct URL (no answer shared: the backend is queried each time)")
        for name in ("scald-monitor", "ligo-scald"):
            r = results[(name, distinct)]
            print(f"    {name:<14} {r['rps']:8.1f} req/s   p50 {r['p50'] * 1e3:7.1f} ms   p99 {r['p99'] * 1e3:7.1f} ms"
                  f"   {r['n']:,} requests, {r['errors']} errors")
        ours, theirs = results[("scald-monitor", distinct)], results[("ligo-scald", distinct)]
        print(f"    ratio req/s ours/ligo-scald: {ours['rps'] / theirs['rps']:.1f}x  (goal >= 5x with p99 <= 300 ms)")


if __name__ == "__main__":
    main()
