"""Check results for the API: the daemon's status files when they are fresh, an evaluation on the spot otherwise.

The daemon (``scald-monitor run``) is the source of truth: it applies the state machine (soft/hard, hold time,
hysteresis) and writes ``<status_dir>/<check>.json``. The web side only reads those files and the state file; it
never writes either. When a file is missing or has expired (daemon stopped, or never configured), ``/api/nagios``
evaluates the check itself, so a Nagios scraper pointed at the dashboard still gets a real answer, but that answer is
the raw evaluation (no state machine), and it says so (``"source": "evaluated"``).
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from typing import Any

from ..config import CHECK_NAME, Config
from ..outputs.status import expiry_seconds, stale_state, status_document, unknown_document
from ..rules.result import UNKNOWN, CheckStatus, state_name
from ..rules.run import evaluate_check
from ..rules.state import StateStore

log = logging.getLogger("scald_monitor.serve")

#: Status files larger than this are not ours (ours are a few kB even with thousands of tags).
MAX_STATUS_BYTES = 16 * 1024 * 1024
#: An on-the-spot evaluation is reused for this long (at most the check's interval): a scraper and a browser
#: polling the same check cost one backend query, not one each.
EVALUATION_TTL = 10.0


def known(cfg: Config, name: str) -> bool:
    return bool(CHECK_NAME.match(name or "")) and name in cfg.checks


def read_status_file(cfg: Config, name: str) -> dict | None:
    """The daemon's document for ``name``, or None (no status_dir, no file, unreadable or not a status document)."""
    status_dir = cfg.outputs.get("status_dir")
    if not status_dir:
        return None
    path = os.path.join(status_dir, f"{name}.json")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_STATUS_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_STATUS_BYTES:
        log.warning("%s: larger than %d bytes, ignored", path, MAX_STATUS_BYTES)
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        log.warning("%s: not JSON, ignored", path)
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("status_intervals"), list) or not doc["status_intervals"]:
        log.warning("%s: not a status document, ignored", path)
        return None
    return doc


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def expires_at(doc: dict, check: dict) -> float | None:
    """Unix time at which the document stops being valid: ``created_unix`` + the end of its first interval."""
    created = _number(doc.get("created_unix"))
    if created is None:
        return None
    first = doc["status_intervals"][0] if isinstance(doc["status_intervals"][0], dict) else {}
    end = _number(first.get("end_sec"))
    return created + (end if end is not None else expiry_seconds(check))


def effective_state(doc: dict, check: dict, now: float) -> tuple[int, bool]:
    """(state now, stale?) as a reader of the document (check_json, Nagios) sees it: after expiry, the state of the
    interval that covers the document's age (by default UNKNOWN, CRITICAL for a heartbeat)."""
    expires = expires_at(doc, check)
    first = doc["status_intervals"][0] if isinstance(doc["status_intervals"][0], dict) else {}
    state = first.get("num_status")
    state = state if isinstance(state, int) and not isinstance(state, bool) and 0 <= state <= 3 else UNKNOWN
    if expires is None or now < expires:
        return state, expires is None
    created = _number(doc.get("created_unix")) or 0.0
    age = now - created
    later = stale_state(check)
    for interval in doc["status_intervals"][1:]:
        if isinstance(interval, dict) and (_number(interval.get("start_sec")) or 0) <= age:
            value = interval.get("num_status")
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
                later = value
    return later, True


