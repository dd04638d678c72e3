"""Evaluate one configured check against a store: threshold and heartbeat rules, with Nagios semantics.

A check never reports OK when it could not look: a backend that cannot be read, a failed query or a value that
cannot be compared gives UNKNOWN with the reason. Tag values are read in one query for all of them.
"""
from __future__ import annotations

import math
import time as _time

from ..records import FrozenRecord
from ..timeutil import unix_to_gps
from .ranges import Range, parse_range
from .result import CRITICAL, OK, UNKNOWN, WARNING, Perf, Result, TagResult, state_name, worst

TYPE_CHECKING = False  # no ``typing``, ``statistics`` or ``dataclasses`` at run time: check_scald imports this
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

#: Look-backs up to this many seconds read the raw points (exact for every aggregate); longer ones read the
#: stored aggregates at the store's default resolution (a median is then a median of bucket medians).
RAW_LOOKBACK = 3600.0
#: Units Nagios graphers understand in perfdata; others (Mpc, Hz...) stay in the text only.
NAGIOS_UOM = {"s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"}


def _median_high(values: Sequence[float]) -> float:
    """``statistics.median_high`` (a value of the data, never an average), without importing ``statistics``."""
    return sorted(values)[len(values) // 2]


_REDUCE: dict[str, Callable[[Sequence[float]], float]] = {
    "max": max, "min": min, "median": _median_high, "latest": lambda values: values[-1],
}


class Limits(FrozenRecord):
    """The warning and critical ranges of a check."""

    _fields = ("warning", "critical")
    warning: Range | None
    critical: Range | None

    def __init__(self, warning: Range | None, critical: Range | None) -> None:
        self._init(warning=warning, critical=critical)

    @classmethod
    def from_check(cls, check: Mapping[str, Any]) -> "Limits":
        """Threshold checks carry Nagios ranges; heartbeat limits are ages, i.e. the range ``~:AGE``."""
        def rng(value: Any) -> Range | None:
            if value is None or value == "":
                return None
            if check.get("type") == "heartbeat":
                return parse_range(f"~:{value}")
            return parse_range(value)
        return cls(rng(check.get("warning")), rng(check.get("critical")))

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


def _expected_missing(check: Mapping[str, Any], tag_key: str | None, tag_names: Sequence[str],
                      seen: Sequence[tuple[str, ...]]) -> list[str]:
    """Expected tag values (of the schema's tag_key) for which no series sent anything."""
    expected = check.get("tags") or []
    if not expected or not tag_key or not check.get("per_tag"):  # a reduction across tags has no per-tag view
        return []
    idx = list(tag_names).index(tag_key)
    present = {values[idx] for values in seen}
    return [v for v in expected if v not in present]


def evaluate(check: Mapping[str, Any], spec: Any, store: Any, now: float | None = None) -> Result:
    """Run one check; ``spec`` is its SchemaSpec, ``store`` an open Consumer/Aggregator, ``now`` Unix seconds."""
    now = _time.time() if now is None else now
    name = check["name"]
    try:
        limits = Limits.from_check(check)
        if check["type"] == "heartbeat":
            return _heartbeat(check, spec, store, now, limits)
        return _threshold(check, spec, store, now, limits)
    except Exception as exc:  # noqa: BLE001 - any failure to look is UNKNOWN, never OK, never a crash
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Result(name, UNKNOWN, f"cannot evaluate: {reason}", now)


def _one_series(check: Mapping[str, Any], spec: Any) -> tuple[tuple[str, ...], dict] | None:
    """A check restricted to one tag combination (``filter: {tag: value}``, as check_scald --tag gives)."""
    wanted = check.get("filter")
    if not wanted:
        return None
    return tuple(str(wanted[t]) for t in spec.tags), dict(wanted)


def _no_data(exc: Exception) -> bool:
    from ..io.errors import UnknownMeasurementError

    return isinstance(exc, UnknownMeasurementError)


def _threshold(check: Mapping[str, Any], spec: Any, store: Any, now: float, limits: Limits) -> Result:
    name, column, aggregate = check["name"], check["column"], check["aggregate"] or "max"
    lookback, units = float(check["lookback"]), check.get("units") or ""
    end = unix_to_gps(now)
    start = end - lookback
    stored_agg = None if aggregate == "latest" or lookback <= RAW_LOOKBACK else aggregate
    try:
        one = _one_series(check, spec)
        if check.get("per_tag") and spec.tags and one is None:
            series = store.retrieve_timeseries_by_tag(spec.measurement, start, end, column, aggregate=stored_agg)
        else:
            key, tags = one or ((), None)
            series = {key: store.retrieve_timeseries(spec.measurement, start, end, column, tags=tags,
                                                     aggregate=stored_agg)}
    except Exception as exc:  # noqa: BLE001
        if not _no_data(exc):
            raise
        series = {}
    series = {tags: tv for tags, tv in series.items() if tv[1]}
    tags: list[TagResult] = []
    perf: list[Perf] = []
    uom = units if units in NAGIOS_UOM else ""
    for values_key, (_, values) in sorted(series.items()):
        label = _label(spec.tags, values_key)
        value = _REDUCE[aggregate](values)
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
    for missing in _expected_missing(check, spec.tag_key, spec.tags, list(series)):
        label = f"{spec.tag_key}={missing}"
        tags.append(TagResult(label, CRITICAL, None, f"{label} sent no data in the last {lookback:g} s"))
    if not tags:
        return Result(name, UNKNOWN, f"no data for {spec.measurement} in the last {lookback:g} s", now, [], perf)
    state = worst(t.state for t in tags)
    summary = _summary(tags, state, f"{aggregate} {column} over {lookback:g} s", units, spec.tag_key)
    return Result(name, state, summary, now, tags, perf)


def _heartbeat(check: Mapping[str, Any], spec: Any, store: Any, now: float, limits: Limits) -> Result:
    name, column = check["name"], check["column"]
    lookback = float(check["lookback"])
    now_gps = unix_to_gps(now)
    try:
        one = _one_series(check, spec)
        if check.get("per_tag") and spec.tags and one is None:
            latest = store.retrieve_latest_by_tag(spec.measurement, column)
        else:
            key, tags = one or ((), None)
            t, v = store.retrieve_latest(spec.measurement, column, tags=tags)
            latest = {key: (t[-1], v[-1])} if t else {}
    except Exception as exc:  # noqa: BLE001
        if not _no_data(exc):
            raise
        latest = {}
    tags: list[TagResult] = []
    perf: list[Perf] = []
    for values_key, (t, _) in sorted(latest.items()):
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
    for missing in _expected_missing(check, spec.tag_key, spec.tags, list(latest)):
        label = f"{spec.tag_key}={missing}"
        tags.append(TagResult(label, CRITICAL, None, f"{label} never sent data"))
    if not tags:
        return Result(name, CRITICAL, f"no data for {spec.measurement} in the last {lookback:g} s", now, tags, perf)
    state = worst(t.state for t in tags)
    summary = _summary(tags, state, "age of the newest point", "s", spec.tag_key)
    return Result(name, state, summary, now, tags, perf)


def _summary(tags: list[TagResult], state: int, what: str, units: str, tag_key: str | None) -> str:
    """One line: how many tag values are in which state, and the worst ones by name."""
    if len(tags) == 1:
        return tags[0].text
    if not tags:
        return what
    counts = {s: sum(1 for t in tags if t.state == s) for s in (CRITICAL, WARNING, UNKNOWN)}
    noun = tag_key or "series"
    if state == OK:
        values = [t.value for t in tags if t.value is not None and not math.isnan(t.value)]
        span = f" ({_fmt(min(values), units)} to {_fmt(max(values), units)})" if values else ""
        return f"{len(tags)} {noun} OK, {what}{span}"
    parts = [f"{n} {state_name(s)}" for s, n in counts.items() if n]
    bad = [t.label for t in tags if t.state == state][:5]
    more = "" if counts[state] <= 5 else ", ..."
    return f"{', '.join(parts)} of {len(tags)} {noun}: {', '.join(bad)}{more}"
