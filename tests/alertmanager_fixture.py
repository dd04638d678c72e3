"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) on 127.0.0.1, for the lifecycle tests.

Recipe from shared/reference/servers.md: own temp storage, clustering off (``--cluster.listen-address=``), a null
receiver, readiness on ``GET /-/ready``; started in its own session and stopped by its PID. ``stop()``/``start()``
simulate an outage on the same port and storage (Alertmanager keeps alerts in memory: a restart forgets them).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Iterator

import requests

from procs import free_port

CONFIG = 'route:\n  receiver: "null"\n  group_wait: 1h\nreceivers:\n  - name: "null"\n'


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def running_alertmanager(tmp_path) -> Iterator["Alertmanager"]:
    """The ``am`` fixture of the tests that use one: started in ``tmp_path/am``, stopped afterwards; a missing
    binary is a failure, never a skip."""
    import pytest

    binary = alertmanager_binary()
    if binary is None:
        pytest.fail("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager; "
                    "bash .ci/run does it)")
    server = Alertmanager(tmp_path / "am", binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Alertmanager:
    def __init__(self, tmp: str, binary: str) -> None:
        self.tmp, self.binary = str(tmp), binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        os.makedirs(self.tmp, exist_ok=True)
        with open(os.path.join(self.tmp, "am.yml"), "w") as f:
            f.write(CONFIG)
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, timeout: float = 30) -> None:
        if self.running():
            return
        log = open(os.path.join(self.tmp, "am.log"), "a")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.tmp}/am.yml", f"--storage.path={self.tmp}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited rc={self.proc.returncode}; see {self.tmp}/am.log")
            try:
                if requests.get(f"{self.base}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("alertmanager not ready")
            time.sleep(0.05)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:
            os.killpg(proc.pid, 0)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def alerts(self, **params) -> list[dict]:
        r = requests.get(f"{self.base}/api/v2/alerts", params=params, timeout=5)
        r.raise_for_status()
        return r.json()
