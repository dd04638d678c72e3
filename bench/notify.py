#!/usr/bin/env python3
"""Notifications through the on-disk queue to a local webhook receiver: events/s, latency, and what it costs
the daemon's evaluation.

1. **Burst**: 10,000 state changes submitted as fast as possible to a Notifier with one webhook target (a
   receiver in its own process on 127.0.0.1, HTTP/1.1 keep-alive). Submit time per event (what evaluation
   pays), delivery rate, and latency from state change (``Event.time``) to arrival at the receiver, p50/p99.
   Baseline in the same run: the same events POSTed directly, synchronously, one by one (no queue).
2. **Paced**: ``--paced-events`` (2,000) at a steady ``--rate`` (default 100/s): latency when the queue is not
   backed up.
3. **Evaluation** (``--checks N``, default 200; ``0`` skips): the daemon's ``Runner.run_check`` over N per-tag
   checks (100 tags each, on SQLite, data that makes states change), one Runner with ``notifications:`` (a
   webhook), ``downtimes:`` and an acknowledgement, one without, alternating rounds (ABBA), after a first round
   whose notifications are delivered before timing starts (with ``--advance``, delivery runs during the rounds);
   goal: evaluation slows by < 5 %. Steady state by default (the first rounds notify the problems found, then
   states hold); ``--advance 60`` moves the clock past the data's end each round: a notification storm.

    python bench/notify.py [--events 10000] [--rate 100] [--paced-events 2000] [--checks 200] [--rounds 6] [--advance 0]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from scald_monitor.lifecycle.events import PROBLEM, RECOVERY, Event  # noqa: E402
from scald_monitor.lifecycle.notifier import Notifier  # noqa: E402
from scald_monitor.timeutil import gps_now, gps_to_unix  # noqa: E402

RECEIVER = r'''
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
got = []
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        got.append((json.loads(body)["time"], now))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        data = json.dumps(got).encode()
        if self.path == "/reset":
            got.clear()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
'''


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def events(n: int) -> list[Event]:
    return [Event(PROBLEM if i % 2 == 0 else RECOVERY, f"check{i % 50}", f"job={i % 100:04d}", 2 if i % 2 == 0 else 0,
                  0.0, f"summary {i}", "long text line\n" * 3) for i in range(n)]


def dump(base: str, reset: bool = False) -> list:
    import requests

    return requests.get(f"{base}/{'reset' if reset else 'dump'}", timeout=30).json()


def wait_for(base: str, n: int, timeout: float = 300) -> list:
    deadline = time.monotonic() + timeout
    while True:
        got = dump(base)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def latencies(got: list) -> list[float]:
    return [arrived - gps_to_unix(t) for t, arrived in got]


def baseline(base: str, evs: list[Event]) -> float:
    import requests

    s = requests.Session()
    start = time.perf_counter()
    for e in evs:
        e.time = gps_now()
        r = s.post(base + "/hook", data=json.dumps(e.to_dict()), headers={"Content-Type": "application/json"})
        r.raise_for_status()
    took = time.perf_counter() - start
    dump(base, reset=True)
    return len(evs) / took


def through_queue(base: str, evs: list[Event], tmp: str, rate: float | None) -> dict:
    dump(base, reset=True)
    n = Notifier([{"type": "webhook", "url": base + "/hook"}], os.path.join(tmp, f"q{rate}.sqlite"),
                 max_items=len(evs) + 1)
    submit = []
    start = time.perf_counter()
    try:
        for i, e in enumerate(evs):
            if rate:
                due = start + i / rate
                while time.perf_counter() < due:
                    time.sleep(max(0.0, min(0.001, due - time.perf_counter())))
            e.time = gps_now()
            t0 = time.perf_counter()
            n.submit(e)
            submit.append(time.perf_counter() - t0)
        left = n.drain(300)
        took = time.perf_counter() - start
    finally:
        n.close()
    got = wait_for(base, len(evs))
    lat = latencies(got)
    return {"delivered": len(got), "left": left, "rate": len(got) / took, "submit_mean": sum(submit) / len(submit),
            "submit_p99": pct(submit, 99), "lat_p50": pct(lat, 50), "lat_p99": pct(lat, 99), "lat_max": max(lat)}


# ------------------------------------------------------------------------------------------- evaluation part
def evaluation_part(base: str, tmp: str, n_checks: int, rounds: int, advance: float) -> None:
    import numpy as np

    sys.path.insert(0, HERE)
    import checks as bc  # bench/checks.py: the same store and per-tag checks
    from scald_monitor.config import load
    from scald_monitor.daemon import Runner
    from scald_monitor.lifecycle.store import LifecycleStore

    db = os.path.join(tmp, "eval.sqlite")
    bc.build_store(db, 100 * 3600)  # an hour of 100 tags at 1 Hz, values uniform 0..10 (thresholds 8..10 flap)
    text = bc.config_text(n_checks, db)
    configs = {}
    for kind in ("without", "with"):  # both keep a state file; only "with" has the lifecycle configured
        home = os.path.join(tmp, kind)
        os.makedirs(home)
        extra = f"outputs:\n  state_file: {home}/state.json\n"
        if kind == "with":
            extra += (f"notifications:\n  - {{type: webhook, url: '{base}/hook'}}\n"
                      "downtimes:\n  - {name: tue, checks: ['c1*'], comment: bench,\n"
                      "     weekly: {day: tue, start: '16:00', end: '20:00'}}\n")
        path = os.path.join(home, "scald.yml")
        with open(path, "w") as fh:
            fh.write(text + extra)
        configs[kind] = load(path)
    LifecycleStore(LifecycleStore.beside(configs["with"].outputs["state_file"])).ack(
        "c0", "job=0001", comment="bench", now=gps_now())
    now = gps_to_unix(bc.END)

    # end to end, ABBA rounds: the daemon's own Runner, with and without notifications:/downtimes: configured
    runners = {kind: Runner(cfg) for kind, cfg in configs.items()}
    times: dict[str, list[float]] = {"without": [], "with": []}
    names = list(configs["with"].checks)
    for runner in runners.values():  # warm: the first round finds the problems and queues their notifications,
        for name in names:           # delivered before the timed rounds (steady state: what evaluation pays)
            runner.run_check(name, now)
    if not advance:
        runners["with"].alerting.drain(120)
    for i in range(rounds):
        for kind in (("without", "with") if i % 2 == 0 else ("with", "without")):
            start = time.perf_counter()
            for name in names:
                runners[kind].run_check(name, now + advance * i)
            times[kind].append((time.perf_counter() - start) / len(names))
    alerting = runners["with"].alerting
    alerting.drain(60)
    stats = alerting.notifier.stats() if alerting.notifier is not None else {"targets": {}}
    submitted = sum(t["delivered"] for t in stats["targets"].values())
    for runner in runners.values():
        runner.close()
    base_t, with_t = float(np.median(times["without"])), float(np.median(times["with"]))
    what = "steady state" if not advance else f"storm, clock +{advance:g} s per round"
    print(f"evaluation ({what}), {n_checks} per-tag checks (100 tags, 101 labels each) x {rounds} rounds, "
          f"Runner.run_check, median per check: without notifications {base_t * 1e3:.3f} ms, with (webhook "
          f"target, a weekly downtime, an ack) {with_t * 1e3:.3f} ms = {with_t / base_t:.3f}x "
          f"({(with_t / base_t - 1) * 100:+.1f} %; goal < +5 %); {submitted} notifications delivered", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100.0, help="events/s in the paced run")
    parser.add_argument("--paced-events", type=int, default=2000)
    parser.add_argument("--checks", type=int, default=200, help="per-tag checks in the evaluation part (0: skip)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--advance", type=float, default=0.0,
                        help="seconds the clock moves per round; 60 runs past the data's end, so heartbeats go "
                             "WARNING then CRITICAL and thresholds lose their data: a notification storm")
    args = parser.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        with tempfile.TemporaryDirectory() as tmp:
            evs = events(args.events)
            direct = baseline(base, evs[:2000])
            print(f"baseline: direct synchronous POSTs, no queue: {direct:,.0f} events/s "
                  f"({1e3 / direct:.3f} ms each, paid by the caller)", flush=True)
            for label, rate, count in (("burst", None, args.events),
                                       (f"paced {args.rate:g}/s", args.rate, args.paced_events)):
                r = through_queue(base, events(count), tmp, rate)
                print(f"{label}: {r['delivered']:,} of {count:,} delivered ({r['left']} left), "
                      f"{r['rate']:,.0f} events/s end to end; submit {r['submit_mean'] * 1e6:.0f} us mean, "
                      f"{r['submit_p99'] * 1e6:.0f} us p99; state change -> delivery p50 "
                      f"{r['lat_p50'] * 1e3:.1f} ms, p99 {r['lat_p99'] * 1e3:.1f} ms, max {r['lat_max'] * 1e3:.1f} ms",
                      flush=True)
            if args.checks:
                evaluation_part(base, tmp, args.checks, args.rounds, args.advance)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
