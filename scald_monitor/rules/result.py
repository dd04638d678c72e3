"""What a check produces: a state, a one-line summary, long text and performance data, in Nagios's formats.

Stdlib only, and records rather than dataclasses (see :mod:`scald_monitor.records`): the plugin formats results
with this module and must start fast.
"""
from __future__ import annotations

from enum import IntEnum

from ..records import FrozenRecord, Record
from .perfdata import MARKUP, format_perf


def plain_text(text: str) -> str:
    """``text`` for a monitoring page: markup removed, '|' (it starts Nagios's perfdata) as '/', one line."""
    return " ".join(MARKUP.sub("", text).replace("|", "/").split())

TYPE_CHECKING = False  # not ``from typing import ...``: the plugin imports this module
if TYPE_CHECKING:
    from collections.abc import Iterable


class State(IntEnum):
    """A Nagios state; the value is the plugin's exit code and the status JSON's ``num_status``.

    An ``IntEnum`` so that states compare, serialise (``json`` writes ``2``) and format (``f"{s}"`` is ``2``) as the
    integers every file, API and exit code already carries; ``enum`` costs the plugin nothing (``re`` imports it).
    """

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    # As Python 3.11's ReprEnum: str() and format() are the integer's on every supported Python (3.10's IntEnum
    # printed "State.OK"), so writing a state into a command file or a message never changes with the version.
    __str__ = int.__repr__
    __format__ = int.__format__

    @classmethod
    def of(cls, value: object) -> State:
        """The state an integer 0..3 names; anything else (7, True, "2", None) is UNKNOWN, as Nagios treats an
        exit code it does not know."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
            return cls(value)
        return cls.UNKNOWN

    @property
    def severity(self) -> int:
        """Rank in :data:`BY_SEVERITY`: larger is worse."""
        return _SEVERITY[self]


OK, WARNING, CRITICAL, UNKNOWN = State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN
STATE_NAMES = tuple(s.name for s in State)
#: The one "worst of" order, best first: CRITICAL > UNKNOWN > WARNING > OK, as Icinga 2 and Icinga Web rank a host's
#: services. UNKNOWN ranks above WARNING because not being able to look (backend down, query failing, no data) hides
#: whatever the real state is, possibly CRITICAL, whereas a WARNING is a known, bounded problem. Every consumer uses
#: this order: the rules' worst of tags, long text order, the state machine, the API and (handed over by the server
#: in the page context) the dashboard.
BY_SEVERITY = (OK, WARNING, UNKNOWN, CRITICAL)
_SEVERITY = {state: rank for rank, state in enumerate(BY_SEVERITY)}


def state_name(state: int) -> str:
    """``"CRITICAL"`` for 2; anything but 0..3 is ``"UNKNOWN"``."""
    return State.of(state).name


def worst(states: Iterable[int]) -> State:
    """The state that describes several, by :data:`BY_SEVERITY` (OK when there are none; invalid ones count as
    UNKNOWN)."""
    return max((State.of(s) for s in states), key=_SEVERITY.__getitem__, default=OK)


def severity(state: int) -> int:
    """Sort key by :data:`BY_SEVERITY`: larger is worse (an invalid state ranks as UNKNOWN)."""
    return _SEVERITY[State.of(state)]


def state_table() -> list[dict]:
    """The states for a client that must not keep its own table (the dashboard): ``[{"state": 0, "name": "OK",
    "severity": 0}, ...]`` by state number, ``severity`` ranking them as :func:`worst` does."""
    return [{"state": int(s), "name": s.name, "severity": _SEVERITY[s]} for s in State]


class Perf(FrozenRecord):
    """One performance datum, printed as ``'label'=value[UOM];warn;crit;min;max``."""

    _fields = ("label", "value", "uom", "warn", "crit", "min", "max")
    label: str
    value: float | None
    uom: str
    warn: str
    crit: str
    min: float | None
    max: float | None

    def __init__(self, label: str, value: float | None, uom: str = "", warn: str = "", crit: str = "",
                 min: float | None = None, max: float | None = None) -> None:  # noqa: A002 - perfdata's names
        self._init(label=label, value=value, uom=uom, warn=warn, crit=crit, min=min, max=max)

    def __str__(self) -> str:
        return format_perf(self.label, self.value, self.uom, self.warn, self.crit, self.min, self.max)


class TagResult(Record):
    """The outcome for one tag value (or for the whole series when the check is not per tag)."""

    _fields = ("label", "state", "value", "text")

    def __init__(self, label: str, state: int, value: float | None, text: str) -> None:
        self.label = label  # e.g. "job=0001"; "" when the check has no tags or is reduced across them
        self.state = state
        self.value = value
        self.text = text  # one line, e.g. "job=0001 max=23.1 s is above 20"


class Result(Record):
    """A check's outcome. ``time`` is when it was evaluated (Unix seconds)."""

    _fields = ("check", "state", "summary", "time", "tags", "perfdata", "notes", "source")

    def __init__(self, check: str, state: int, summary: str, time: float, tags: list[TagResult] | None = None,
                 perfdata: list[Perf] | None = None, notes: list[str] | None = None, source: str = "") -> None:
        self.check = check
        self.state = state
        self.summary = summary
        self.time = time
        self.tags: list[TagResult] = [] if tags is None else tags
        self.perfdata: list[Perf] = [] if perfdata is None else perfdata
        # Lines that explain the answer without being a problem: the level read, tag values that were not
        # checked (unexpected) or no longer are (forgotten). They follow the problem lines in the long text.
        self.notes: list[str] = [] if notes is None else notes
        self.source = source  # what was read, e.g. "raw points" or "1 s max buckets"; "" when nothing was

    @property
    def long_text(self) -> list[str]:
        """One line per non-OK tag value, worst first, then the notes."""
        bad = [t for t in self.tags if t.state != OK]
        bad.sort(key=lambda t: (-severity(t.state), t.label))
        lines = [f"{state_name(t.state)}: {t.text}" for t in bad] + list(self.notes)
        return [plain_text(line) for line in lines]

    @property
    def state_name(self) -> str:
        return state_name(self.state)

    def first_line(self) -> str:
        """``SCALD <CHECK> <STATE> - summary``, without performance data."""
        return f"SCALD {self.check.upper()} {self.state_name} - {plain_text(self.summary)}"

    def perf_text(self) -> str:
        return " ".join(str(p) for p in self.perfdata)

    def plugin_output(self) -> str:
        """The whole plugin output: first line with perfdata, then the long text lines."""
        head = self.first_line()
        perf = self.perf_text()
        lines = [f"{head} | {perf}" if perf else head]
        lines.extend(self.long_text)
        return "\n".join(lines)


