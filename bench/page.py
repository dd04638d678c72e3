#!/usr/bin/env python3
"""A 12-panel live dashboard page over one day of 1 Hz data for 10 jobs, loaded in headless Chromium.

One SQLite store (written here with the Aggregator's column writer) holds SPAN seconds (default one day) of 1 Hz
data for 10 jobs in four measurements; a config with ``lookback: 86400`` puts 12 panels on one page (TimeSeries
mostly, two TimeHeatMap, two Bar, a MultiSchema, a BinnedTimeHistogram and a TimeSegment); ``scald serve`` serves it
on 127.0.0.1. Each repetition starts Chromium with a new, empty profile (cold browser cache) and measures, from
navigation start: the time until every panel is drawn (its figure ``ready`` and the next frame painted; then each
panel's canvas is checked for ink), the bytes transferred (all resources and the API alone, from the Resource
Timing entries), the number of requests, the API's time to first byte (loopback: the server's time), and the
renderer's script/layout time (DevTools ``Performance.getMetrics``) and the CPU time of every browser process and of
the server (from /proc: unlike wall times, not stretched by other work on the machine). The first load is against a fresh server
(empty block and answer caches); the rest against the same, warm server.

Beside them, measured in the same run: the raw size of the same data (every point of every panel's series, as
8-byte time + 8-byte value pairs and as the API's JSON), and the same URLs (page, static files and API answers)
fetched with ``requests`` over 6 connections, as the browser opens — the floor a browser cannot beat, so the ratio
is the browser's own cost (module loading, JS, layout, paint). Goals (issue #11): every panel drawn in <= 1 s on
loopback, <= 2 MB transferred. The page must make no request to a host other than 127.0.0.1 (asserted).

    python bench/page.py [--reps 5] [--span 86400] [--quick] [--against DIR] [--verbose]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scald_monitor.io import connect  # noqa: E402
from scald_monitor.timeutil import gps_now  # noqa: E402

JOBS = 10
LOOKBACK = 86400
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As tests/test_dashboard.py: every host but 127.0.0.1 unresolvable, so an external request cannot leave the box.
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
GOAL_SECONDS = 1.0
GOAL_BYTES = 2_000_000

#: measurement -> (column, signal) of the stored data; every measurement has 10 jobs at 1 Hz.
MEASUREMENTS = {"latency_history": "walk", "range_history": "sine", "snr_history": "spikes", "state_vector": "steps"}

CONFIG = """
backends:
  default: {{backend: sqlite, path: {db}}}
schemas:
  latency: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
            tag_format: 4digit, num_tags: {jobs}}}
  latency_min: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: min,
                tag_format: 4digit, num_tags: {jobs}}}
  range: {{measurement: range_history, column: data, tag: job, tag_key: job, aggregate: max,
          tag_format: 4digit, num_tags: {jobs}}}
  snr: {{measurement: snr_history, column: data, tag: job, tag_key: job, aggregate: max,
        tag_format: 4digit, num_tags: {jobs}, ybin: 2, ybin_start: 4, ybin_end: 30, tbin: 30}}
  state: {{measurement: state_vector, column: data, tag: job, tag_key: job, aggregate: min,
          tag_format: 4digit, num_tags: {jobs}}}
  multi_schema:
    schema1: {{measurement: latency_history, column: data, aggregate: max, tag: job, job: '0000', name: latency 0000}}
    schema2: {{measurement: latency_history, column: data, aggregate: max, tag: job, job: '0001', name: latency 0001}}
  time_segment:
    timeseries: {{measurement: range_history, column: data, aggregate: max, tag: job, job: '0000'}}
    segment: {{measurement: state_vector, column: data, aggregate: min, tag: job, job: '0000'}}
