"""ligo-scald 0.8.5's own ``scald serve`` (its bottle app under wsgiref) as a real process, for conformance tests.

ligo-scald's console script is also called ``scald`` (so is ours), so it is started as ``python -m ligo.scald
serve``: same entry point, same argument parsing, same single-threaded wsgiref server ligo-scald users run. It
listens on 127.0.0.1 only, on a free port, and is stopped by its PID.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from procs import HOST, free_port, stop_process


class Answer:
    """One HTTP answer: ``status``, ``content_type``, the raw ``text`` and, when it parses, the JSON ``body``.

    ligo-scald's JSON may hold NaN/Infinity (Python's ``json`` reads them) and its error pages are HTML, so the
    body is None for anything that is not JSON.
    """

    def __init__(self, status: int, content_type: str, text: str, headers: Any = None):
        self.status, self.content_type, self.text = status, content_type, text
        self.headers = headers or {}
        try:
            self.body = json.loads(text)
        except ValueError:
            self.body = None

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.content_type!r}, {self.text[:300]!r})"


class LigoScaldServe:
    """``python -m ligo.scald serve -c CONFIG --hostname 127.0.0.1 -p PORT``; ``get(path)`` → :class:`Answer`."""

    def __init__(self, config: str | os.PathLike, log_path: str | os.PathLike):
        self.config = str(config)
        self.log_path = Path(log_path)
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: only 127.0.0.1 is ever contacted

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        for _attempt in range(5):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "ligo.scald", "serve", "-c", self.config, "--hostname", HOST,
                     "-p", str(self.port)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                    env={k: v for k, v in os.environ.items() if k != "SCALDRC_PATH"})
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self.session.get(self.url + "/static/scald.css", timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    time.sleep(0.1)
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError(f"ligo-scald serve not ready after {timeout:g} s:\n{self._log_tail()}")
            if "Address already in use" not in self._log_tail():
                break
        raise RuntimeError(f"ligo-scald serve did not start:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc, timeout)

    def get(self, path: str) -> Answer:
        r = self.session.get(self.url + path, timeout=60)
        return Answer(r.status_code, r.headers.get("Content-Type", ""), r.text, r.headers)