class StateChange(FrozenRecord):
    """One state change, logged as one line by the daemon. ``label`` is "" for the check as a whole."""

    _fields = ("check", "label", "old", "new", "state_type", "time")
    check: str
    label: str
    old: int
    new: int
    state_type: str  # "SOFT" or "HARD"
    time: float  # Unix seconds

    def __init__(self, check: str, label: str, old: int, new: int, state_type: str, time: float) -> None:
        self._init(check=check, label=label, old=old, new=new, state_type=state_type, time=time)

    def __str__(self) -> str:
        what = f"{self.check}[{self.label}]" if self.label else self.check
        return f"{what}: {state_name(self.old)} -> {state_name(self.new)} ({self.state_type})"


class CheckStatus(Record):
    """A Result after the state machine: states as reported, plus Nagios's bookkeeping for the outputs.

    ``result.state`` and each ``result.tags[i].state`` are the *reported* states (hysteresis, hold time and
    soft/hard applied); ``raw_state`` is what the evaluation alone said.
    """

    _fields = ("result", "raw_state", "state_type", "attempt", "max_attempts", "last_change", "last_hard_change",
               "flapping", "percent_state_change", "changes")

    def __init__(self, result: Result, raw_state: int, state_type: str = "HARD", attempt: int = 1,
                 max_attempts: int = 1, last_change: float | None = None, last_hard_change: float | None = None,
                 flapping: bool = False, percent_state_change: float = 0.0,
                 changes: list[StateChange] | None = None) -> None:
        self.result = result
        self.raw_state = raw_state
        self.state_type = state_type
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.last_change = last_change  # Unix seconds of the last change of the reported state
        self.last_hard_change = last_hard_change
        self.flapping = flapping
        self.percent_state_change = percent_state_change
        self.changes: list[StateChange] = [] if changes is None else changes
