"""Evaluate one configured check against its backend, within its timeout.

Shared by the daemon, ``scald-monitor check`` and the ``check_scald`` plugin: opening the backend, running the rule
and bounding the time it takes, with every failure to look reported as UNKNOWN.
"""
from __future__ import annotations

import threading
import time

from ..io import connect
from .evaluate import evaluate
from .result import UNKNOWN, Result

TYPE_CHECKING = False  # not ``from typing import ...``: check_scald imports this module
if TYPE_CHECKING:
    from typing import Any, Callable


#: How an evaluation that could not read its backend begins its summary (the ones evaluate_check and evaluate
#: write): counted as backend errors (metrics), distinct from a check that read its data and judged it.
FAILED_TO_LOOK = ("backend ", "timed out after ", "the previous evaluation is still running", "cannot evaluate: ")


def failed_to_look(result: Result) -> bool:
    """Whether ``result`` is UNKNOWN because the backend could not be read (down, failing, too slow)."""
    return result.state == UNKNOWN and result.summary.startswith(FAILED_TO_LOOK)


def evaluate_check(cfg: Any, name: str, now: float | None = None,
                   busy: dict[str, threading.Thread] | None = None, lite: bool = False,
                   wrap: Callable[[Any, str], Any] | None = None) -> Result:
    """Evaluate one check against its backend, within its timeout; any failure to look is UNKNOWN.

    ``busy`` remembers the worker thread of each check, so that a run still stuck in a slow backend is never
    joined by a second one. ``lite`` reads through the numpy-free reader (``connect(lite=True)``), for a process
    that evaluates one check and exits (check_scald), where importing numpy would cost more than the check.
    ``wrap(store, backend)`` gives the reader to evaluate through (``scald serve``: its block cache, so that an
    evaluation on the spot reads what the dashboard has already read).

    The evaluation runs in a worker thread even then: a query blocked in SQLite (a locked file, a hung disk) holds
    the thread inside C, where neither a signal handler nor anything else of Python runs until SQLite returns; the
    waiting thread can still give up on time and interrupt the query.
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
            store = connect(cfg.backend(check.backend), readonly=True, lite=lite, schemas=cfg.schemas.values())
        except Exception as exc:  # noqa: BLE001 - unreachable/missing/corrupt backend
            box["result"] = Result(name, UNKNOWN, f"backend {check.backend!r}: {exc}", now)
            return
        box["store"] = store
        try:
            reader = store if wrap is None else wrap(store, check.backend)
            box["result"] = evaluate(check, cfg.schemas[check.schema], reader, now)
        finally:
            store.close()

    worker = threading.Thread(target=work, name=f"check-{name}", daemon=True)
    busy[name] = worker
    worker.start()
    timeout = check.timeout
    worker.join(timeout)
    if worker.is_alive():
        store = box.get("store")
        if store is not None:
            store.interrupt()  # abort the running query (where the backend can) so that the worker ends
        return Result(name, UNKNOWN, f"timed out after {timeout:g} s", now)
    return box.get("result") or Result(name, UNKNOWN, "evaluation produced no result", now)
