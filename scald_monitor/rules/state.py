"""Per-check, per-tag alert state: hysteresis, hold time (``for``), soft/hard states, flap detection, persistence.

Evaluation produces a raw :class:`~scald_monitor.rules.result.Result` each time a check runs; this module turns
the stream of Results into *reported* states with Nagios Core semantics and keeps them on disk, so that a
restarted daemon neither re-alerts on a problem it already reported nor forgets one.

Each check keeps one :class:`LabelState` per tag label (``TagResult.label``) and one for the check as a whole.
For every tag, in this order:

1. **Hysteresis** (Kapacitor's ``critReset``/``warnReset``) on the raw tag state, using ``TagResult.value``:
   a label reported CRITICAL stays CRITICAL while ``critical_reset`` alerts for the value, and a label reported
   WARNING or CRITICAL whose raw state is OK stays WARNING while ``warning_reset`` alerts.  This keeps a value
   hovering around a threshold from alerting and recovering on every check.
2. **Hold time** (Prometheus ``for``): a non-OK state other than the reported one only takes effect once the
   label has been in such a state for ``hold`` seconds; meanwhile the previous state is reported and the tag
   text says ``(pending 40 s of 120 s)``.  Recovery to OK is immediate.
3. **Soft/hard states** with ``max_attempts`` (Nagios): a problem is SOFT until it has been seen on
   ``max_attempts`` consecutive checks, then HARD.  Only HARD changes should notify.

The check as a whole runs step 3 (not 1 and 2, which already happened per tag) on the worst of its tags' states
after hysteresis and hold.  Flap detection runs on every label's history.

Each check also keeps a bounded log of its reported-state changes (the check as a whole only, not per tag), newest
last: ``{"time": unix, "state": 0..3, "state_type": "SOFT"|"HARD"}``, one entry per change of the reported state or
state type, starting with the first state ever reported, at most :data:`CHANGES_LENGTH` entries.  It is for people
(the dashboard's state timeline); nothing in the state machine reads it.

Timestamps are Unix seconds taken from ``Result.time`` (wall clock): they must mean the same thing after a
restart, which a monotonic clock does not.

Stdlib only, like the rest of :mod:`scald_monitor.rules`.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..atomic import write_atomic
from .ranges import Range, parse_range
from .result import CRITICAL, OK, WARNING, CheckStatus, Result, State, StateChange, TagResult, worst

if TYPE_CHECKING:
    from ..config import Check

__all__ = [
    "CHANGES_LENGTH", "FORMAT_VERSION", "HARD", "HISTORY_LENGTH", "SOFT", "CheckState", "LabelState", "Policy", "StateStore",
    "percent_state_change",
]

log = logging.getLogger(__name__)

SOFT, HARD = "SOFT", "HARD"
FORMAT_VERSION = 1
# Nagios keeps 21 states, i.e. 20 transitions, for flap detection (MAX_STATE_HISTORY_ENTRIES).
HISTORY_LENGTH = 21
# Reported-state changes kept per check for the state timeline (a check changing every minute: 8 hours of it).
CHANGES_LENGTH = 500
# Nagios weighs recent transitions more: linearly from 0.8 (oldest) to 1.2 (newest), averaging 1.0.
_LOW_WEIGHT, _HIGH_WEIGHT = 0.8, 1.2
_STATES = tuple(State)


# --------------------------------------------------------------------------------------------------- policy


@dataclass
class Policy:
    """How one check's raw states become reported states; built from the check's config by :meth:`from_check`."""

    max_attempts: int = 1
    hold: float = 0.0  # config key `for`: seconds a new non-OK state must last before it is reported
    warning_reset: Range | None = None  # once WARNING (or CRITICAL), stay WARNING while this alerts
    critical_reset: Range | None = None  # once CRITICAL, stay CRITICAL while this alerts
    flap_low: float = 5.0  # Nagios low_service_flap_threshold (percent): stop flapping below
    flap_high: float = 20.0  # Nagios high_service_flap_threshold (percent): start flapping at or above

    @classmethod
    def from_check(cls, check: Check) -> "Policy":
        """The policy of a configured check (its reset ranges are range texts); flapping keeps Nagios's
        thresholds, which the configuration does not set."""
        return cls(max_attempts=check.max_attempts, hold=float(check.hold),
                   warning_reset=_as_range(check.warning_reset), critical_reset=_as_range(check.critical_reset))


def _as_range(spec: str | None) -> Range | None:
    return None if spec is None else parse_range(spec)


# ------------------------------------------------------------------------------------------------ the state


@dataclass
class LabelState:
    """Nagios's bookkeeping for one tag label, or for a whole check.

    A label never seen before is HARD OK, attempt 1, with no last change: a new tag value that is fine from the
    start produces no notification.  ``history`` holds the last :data:`HISTORY_LENGTH` states after hysteresis
    (before hold time and soft/hard), which is what flap detection looks at.
    """

    state: int = OK
    state_type: str = HARD
    attempt: int = 1
    hard_state: int = OK
    last_change: float | None = None  # Unix s of the last change of `state`
    last_hard_change: float | None = None  # Unix s of the last change of `hard_state`
    last_check: float | None = None
    history: list[int] = field(default_factory=list)
    flapping: bool = False
    percent_state_change: float = 0.0
    pending_state: int | None = None  # the non-OK state waiting out the hold time
    pending_since: float | None = None  # when the label entered it (Unix s)

    def to_dict(self) -> dict:
        # Not dataclasses.asdict: its recursive deep copy made saving 6000 labels take 150 ms instead of 20.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["history"] = list(self.history)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "LabelState":
        """Parse one persisted label; raises ``ValueError`` on anything malformed so :meth:`StateStore.load`
        can set the whole file aside instead of running on half-understood state."""
        if not isinstance(data, dict):
            raise ValueError(f"label state is {type(data).__name__}, not an object")
        known = {f.name for f in fields(cls)}
        label = cls(**{k: v for k, v in data.items() if k in known})
        _check_state(label.state, "state")
        _check_state(label.hard_state, "hard_state")
        if label.pending_state is not None:
            _check_state(label.pending_state, "pending_state")
        if label.state_type not in (SOFT, HARD):
            raise ValueError(f"state_type {label.state_type!r} is neither SOFT nor HARD")
        if not _is_int(label.attempt) or label.attempt < 1:
            raise ValueError(f"attempt {label.attempt!r} is not an integer >= 1")
        for name in ("last_change", "last_hard_change", "last_check", "pending_since"):
            if getattr(label, name) is not None and not _is_number(getattr(label, name)):
                raise ValueError(f"{name} {getattr(label, name)!r} is not a number")
        if not isinstance(label.history, list):
            raise ValueError("history is not a list")
        for state in label.history:
            _check_state(state, "history entry")
        if not isinstance(label.flapping, bool) or not _is_number(label.percent_state_change):
            raise ValueError("flapping/percent_state_change have the wrong type")
        label.history = label.history[-HISTORY_LENGTH:]
        return label


@dataclass
class CheckState:
    """One check: the state of the check as a whole and of each tag label it currently has, and the log of the
    check's reported-state changes (``changes``, oldest first, at most :data:`CHANGES_LENGTH`)."""

    check: LabelState = field(default_factory=LabelState)
    tags: dict[str, LabelState] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"check": self.check.to_dict(), "tags": {label: s.to_dict() for label, s in self.tags.items()},
                "changes": [dict(c) for c in self.changes]}

    def note_change(self, now: float) -> None:
        """Log the check's reported state if it differs from the last logged one (or nothing is logged yet)."""
        top = self.check
        last = self.changes[-1] if self.changes else None
        if last is not None and (last["state"], last["state_type"]) == (top.state, top.state_type):
            return
        self.changes.append({"time": now, "state": top.state, "state_type": top.state_type})
        del self.changes[:-CHANGES_LENGTH]

    @classmethod
    def from_dict(cls, data: Any) -> "CheckState":
        if not isinstance(data, dict) or not isinstance(data.get("tags", {}), dict):
            raise ValueError("check entry is not an object with 'check' and 'tags'")
        tags = {}
        for label, entry in data.get("tags", {}).items():
            tags[label] = LabelState.from_dict(entry)
        # Files written before the change log existed have no "changes": they load with an empty log.
        return cls(check=LabelState.from_dict(data.get("check")), tags=tags,
                   changes=_parse_changes(data.get("changes", [])))


