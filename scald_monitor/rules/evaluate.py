"""Evaluate one configured check against a store: threshold and heartbeat rules, with Nagios semantics.

A check never reports OK when it could not look: a backend that cannot be read, a failed query or a value that
cannot be compared gives UNKNOWN with the reason. Tag values are read in one query for all of them.
"""
from __future__ import annotations

import math
import time as _time

from ..io.levels import (FINEST_FIRST, aggregates_to_try, levels_from, read_newest, read_newest_by_tag,
                         reduce_window, reduce_window_by_tag)
from ..io.store import pick_level
from ..records import FrozenRecord
from ..timeutil import unix_to_gps
from .ranges import Range, parse_range
from .result import BY_SEVERITY, CRITICAL, OK, UNKNOWN, WARNING, Perf, Result, TagResult, state_name, worst

TYPE_CHECKING = False  # no ``typing``, ``statistics`` or ``dataclasses`` at run time: check_scald imports this
if TYPE_CHECKING:
    from typing import Any, Sequence

    from ..config import Check

#: Look-backs up to this many seconds read the finest level holding data (raw points first: exact for every
#: aggregate); longer ones start at the stored level that gives a few thousand points over the window (a median is
#: then a median of bucket medians).
RAW_LOOKBACK = 3600.0
#: At most this many tag values are named in one note (unexpected, forgotten); the rest are counted.
NAMED_IN_NOTE = 10
#: Units Nagios graphers understand in perfdata; others (Mpc, Hz...) stay in the text only.
NAGIOS_UOM = {"s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"}


class Limits(FrozenRecord):
    """The warning and critical ranges of a check."""

    _fields = ("warning", "critical")
    warning: Range | None
    critical: Range | None

    def __init__(self, warning: Range | None, critical: Range | None) -> None:
        self._init(warning=warning, critical=critical)

    @classmethod
    def from_check(cls, check: Check) -> "Limits":
        """Threshold checks carry Nagios ranges; heartbeat limits are ages, i.e. the range ``~:AGE``."""
        def rng(value: Any) -> Range | None:
            if value is None:
                return None
            return parse_range(f"~:{value}" if check.type == "heartbeat" else value)
        return cls(rng(check.warning), rng(check.critical))

    def state(self, value: float) -> int:
        """Critical is tested before warning; an unset range checks nothing."""
        if self.critical is not None and self.critical.alerts(value):
            return CRITICAL
        if self.warning is not None and self.warning.alerts(value):
            return WARNING
        return OK

    def perf_text(self, which: str, heartbeat: bool) -> str:
        rng = getattr(self, which)
        if rng is None:
            return ""
        return f"{rng.end:g}" if heartbeat else rng.text


def _fmt(value: float, units: str) -> str:
    return f"{value:.4g}" + (f" {units}" if units else "")


def _label(tag_names: Sequence[str], values: Sequence[str]) -> str:
    return ",".join(f"{k}={v}" for k, v in zip(tag_names, values))


class TagScope(FrozenRecord):
    """Which tag values a per-tag check evaluates and counts.

    With expected values (the check's ``tags:``, or the schema's ligo-scald forms), exactly those: others are
    named once as unexpected and never raise the state, and an expected value that sent nothing is CRITICAL.
    Without, whatever sent data (a heartbeat: within ``forget_after`` seconds).
    """

    _fields = ("index", "key", "expected")
    index: int | None
    key: str | None
    expected: tuple[str, ...] | None

    def __init__(self, index: int | None, key: str | None, expected: tuple[str, ...] | None) -> None:
        self._init(index=index, key=key, expected=expected)

    @classmethod
    def of(cls, check: Check, spec: Any) -> "TagScope":
        tag_key = spec.tag_key
        if not check.per_tag or not tag_key or tag_key not in spec.tags:  # across tags: no per-tag view
            return cls(None, None, None)
        return cls(list(spec.tags).index(tag_key), tag_key, check.tags or None)

    def split(self, keys: Sequence[tuple[str, ...]]) -> tuple[list[tuple[str, ...]], list[str]]:
        """(series keys to evaluate, unexpected values of the tag key, sorted)."""
        if self.expected is None or self.index is None:
            return list(keys), []
        wanted = set(self.expected)
        keep = [k for k in keys if k[self.index] in wanted]
        unexpected = sorted({k[self.index] for k in keys if k[self.index] not in wanted})
        return keep, unexpected

    def missing(self, keys: Sequence[tuple[str, ...]]) -> list[str]:
        """Expected values for which no series sent anything."""
        if self.expected is None or self.index is None:
            return []
        present = {k[self.index] for k in keys}
        return [v for v in self.expected if v not in present]


