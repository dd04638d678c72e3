"""Check results for the API and the board: the daemon's status files when they are fresh, an evaluation otherwise.

The daemon (``scald-monitor run``) is the source of truth: it applies the state machine (soft/hard, hold time,
hysteresis) and writes ``<status_dir>/<check>.json``. The web side only reads those files and the state file; it
never writes either. A file is read with :func:`scald_monitor.outputs.status.judge`, the rule ``check_scald
--status-file`` applies too, so the plugin and the dashboard never disagree about a document. When there is no usable
file (no status_dir, no file, unreadable, expired), every route answers with the same evaluation on the spot:
``/api/nagios``, ``/api/checks`` and the board, so a Nagios scraper and a browser see one live answer. That answer is
the raw evaluation (no state machine), and it says so (``"source": "evaluated"`` and a ``note`` saying why).
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Any

from ..config import Config, is_check_name
from ..outputs.status import MAX_BYTES, DocumentError, Judgement, expiry_seconds, judge, load, status_document, \
    unknown_document
from ..rules.result import CheckStatus, state_name
from ..rules.run import evaluate_check
from ..rules.state import StateStore

log = logging.getLogger("scald_monitor.serve")

#: An on-the-spot evaluation is reused for this long (at most the check's interval): a scraper and a browser
#: polling the same check cost one backend query, not one each.
EVALUATION_TTL = 10.0


def known(cfg: Config, name: str) -> bool:
    return is_check_name(name) and name in cfg.checks


class Evaluator:
    """On-the-spot evaluations, shared by all web threads: one at a time per check, reused for a few seconds."""

    def __init__(self, cfg: Config, blocks: Any = None):
        self.cfg = cfg
        self.blocks = blocks  # the app's BlockCache: evaluations read through it, as the data routes do
        self._busy: dict[str, threading.Thread] = {}
        self._cache: dict[str, tuple[float, dict]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def document(self, name: str) -> dict:
        """A status document from a fresh evaluation (raw state: the daemon's state machine is not applied)."""
        check = self.cfg.checks[name]
        ttl = min(EVALUATION_TTL, float(check.interval))
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:  # a second request for the same check waits for the first one's answer instead of re-querying
            cached = self._cache.get(name)
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            now = time.time()
            try:
                result = evaluate_check(self.cfg, name, now=now, busy=self._busy,
                                        wrap=None if self.blocks is None else self.blocks.wrap)
                status = CheckStatus(result=result, raw_state=result.state,
                                     max_attempts=check.max_attempts)
                doc = status_document(status, check, now)
            except Exception as exc:  # noqa: BLE001 - a bug in evaluation must still give Nagios an answer
                log.exception("%s: evaluation failed", name)
                doc = unknown_document(name, check, f"evaluation failed: {exc}", now)
            doc["source"] = "evaluated"
            self._cache[name] = (time.monotonic(), doc)
            return doc


class Answer:
    """What the API says about a check now: the document, how it reads now, where it came from and why."""

    __slots__ = ("doc", "verdict", "source", "stale", "note")

    def __init__(self, doc: dict, verdict: Judgement, source: str, stale: bool, note: str) -> None:
        self.doc = doc
        self.verdict = verdict
        self.source = source  # "status_file" or "evaluated"
        self.stale = stale  # the daemon's status file is missing or expired although status_dir is configured
        self.note = note  # why the file was not used ("" when it was)


def _status_file(cfg: Config, name: str, now: float) -> tuple[dict | None, Judgement | None, str]:
    """The daemon's document for ``name`` and its judgement when it can be used now, else (None, None, why not)."""
    status_dir = cfg.outputs.get("status_dir")
    if not status_dir:
        return None, None, "outputs.status_dir is not configured"
    path = os.path.join(status_dir, f"{name}.json")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, None, f"{path} does not exist (is scald-monitor run running?)"
    except OSError as exc:
        return None, None, f"{path} cannot be read: {exc.strerror or exc}"
    if len(raw) > MAX_BYTES:
        return None, None, f"{path} is larger than {MAX_BYTES} bytes"
    try:
        doc = load(raw)
    except DocumentError as exc:
        log.warning("%s: %s, ignored", path, exc)
        return None, None, f"{path} is not a status document: {exc}"
    verdict = judge(doc, now, expiry_seconds(cfg.checks[name]))
    if verdict.stale and verdict.expires is not None:
        return None, None, (f"{path} expired {max(now - verdict.expires, 0):.0f} s ago (is scald-monitor run "
                            "running?)")
    if verdict.interval is None or verdict.stale:
        return None, None, f"{path}: {verdict.reason or 'expired'}"
    return doc, verdict, ""


def answer(cfg: Config, evaluator: Evaluator, name: str, now: float | None = None) -> Answer:
    """The check's document now: the daemon's file while it is valid, else one evaluated on the spot."""
    now = time.time() if now is None else now
    doc, verdict, note = _status_file(cfg, name, now)
    if doc is not None and verdict is not None:
        doc.setdefault("source", "status_file")
        return Answer(doc, verdict, "status_file", False, "")
    doc = evaluator.document(name)
    # read after the evaluation: one that started after ``now`` (waiting for another request's) is not "future"
    return Answer(doc, judge(doc, max(now, time.time())), "evaluated", bool(cfg.outputs.get("status_dir")),
                  f"{note}: evaluated now by the web server (no state machine)")


def nagios_document(cfg: Config, evaluator: Evaluator, name: str) -> dict:
    """``/api/nagios/<check>``: the daemon's document while it is valid, else one evaluated now."""
    return answer(cfg, evaluator, name).doc


def summary(cfg: Config, evaluator: Evaluator, name: str, now: float | None = None, store: Any = None) -> dict:
    """One entry of ``/api/checks``: the check's configuration and its state now, the same answer as
    ``/api/nagios/<check>`` (the daemon's file while valid, else evaluated on the spot; cached a few seconds),
    with its acknowledgement and downtime read now from ``store`` (the lifecycle file) and the config."""
    return _entry(cfg, name, answer(cfg, evaluator, name, now), store)


def marks(cfg: Config, store: Any, name: str, labels: list[str], now: float | None = None) -> dict[str, Any]:
    """A check's acknowledgement and downtime now, read live from the lifecycle file ``store`` and the config (a
    write shows at the board's next poll, not at the daemon's next evaluation), by the daemon's rule."""
    from ..lifecycle.alerting import lookup
    from ..timeutil import gps_now

    now = gps_now() if now is None else now
    acks = store.acks_of(name) if store is not None else []
    downtimes = list(cfg.downtimes) + (store.downtimes() if store is not None else [])
    found, _ = lookup(acks, downtimes, name, labels, now)
    until = found.downtime_until
    return {
        "acknowledgement": found.ack.to_dict() if found.ack is not None else None,
        "downtime": ({"text": found.downtime, "until": None if until is None or math.isinf(until) else until}
                     if found.downtime else None),
        "tags_acknowledged": len(found.tags_acked),
        "tags_in_downtime": len(found.tags_in_downtime),
    }


def _entry(cfg: Config, name: str, ans: Answer, store: Any = None) -> dict:
    check = cfg.checks[name]
    spec = cfg.schemas.get(check.schema)
    doc, verdict = ans.doc, ans.verdict
    tags = doc.get("tags") if isinstance(doc.get("tags"), list) else []
    from_file = ans.source == "status_file"
    return {
        "name": name,
        "type": check.type,
        "schema": check.schema,
        "measurement": spec.measurement if spec is not None else None,
        "column": check.column,
        "backend": check.backend,
        "description": check.description,
        "interval": check.interval,
        "state": verdict.state,
        "state_name": state_name(verdict.state),
        "result_state": verdict.state if verdict.interval is not None else None,
        "summary": doc["summary"] if isinstance(doc.get("summary"), str) else verdict.text.split("\\n")[0],
        "last_change": _number(doc.get("last_change")) if from_file else None,
        "state_type": doc.get("state_type") if from_file else None,
        "stale": ans.stale,
        "created_unix": verdict.created,
        "expires_unix": verdict.expires,
        "problems": sum(1 for t in tags if isinstance(t, dict) and t.get("state") not in (0, None)),
        "source": ans.source,
        "note": ans.note,
        **marks(cfg, store, name, [t["label"] for t in tags if isinstance(t, dict) and isinstance(t.get("label"), str)]),
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


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


def detail(cfg: Config, evaluator: Evaluator, name: str, store: Any = None) -> dict:
    """``/api/checks/<name>``: the summary, the check's settings, the status document (file, else evaluated), the
    state-machine snapshot, and per-tag results joined with their state-machine entries."""
    ans = answer(cfg, evaluator, name)
    entry = _entry(cfg, name, ans, store)
    doc = ans.doc
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
    settings = cfg.checks[name].settings()
    entry.update({"settings": settings, "document": doc, "state_machine": snapshot, "tags": tags})
    return entry
