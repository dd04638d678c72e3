"""A real InfluxDB 1.x server (Debian's ``influxd``) for tests, on 127.0.0.1 and free ports, data in a temp dir.

Configured only through environment variables with ``-config /dev/null`` (so /etc/influxdb/influxdb.conf, which
listens on :8086 on every interface, is never read); both listeners (HTTP and the RPC/backup one) bind to loopback.
A system influxd that the Debian package may have started on :8086 is left alone: ports here are always free ones.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import requests

from procs import HOST, free_port, stop_process


def influxd_binary() -> str | None:
    """Path of ``influxd``, or None when InfluxDB is not installed."""
    return shutil.which("influxd")


class InfluxD:
    """One ``influxd run`` process; ``start()``/``stop()`` may be called repeatedly (same data dir, same HTTP port).

    ``url``, ``host``, ``port`` and ``pid`` describe the running server; ``query`` and ``write`` are thin raw-HTTP
    helpers so tests can check what a backend stored without going through the code under test.
    """

    def __init__(self, workdir: Path, binary: str, extra_env: dict[str, str] | None = None):
        self.extra_env = dict(extra_env or {})
        self.dir = Path(workdir)
        self.binary = binary
        self.host = HOST
        self.port: int | None = None
        self.rpc_port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "influxd.log"
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        env.update({
            "INFLUXDB_REPORTING_DISABLED": "true",
            "INFLUXDB_BIND_ADDRESS": f"{HOST}:{self.rpc_port}",
            "INFLUXDB_META_DIR": str(self.dir / "meta"),
            "INFLUXDB_DATA_DIR": str(self.dir / "data"),
            "INFLUXDB_DATA_WAL_DIR": str(self.dir / "wal"),
            "INFLUXDB_DATA_QUERY_LOG_ENABLED": "false",
            "INFLUXDB_HTTP_BIND_ADDRESS": f"{HOST}:{self.port}",
            "INFLUXDB_HTTP_LOG_ENABLED": "false",
            "INFLUXDB_MONITOR_STORE_ENABLED": "false",
            **self.extra_env,
        })
        return env

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as resp:
                return resp.status == 204
        except (urllib.error.URLError, OSError):
            return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> None:
        """Start (or restart) and wait for ``/ping`` to answer 204; a no-op when already running.

        The first start picks free ports, retrying with new ones if another process grabs one first; a restart
        keeps the HTTP port (clients hold the URL) and only takes a new RPC port if its old one is gone.
        """
        if self.running():
            return
        keep_http = self.port is not None
        output = ""
        for _attempt in range(5):
            self.port = self.port or free_port()
            self.rpc_port = self.rpc_port or free_port()
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([self.binary, "run", "-config", "/dev/null"], env=self._env(),
                                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._ping():
                    return
                time.sleep(0.05)
            if self.proc.poll() is None:  # alive but never ready
                self.stop()
                raise RuntimeError(f"influxd not ready after {timeout:g} s; log:\n{self._log_tail()}")
            self.proc = None
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                output = log.read().decode(errors="replace")
            in_use = [line for line in output.splitlines() if "address already in use" in line]
            if not in_use:
                break
            if any(f":{self.rpc_port}" in line for line in in_use):
                self.rpc_port = None  # someone took the RPC port: any other one will do
            elif not keep_http:
                self.port = None
            else:
                time.sleep(0.5)  # our own HTTP port on a restart: give the old socket a moment
        raise RuntimeError(f"influxd did not start; log:\n{output[-2000:]}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM by PID, wait up to ``timeout`` s, then SIGKILL. Data stay on disk for the next ``start()``."""
        proc, self.proc = self.proc, None
        stop_process(proc, timeout)

    def query(self, q: str, db: str | None = None, **params) -> dict:
        """Run InfluxQL over raw HTTP (POST, so CREATE/DROP work too) and return the decoded JSON response."""
        data = {"q": q, **params}
        if db is not None:
            data["db"] = db
        resp = self.session.post(f"{self.url}/query", data=data, timeout=30)
        return resp.json()

    def write(self, lines: str, db: str, precision: str = "ns", rp: str | None = None) -> requests.Response:
        """POST line protocol; returns the response (204 on success)."""
        params = {"db": db, "precision": precision}
        if rp:
            params["rp"] = rp
        return self.session.post(f"{self.url}/write", params=params, data=lines.encode("utf-8"), timeout=30)