def _named(values: Sequence[str], limit: int = NAMED_IN_NOTE) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _unexpected_note(scope: TagScope, values: Sequence[str]) -> list[str]:
    if not values:
        return []
    return [f"unexpected {scope.key} values (not in the expected list, not checked): {_named(values)}"]


def _source_note(source: Any, heartbeat: bool) -> list[str]:
    """Say what a result is based on when it is not the raw points (the data were written without them)."""
    if source is None or source.raw:
        return []
    if heartbeat:
        return [f"ages from {source}: measured from a bucket's start, up to {source.level} s more than the newest "
                "point's"]
    return [f"values from {source} (no raw points stored for this window)"]


def evaluate(check: Check, spec: Any, store: Any, now: float | None = None, as_of: bool = False) -> Result:
    """Run one check; ``spec`` is its SchemaSpec, ``store`` an open Consumer/Aggregator, ``now`` Unix seconds.

    ``as_of`` reads the store as it was at ``now``: a heartbeat sees no point stamped later (thresholds read the
    window ending at ``now`` anyway). A replay of the past (``scald-monitor backtest``) needs it; live checks keep the
    default, where a writer whose clock runs a little ahead still counts as alive.
    """
    now = _time.time() if now is None else now
    name = check.name
    try:
        limits = Limits.from_check(check)
        if check.type == "heartbeat":
            return _heartbeat(check, spec, store, now, limits, as_of)
        return _threshold(check, spec, store, now, limits)
    except Exception as exc:  # noqa: BLE001 - any failure to look is UNKNOWN, never OK, never a crash
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Result(name, UNKNOWN, f"cannot evaluate: {reason}", now)


def _one_series(check: Check, spec: Any) -> tuple[tuple[str, ...], dict] | None:
    """A check restricted to one tag combination (its ``tag_filter``, as check_scald --tag gives)."""
    if not check.tag_filter:
        return None
    wanted = dict(check.tag_filter)
    return tuple(str(wanted[t]) for t in spec.tags), wanted


def _no_data(exc: Exception) -> bool:
    from ..io.errors import UnknownMeasurementError

    return isinstance(exc, UnknownMeasurementError)


def threshold_plan(check: Check, spec: Any, end: float) -> tuple[float, tuple[int, ...], tuple[str, ...]]:
    """``(window start, levels in the order asked, stored aggregates in the order asked)`` of a threshold check
    whose window ends at ``end`` (GPS): what :func:`evaluate` reads, told to a replay that reads ahead."""
    aggregate, lookback = check.aggregate, float(check.lookback)
    start = end - lookback
    long_window = lookback > RAW_LOOKBACK and aggregate != "latest"  # the latest value is a raw point's
    levels = levels_from(pick_level(start, end, None)) if long_window else FINEST_FIRST
    aggregates = aggregates_to_try(None if aggregate == "latest" else aggregate, spec.aggregate,
                                   any_aggregate=aggregate == "latest")
    return start, levels, aggregates


def _threshold(check: Check, spec: Any, store: Any, now: float, limits: Limits) -> Result:
    name, column, aggregate = check.name, check.column, check.aggregate
    lookback, units = float(check.lookback), check.units
    end = unix_to_gps(now)
    start, levels, aggregates = threshold_plan(check, spec, end)
    scope = TagScope.of(check, spec)
    try:
        one = _one_series(check, spec)
        if scope.index is not None and one is None:
            source, reduced = reduce_window_by_tag(store, spec.measurement, start, end, column, aggregate,
                                                   aggregates, levels)
        else:
            key, tags = one or ((), None)
            source, value = reduce_window(store, spec.measurement, start, end, column, aggregate, tags, aggregates,
                                          levels)
            reduced = {key: value} if value is not None else {}
    except Exception as exc:  # noqa: BLE001
        if not _no_data(exc):
            raise
        source, reduced = None, {}
    keys, unexpected = scope.split(sorted(reduced))
    tags: list[TagResult] = []
    perf: list[Perf] = []
    uom = units if units in NAGIOS_UOM else ""
    for values_key in keys:
        value = reduced[values_key]
        label = _label(spec.tags, values_key)
        state = limits.state(value)
        why = ""
        if state == CRITICAL:
            why = f" (critical {limits.critical.text})"
        elif state == WARNING:
            why = f" (warning {limits.warning.text})"
        text = f"{label + ' ' if label else ''}{aggregate} {column}={_fmt(value, units)}{why}"
        tags.append(TagResult(label, state, value, text))
        perf.append(Perf(label or f"{aggregate}_{column}", value, uom, limits.perf_text("warning", False),
                         limits.perf_text("critical", False)))
    for missing in scope.missing(keys):
        label = f"{scope.key}={missing}"
        tags.append(TagResult(label, CRITICAL, None, f"{label} sent no data in the last {lookback:g} s"))
    notes = _unexpected_note(scope, unexpected) + _source_note(source, heartbeat=False)
    where = str(source) if source is not None else ""
    if not tags:
        return Result(name, UNKNOWN, f"no data for {spec.measurement} in the last {lookback:g} s", now, [], perf,
                      notes, where)
    state = worst(t.state for t in tags)
    summary = _summary(tags, state, f"{aggregate} {column} over {lookback:g} s", units, scope.key or spec.tag_key)
    return Result(name, state, summary, now, tags, perf, notes, where)