def _parse_changes(data: Any) -> list[dict]:
    if not isinstance(data, list):
        raise ValueError("changes is not a list")
    out = []
    for entry in data:
        if not isinstance(entry, dict):
            raise ValueError(f"change entry is {type(entry).__name__}, not an object")
        if not _is_number(entry.get("time")):
            raise ValueError(f"change time {entry.get('time')!r} is not a number")
        _check_state(entry.get("state"), "change state")
        if entry.get("state_type") not in (SOFT, HARD):
            raise ValueError(f"change state_type {entry.get('state_type')!r} is neither SOFT nor HARD")
        out.append({"time": entry["time"], "state": entry["state"], "state_type": entry["state_type"]})
    return out[-CHANGES_LENGTH:]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_state(value: Any, what: str) -> None:
    if not _is_int(value) or value not in _STATES:
        raise ValueError(f"{what} {value!r} is not a Nagios state 0..3")


def _valid_state(state: Any) -> int:
    """Evaluation bugs must not crash the state machine: anything but 0..3 is UNKNOWN, as Nagios treats it."""
    return State.of(state)


# ------------------------------------------------------------------------------------------- the rules


def hysteresis(previous: int, raw: int, value: float | None, policy: Policy) -> int:
    """The raw state after the reset ranges, given the label's previously *reported* state.

    Once CRITICAL, a label stays CRITICAL while its value still violates ``critical_reset`` (even if the
    value is back within ``critical``); once WARNING or CRITICAL, it stays (at least) WARNING while the value
    violates ``warning_reset``.  Without a value (no data) or with NaN there is nothing to compare, so the raw
    state stands.  UNKNOWN is never masked: it says the evaluation itself failed.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return raw
    if previous == CRITICAL and raw in (OK, WARNING) and policy.critical_reset is not None:
        if policy.critical_reset.alerts(value):
            return CRITICAL
    if previous in (WARNING, CRITICAL) and raw == OK and policy.warning_reset is not None:
        if policy.warning_reset.alerts(value):
            return WARNING
    return raw


def hold(label: LabelState, state: int, now: float, seconds: float) -> tuple[int, str]:
    """Apply the hold time; returns the state to feed to the soft/hard machine and a note for the tag text.

    A non-OK state other than the reported one is *pending* until the label has been in such a state for
    ``seconds``, counted from ``pending_since``; meanwhile the reported state is passed on unchanged.  The clock
    keeps running when the pending state itself changes (WARNING then CRITICAL): the label has been in trouble
    all along, and restarting it would let a state that alternates between WARNING and CRITICAL stay hidden
    forever.  It restarts when the label returns to OK or to its reported state.  Recovery to OK is never held:
    a hold time exists to suppress short spikes, not to delay good news.
    """
    if seconds <= 0 or state == OK or state == label.state:
        label.pending_state = label.pending_since = None
        return state, ""
    if label.pending_since is None:
        label.pending_since = now
    label.pending_state = state
    elapsed = max(0.0, now - label.pending_since)
    if elapsed >= seconds:
        label.pending_state = label.pending_since = None
        return state, ""
    return label.state, f" (pending {elapsed:.0f} s of {seconds:g} s)"


def advance(label: LabelState, state: int, now: float, max_attempts: int) -> None:
    """Nagios Core's soft/hard state logic for one check result.

    - OK is always HARD, attempt 1.  From SOFT non-OK that is a *soft recovery* (the hard state was OK all
      along, nothing was notified); from HARD non-OK a *hard recovery*.
    - From OK, a non-OK state starts a SOFT problem at attempt 1 (HARD at once when ``max_attempts`` is 1).
    - In a SOFT problem every further non-OK result, whichever non-OK state, counts one more attempt; reaching
      ``max_attempts`` makes it HARD.  The reported state follows the latest result, as in Nagios.
    - In a HARD problem another non-OK state is a *hard change* straight away, with no soft phase.
    - A HARD non-OK state has ``attempt == max_attempts``, as Nagios shows "3/3 (HARD)".  If ``max_attempts``
      is lowered by a config change, a SOFT problem past the new limit becomes HARD on its next result.
    """
    max_attempts = max(1, int(max_attempts))
    label.last_check = now
    if state == OK:
        _set(label, OK, HARD, 1, now)
        return
    if label.state == OK:
        attempt = 1
    elif label.state_type == SOFT:
        attempt = label.attempt + 1
    else:
        attempt = max_attempts
    attempt = min(attempt, max_attempts)
    _set(label, state, HARD if attempt >= max_attempts else SOFT, attempt, now)


def _set(label: LabelState, state: int, state_type: str, attempt: int, now: float) -> None:
    if state != label.state:
        label.last_change = now
    label.state, label.state_type, label.attempt = state, state_type, attempt
    if state_type == HARD and state != label.hard_state:
        label.hard_state = state
        label.last_hard_change = now


def _weight(position: int) -> float:
    """Weight of transition ``position`` (1 = oldest .. 20 = newest) in Nagios's flap detection."""
    span = HISTORY_LENGTH - 2
    return _LOW_WEIGHT + (position - 1) * (_HIGH_WEIGHT - _LOW_WEIGHT) / span