navbar: {{title: bench, pages: [index], tabs: []}}
pages:
  index:
    title: twelve panels
    lookback: {lookback}
    delay: 0
    plots:
{items}
plots:
  latency: {{title: Latency (max), type: TimeSeries, schema: latency}}
  latency_min: {{title: Latency (min), type: TimeSeries, schema: latency_min}}
  range: {{title: Range, type: TimeSeries, schema: range}}
  snr: {{title: SNR, type: TimeSeries, schema: snr}}
  state: {{title: State, type: TimeSeries, schema: state}}
  latency_map: {{title: Latency by job, type: TimeHeatMap, schema: latency}}
  snr_map: {{title: SNR by job, type: TimeHeatMap, schema: snr}}
  latency_bar: {{title: Latest latency, type: Bar, schema: latency}}
  range_bar: {{title: Latest range, type: Bar, schema: range}}
  multi_schema: {{title: Latency of two jobs, type: MultiSchema, schema: multi_schema}}
  snr_histogram: {{title: SNR histogram, type: BinnedTimeHistogram, schema: snr}}
  time_segment: {{title: Range and state, type: TimeSegment, schema: time_segment}}
"""
PANELS = ["latency", "latency_min", "range", "snr", "state", "latency_map", "snr_map", "latency_bar", "range_bar",
          "multi_schema", "snr_histogram", "time_segment"]
#: measurement -> the number of series (jobs) each panel reads of it: the raw data the page stands for.
PANEL_SERIES = {"latency": {"latency_history": JOBS}, "latency_min": {"latency_history": JOBS},
                "range": {"range_history": JOBS}, "snr": {"snr_history": JOBS}, "state": {"state_vector": JOBS},
                "latency_map": {"latency_history": JOBS}, "snr_map": {"snr_history": JOBS},
                "latency_bar": {"latency_history": JOBS}, "range_bar": {"range_history": JOBS},
                "multi_schema": {"latency_history": 2}, "snr_histogram": {"snr_history": JOBS},
                "time_segment": {"range_history": 1, "state_vector": 1}}

# Injected before any page script (DevTools Page.addScriptToEvaluateOnNewDocument): when a panel's figure turns
# ready (its data-state, set by plots/common.js report()), note the time, and the time after the next frame.
OBSERVER_JS = """
window.__bench = {ready: {}, drawn: {}};
new MutationObserver((muts) => {
  for (const m of muts) {
    const f = m.target;
    if (!f.matches || !f.matches('figure.plot') || f.dataset.state !== 'ready' || f.id in window.__bench.ready) continue;
    window.__bench.ready[f.id] = performance.now();
    requestAnimationFrame(() => setTimeout(() => { window.__bench.drawn[f.id] = performance.now(); }, 0));
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
"""
PANEL_INK_JS = """const f = document.getElementById(arguments[0]); let n = 0;
  for (const c of f.querySelectorAll('.plot-body canvas')) { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 40) n++; }
  return n;"""
ENTRIES_JS = """const nav = performance.getEntriesByType('navigation')[0];
  const pick = (e) => ({name: e.name, type: e.initiatorType || 'navigation', start: e.startTime,
    requestStart: e.requestStart, responseStart: e.responseStart, end: e.responseEnd,
    transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize});
  return {nav: pick(nav), dcl: nav.domContentLoadedEventEnd, resources: performance.getEntriesByType('resource').map(pick),
    bench: window.__bench, errors: window.scald ? window.scald.errors : ['no window.scald'],
    figures: [...document.querySelectorAll('figure.plot')].map(f => ({id: f.id, type: f.dataset.type,
      state: f.dataset.state, points: +f.dataset.points, msg: f.querySelector('.plot-msg').textContent}))};"""


# ---- data and config -------------------------------------------------------------------------------------------


def signal_values(kind: str, t: np.ndarray, rng: np.random.Generator, j: int) -> np.ndarray:
    """Values like a pipeline's (full float64 precision): a random walk, a sine, spikes over noise, 0/1 steps."""
    n = t.size
    if kind == "walk":
        return 6 + np.clip(np.cumsum(rng.normal(0, 0.05, n)), -3, 3) + rng.normal(0, 0.5, n) ** 2
    if kind == "sine":
        return 125 + 20 * np.sin(2 * np.pi * (t / 3600 + j / JOBS)) + rng.normal(0, 2, n)
    if kind == "spikes":
        v = 8 + np.abs(rng.normal(0, 1.5, n))
        hits = rng.random(n) < 1 / 20
        v[hits] += rng.exponential(14, hits.sum())
        return v
    return ((t // 300 + j) % 3 != 0).astype(float)


def fill(db: str, span: int, end: float) -> tuple[float, dict]:
    """SPAN seconds of 1 Hz data for JOBS jobs in every measurement, by store_columns in day-sized batches.
    Returns the seconds it took and, per measurement, the arrays written (for the raw-size baseline)."""
    store = connect({"backend": "sqlite", "path": db})
    rng = np.random.default_rng(11)
    t = end - span + np.arange(span, dtype=float)
    written = {}
    started = time.perf_counter()
    for measurement, kind in MEASUREMENTS.items():
        store.register_schema(measurement, "data", "data", tags="job", tag_key="job")
        cols = {(f"{j:04d}",): {"time": t, "fields": {"data": signal_values(kind, t, rng, j)}} for j in range(JOBS)}
        store.store_columns(measurement, cols)
        written[measurement] = cols
    store.close()
    return time.perf_counter() - started, written


def raw_sizes(written: dict) -> dict:
    """The data the page's panels stand for: every point of every series each panel reads, as 16-byte pairs and as
    the API's JSON (``[{"x": [...], "y": [...], "name": job}]``, compact); also the distinct series alone."""
    json_per_series = {}
    points_per_series = {}
    for measurement, cols in written.items():
        sizes = [len(json.dumps({"x": c["time"].tolist(), "y": c["fields"]["data"].tolist(), "name": key[0]},
                                separators=(",", ":"))) for key, c in cols.items()]
        json_per_series[measurement] = statistics.fmean(sizes)
        points_per_series[measurement] = next(iter(cols.values()))["time"].size
    panel_points = sum(points_per_series[m] * n for reads in PANEL_SERIES.values() for m, n in reads.items())
    panel_json = sum(json_per_series[m] * n for reads in PANEL_SERIES.values() for m, n in reads.items())
    distinct_points = sum(points_per_series[m] * JOBS for m in written)
    distinct_json = sum(json_per_series[m] * JOBS for m in written)
    return {"panel_points": panel_points, "panel_binary": panel_points * 16, "panel_json": panel_json,
            "distinct_points": distinct_points, "distinct_binary": distinct_points * 16,
            "distinct_json": distinct_json}


def write_config(tmp: Path, db: str) -> Path:
    items = "\n".join(f"      - {{plot: {name}, visible: true, grid: {{x: {6 * (i % 2)}, y: {4 * (i // 2)}, w: 6, h: 4}}}}"
                      for i, name in enumerate(PANELS))
    path = tmp / "page.yml"
    path.write_text(CONFIG.format(db=db, jobs=JOBS, lookback=LOOKBACK, items=items))
    return path


# ---- processes -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: ``scald serve`` from another checkout's code and web/ (its package data, which the editable install maps here).
AGAINST = """import sys; root = sys.argv.pop(1); sys.path.insert(0, root)
import scald_monitor.serve as serve
serve.web_root = lambda: root + "/web"
from scald_monitor.cli import scald
sys.argv[0] = "scald"; sys.exit(scald())"""


def start_server(cfg: Path, root: str | None = None) -> tuple[subprocess.Popen, str]:
    """``scald serve`` on a free 127.0.0.1 port (``root``: another checkout's); returns once it answers."""
    scald = shutil.which("scald") or str(Path(sys.executable).parent / "scald")
    port = free_port()
    cmd = [scald] if root is None else [sys.executable, "-c", AGAINST, root]
    proc = subprocess.Popen(cmd + ["serve", "-c", str(cfg), "--hostname", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"scald serve exited {proc.returncode}")
        try:
            requests.get(url + "/api/", timeout=2)  # the index: no backend read, so the caches stay empty
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    stop(proc)
    raise SystemExit(f"{url} did not answer")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def start_chromium(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # explicit driver path: Selenium Manager never runs (it would try to download a driver)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


# ---- one page load ---------------------------------------------------------------------------------------------


def load_page(url: str, tmp: str, rep: int, server_pid: int, timeout: float = 30) -> dict:
    """Load the page in a new Chromium (empty profile); wait for every panel drawn; the figures of that load, with
    the CPU time the server and the browser's processes spent on it (robust to other work on the machine)."""
    profile = tempfile.mkdtemp(prefix=f"profile{rep}-", dir=tmp)
    driver = start_chromium(profile)
    browser = descendants(driver.service.process.pid)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER_JS})
        driver.get("about:blank")
        time.sleep(1.0)  # a new profile's own start-up work (its WebUI renderer) settles, not competing with the page
        driver.get_log("performance")  # drained: the new profile's own start page (chrome://...) is not the page's
        base_metrics = metrics(driver)
        cpu = cpu_seconds([server_pid]), cpu_seconds(browser)
        driver.get(url + "/")
        deadline = time.monotonic() + timeout
        while True:
            state = driver.execute_script("return window.__bench && [Object.keys(window.__bench.drawn).length, "
                                          "document.querySelectorAll('figure.plot').length, "
                                          "[...document.querySelectorAll('figure.plot')].map(f => f.dataset.state)]")
            if state and state[0] == state[1] == len(PANELS):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not every panel drew within {timeout} s: {state}")
            time.sleep(0.02)
        page_metrics = metrics(driver)
        browser = sorted(set(browser) | set(descendants(driver.service.process.pid)))
        # processes started during the load counted whole (their CPU before it is nil): a renderer for the page
        cpu = cpu_seconds([server_pid]) - cpu[0], cpu_seconds(browser) - cpu[1]
        out = driver.execute_script(ENTRIES_JS)
        out["ink"] = {f["id"]: driver.execute_script(PANEL_INK_JS, f["id"]) for f in out["figures"]}
        out["metrics"] = {k: page_metrics.get(k, 0) - base_metrics.get(k, 0) for k in page_metrics}
        out["server_cpu"], out["browser_cpu"] = cpu
        out["log"] = network_log(driver)
        out["console"] = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] \
            if "browser" in driver.log_types else []
        return out
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 where a process is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def descendants(pid: int) -> list[int]:
    """``pid``'s child processes, grandchildren and so on (Chromium's browser, renderer, GPU... under chromedriver)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            out.append(child)
            queue.append(child)
    return out


def metrics(driver) -> dict:
    return {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}


def network_log(driver) -> dict:
    """From DevTools' Network events: every URL requested, and the response headers by URL."""
    urls, headers = [], {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
        elif msg.get("method") == "Network.responseReceived":
            r = msg["params"]["response"]
            headers[r["url"]] = {k.lower(): v for k, v in r.get("headers", {}).items()}
    return {"urls": urls, "headers": headers}


def summarize(load: dict, url: str) -> dict:
    """The figures of one load, up to the moment every panel was drawn (later polls are not counted)."""
    bench = load["bench"]
    drawn = max(bench["drawn"].values())
    entries = [load["nav"]] + [e for e in load["resources"] if e["start"] <= drawn]
    api = [e for e in entries if "/api/" in e["name"]]
    hosts = {re.match(r"^[a-z-]+:(//[^/]*)?", u).group(0) for u in load["log"]["urls"]}
    assert hosts <= {url, "data:", "about:"}, f"the page contacted another host: {hosts}"
    bad = [f for f in load["figures"] if f["state"] != "ready" or f["points"] <= 0 or load["ink"][f["id"]] <= 200]
    assert not bad, f"panels not drawn: {bad} (ink {load['ink']})"
    assert not load["errors"], load["errors"]
    ttfb = [e["responseStart"] - e["requestStart"] for e in api]
    encodings = {load["log"]["headers"].get(e["name"], {}).get("content-encoding", "identity") for e in api}
    m = load["metrics"]
    return {
        "drawn": drawn / 1e3, "first": min(bench["drawn"].values()) / 1e3, "dcl": load["dcl"] / 1e3,
        "last_api": max(e["end"] for e in api) / 1e3,
        "requests": len(entries), "api_requests": len(api),
        "bytes": sum(e["transfer"] for e in entries), "api_bytes": sum(e["transfer"] for e in api),
        "api_decoded": sum(e["decoded"] for e in api),
        "ttfb_max": max(ttfb) / 1e3, "ttfb_sum": sum(ttfb) / 1e3,
        "script": m.get("ScriptDuration", 0), "layout": m.get("LayoutDuration", 0) + m.get("RecalcStyleDuration", 0),
        "task": m.get("TaskDuration", 0), "encodings": encodings,
        "server_cpu": load["server_cpu"], "browser_cpu": load["browser_cpu"],
        "urls": [e["name"] for e in entries], "entries": entries, "per_panel": bench["drawn"],
    }


def fetch_baseline(urls: list[str], connections: int = 6) -> dict:
    """The same URLs with requests, ``connections`` at a time (as a browser opens per host): wall time and bytes."""
    sessions = [requests.Session() for _ in range(connections)]

    def get(i_url):
        i, u = i_url
        r = sessions[i % connections].get(u, timeout=30, headers={"Accept-Encoding": "identity"})
        r.raise_for_status()
        return len(r.content)

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        sizes = list(pool.map(get, enumerate(urls)))
    wall = time.perf_counter() - started
    zipped = sum(len(requests.get(u, timeout=30, headers={"Accept-Encoding": "gzip"}, stream=True).raw.read())
                 for u in urls)
    return {"wall": wall, "bytes": sum(sizes), "gzip_bytes": zipped}


# ---- report ----------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


def mb(n: float) -> str:
    return f"{n / 1e6:8.2f} MB"


def report(name: str, loads: list[dict]) -> None:
    """The table of one server's loads: the first (fresh server) and the median and p90 of the rest."""
    cold, warm = loads[0], loads[1:] or loads
    print(f"\n{name}")
    print(f"  {'':32} {'first load':>12} {'median':>10} {'p90':>10}   (warm server, {len(warm)} loads)")

    def row(label: str, key: str, fmt) -> None:
        vals = [w[key] for w in warm]
        print(f"  {label:32} {fmt(cold[key]):>12} {fmt(statistics.median(vals)):>10} {fmt(pct(vals, 0.9)):>10}")

    sec = lambda v: f"{v:.3f} s"  # noqa: E731
    count = lambda v: f"{v:.0f}"  # noqa: E731
    size = lambda v: mb(v).strip()  # noqa: E731
    row("every panel drawn", "drawn", sec)
    row("first panel drawn", "first", sec)
    row("DOMContentLoaded", "dcl", sec)
    row("last API answer received", "last_api", sec)
    row("API time to first byte, max", "ttfb_max", sec)
    row("API time to first byte, sum", "ttfb_sum", sec)
    row("renderer CPU: script", "script", sec)
    row("renderer CPU: style + layout", "layout", sec)
    row("renderer CPU: all tasks", "task", sec)
    row("browser CPU, every process", "browser_cpu", sec)
    row("server CPU (scald serve)", "server_cpu", sec)
    row("requests (all)", "requests", count)
    row("requests (API)", "api_requests", count)
    row("bytes transferred (all)", "bytes", size)
    row("bytes transferred (API)", "api_bytes", size)
    row("API bodies, decoded", "api_decoded", size)
    print(f"  API content-encoding: {', '.join(sorted(set().union(*(w['encodings'] for w in loads))))}")


def print_requests(load: dict) -> None:
    print("\nrequests of the first load (start, request sent, first byte, end in s; bytes transferred; path):")
    for e in sorted(load["entries"], key=lambda e: e["start"]):
        path = urllib.parse.urlsplit(e["name"])
        print(f"  {e['start'] / 1e3:6.3f} {e['requestStart'] / 1e3:6.3f} {e['responseStart'] / 1e3:6.3f} "
              f"{e['end'] / 1e3:6.3f} {e['transfer']:9,d}  {path.path}?{path.query[:80]}")
    print("panels drawn (s):", {k: round(v / 1e3, 3) for k, v in sorted(load["per_panel"].items(),
                                                                     key=lambda kv: kv[1])})


def loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return fh.read().split()[0]
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="page loads against the warm server (default 5)")
    parser.add_argument("--span", type=int, default=86400, help="seconds of 1 Hz data written (default one day)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one hour of data, 1 warm load")
    parser.add_argument("--against", metavar="DIR",
                        help="also serve the page from another checkout (e.g. `git archive HEAD~1 | tar -x -C DIR`), "
                             "its loads alternating with this one's: before/after under the same machine load")
    parser.add_argument("--verbose", action="store_true", help="print every request of the first load")
    args = parser.parse_args()
    if args.quick:
        args.span, args.reps = 3600, 1
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise SystemExit("needs chromium and chromium-driver (apt-get install chromium chromium-driver)")
    roots = {"this checkout": None}
    if args.against:
        roots[f"--against {args.against}"] = os.path.abspath(args.against)
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = str(tmp / "page.sqlite")
        end = float(int(gps_now()))
        fill_s, written = fill(db, args.span, end)
        raw = raw_sizes(written)
        del written
        cfg = write_config(tmp, db)
        print(f"{len(PANELS)} panels, lookback {LOOKBACK} s; {args.span} s of 1 Hz data x {JOBS} jobs x "
              f"{len(MEASUREMENTS)} measurements = {raw['distinct_points']:,} points, written in {fill_s:.1f} s "
              f"({raw['distinct_points'] / fill_s / 1e6:.2f} M points/s, store_columns)")
        servers = {}
        try:
            for name, root in roots.items():
                servers[name] = start_server(cfg, root)
            loads: dict[str, list] = {name: [] for name in servers}
            for rep in range(args.reps + 1):  # the first load of each: a fresh server (empty caches)
                for name, (proc, url) in servers.items():
                    loads[name].append(summarize(load_page(url, tmp_name, rep, proc.pid), url))
            _proc, url = servers["this checkout"]
            urls = loads["this checkout"][-1]["urls"]
            base = fetch_baseline(urls)
            api_base = fetch_baseline([u for u in urls if "/api/" in u])
        finally:
            for proc, _url in servers.values():
                stop(proc)
    print(f"\nscald serve on 127.0.0.1, headless Chromium, a new profile per load; times from navigation start, "
          f"bytes as transferred (headers included) until every panel was drawn; 1-min load average "
          f"{load_before} -> {loadavg()} on {os.cpu_count()} CPUs (other work on the machine stretches wall times, "
          "not CPU times)")
    for name, runs in loads.items():
        report(name, runs)
    ours = loads["this checkout"]
    warm = ours[1:] or ours
    print("\nbaselines, same run:")
    print(f"  the same {len(urls)} URLs with requests, 6 connections: {base['wall']:.3f} s, "
          f"{mb(base['bytes']).strip()} (gzip: {mb(base['gzip_bytes']).strip()}); API URLs alone: "
          f"{api_base['wall']:.3f} s, {mb(api_base['bytes']).strip()}")
    median_drawn = statistics.median(w["drawn"] for w in warm)
    print(f"  browser / requests: {median_drawn / base['wall']:.1f}x (every panel drawn, median, vs fetching "
          "its URLs)")
    print(f"  raw data of the panels' series ({raw['panel_points']:,} points): {mb(raw['panel_binary'])} as 16-byte "
          f"time+value pairs, {mb(raw['panel_json'])} as JSON")
    print(f"  raw data, distinct series ({raw['distinct_points']:,} points):       {mb(raw['distinct_binary'])} as "
          f"16-byte pairs, {mb(raw['distinct_json'])} as JSON")
    median_bytes = statistics.median(w["bytes"] for w in warm)
    print(f"  transferred / raw binary (panels): 1/{raw['panel_binary'] / median_bytes:.0f}")
    ok_t, ok_b = median_drawn <= GOAL_SECONDS, median_bytes <= GOAL_BYTES
    print(f"\ngoals: every panel drawn <= {GOAL_SECONDS:.0f} s: {'met' if ok_t else 'MISSED'} "
          f"({median_drawn:.3f} s median, {ours[0]['drawn']:.3f} s on a fresh server); <= {GOAL_BYTES / 1e6:.0f} MB "
          f"transferred: {'met' if ok_b else 'MISSED'} ({median_bytes / 1e6:.2f} MB)")
    if args.verbose:
        print_requests(ours[0])


if __name__ == "__main__":
    main()
