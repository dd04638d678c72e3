"""Evaluate one configured check against its backend, within its timeout.

Shared by the daemon, ``scald-monitor check`` and the ``check_scald`` plugin: opening the backend, running the rule
and bounding the time it takes, with every failure to look reported as UNKNOWN.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from ..io import connect
from .evaluate import evaluate
from .result import UNKNOWN, Result

DEFAULT_TIMEOUT = 30.0


def check_timeout(check: dict) -> float:
    return float(check.get("timeout") or min(float(check.get("interval") or 60), DEFAULT_TIMEOUT))


def evaluate_check(cfg: Any, name: str, now: float | None = None,
                   busy: dict[str, threading.Thread] | None = None) -> Result:
    """Evaluate one check against its backend, within its timeout; any failure to look is UNKNOWN.

    ``busy`` remembers the worker thread of each check, so that a run still stuck in a slow backend is never
    joined by a second one.
    """
    check = cfg.checks[name]
    now = time.time() if now is None else now
    busy = {} if busy is None else busy
    previous = busy.get(name)
    if previous is not None and previous.is_alive():
        return Result(name, UNKNOWN, "the previous evaluation is still running (backend too slow?)", now)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            store = connect(cfg.backend(check["backend"]), readonly=True)
        except Exception as exc:  # noqa: BLE001 - unreachable/missing/corrupt backend
            box["result"] = Result(name, UNKNOWN, f"backend {check['backend']!r}: {exc}", now)
            return
        box["store"] = store
        try:
            box["result"] = evaluate(check, cfg.schemas[check["schema"]], store, now)
        finally:
            store.close()

    worker = threading.Thread(target=work, name=f"check-{name}", daemon=True)
    busy[name] = worker
    worker.start()
    timeout = check_timeout(check)
    worker.join(timeout)
    if worker.is_alive():
        conn = getattr(box.get("store"), "_conn", None)
        if conn is not None:
            conn.interrupt()  # SQLite: abort the running query so that the worker ends
        return Result(name, UNKNOWN, f"timed out after {timeout:g} s", now)
    return box.get("result") or Result(name, UNKNOWN, "evaluation produced no result", now)