def percent_state_change(history: Sequence[int]) -> float:
    """Nagios's weighted percent state change over the last :data:`HISTORY_LENGTH` states.

    Each of the 20 transitions that changed state counts with a weight from 0.8 (oldest) to 1.2 (newest); the
    sum over 20 transitions is the percentage (a state that changes on every check scores 100 %).  A shorter
    history (a new label) is aligned with the newest end, as if the oldest known state had lasted before it:
    a label that has just appeared is not called flapping for lack of history.
    """
    states = list(history)[-HISTORY_LENGTH:]
    offset = HISTORY_LENGTH - len(states)
    changes = sum(_weight(offset + i) for i in range(1, len(states)) if states[i] != states[i - 1])
    return changes * 100.0 / (HISTORY_LENGTH - 1)


def record(label: LabelState, state: int, policy: Policy, what: str) -> None:
    """Append ``state`` to the history and update flapping, with Nagios's two thresholds.

    Flapping starts at ``percent >= flap_high`` and stops at ``percent < flap_low``; in between it stays as it
    was, so a label near one threshold does not toggle.  Flapping is only flagged (and logged), never changes
    the reported state.
    """
    label.history = (label.history + [state])[-HISTORY_LENGTH:]
    label.percent_state_change = percent_state_change(label.history)
    if not label.flapping and label.percent_state_change >= policy.flap_high:
        label.flapping = True
        log.info("%s started flapping (%.1f%% state change)", what, label.percent_state_change)
    elif label.flapping and label.percent_state_change < policy.flap_low:
        label.flapping = False
        log.info("%s stopped flapping (%.1f%% state change)", what, label.percent_state_change)


