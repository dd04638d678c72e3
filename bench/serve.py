#!/usr/bin/env python3
"""Dashboard API under load: /api/timeseries over one day of 1 Hz data, 50 concurrent clients on loopback.

One real influxd (started here) holds one day of 1 Hz data for 10 jobs, written by scald-monitor's InfluxDB
Aggregator in ligo-scald's layout. Then, in the same run, the same request mix is sent to:
  scald-monitor   `scald serve` (Flask app on waitress)
  ligo-scald      its own `scald serve` (bottle on wsgiref), on the same database
  influxd         the InfluxQL an uncached read of ours sends, straight to influxd (live dashboards only)
Each gets CLIENTS connections sending requests for SECONDS; prints requests/s, p50/p99 latency, errors.
The request is what ligo-scald's dashboard sends for a one-day plot: dt=100, one job, aggregate max.

Cases: every client asks the same URL (a page open in many browsers); every request a distinct URL over the same
window (an ignored parameter); live dashboards: each client polls a one-day window ending at its own now (its
clock a little off the others', so no two URLs are alike), the block cache's case. The live case also runs on an
SQLite copy of the data while a writer adds a point per job every second. Our server's RSS is printed before and
after the load (the cache is bounded in bytes), with its /api/stats. Stops by itself: each load lasts SECONDS.

    python bench/serve.py [--clients 50] [--seconds 20]
"""
from __future__ import annotations

import argparse
import math
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
import urllib.parse
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from influx_ingest import free_port, start_influxd  # noqa: E402  (same directory)

from scald_monitor.io import influx, sqlite  # noqa: E402
from scald_monitor.timeutil import gps_now, gps_to_unix  # noqa: E402

CONFIG = """
backends:
  default: {backend}
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


def load(url, clients: int, seconds: float, distinct: bool = False) -> dict:
    """``distinct``: every request carries a unique, ignored parameter, so no two requests share a cached answer;
    ``url`` may be a function giving each request's URL."""
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
                target = url() if callable(url) else url
                r = session.get(f"{target}&nocache={threading.get_ident()}.{start}" if distinct else target,
                                timeout=30)
                body = r.json()
                ok = r.status_code == 200 and body and (body[0]["y"] if isinstance(body, list) else
                                                        body["results"][0]["series"][0]["values"])
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


#: Live dashboards: each request comes from one of ``clients`` browsers, whose clocks are up to a few seconds apart,
#: and asks for the day ending at the browser's now, in whole GPS seconds (ligo-scald's routes take nothing else),
#: with a ``poll`` number of its own, so that no two URLs are alike. ``fmt(start, end, n)`` makes the path. wrk
#: counts what is not a 2xx; bodies are not looked at here (a Lua callback per response costs the client as much
#: CPU as a server spends): :func:`sample_errors` checks a sample of the same URLs afterwards.
WRK_LIVE = """
local offset = {offset}   -- GPS - Unix seconds now
local span = {span}
local clients = {clients}
local threads = {{}}
local n = 0
local skew = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919)
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

{fmt}

request = function()
  n = n + 1
  local browser = (n * 2 + id) % clients
  local now = math.floor(os.time() + offset + browser * 0.137 + math.random(0, 999) / 1000)
  return wrk.format(nil, fmt(now - span, now, id * 100000000 + n))
end

"""

OURS_FMT = """
local function fmt(s, e, n)
  return string.format("{path}", s, e) .. "&poll=" .. n
end
"""

INFLUX_FMT = """
local prefix = "/query?db=bench&epoch=ns&q=" .. urlencode("{before}")
local middle = urlencode("{between}")
local function fmt(s, e, n)
  return prefix .. string.format("%d", (s - offset) * 1e9) .. middle .. string.format("%d", (e - offset) * 1e9)
end
"""


def influx_fmt() -> str:
    """:data:`INFLUX_FMT` for :data:`SELECT`: the query URL-encoded once, only the bounds formatted per request
    (encoding it per request made wrk, not influxd, the limit)."""
    before, between, _ = SELECT.split("%d")
    return INFLUX_FMT.replace("{before}", before.replace('"', '\\"')).replace("{between}",
                                                                            between.replace('"', '\\"'))