def _heartbeat(check: Check, spec: Any, store: Any, now: float, limits: Limits, as_of: bool = False) -> Result:
    name, column = check.name, check.column
    lookback = float(check.lookback)
    forget_after = float(check.forget_after)
    now_gps = unix_to_gps(now)
    before = now_gps if as_of else None
    aggregates = aggregates_to_try(spec.aggregate, None, any_aggregate=True)
    scope = TagScope.of(check, spec)
    try:
        one = _one_series(check, spec)
        if scope.index is not None and one is None:
            latest = read_newest_by_tag(store, spec.measurement, column, aggregates, before)
        else:
            key, tags = one or ((), None)
            hit = read_newest(store, spec.measurement, column, tags, aggregates, before)
            latest = {key: hit} if hit is not None else {}
    except Exception as exc:  # noqa: BLE001
        if not _no_data(exc):
            raise
        latest = {}
    keys, unexpected = scope.split(sorted(latest))
    forgotten = []
    if scope.index is not None and scope.expected is None:  # no list: what sent anything within forget_after
        forgotten = [k for k in keys if now_gps - latest[k][0] > forget_after]
        keys = [k for k in keys if k not in forgotten]
    tags: list[TagResult] = []
    perf: list[Perf] = []
    for values_key in keys:
        t, _, _ = latest[values_key]
        label = _label(spec.tags, values_key)
        age = max(now_gps - t, 0.0)
        who = f"{label} " if label else ""
        if age > lookback:
            tags.append(TagResult(label, CRITICAL, age, f"{who}sent no data in the last {lookback:g} s "
                                                        f"(newest point {age:.0f} s ago)"))
        else:
            state = limits.state(age)
            tags.append(TagResult(label, state, age, f"{who}newest point {age:.1f} s ago"))
        perf.append(Perf(f"{label}_age" if label else "age", round(age, 3), "s",
                         limits.perf_text("warning", True), limits.perf_text("critical", True), 0))
    for missing in scope.missing(keys):
        label = f"{scope.key}={missing}"
        tags.append(TagResult(label, CRITICAL, None, f"{label} never sent data"))
    sources = [latest[k][2] for k in keys]
    coarsest = max(sources, key=lambda s: s.level) if sources else None
    notes = _unexpected_note(scope, unexpected) + _source_note(coarsest, heartbeat=True)
    if forgotten:
        labels = [f"{_label(spec.tags, k)} ({(now_gps - latest[k][0]) / 86400:.1f} d ago)" for k in forgotten]
        notes.append(f"dropped, no data for more than forget_after={forget_after:g} s: {_named(labels)}")
    where = ", ".join(sorted({str(s) for s in sources}))
    if not tags:
        return Result(name, CRITICAL, f"no data for {spec.measurement} in the last "
                      f"{(forget_after if forgotten else lookback):g} s", now, tags, perf, notes, where)
    state = worst(t.state for t in tags)
    summary = _summary(tags, state, "age of the newest point", "s", scope.key or spec.tag_key)
    return Result(name, state, summary, now, tags, perf, notes, where)


def _summary(tags: list[TagResult], state: int, what: str, units: str, tag_key: str | None) -> str:
    """One line: how many tag values are in which state, and the worst ones by name."""
    if len(tags) == 1:
        return tags[0].text
    if not tags:
        return what
    counts = {s: sum(1 for t in tags if t.state == s) for s in reversed(BY_SEVERITY) if s != OK}  # worst first
    noun = tag_key or "series"
    if state == OK:
        values = [t.value for t in tags if t.value is not None and not math.isnan(t.value)]
        span = f" ({_fmt(min(values), units)} to {_fmt(max(values), units)})" if values else ""
        return f"{len(tags)} {noun} OK, {what}{span}"
    parts = [f"{n} {state_name(s)}" for s, n in counts.items() if n]
    bad = [t.label for t in tags if t.state == state][:5]
    more = "" if counts[state] <= 5 else ", ..."
    return f"{', '.join(parts)} of {len(tags)} {noun}: {', '.join(bad)}{more}"