class Evaluator:
    """On-the-spot evaluations, shared by all web threads: one at a time per check, reused for a few seconds."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self._busy: dict[str, threading.Thread] = {}
        self._cache: dict[str, tuple[float, dict]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def document(self, name: str) -> dict:
        """A status document from a fresh evaluation (raw state: the daemon's state machine is not applied)."""
        check = self.cfg.checks[name]
        ttl = min(EVALUATION_TTL, float(check.get("interval") or EVALUATION_TTL))
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:  # a second request for the same check waits for the first one's answer instead of re-querying
            cached = self._cache.get(name)
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            now = time.time()
            try:
                result = evaluate_check(self.cfg, name, now=now, busy=self._busy)
                status = CheckStatus(result=result, raw_state=result.state,
                                     max_attempts=int(check.get("max_attempts") or 1))
                doc = status_document(status, check, now)
            except Exception as exc:  # noqa: BLE001 - a bug in evaluation must still give Nagios an answer
                log.exception("%s: evaluation failed", name)
                doc = unknown_document(name, check, f"evaluation failed: {exc}", now)
            doc["source"] = "evaluated"
            self._cache[name] = (time.monotonic(), doc)
            return doc


def nagios_document(cfg: Config, evaluator: Evaluator, name: str) -> dict:
    """``/api/nagios/<check>``: the daemon's document while it is valid, else one evaluated now."""
    check = cfg.checks[name]
    doc = read_status_file(cfg, name)
    if doc is not None:
        expires = expires_at(doc, check)
        if expires is not None and time.time() < expires:
            doc.setdefault("source", "status_file")
            return doc
    return evaluator.document(name)


def summary(cfg: Config, name: str, now: float | None = None) -> dict:
    """One entry of ``/api/checks``: the check's configuration and what its status file says now (never evaluates).

    ``state`` is the state now: the result's while the document is valid, else the state the document says it
    turns into (``stale`` is then true; also when there is no status file at all).
    """
    now = time.time() if now is None else now
    check = cfg.checks[name]
    spec = cfg.schemas.get(check.get("schema") or "")
    doc = read_status_file(cfg, name)
    entry: dict = {
        "name": name,
        "type": check.get("type"),
        "schema": check.get("schema"),
        "measurement": spec.measurement if spec is not None else None,
        "column": check.get("column"),
        "backend": check.get("backend"),
        "description": check.get("description") or "",
        "interval": check.get("interval"),
    }
    if doc is None:
        where = cfg.outputs.get("status_dir")
        reason = (f"no result yet: {os.path.join(where, name + '.json')} does not exist (is scald-monitor run "
                  "running?)" if where else "no result: outputs.status_dir is not configured")
        entry.update({"state": UNKNOWN, "state_name": state_name(UNKNOWN), "result_state": None,
                      "summary": reason, "last_change": None, "state_type": None, "stale": True,
                      "created_unix": None, "expires_unix": None, "problems": None, "source": "missing"})
        return entry
    state, stale = effective_state(doc, check, now)
    result_state = doc["status_intervals"][0].get("num_status") if isinstance(doc["status_intervals"][0],
                                                                              dict) else None
    tags = doc.get("tags") if isinstance(doc.get("tags"), list) else []
    entry.update({
        "state": state,
        "state_name": state_name(state),
        "result_state": result_state,
        "summary": doc.get("summary") if isinstance(doc.get("summary"), str) else _first_text(doc),
        "last_change": _number(doc.get("last_change")),
        "state_type": doc.get("state_type"),
        "stale": stale,
        "created_unix": _number(doc.get("created_unix")),
        "expires_unix": expires_at(doc, check),
        "problems": sum(1 for t in tags if isinstance(t, dict) and t.get("state") not in (0, None)),
        "source": "status_file",
    })
    return entry


def _first_text(doc: dict) -> str:
    first = doc["status_intervals"][0]
    text = first.get("txt_status") if isinstance(first, dict) else None
    return text.split("\\n")[0] if isinstance(text, str) else ""


class ReadOnlyStateStore(StateStore):
    """The daemon's state file, read without side effects: a corrupt file is reported, never moved aside
    (that is the daemon's decision, not a web request's)."""

    def _set_aside(self, reason: str) -> None:
        log.warning("state file %s is unusable (%s); showing no state", self.path, reason)


def _read_state(cfg: Config) -> StateStore | None:
    path = cfg.outputs.get("state_file")
    if not path:
        return None
    store = ReadOnlyStateStore(path)
    store.load()
    return store


def state_snapshot(cfg: Config, name: str) -> dict | None:
    """The state machine's bookkeeping for one check (``{"check": {...}, "tags": {label: {...}}}``), or None."""
    store = _read_state(cfg)
    return store.snapshot(name) if store is not None else None


def history(cfg: Config, name: str) -> dict:
    """``/api/checks/<name>/history``: the check's reported-state changes from the daemon's state file, oldest
    first (empty when the daemon never ran or no state file is configured), and the server's time."""
    store = _read_state(cfg)
    return {"name": name, "changes": store.history(name) if store is not None else [], "now": time.time()}


def detail(cfg: Config, evaluator: Evaluator, name: str) -> dict:
    """``/api/checks/<name>``: the summary, the check's settings, the status document (file, else evaluated), the
    state-machine snapshot, and per-tag results joined with their state-machine entries."""
    entry = summary(cfg, name)
    doc = nagios_document(cfg, evaluator, name)
    snapshot = state_snapshot(cfg, name)
    tag_states = (snapshot or {}).get("tags") or {}
    tags = []
    for tag in doc.get("tags") or []:
        if not isinstance(tag, dict):
            continue
        machine = tag_states.get(tag.get("label"), {}) if isinstance(tag.get("label"), str) else {}
        state = tag.get("state")
        tags.append({
            **tag,
            "state_name": state_name(state) if isinstance(state, int) else None,
            "state_type": machine.get("state_type"),
            "attempt": machine.get("attempt"),
            "last_change": machine.get("last_change"),
            "flapping": machine.get("flapping"),
        })
    settings = {k: v for k, v in cfg.checks[name].items() if k != "name"}
    entry.update({"settings": settings, "document": doc, "state_machine": snapshot, "tags": tags})
    if doc.get("source") == "evaluated":  # the file is missing or expired: describe the answer given
        state = doc.get("state", UNKNOWN)
        entry.update({"state": state, "state_name": state_name(state), "result_state": state,
                      "summary": doc.get("summary", ""), "state_type": None, "last_change": None,
                      "created_unix": doc.get("created_unix"), "expires_unix": expires_at(doc, cfg.checks[name]),
                      "problems": sum(1 for t in tags if t.get("state") not in (0, None)), "source": "evaluated"})
    return entry
