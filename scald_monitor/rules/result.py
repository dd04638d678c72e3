"""What a check produces: a state, a one-line summary, long text and performance data, in Nagios's formats.

Stdlib only, and records rather than dataclasses (see :mod:`scald_monitor.records`): the plugin formats results
with this module and must start fast.
"""
from __future__ import annotations

from ..records import FrozenRecord, Record
from .perfdata import format_perf

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
# "Worst of" several states, as Nagios shows a service with several problems: CRITICAL > WARNING > UNKNOWN > OK.
_SEVERITY = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}


def state_name(state: int) -> str:
    return STATE_NAMES[state] if 0 <= state <= 3 else "UNKNOWN"


def worst(states) -> int:
    """The state that describes several: CRITICAL over WARNING over UNKNOWN over OK (OK when there are none)."""
    return max(states, key=_SEVERITY.__getitem__, default=OK)


def severity(state: int) -> int:
    """Sort key: larger is worse."""
    return _SEVERITY[state]


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
        return [line.replace("|", "/") for line in lines]

    @property
    def state_name(self) -> str:
        return state_name(self.state)

    def first_line(self) -> str:
        """``SCALD <CHECK> <STATE> - summary``, without performance data."""
        summary = self.summary.replace("|", "/").replace("\n", " ")  # '|' would start Nagios's perfdata
        return f"SCALD {self.check.upper()} {self.state_name} - {summary}"

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
