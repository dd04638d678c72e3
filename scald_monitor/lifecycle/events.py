"""Which states notify, and when: Nagios's rules, level-triggered so that restarts and downtimes lose nothing.

The daemon does not hunt for edges. After each evaluation it asks :func:`derive` for the events of every label
(the check as a whole, ``label == ""``, and each tag label) from its *hard* state and its flapping flag, and sends
those that :func:`decide` allows. ``decide`` compares with what was last sent for that label (the Notifier keeps
that on disk, :meth:`~scald_monitor.lifecycle.notifier.Notifier.last_sent`), which gives:

* a **problem** (hard WARNING/CRITICAL/UNKNOWN) notifies when it is new: nothing sent yet, or a different state,
  or a recovery since. A problem that began inside a downtime or while acknowledged therefore notifies when the
  downtime ends or the acknowledgement goes, if it still lasts (Nagios does the same on the next notification).
  Soft states never notify (only the hard state is looked at).
* with ``renotify`` > 0 (seconds; 0 = off, the default), a lasting problem notifies again every ``renotify`` s.
* a **recovery** (hard OK) notifies only if the problem it ends was notified. It is sent even during a downtime
  or an acknowledgement: it closes what was opened (otherwise an Alertmanager alert would stay firing), and an
  acknowledgement ends at OK anyway. This differs from Nagios, which keeps recoveries quiet during downtime.
* **flapping_start** / **flapping_stop** notify when the flag changes, unless acknowledged or in downtime.
* nothing else notifies while acknowledged or in downtime.

Entry points::

    derive(check, label, hard_state, flapping, was_flapping, *, time, summary="", text="", since=None) -> [Event]
    decide(event, downtime_active, acked, last_sent, renotify=0.0, now=None) -> bool
    Event(...).to_dict() / Event.from_dict(d);  Sent(kind, state, time)   (what was last sent for a label)
"""
from __future__ import annotations

from typing import Any, Mapping

from ..timeutil import gps_now

__all__ = ["FLAPPING_START", "FLAPPING_STOP", "KINDS", "PROBLEM", "RECOVERY", "Event", "Sent", "decide", "derive"]

PROBLEM, RECOVERY, FLAPPING_START, FLAPPING_STOP = "problem", "recovery", "flapping_start", "flapping_stop"
KINDS = (PROBLEM, RECOVERY, FLAPPING_START, FLAPPING_STOP)
_STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


class Event:
    """One notification-worthy fact about one label of one check. Times are GPS seconds.

    ``since`` is when the current hard state began (Alertmanager's ``startsAt``; two daemons evaluating the same
    data agree on it closely, and Alertmanager keeps the earliest). ``repeat`` is set on a renotification.
    """

    __slots__ = ("kind", "check", "label", "state", "time", "summary", "text", "since", "flapping", "repeat")

    def __init__(self, kind: str, check: str, label: str, state: int, time: float, summary: str = "",
                 text: str = "", since: float | None = None, flapping: bool = False, repeat: bool = False) -> None:
        if kind not in KINDS:
            raise ValueError(f"event kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind, self.check, self.label, self.state, self.time = kind, check, label, int(state), float(time)
        self.summary, self.text, self.since = summary, text, since
        self.flapping, self.repeat = flapping, repeat

    @property
    def state_name(self) -> str:
        return _STATE_NAMES[self.state] if 0 <= self.state < 4 else str(self.state)

    @property
    def tags(self) -> dict[str, str]:
        from .windows import parse_label

        return parse_label(self.label)

    @property
    def key(self) -> tuple[str, str]:
        return self.check, self.label

    def title(self) -> str:
        """``PROBLEM: range_bns[job=0003] is CRITICAL`` (mail subjects, chat lines, logs)."""
        what = f"{self.check}[{self.label}]" if self.label else self.check
        head = {PROBLEM: "PROBLEM", RECOVERY: "RECOVERY", FLAPPING_START: "FLAPPING START",
                FLAPPING_STOP: "FLAPPING STOP"}[self.kind]
        if self.kind == PROBLEM and self.repeat:
            head = "PROBLEM (repeated)"
        return f"{head}: {what} is {self.state_name}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (webhook body, queue payload): the fields plus ``state_name`` and ``tags``."""
        d = {k: getattr(self, k) for k in self.__slots__}
        d["state_name"] = self.state_name
        d["tags"] = self.tags
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Event":
        return cls(**{k: d[k] for k in cls.__slots__ if k in d})

    def __repr__(self) -> str:
        return f"Event({self.kind}, {self.check!r}, {self.label!r}, {self.state_name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


class Sent:
    """What was last sent for a label: the kind (``problem`` or ``recovery``), the state, and when (GPS)."""

    __slots__ = ("kind", "state", "time")

    def __init__(self, kind: str, state: int, time: float) -> None:
        self.kind, self.state, self.time = kind, int(state), float(time)

    def __repr__(self) -> str:
        return f"Sent({self.kind!r}, {self.state}, {self.time})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sent) and (self.kind, self.state, self.time) == (other.kind, other.state, other.time)

    __hash__ = None  # type: ignore[assignment]


def derive(check: str, label: str, hard_state: int, flapping: bool = False, was_flapping: bool = False, *,
           time: float | None = None, summary: str = "", text: str = "", since: float | None = None) -> list[Event]:
    """The candidate events for one label after an evaluation: ``problem`` (hard state not OK) or ``recovery``
    (hard OK) every time, plus ``flapping_start``/``flapping_stop`` when the flag changed. :func:`decide` then
    drops what is not new, so calling this on every evaluation is what it is for."""
    time = gps_now() if time is None else time
    kind = RECOVERY if hard_state == 0 else PROBLEM
    out = []
    if flapping != was_flapping:
        out.append(Event(FLAPPING_START if flapping else FLAPPING_STOP, check, label, hard_state, time, summary,
                         text, since, flapping))
    out.append(Event(kind, check, label, hard_state, time, summary, text, since, flapping))
    return out


def decide(event: Event, downtime_active: bool, acked: bool, last_sent: Sent | None, renotify: float = 0.0,
           now: float | None = None) -> bool:
    """Should ``event`` be sent? See the module docstring for the rules. Sets ``event.repeat`` when the answer
    is yes because ``renotify`` seconds have passed since the same problem was last sent."""
    if event.kind == RECOVERY:
        return last_sent is not None and last_sent.kind == PROBLEM and last_sent.state != 0
    if downtime_active or acked:
        return False
    if event.kind in (FLAPPING_START, FLAPPING_STOP):
        return True
    if event.state == 0:
        return False
    if last_sent is None or last_sent.kind != PROBLEM or last_sent.state != event.state:
        return True
    if renotify and renotify > 0:
        now = event.time if now is None else now
        if now - last_sent.time >= renotify:
            event.repeat = True
            return True
    return False