# ------------------------------------------------------------------------------------------------ the store


class StateStore:
    """The reported state of every check, persisted as one JSON file (format :data:`FORMAT_VERSION`).

    File layout: ``{"version": 1, "written": unix, "checks": {name: {"check": {...}, "tags": {label: {...}},
    "changes": [...]}}}`` where each ``{...}`` is a :class:`LabelState` and ``changes`` the check's log of
    reported-state changes (absent in older files of the same version, which load with an empty log).  :meth:`apply` only changes memory; the daemon calls
    :meth:`save` once per evaluation round.  All methods take a lock, so a web thread may call :meth:`snapshot`
    while the evaluation thread applies results.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.path = os.fspath(path) if path is not None else None
        self._checks: dict[str, CheckState] = {}
        # check -> its entry as JSON text, made when the check last changed: a save after each check re-encodes
        # that check alone, not every label of every check (at 200 checks x 100 tags, 170 ms per check)
        self._encoded: dict[str, str] = {}
        self._lock = threading.RLock()

    # --- persistence

    def load(self) -> None:
        """Replace the in-memory state with the file's.  A missing file is an empty store.

        An unreadable, corrupt or foreign file (bad JSON, wrong version, malformed entry) must never keep the
        daemon from starting: it is logged, moved aside to ``<path>.corrupt-<unix>`` for a human to look at,
        and the store starts empty (every label HARD OK, so the next results re-alert real problems once).
        """
        with self._lock:
            self._checks, self._encoded = {}, {}
            if self.path is None:
                return
            try:
                with open(self.path, "rb") as handle:
                    raw = handle.read()
            except FileNotFoundError:
                return
            except OSError as exc:
                self._set_aside(f"cannot read it ({exc})")
                return
            try:
                self._checks = _parse(raw)
            except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                self._set_aside(str(exc))

    def _set_aside(self, reason: str) -> None:
        assert self.path is not None
        target = f"{self.path}.corrupt-{int(time.time())}"
        n = 1
        while os.path.exists(target):
            target = f"{self.path}.corrupt-{int(time.time())}-{n}"
            n += 1
        try:
            os.replace(self.path, target)
        except OSError as exc:
            log.warning("state file %s is unusable (%s) and could not be moved aside (%s); starting with empty "
                        "state, the next save will overwrite it", self.path, reason, exc)
            return
        log.warning("state file %s is unusable (%s); moved it to %s and starting with empty state",
                    self.path, reason, target)

    def save(self) -> None:
        """Write the state atomically: a kill at any moment leaves either the old or the new complete file.

        The data goes to a temporary file in the same directory (same file system, so the rename is atomic),
        is flushed and fsync'ed, then renamed over the old file with ``os.replace``; finally the directory is
        fsync'ed so that the rename itself survives a power cut.  Errors (disk full, permissions) propagate:
        the caller decides whether to log and carry on; the old file is left intact.  A kill between creating
        and renaming the temporary file leaves it behind (``.<name>.*.tmp``); it is harmless.
        """
        if self.path is None:
            return
        with self._lock:
            entries = []
            for name, state in self._checks.items():
                text = self._encoded.get(name)
                if text is None:
                    text = self._encoded[name] = json.dumps(state.to_dict(), separators=(",", ":"), allow_nan=False)
                entries.append(f"{json.dumps(name)}:{text}")
            # the same document as json.dumps({"version", "written", "checks"}) would write
            data = (f'{{"version":{json.dumps(FORMAT_VERSION)},"written":{json.dumps(time.time())},'
                    f'"checks":{{{",".join(entries)}}}}}').encode()
            write_atomic(self.path, data)

    # --- the state machine

    def apply(self, check: str, result: Result, policy: Policy) -> CheckStatus:
        """Run one Result through hysteresis, hold time, soft/hard and flap detection; return the reported status.

        - Tags: each ``TagResult`` updates its label's state.  Labels that the result no longer has are dropped
          (the tag value went away).  A result *without* tags (backend down, query failed, no data) says
          nothing about the individual tags, so their states are kept untouched, neither forgotten nor
          recovered; only the check level moves.
        - The check level's raw state is the worst of the tags' states after hysteresis and hold (or
          ``result.state`` without tags), then the same soft/hard machine.
        - ``changes`` has one :class:`StateChange` per label whose reported state or state type changed, tags
          first, the check (label "") last.  A tag whose label is "" (a check that is not per tag) mirrors the
          check level, so only the check level's change is listed, to avoid logging every change twice.
        """
        now = _timestamp(result)
        with self._lock:
            state = self._checks.setdefault(check, CheckState())
            self._encoded.pop(check, None)
            changes: list[StateChange] = []
            tags: list[TagResult] = []
            effective: list[int] = []
            for tag in result.tags:
                reported, held, change = self._apply_tag(check, state, tag, now, policy)
                tags.append(reported)
                effective.append(held)
                if change is not None and tag.label != "":
                    changes.append(change)
            if result.tags:
                seen = {tag.label for tag in result.tags}
                for label in [label for label in state.tags if label not in seen]:
                    del state.tags[label]
            raw = worst(effective) if result.tags else _valid_state(result.state)
            top = state.check
            before = (top.state, top.state_type)
            record(top, raw, policy, check)
            advance(top, raw, now, policy.max_attempts)
            state.note_change(now)
            change = _change(check, "", before, top, now)
            if change is not None:
                changes.append(change)
            return CheckStatus(
                result=result.replace(state=top.state, tags=tags, perfdata=list(result.perfdata)),
                raw_state=result.state,
                state_type=top.state_type,
                attempt=top.attempt,
                max_attempts=policy.max_attempts,
                last_change=top.last_change,
                last_hard_change=top.last_hard_change,
                flapping=top.flapping,
                percent_state_change=top.percent_state_change,
                changes=changes,
            )

    @staticmethod
    def _apply_tag(check: str, state: CheckState, tag: TagResult, now: float,
                   policy: Policy) -> tuple[TagResult, int, StateChange | None]:
        """One tag through the pipeline; returns the reported TagResult, its state after hold, and its change."""
        label = state.tags.setdefault(tag.label, LabelState())
        before = (label.state, label.state_type)
        raw = hysteresis(label.state, _valid_state(tag.state), tag.value, policy)
        record(label, raw, policy, f"{check}[{tag.label}]")
        held, note = hold(label, raw, now, policy.hold)
        advance(label, held, now, policy.max_attempts)
        reported = tag.replace(state=label.state, text=tag.text + note)
        return reported, held, _change(check, tag.label, before, label, now)

    # --- housekeeping and queries

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the state of every check not in ``keep`` (checks removed from the config)."""
        keep = set(keep)
        with self._lock:
            for name in [name for name in self._checks if name not in keep]:
                del self._checks[name]
                self._encoded.pop(name, None)

    def snapshot(self, check: str) -> dict | None:
        """A copy of one check's persisted dict without its change log (``{"check": {...}, "tags": {...}}``; see
        :meth:`history`), or None if unknown."""
        with self._lock:
            state = self._checks.get(check)
            if state is None:
                return None
            data = state.to_dict()
            del data["changes"]
            return copy.deepcopy(data)

    def history(self, check: str) -> list[dict]:
        """A copy of the check's reported-state changes, oldest first: ``[{"time": unix, "state": 0..3,
        "state_type": "SOFT"|"HARD"}]``, starting with the first state reported; empty for an unknown check."""
        with self._lock:
            state = self._checks.get(check)
            return [dict(c) for c in state.changes] if state is not None else []

    def steady(self, check: str) -> dict[str | None, int] | None:
        """``{label: state}`` (key None: the check as a whole) when every label of ``check`` is at rest: HARD,
        nothing pending, not flapping. Applying a Result whose raw states are exactly these then changes no
        reported state: hysteresis passes a raw state equal to the reported one, the hold and soft/hard machines
        stay put, and a repeated state adds no transition to the flap history, so flapping cannot start. Only the
        flap history grows, which :meth:`rest` does in one call. That is why a replay over the past may skip such
        evaluations (:mod:`scald_monitor.backtest`). None otherwise, and for an unknown check."""
        with self._lock:
            state = self._checks.get(check)
            if state is None:
                return None
            out: dict[str | None, int] = {}
            for label, entry in [(None, state.check), *state.tags.items()]:
                if not _at_rest(entry):
                    return None
                out[label] = entry.state
            return out

    def rest(self, check: str, results: int, with_tags: int, now: float, policy: Policy) -> None:
        """What applying ``results`` Results that repeat the states :meth:`steady` gives does: each label's flap
        history takes the repeated state (the check level ``results`` times, the tags ``with_tags`` times: a Result
        without tags leaves them untouched), through :func:`record` as :meth:`apply` would."""
        with self._lock:
            state = self._checks.get(check)
            if state is None:
                return
            self._encoded.pop(check, None)
            for label, entry, times in [(check, state.check, results),
                                        *((f"{check}[{lb}]", e, with_tags) for lb, e in state.tags.items())]:
                for _ in range(min(times, HISTORY_LENGTH)):
                    record(entry, entry.state, policy, label)
                if times:
                    entry.last_check = now

    def label_states(self, check: str) -> dict[str, tuple[int, bool, float | None]]:
        """``{label: (hard state, flapping, last hard change)}`` of the check as a whole (label "") and of each of
        its tag labels: what acknowledgements and notifications are decided from (:mod:`.lifecycle.alerting`)."""
        with self._lock:
            state = self._checks.get(check)
            if state is None:
                return {}
            out = {label: (s.hard_state, s.flapping, s.last_hard_change) for label, s in state.tags.items() if label}
            top = state.check
            out[""] = (top.hard_state, top.flapping, top.last_hard_change)
            return out

    def checks(self) -> list[str]:
        """Names of the checks that have state."""
        with self._lock:
            return sorted(self._checks)


def _at_rest(label: LabelState) -> bool:
    """See :meth:`StateStore.steady`."""
    return label.state_type == HARD and label.pending_state is None and not label.flapping


def _timestamp(result: Result) -> float:
    """``result.time``, or now if it is not a finite number: a NaN would make every later save fail."""
    try:
        now = float(result.time)
    except (TypeError, ValueError):
        now = math.nan
    if math.isfinite(now):
        return now
    log.warning("check %s: result time %r is not a number; using the current time", result.check, result.time)
    return time.time()


def _change(check: str, label: str, before: tuple[int, str], after: LabelState, now: float) -> StateChange | None:
    if before == (after.state, after.state_type):
        return None
    return StateChange(check=check, label=label, old=before[0], new=after.state, state_type=after.state_type,
                       time=now)


def _parse(raw: bytes) -> dict[str, CheckState]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("top level is not a JSON object")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"format version {data.get('version')!r}, expected {FORMAT_VERSION}")
    checks = data.get("checks")
    if not isinstance(checks, dict):
        raise ValueError("'checks' is not an object")
    parsed = {}
    for name, entry in checks.items():
        try:
            parsed[name] = CheckState.from_dict(entry)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"check {name!r}: {exc}") from None
    return parsed