def live_script(tmp: str, name: str, fmt: str, expect: str, clients: int, span: float) -> str:
    """A wrk script for the live-dashboard load (:data:`WRK_LIVE`)."""
    now = gps_now()
    offset = now - float(gps_to_unix(now))
    path = os.path.join(tmp, f"live-{name}.lua")
    with open(path, "w") as fh:
        fh.write(WRK_LIVE.replace("{offset}", repr(offset)).replace("{span}", repr(span))
                 .replace("{clients}", str(clients)).replace("{fmt}", fmt).replace("{expect}", expect)
                 .replace("{{", "{").replace("}}", "}"))
    return path


#: wrk's threads (``--wrk-threads``).
WRK_THREADS = 2


def load_wrk(url: str, clients: int, seconds: float, distinct: bool, tmp: str, script: str | None = None) -> dict:
    """The same load from wrk (C, epoll): the client's own CPU no longer competes with the servers as much."""
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "--timeout", "30s"]
    if distinct:
        script = os.path.join(tmp, "distinct.lua")
        with open(script, "w") as fh:
            fh.write(WRK_DISTINCT)
    if script:
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


MEASUREMENT = "latency_history"
SPAN = 86400.0
PATH = f"/api/timeseries/{MEASUREMENT}/%d/%d?column=data&tag=job&job=0001&aggregate=max&dt=100"
#: What an uncached read of ours sends influxd for that request (io/influx.py's _select), the bounds in ns.
SELECT = ('SELECT "data" FROM "bench"."100s"."latency_history" WHERE "aggregate" = \'max\' AND "job" = \'0001\' '
          "AND time >= %d AND time <= %d")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_ours(scald: str, cfg: Path, port: int, threads: int = 8) -> subprocess.Popen:
    return subprocess.Popen([scald, "serve", "-c", str(cfg), "--hostname", "127.0.0.1", "--port", str(port),
                             "--threads", str(threads)],
                            env=dict(os.environ, SCALDRC_PATH=str(cfg)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Writer(threading.Thread):
    """A live writer: one point per job every second into the SQLite store, while the dashboards poll it."""

    def __init__(self, path: str, jobs: int):
        super().__init__(daemon=True)
        self.path, self.jobs = path, jobs
        self.halt = threading.Event()
        self.points = 0

    def run(self) -> None:
        agg = sqlite.Aggregator(path=self.path)
        rng = np.random.default_rng(1)
        try:
            while not self.halt.wait(1.0):
                now = gps_now()
                agg.store_columns(MEASUREMENT, {f"{j:04d}": {"time": [now], "fields": {"data": [rng.random()]}}
                                                for j in range(self.jobs)})
                self.points += self.jobs
        finally:
            agg.close()


def live(args, tmp: str, name: str, base: str, fmt: str, expect: str) -> dict:
    """The live-dashboard load against ``base`` (http://127.0.0.1:PORT), then :func:`sample_errors`."""
    if args.client == "wrk":
        script = live_script(tmp, name, fmt, expect, args.clients, SPAN)
        result = load_wrk(base + "/", args.clients, args.seconds, False, tmp, script=script)
    else:
        result = load_live(base, args.clients, args.seconds, name == "influxd")
    result["errors"] += sample_errors(base, name == "influxd", expect)
    return result


def sample_errors(base: str, influxd: bool, expect: str, n: int = 200) -> int:
    """Of ``n`` live-dashboard URLs (as the load sends them), those not answered 200 with data."""
    offset = gps_now() - float(gps_to_unix(gps_now()))
    session = requests.Session()
    bad = 0
    for i in range(n):
        now = math.floor(time.time() + offset + (i % 50) * 0.137)
        if influxd:
            q = SELECT % (int((now - SPAN - offset) * 1e9), int((now - offset) * 1e9))
            url = base + "/query?" + urllib.parse.urlencode({"db": "bench", "epoch": "ns", "q": q})
        else:
            url = base + PATH % (now - SPAN, now) + f"&poll=sample{i}"
        r = session.get(url, timeout=30)
        bad += 0 if r.status_code == 200 and expect in r.text and len(r.text) > 1000 else 1
    return bad


def load_live(base: str, clients: int, seconds: float, influxd: bool) -> dict:
    """The live-dashboard load from Python threads (no wrk): each thread a browser with its own clock skew."""
    offset = gps_now() - float(gps_to_unix(gps_now()))
    skews = [i * 0.137 for i in range(clients)]
    counter = iter(range(10 ** 9))
    lock = threading.Lock()

    def make() -> str:
        with lock:
            i = next(counter)
        now = math.floor(time.time() + offset + skews[i % clients])
        if influxd:
            q = SELECT % (int((now - SPAN - offset) * 1e9), int((now - offset) * 1e9))
            return base + "/query?" + urllib.parse.urlencode({"db": "bench", "epoch": "ns", "q": q})
        return base + PATH % (now - SPAN, now) + f"&poll={i}"

    return load(make, clients, seconds)


def row(name: str, r: dict) -> str:
    return (f"    {name:<16} {r['rps']:8.1f} req/s   p50 {r['p50'] * 1e3:7.1f} ms   p99 {r['p99'] * 1e3:7.1f} ms"
            f"   {r['n']:,} requests, {r['errors']} errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator: wrk (Debian package wrk; default when installed) or Python threads")
    parser.add_argument("--only-live", action="store_true", help="run only the live-dashboard case")
    parser.add_argument("--threads", type=int, default=8, help="scald serve --threads (waitress worker threads)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t (its event loops)")
    args = parser.parse_args()
    global WRK_THREADS
    WRK_THREADS = args.wrk_threads
    scald = shutil.which("scald")
    results: dict = {}
    memory: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_influxd(tmp)
        servers = []
        try:
            cfg = Path(tmp) / "bench.yml"
            cfg.write_text(CONFIG.format(backend=f"{{backend: influxdb, db: bench, hostname: 127.0.0.1, port: {port}}}"))
            agg = influx.Aggregator(hostname="127.0.0.1", port=port, db="bench")
            agg.register_schema(MEASUREMENT, "data", tags="job", aggregate="max")
            lite = sqlite.Aggregator(path=os.path.join(tmp, "bench.sqlite"))
            lite.register_schema(MEASUREMENT, "data", tags="job", aggregate="max")
            end = float(int(gps_now()))
            t = end - SPAN + np.arange(SPAN)
            rng = np.random.default_rng(0)
            day = {f"{j:04d}": {"time": t, "fields": {"data": rng.random(t.size)}} for j in range(10)}
            agg.store_columns(MEASUREMENT, day)
            agg.close()
            lite.store_columns(MEASUREMENT, day)
            lite.close()
            start = int(end - SPAN)
            query = f"/api/timeseries/{MEASUREMENT}/{start}/{int(end)}?column=data&tag=job&job=0001&aggregate=max&dt=100"
            ours_port, theirs_port = free_port(), free_port()
            servers.append(start_ours(scald, cfg, ours_port, args.threads))
            servers.append(subprocess.Popen([sys.executable, "-c", "from ligo.scald.__main__ import main; main()",
                                             "serve", "-c", str(cfg), "--hostname", "127.0.0.1", "-p",
                                             str(theirs_port)], env=dict(os.environ, SCALDRC_PATH=str(cfg)),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for distinct in (() if args.only_live else (False, True)):
                for name, p in (("scald-monitor", ours_port), ("ligo-scald", theirs_port)):
                    url = f"http://127.0.0.1:{p}{query}"
                    wait_http(url)
                    requests.get(url, timeout=30)  # warm up
                    if args.client == "wrk":
                        results[(name, distinct)] = load_wrk(url, args.clients, args.seconds, distinct, tmp)
                    else:
                        results[(name, distinct)] = load(url, args.clients, args.seconds, distinct)
            # live dashboards: a fresh server of ours (an empty cache), then ligo-scald, then influxd itself
            stop(servers.pop(0))
            ours_port = free_port()
            servers.insert(0, start_ours(scald, cfg, ours_port, args.threads))
            wait_http(f"http://127.0.0.1:{ours_port}{query}")
            memory["influx"] = [rss_mb(servers[0].pid)]
            ours_fmt = OURS_FMT.replace("{path}", PATH)
            results[("scald-monitor", "live")] = live(args, tmp, "ours", f"http://127.0.0.1:{ours_port}", ours_fmt,
                                                      '"y":[')
            memory["influx"].append(rss_mb(servers[0].pid))
            memory["influx stats"] = requests.get(f"http://127.0.0.1:{ours_port}/api/stats", timeout=10).json()
            wait_http(f"http://127.0.0.1:{theirs_port}{query}")
            results[("ligo-scald", "live")] = live(args, tmp, "theirs", f"http://127.0.0.1:{theirs_port}", ours_fmt,
                                                   '"y": [')
            results[("influxd", "live")] = live(args, tmp, "influxd", f"http://127.0.0.1:{port}",
                                                influx_fmt(), '"values"')
            # the same on SQLite, a writer adding a point per job every second
            lite_cfg = Path(tmp) / "bench-sqlite.yml"
            lite_cfg.write_text(CONFIG.format(backend=f"{{backend: sqlite, path: {tmp}/bench.sqlite}}"))
            lite_port = free_port()
            servers.append(start_ours(scald, lite_cfg, lite_port, args.threads))
            wait_http(f"http://127.0.0.1:{lite_port}{query}")
            writer = Writer(os.path.join(tmp, "bench.sqlite"), 10)
            writer.start()
            memory["sqlite"] = [rss_mb(servers[-1].pid)]
            results[("scald-monitor", "live sqlite")] = live(args, tmp, "sqlite", f"http://127.0.0.1:{lite_port}",
                                                             ours_fmt, '"y":[')
            memory["sqlite"].append(rss_mb(servers[-1].pid))
            writer.halt.set()
            writer.join(30)
            memory["sqlite stats"] = requests.get(f"http://127.0.0.1:{lite_port}/api/stats", timeout=10).json()
            memory["writer points"] = writer.points
        finally:
            for s in servers:
                stop(s)
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"/api/timeseries, one day of 1 Hz data (dt=100: 864 points), {args.clients} clients, {args.seconds:g} s "
          f"each, load from {args.client}")
    for distinct in (() if args.only_live else (False, True)):
        print("  every client asks the same URL (a dashboard open in many browsers)" if not distinct else
              "  every request a distinct URL (an ignored parameter; the same window)")
        for name in ("scald-monitor", "ligo-scald"):
            print(row(name, results[(name, distinct)]))
        ours, theirs = results[("scald-monitor", distinct)], results[("ligo-scald", distinct)]
        print(f"    ratio req/s ours/ligo-scald: {ours['rps'] / theirs['rps']:.1f}x")
    print("  live dashboards: each client polls the day ending at its own now (distinct URLs), InfluxDB")
    for name in ("scald-monitor", "ligo-scald", "influxd"):
        print(row(name if name != "influxd" else "influxd (InfluxQL)", results[(name, "live")]))
    ours, theirs, direct = (results[(n, "live")] for n in ("scald-monitor", "ligo-scald", "influxd"))
    print(f"    ratio req/s ours/ligo-scald: {ours['rps'] / theirs['rps']:.1f}x (goal >= 5x), ours/influxd: "
          f"{ours['rps'] / direct['rps']:.1f}x (goal >= 2x); ours p99 {ours['p99'] * 1e3:.1f} ms (goal <= 100 ms)")
    stats = memory["influx stats"]
    print(f"    ours: RSS {memory['influx'][0]:.0f} MB before, {memory['influx'][1]:.0f} MB after; blocks "
          f"{stats['blocks']['held']} in {stats['blocks']['bytes'] / 1e6:.2f} MB (bound "
          f"{stats['blocks']['max_bytes'] / 1e6:.0f} MB), hit ratio {stats['blocks']['hit_ratio']}, "
          f"{stats['backend']['reads']} backend reads")
    print(f"  live dashboards on SQLite, a writer adding a point per job every second ({memory['writer points']} "
          "points meanwhile)")
    print(row("scald-monitor", results[("scald-monitor", "live sqlite")]))
    stats = memory["sqlite stats"]
    print(f"    ours: RSS {memory['sqlite'][0]:.0f} MB before, {memory['sqlite'][1]:.0f} MB after; blocks "
          f"{stats['blocks']['held']} in {stats['blocks']['bytes'] / 1e6:.2f} MB, hit ratio "
          f"{stats['blocks']['hit_ratio']}, {stats['backend']['reads']} backend reads, "
          f"{stats['blocks']['invalidations']} blocks dropped by the writer's commits")


if __name__ == "__main__":
    main()
