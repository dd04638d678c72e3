"""examples/every-plot.yml on InfluxDB-layout data: ``scald mock`` behind ``scald serve``, in headless Chromium.

The SQLite half (``test_dashboard.py::test_every_plot_type_in_chromium``) proves the page draws what ``scald fill``
stored; this half proves it draws what a ligo-scald deployment leaves in InfluxDB: decimated ``"<dt>s"`` policies
without raw points for aggregated schemas, triggers only in the nested ``"<far>_hz"`` policies, the PSD only as a
``data``/``dims`` snapshot. The same page checks apply (every panel draws pixels, the trigger table sorts and cuts,
no console error, nothing but 127.0.0.1), and here the Snapshot panel must draw too: the mock holds snapshots.
"""
from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from procs import free_port, stop_process
from test_dashboard import (
    BIN, PLOTS_JS, Server, check_every_plot_page, every_plot_config, need_chromium, start_chromium,
)

PREFIX = "every-plot-mock-"


class Mock:
    """``scald mock -c CONFIG`` on a free 127.0.0.1 port, ready once ``/ping`` answers."""

    def __init__(self, cfg_path: Path):
        self.proc = None
        for _attempt in range(3):  # a port free when picked may be taken before the mock binds it
            self.port = free_port()
            self.proc = subprocess.Popen([str(BIN / "scald"), "mock", "-c", str(cfg_path), "--hostname", "127.0.0.1",
                                          "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True)
            if self._ready():
                return
            stop_process(self.proc, 5)
        pytest.fail(f"scald mock did not start: {self.proc.stderr.read()}")

    def _ready(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1) as resp:
                    return resp.status == 204
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        stop_process(self.proc, 10)


def mock_config(tmp_path: Path) -> tuple[Path, Path]:
    """every-plot.yml as the mock reads it, and its copy whose backend is the mock (database ``mock``)."""
    source = every_plot_config(tmp_path)
    return source, tmp_path / "every-plot-influx.yml"


def point_at(source: Path, target: Path, port: int) -> Path:
    raw = yaml.safe_load(source.read_text())
    raw["backends"] = {"default": {"backend": "influxdb", "hostname": "127.0.0.1", "port": port, "db": "mock"}}
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


@pytest.mark.slow
def test_every_plot_type_on_the_mock_in_chromium(tmp_path):
    """Live then historical, on ``scald mock``: every panel draws pixels (Snapshot included), live panels keep
    fetching and historical ones fetch once; the trigger table (from ligo-scald's "<far>_hz" policies) sorts and
    cuts; no console error; nothing but 127.0.0.1. Screenshots: test-artifacts/every-plot-mock-<type>.png."""
    need_chromium()
    source, influx_cfg = mock_config(tmp_path)
    mock = Mock(source)
    server = driver = None
    try:
        cfg_path = point_at(source, influx_cfg, mock.port)
        server = Server(cfg_path)
        driver = start_chromium()
        live = check_every_plot_page(driver, server.url, server.port, prefix=PREFIX)
        assert live["Snapshot"]["state"] == "ready"  # the mock holds snapshots: never the empty panel here
        # the table was read from ligo-scald's trigger policies, not from a timeseries (the mock keeps none)
        sources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/table/'))")
        assert sources, "the IFAR panel never asked /api/table"
        with urllib.request.urlopen(sources[-1], timeout=30) as resp:
            assert resp.headers["X-Scald-Source"].startswith("triggers from retention policy 0.001_hz"), \
                resp.headers["X-Scald-Source"]
        time.sleep(5)  # two polls and more: every live panel fetched again
        again = {p["type"]: p for p in driver.execute_script(PLOTS_JS)}
        for kind, p in live.items():
            assert again[kind]["fetches"] > p["fetches"], (kind, p, again[kind])
        gps = driver.execute_script("return window.scald.gpsNow()")
        hist = check_every_plot_page(driver, server.url, server.port,
                                     f"?start={int(gps) - 3000}&end={int(gps) - 600}", prefix=PREFIX)
        assert hist["Snapshot"]["state"] == "ready"
        time.sleep(5)
        still = {p["type"]: p for p in driver.execute_script(PLOTS_JS)}
        for kind, p in hist.items():
            assert still[kind]["fetches"] == p["fetches"], (kind, p, still[kind])
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.stop()
        mock.stop()
