"""``scald-monitor backtest``: replay one check over stored history through the daemon's own rules and state machine.

Why: choosing a threshold is guesswork until one can ask "what would this check have done over the last week?".
We keep every raw point and exact aggregates, so we can answer it with the code that will run live: each step calls
:func:`scald_monitor.rules.evaluate.evaluate` (reading the store *as of* that step: no point stamped later is seen)
and feeds the Result to :meth:`scald_monitor.rules.state.StateStore.apply` with the check's
:class:`~scald_monitor.rules.state.Policy`, exactly as the daemon's Runner does. There is no second copy of the rules.

Speed comes from reading, not from sampling less:

- :class:`HistoryStore` reads each level the evaluation asks for once per slab of steps (hours of them, plus the
  look-back) and answers every step's reads from memory;
- a :class:`_Plan` slides the check's window over those arrays with numpy and predicts, for every step, each tag's raw
  state. Where the state machine is at rest (:meth:`StateStore.steady`) and a step's predicted raw states are those
  it rests in, applying that step's Result would change nothing but the time of the last check, so the step is not
  evaluated. Every other step is evaluated for real, and the prediction is checked against what the evaluation
  said: a disagreement (a case the plan does not model) drops the plan for the rest of the replay, which then
  evaluates every step. The transitions are therefore those of evaluating afresh at every step
  (``tests/test_backtest.py`` compares them with :func:`naive_transitions` on random data).

:func:`run_backtest` returns the ``--format json`` document (DESIGN §7), for the CLI and for an API route alike.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .config import Check, Config, ConfigError, Problem, make_check
from .io.levels import RAW, levels_to_ask
from .io.store import Store
from .rules.evaluate import Limits, TagScope, _label, _one_series, evaluate, threshold_plan
from .rules.result import CRITICAL, OK, WARNING, CheckStatus, Result, state_name, worst
from .rules.state import HARD, SOFT, Policy, StateStore
from .timeutil import gps_now, gps_to_iso, gps_to_unix, iso_to_gps, unix_to_gps

log = logging.getLogger(__name__)

#: Seconds of steps replayed from one read of the store (at least 4 look-backs): bounds memory (a slab of 100 tags
#: at 1 Hz is ~35 MB) while the look-back read twice stays a small part of each slab.
SLAB_SECONDS = 21600.0
#: Codes in a plan's matrix of predicted raw states, beside the states 0..3.
ABSENT, FORCE = 255, 254
#: Units of a duration (``--last 90m``).
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)\s*")
#: Keys whose values are Nagios range texts: ``10:20`` must not become YAML's sexagesimal 620.
_TEXT_KEYS = {"warning", "critical", "warning_reset", "critical_reset"}


class NoDataError(ValueError):
    """The window holds no data for the check: nothing to replay (the CLI exits 3, as the plugin would)."""


# ------------------------------------------------------------------------------------------------- inputs


def parse_duration(text: str) -> float:
    """``90m``, ``7d``, ``3600`` (seconds) → seconds; ValueError naming the text otherwise."""
    match = _DURATION.fullmatch(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90m, 12h, 7d or seconds)")
    return float(match.group(1)) * DURATION_UNITS[match.group(2) or "s"]


def parse_time(text: str) -> float:
    """GPS seconds (``1400000000``) or an ISO 8601 UTC time (``2024-05-01T00:00:00Z``) → GPS seconds."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return iso_to_gps(str(text))
    if not math.isfinite(value):
        raise ValueError(f"not a time: {text!r}")
    return value


def window(start: str | None, end: str | None, last: str | None, now_gps: float | None = None
           ) -> tuple[float, float]:
    """``(start, end)`` GPS from ``--start/--end`` or ``--last`` (ending at ``--end``, else now)."""
    if last is not None:
        if start is not None:
            raise ValueError("give --start/--end or --last, not both")
        stop = parse_time(end) if end is not None else (gps_now() if now_gps is None else now_gps)
        return stop - parse_duration(last), stop
    if start is None or end is None:
        raise ValueError("give --start T --end T, or --last DURATION (e.g. --last 7d)")
    lo, hi = parse_time(start), parse_time(end)
    if hi <= lo:
        raise ValueError(f"--end {end} is not after --start {start}")
    return lo, hi


def parse_settings(pairs: Iterable[str], option: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` texts → ``{key: value}``, values read as YAML scalars/lists (``for=300`` is a number) except
    range texts, which stay text (YAML would read ``10:20`` as 620)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = str(pair).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} {pair!r}: expected KEY=VALUE, e.g. {option} warning=~:12")
        out[key] = _setting_value(key, text.strip(), yaml)
    return out


def _setting_value(key: str, text: str, yaml: Any) -> Any:
    if key in _TEXT_KEYS and ":" in text:
        return _unexpanded(text)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, dict) or (value is None and text not in ("null", "~")):
        return text
    return value


def _unexpanded(text: str) -> str:
    """A range the shell tilde-expanded (``--set warning=~:12`` reaches us as ``/home/me:12`` unless quoted) back
    to ``~:12``: no range starts with a path, so nothing else is changed."""
    import os

    home = os.path.expanduser("~")
    if home not in ("~", "", "/") and text.startswith(home + ":"):
        return "~" + text[len(home):]
    return text


def check_with(cfg: Config, name: str, overrides: Mapping[str, Any] | None = None) -> Check:
    """The check ``name`` with ``overrides`` applied, validated as the configuration file is (same messages: a bad
    value is a :class:`ConfigError` naming ``checks.NAME.KEY``)."""
    if name not in cfg.checks:
        known = ", ".join(sorted(cfg.checks)) or "none"
        raise ConfigError([Problem(cfg.path, None, f"checks.{name}", f"no such check (defined: {known})")])
    check = cfg.checks[name]
    if not overrides:
        return check
    entry = (cfg.raw.get("checks") or {}).get(name) if check.source == "checks" else None
    settings = dict(entry) if isinstance(entry, dict) else _file_keys(check)
    settings.update(overrides)
    try:
        return make_check(name, settings, cfg.schemas.get(check.schema), check.source)
    except ConfigError as exc:
        raise ConfigError([Problem("--set", None, p.path, p.message) for p in exc.problems]) from None


def _file_keys(check: Check) -> dict[str, Any]:
    """A check that came from another section (ligo-scald's ``nagios:``) as the ``checks:`` entry it became."""
    out = check.settings()
    for key in ("source", "stale_state", "tags", "per_tag", "timeout", "expiry"):
        out.pop(key, None)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items() if v is not None}


def step_times(start_gps: float, end_gps: float, interval: float) -> np.ndarray:
    """Unix times the daemon would have evaluated at: every ``interval`` from ``start`` through ``end``."""
    t0, t1 = float(gps_to_unix(start_gps)), float(gps_to_unix(end_gps))
    n = int(math.floor((t1 - t0) / interval + 1e-9)) + 1
    return t0 + interval * np.arange(max(n, 0), dtype=float)


# ----------------------------------------------------------------------------------------------- outcome


@dataclass
class Transition:
    """One reported-state change: of a tag (``tag`` its label) or of the check as a whole (``tag`` None)."""

    time: float  # GPS
    tag: str | None
    old: int
    new: int
    state_type: str
    value: float | None
    summary: str

    def to_json(self) -> dict:
        value = self.value if self.value is None or math.isfinite(self.value) else None
        return {"time": self.time, "tag": self.tag, "from": state_name(self.old), "to": state_name(self.new),
                "state_type": self.state_type, "value": value, "summary": self.summary}


@dataclass
class Replay:
    """What a replay saw: transitions, the check's reported state over time, flapping, and the checked values."""

    check: Check
    start: float
    end: float
    steps: int = 0
    evaluated: int = 0
    transitions: list[Transition] = field(default_factory=list)
    timeline: list[tuple[float, int, str]] = field(default_factory=list)  # (GPS, state, state_type) at each change
    flapping: list[list[float]] = field(default_factory=list)  # [start, end] GPS
    values: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # label -> (GPS, value)
    saw_data: bool = False
    notifications: int = 0
    plan_dropped: str = ""


class _Recorder:
    """Turns each step's CheckStatus into transitions, the timeline, flapping periods and notifications."""

    def __init__(self, replay: Replay, keep_values: bool) -> None:
        self.replay = replay
        self.keep_values = keep_values
        self.top = (OK, HARD)
        self.flapping_since: float | None = None

    def status(self, status: CheckStatus, gps: float) -> None:
        result = status.result
        rep = self.replay
        by_label = {t.label: t for t in result.tags}
        if any(t.value is not None for t in result.tags):
            rep.saw_data = True
        if self.keep_values:
            for t in result.tags:
                if t.value is not None:
                    times, values = rep.values.setdefault(t.label, ([], []))
                    times.append(gps)
                    values.append(float(t.value))
        for change in status.changes:
            tag = by_label.get(change.label)
            if change.label:
                rep.transitions.append(Transition(gps, change.label, int(change.old), int(change.new),
                                                  change.state_type, None if tag is None else tag.value,
                                                  tag.text if tag is not None else result.summary))
                continue
            single = result.tags[0] if len(result.tags) == 1 else None
            rep.transitions.append(Transition(gps, None, int(change.old), int(change.new), change.state_type,
                                              None if single is None else single.value, result.summary))
            old_state, old_type = self.top
            if change.state_type == HARD and not (change.new == OK and old_type == SOFT):
                rep.notifications += 1  # Nagios notifies hard changes; a soft recovery was never notified
            self.top = (int(change.new), change.state_type)
            rep.timeline.append((gps, int(change.new), change.state_type))
        if status.flapping and self.flapping_since is None:
            self.flapping_since = gps
        elif not status.flapping and self.flapping_since is not None:
            rep.flapping.append([self.flapping_since, gps])
            self.flapping_since = None

    def values(self, gps: np.ndarray, labels: Sequence[str], matrix: np.ndarray, rows: np.ndarray) -> None:
        """Checked values of the steps that were not evaluated, from the plan (``rows`` indexes them)."""
        if not self.keep_values or not len(rows):
            return
        for col, label in enumerate(labels):
            v = matrix[rows, col]
            ok = np.isfinite(v)
            if ok.any():
                times, values = self.replay.values.setdefault(label, ([], []))
                times.extend(gps[rows][ok].tolist())
                values.extend(v[ok].tolist())

    def close(self, end: float) -> None:
        if self.flapping_since is not None:
            self.replay.flapping.append([self.flapping_since, end])
        if self.keep_values:
            for label, (times, values) in self.replay.values.items():
                order = np.argsort(times, kind="stable")
                self.replay.values[label] = (np.asarray(times)[order].tolist(), np.asarray(values)[order].tolist())


# ------------------------------------------------------------------------------------- reading ahead


class HistoryStore(Store):
    """A store answering from what it read ahead of one slab of steps: [lo, hi] GPS of one measurement.

    Each (level, aggregate, column) the evaluation asks for is read once, for every tag combination at once (or
    for the one series asked), then every step's window read is a slice. The newest point before ``lo`` (a tag
    silent since before the slab) is asked of the real store once, as of ``lo``. Reads outside [lo, hi] go to the
    real store, so an answer is never wrong, only slower.
    """

    def __init__(self, inner: Any, measurement: str, lo: float, hi: float) -> None:
        self.inner = inner
        self.measurement = measurement
        self.lo, self.hi = float(lo), float(hi)
        self.schemas = inner.schemas
        self.max_points = inner.max_points
        self.derived_levels = tuple(getattr(inner, "derived_levels", ()))
        self._all: dict[tuple, dict] = {}
        self._one: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._seeds: dict[tuple, Any] = {}
        self.reads = 0

    # -- the store interface around the reads
    def schema(self, measurement: str) -> Any:
        return self.inner.schema(measurement)

    def measurements(self) -> list[str]:
        return self.inner.measurements()

    def interrupt(self) -> None:
        self.inner.interrupt()

    def close(self) -> None:
        """The real store belongs to the caller."""

    # -- what was read ahead
    def by_tag(self, level: int, aggregate: str | None, column: str) -> dict[tuple[str, ...], tuple]:
        """Every tag combination's points in [lo, hi] at one level, as arrays (read once)."""
        key = (level, aggregate, column)
        if key not in self._all:
            self.reads += 1
            self._all[key] = self.inner.retrieve_arrays_by_tag(self.measurement, self.lo, self.hi, column,
                                                               aggregate=aggregate, dt=level or None)
        return self._all[key]

    def series(self, level: int, aggregate: str | None, column: str, key: tuple[str, ...] | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """One series' points in [lo, hi] (``key`` None: the reduction across tags), as arrays (read once)."""
        k = (level, aggregate, column, key)
        if k not in self._one:
            self.reads += 1
            self._one[k] = self.inner.retrieve_arrays(self.measurement, self.lo, self.hi, column, tags=key,
                                                      aggregate=aggregate, dt=level or None)
        return self._one[k]

    def seed_by_tag(self, level: int, aggregate: str | None, column: str) -> dict:
        k = ("by_tag", level, aggregate, column)
        if k not in self._seeds:
            self.reads += 1
            self._seeds[k] = self.inner.retrieve_latest_by_tag(self.measurement, column, aggregate=aggregate,
                                                               dt=level or None, before=_just_before(self.lo))
        return self._seeds[k]

    def seed(self, level: int, aggregate: str | None, column: str, key: tuple[str, ...] | None, num: int):
        k = ("one", level, aggregate, column, key, num)
        if k not in self._seeds:
            self.reads += 1
            self._seeds[k] = self.inner.retrieve_latest(self.measurement, column, tags=key, aggregate=aggregate,
                                                        dt=level or None, num_latest=num,
                                                        before=_just_before(self.lo))
        return self._seeds[k]

    def _inside(self, start: float, end: float) -> bool:
        return self.lo <= start and end <= self.hi

    # -- the primitives (.io.store.Store)
    def _series(self, schema: Any, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                start: float, end: float) -> tuple[list[float], list[float]]:
        if schema.measurement != self.measurement or not self._inside(start, end):
            return self.inner.retrieve_timeseries(schema.measurement, start, end, column, tags=key,
                                                  aggregate=aggregate, dt=level or None)
        t, v = self.series(level, aggregate, column, key)
        a, b = np.searchsorted(t, start, "left"), np.searchsorted(t, end, "right")
        return t[a:b].tolist(), v[a:b].tolist()

    def _series_by_tag(self, schema: Any, level: int, aggregate: str | None, column: str, start: float,
                       end: float) -> dict[tuple[str, ...], tuple[list[float], list[float]]]:
        if schema.measurement != self.measurement or not self._inside(start, end):
            return self.inner.retrieve_timeseries_by_tag(schema.measurement, start, end, column,
                                                         aggregate=aggregate, dt=level or None)
        out = {}
        for key, (t, v) in self.by_tag(level, aggregate, column).items():
            a, b = np.searchsorted(t, start, "left"), np.searchsorted(t, end, "right")
            if b > a:
                out[key] = (t[a:b].tolist(), v[a:b].tolist())
        return out

    def _reduced(self, schema: Any, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                 reduce: str, start: float, end: float) -> float | None:
        if schema.measurement != self.measurement or not self._inside(start, end):
            return super()._reduced(schema, key, level, aggregate, column, reduce, start, end)
        return _reduce_slice(*self.series(level, aggregate, column, key), start, end, reduce)

    def _reduced_by_tag(self, schema: Any, level: int, aggregate: str | None, column: str, reduce: str,
                        start: float, end: float) -> dict[tuple[str, ...], float]:
        if schema.measurement != self.measurement or not self._inside(start, end):
            return super()._reduced_by_tag(schema, level, aggregate, column, reduce, start, end)
        out = {}
        for key, (t, v) in self.by_tag(level, aggregate, column).items():
            value = _reduce_slice(t, v, start, end, reduce)
            if value is not None:
                out[key] = value
        return out

    def _latest(self, schema: Any, key: tuple[str, ...] | None, level: int, aggregate: str | None, column: str,
                num: int, before: float | None = None) -> tuple[list[float], list[float]]:
        bound = self.hi if before is None else before
        if schema.measurement != self.measurement or not self.lo <= bound <= self.hi:
            return self.inner.retrieve_latest(schema.measurement, column, tags=key, aggregate=aggregate,
                                              dt=level or None, num_latest=num, before=bound)
        t, v = self.series(level, aggregate, column, key)
        b = int(np.searchsorted(t, bound, "right"))
        times, values = t[max(0, b - num):b].tolist(), v[max(0, b - num):b].tolist()
        if len(times) < num:
            older_t, older_v = self.seed(level, aggregate, column, key, num)
            times, values = (older_t + times)[-num:], (older_v + values)[-num:]
        return times, values

    def _latest_by_tag(self, schema: Any, level: int, aggregate: str | None, column: str,
                       before: float | None = None) -> dict[tuple[str, ...], tuple[float, float]]:
        bound = self.hi if before is None else before
        if schema.measurement != self.measurement or not self.lo <= bound <= self.hi:
            return self.inner.retrieve_latest_by_tag(schema.measurement, column, aggregate=aggregate,
                                                     dt=level or None, before=bound)
        out = dict(self.seed_by_tag(level, aggregate, column))
        for key, (t, v) in self.by_tag(level, aggregate, column).items():
            b = int(np.searchsorted(t, bound, "right"))
            if b:
                out[key] = (float(t[b - 1]), float(v[b - 1]))
        return out


def _reduce_slice(t: np.ndarray, v: np.ndarray, start: float, end: float, reduce: str) -> float | None:
    """``store.REDUCE[reduce]`` of the points in [start, end] without making lists: numpy's max/min of floats
    are Python's, ``median_high`` is the sorted middle-high value, ``latest`` the last point."""
    a, b = int(np.searchsorted(t, start, "left")), int(np.searchsorted(t, end, "right"))
    if b <= a:
        return None
    part = v[a:b]
    if reduce == "max":
        return float(part.max())
    if reduce == "min":
        return float(part.min())
    if reduce == "latest":
        return float(part[-1])
    return float(np.partition(part, len(part) // 2)[len(part) // 2])


def _just_before(t: float) -> float:
    return float(np.nextafter(t, -np.inf))


# ---------------------------------------------------------------------------------------------- the plan


def alerts_many(rng: Any, values: np.ndarray) -> np.ndarray:
    """:meth:`Range.alerts` over an array (NaN: False here; the plan marks NaN steps to be evaluated). Only a
    prediction: every step it lets through is evaluated by the real rule and compared with it."""
    within = (rng.start <= values) & (values <= rng.end)
    return within if rng.inside else ~within


def states_many(limits: Limits, values: np.ndarray) -> np.ndarray:
    """:meth:`Limits.state` over an array: critical tested before warning, an unset range checks nothing."""
    out = np.full(values.shape, int(OK), dtype=np.uint8)
    if limits.warning is not None:
        out[alerts_many(limits.warning, values)] = int(WARNING)
    if limits.critical is not None:
        out[alerts_many(limits.critical, values)] = int(CRITICAL)
    return out



class _Plan:
    """Predicted raw states of one slab: ``states[step, column]`` (a column per tag label, ABSENT when the tag is
    not in that step's Result; the last column the Result's own state when it has no tags, FORCE when the plan
    cannot tell and the step must be evaluated) and the checked ``values`` (NaN when absent)."""

    def __init__(self, labels: list[str], states: np.ndarray, values: np.ndarray) -> None:
        self.labels = labels
        self.column = {label: i for i, label in enumerate(labels)}
        self.states = states
        self.values = values

    def agrees(self, k: int, result: Result) -> bool:
        """Whether step ``k``'s prediction is what the evaluation said (FORCE rows predict nothing)."""
        row = self.states[k]
        if row[-1] == FORCE:
            return True
        if not result.tags:
            return row[-1] == int(result.state) and bool((row[:-1] == ABSENT).all())
        if row[-1] != ABSENT or len(result.tags) != int((row[:-1] != ABSENT).sum()):
            return False
        for tag in result.tags:
            col = self.column.get(tag.label)
            if col is None or row[col] != int(tag.state):
                return False
        return True

    def resting_row(self, steady: dict[str | None, int]) -> np.ndarray | None:
        """The tag part of a row whose Result leaves ``steady`` unchanged, or None when no row with tags can."""
        row = np.full(len(self.labels), ABSENT, dtype=np.uint8)
        for label, state in steady.items():
            if label is None:
                continue
            col = self.column.get(label)
            if col is None:
                return None
            row[col] = state
        tag_states = [s for lbl, s in steady.items() if lbl is not None]
        if not tag_states or worst(tag_states) != steady[None]:
            return None
        return row

    def next_step(self, k: int, steady: dict[str | None, int] | None) -> int:
        """The first step from ``k`` on that must be evaluated, given the state machine rests in ``steady``."""
        n = len(self.states)
        if steady is None:
            return k
        tags_row = self.resting_row(steady)
        top = steady[None]
        block = 256
        while k < n:
            rows = self.states[k:k + block]
            last = rows[:, -1]
            quiet = last == top  # no tags: only the check level moves, and it rests in ``top``
            if tags_row is not None:
                quiet |= (last == ABSENT) & (rows[:, :-1] == tags_row).all(axis=1)
            else:
                quiet &= last != ABSENT
            bad = np.flatnonzero(~quiet)
            if len(bad):
                return k + int(bad[0])
            k += len(rows)
        return n


def _plan(check: Check, spec: Any, store: HistoryStore, ends: np.ndarray) -> _Plan | None:
    """The plan of one slab, or None when the check is of a kind the plan does not model (then every step is
    evaluated)."""
    if check.type == "heartbeat":
        return _heartbeat_plan(check, spec, store, ends)
    return _threshold_plan(check, spec, store, ends)


def _first_read(store: HistoryStore, levels: Sequence[int], aggregates: Sequence[str]) -> tuple[int, str | None]:
    level = levels_to_ask(store, levels)[0]
    return level, (None if level == RAW else aggregates[0])


def _window_reduce(t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray, how: str) -> np.ndarray:
    """``REDUCE[how]`` of ``v[lo[i]:hi[i]]`` for every i (NaN where empty), as the stores' reductions do."""
    out = np.full(len(lo), np.nan)
    has = hi > lo
    if not has.any() or not len(v):
        return out
    if how == "latest":
        out[has] = v[hi[has] - 1]
        return out
    ufunc = np.maximum if how == "max" else np.minimum
    padded = np.append(v, 0.0)
    idx = np.empty(2 * int(has.sum()), dtype=np.int64)
    idx[0::2], idx[1::2] = lo[has], hi[has]
    out[has] = ufunc.reduceat(padded, idx)[0::2]
    return out


def _threshold_plan(check: Check, spec: Any, store: HistoryStore, ends: np.ndarray) -> _Plan | None:
    if check.aggregate not in ("max", "min", "latest"):
        return None  # a sliding median_high is not modelled: every step is evaluated
    limits = Limits.from_check(check)
    _, levels, aggregates = threshold_plan(check, spec, float(ends[0]))
    level, agg = _first_read(store, levels, aggregates)
    starts = ends - float(check.lookback)
    scope = TagScope.of(check, spec)
    one = _one_series(check, spec)
    if scope.index is not None and one is None:
        found = store.by_tag(level, agg, check.column)
    else:
        key = one[0] if one else None
        found = {key if key is not None else (): store.series(level, agg, check.column, key)}
    keys = sorted(found)
    kept, _ = scope.split(keys)
    labels = [_label(spec.tags, k) for k in kept]
    expected_labels = [f"{scope.key}={v}" for v in (scope.expected or ()) if scope.index is not None]
    extra = [lb for lb in expected_labels if lb not in labels]
    all_labels = labels + extra
    n = len(ends)
    states = np.full((n, len(all_labels) + 1), ABSENT, dtype=np.uint8)
    values = np.full((n, len(all_labels)), np.nan)
    any_points = np.zeros(n, dtype=bool)
    unsure = np.zeros(n, dtype=bool)  # a NaN value: the rule raises (UNKNOWN), which the plan does not predict
    present_values: dict[str, np.ndarray] = {}  # expected tag value -> steps where a kept key of it has points
    for key in keys:
        t, v = found[key]
        lo, hi = np.searchsorted(t, starts, "left"), np.searchsorted(t, ends, "right")
        any_points |= hi > lo
        if key not in kept:
            continue
        col = kept.index(key)
        reduced = _window_reduce(t, v, lo, hi, check.aggregate)
        has = hi > lo
        unsure |= has & np.isnan(reduced)
        values[:, col] = reduced
        states[has, col] = states_many(limits, reduced[has])
        if scope.index is not None:
            tv = key[scope.index]
            present_values[tv] = present_values.get(tv, np.zeros(n, dtype=bool)) | has
    if scope.expected is not None and scope.index is not None:
        for value in scope.expected:  # with one tag, a missing value's label is its key's: the same column
            missing = ~present_values.get(value, np.zeros(n, dtype=bool))
            states[missing, all_labels.index(f"{scope.key}={value}")] = CRITICAL
    states[~any_points, -1] = FORCE  # nothing at the first level asked: the evaluation falls back along the levels
    states[unsure, -1] = FORCE
    return _Plan(all_labels, states, values)


def _heartbeat_plan(check: Check, spec: Any, store: HistoryStore, ends: np.ndarray) -> _Plan | None:
    limits = Limits.from_check(check)
    lookback, forget_after = float(check.lookback), float(check.forget_after)
    scope = TagScope.of(check, spec)
    one = _one_series(check, spec)
    levels = levels_to_ask(store, (RAW, 1))
    aggregates = _heartbeat_aggregates(spec)
    n = len(ends)
    force = np.zeros(n, dtype=bool)
    newest: dict[tuple[str, ...], np.ndarray] = {}
    per_tag = scope.index is not None and one is None
    for level in levels:
        agg = None if level == RAW else aggregates[0]
        if per_tag:
            found = store.by_tag(level, agg, check.column)
            seeds = store.seed_by_tag(level, agg, check.column)
            level_any = np.zeros(n, dtype=bool)
            for key in set(found) | set(seeds):
                t = found[key][0] if key in found else np.empty(0)
                seed = seeds[key][0] if key in seeds else None
                got = _newest_as_of(t, seed, ends - level)  # a bucket counts once complete (io.levels)
                level_any |= ~np.isnan(got)
                newest[key] = np.fmax(newest[key], got) if key in newest else got
        else:
            key = one[0] if one else None
            t = store.series(level, agg, check.column, key)[0]
            seed_t = store.seed(level, agg, check.column, key, 1)[0]
            got = _newest_as_of(t, seed_t[-1] if seed_t else None, ends - level)
            level_any = ~np.isnan(got)
            k = key if key is not None else ()
            newest[k] = np.fmax(newest[k], got) if k in newest else got
        if level != RAW:
            force |= ~level_any  # the first aggregate had nothing as of then: the others would be asked
    keys = sorted(newest)
    kept, _ = scope.split(keys)
    labels = [_label(spec.tags, k) for k in kept]
    extra = [f"{scope.key}={v}" for v in (scope.expected or ()) if scope.index is not None
             and f"{scope.key}={v}" not in labels]
    all_labels = labels + extra
    states = np.full((n, len(all_labels) + 1), ABSENT, dtype=np.uint8)
    values = np.full((n, len(all_labels)), np.nan)
    anything = np.zeros(n, dtype=bool)
    present_values: dict[str, np.ndarray] = {}
    forget = scope.index is not None and scope.expected is None
    for key in keys:
        t = newest[key]
        has = ~np.isnan(t)
        anything |= has
        if key not in kept:
            continue
        col = kept.index(key)
        gap = ends - t
        if forget:
            has &= ~(gap > forget_after)
        age = np.maximum(gap, 0.0)
        values[has, col] = age[has]
        st = states_many(limits, age)
        st[age > lookback] = CRITICAL
        states[has, col] = st[has]
        if scope.index is not None:
            tv = key[scope.index]
            present_values[tv] = present_values.get(tv, np.zeros(n, dtype=bool)) | has
    if scope.expected is not None and scope.index is not None:
        for value in scope.expected:
            label = f"{scope.key}={value}"
            missing = ~present_values.get(value, np.zeros(n, dtype=bool))
            states[missing, all_labels.index(label)] = CRITICAL
    no_tags = (states[:, :-1] == ABSENT).all(axis=1)
    states[no_tags, -1] = CRITICAL  # nothing at all (or all forgotten): the check is CRITICAL without tags
    states[~anything, -1] = FORCE  # no point in the raw or 1 s levels: coarser levels would be asked
    states[force, -1] = FORCE
    return _Plan(all_labels, states, values)


def _heartbeat_aggregates(spec: Any) -> tuple[str, ...]:
    from .io.levels import aggregates_to_try

    return aggregates_to_try(spec.aggregate, None, any_aggregate=True)


def _newest_as_of(t: np.ndarray, seed: float | None, ends: np.ndarray) -> np.ndarray:
    """The newest of ``t`` (sorted) at or before each end; ``seed`` (the newest before them all) where none."""
    idx = np.searchsorted(t, ends, "right") - 1
    out = np.where(idx >= 0, t[np.maximum(idx, 0)] if len(t) else np.nan, np.nan)
    if seed is not None:
        out = np.where(np.isnan(out), seed, out)
    return out.astype(float)


# ---------------------------------------------------------------------------------------------- replays


def _slabs(times: np.ndarray, lookback: float) -> Iterable[tuple[int, int]]:
    span = max(SLAB_SECONDS, 4 * lookback)
    i, n = 0, len(times)
    while i < n:
        j = int(np.searchsorted(times, times[i] + span, "right"))
        yield i, max(j, i + 1)
        i = max(j, i + 1)


def replay(check: Check, spec: Any, store: Any, start: float, end: float, fast: bool = True,
           keep_values: bool = False, times: np.ndarray | None = None) -> Replay:
    """Replay ``check`` over [start, end] GPS, every ``check.interval``, through the daemon's evaluation and state
    machine, reading ``store`` as of each step. ``fast`` skips the steps that provably change nothing (see the
    module's docstring); False evaluates every step, from the read-ahead store all the same."""
    times = step_times(start, end, float(check.interval)) if times is None else np.asarray(times, dtype=float)
    rep = Replay(check, start, end, steps=len(times))
    recorder = _Recorder(rep, keep_values)
    machine = StateStore(None)
    policy = Policy.from_check(check)
    name = check.name
    ends_all = np.asarray(unix_to_gps(times), dtype=float)
    lookback = float(check.lookback)
    planning = fast
    for a, b in _slabs(times, lookback):
        ends = ends_all[a:b]
        history = HistoryStore(store, spec.measurement, float(ends[0]) - lookback, float(ends[-1]))
        plan = _plan(check, spec, history, ends) if planning else None
        skipped: list[int] = []
        k = 0
        while k < len(ends):
            if plan is not None:
                nxt = plan.next_step(k, machine.steady(name))
                if nxt > k:  # these Results would only lengthen the flap histories: done in one call
                    with_tags = int((plan.states[k:nxt, -1] == ABSENT).sum())
                    machine.rest(name, nxt - k, with_tags, float(times[a + nxt - 1]), policy)
                    skipped.extend(range(k, nxt))
                k = nxt
                if k >= len(ends):
                    break
            result = evaluate(check, spec, history, float(times[a + k]), as_of=True)
            rep.evaluated += 1
            if plan is not None and not plan.agrees(k, result):
                rep.plan_dropped = (f"step at GPS {ends[k]:.3f}: the evaluation said {result.state_name} "
                                    f"({result.summary}), not what the plan predicted")
                log.warning("backtest %s: plan dropped, evaluating every step from here (%s)", name,
                            rep.plan_dropped)
                plan, planning = None, False
            status = machine.apply(name, result, policy)
            recorder.status(status, float(ends[k]))
            k += 1
        if skipped and plan is not None:
            rows = np.asarray(skipped, dtype=np.int64)
            present = plan.states[rows, :-1] != ABSENT
            if present.any() and np.isfinite(plan.values[rows][present]).any():
                rep.saw_data = True
            recorder.values(ends, plan.labels, plan.values, rows)
    recorder.close(end)
    return rep


def naive_transitions(check: Check, spec: Any, store: Any, start: float, end: float) -> list[Transition]:
    """The reference: at every step, the daemon's evaluate (as of that step) on the real store and the state
    machine, nothing read ahead, nothing skipped. For tests and the benchmark's baseline."""
    times = step_times(start, end, float(check.interval))
    rep = Replay(check, start, end, steps=len(times))
    recorder = _Recorder(rep, False)
    machine = StateStore(None)
    policy = Policy.from_check(check)
    for now in times.tolist():
        result = evaluate(check, spec, store, now, as_of=True)
        recorder.status(machine.apply(check.name, result, policy), float(unix_to_gps(now)))
    return rep.transitions


# ---------------------------------------------------------------------------------------------- summary


def summarize(rep: Replay) -> dict:
    """Time in each reported state, notifications, flapping periods, the longest problem."""
    start, end = rep.start, rep.end
    spans = {name: 0.0 for name in ("OK", "WARNING", "CRITICAL", "UNKNOWN")}
    longest: dict | None = None
    marks = [(start, int(OK), HARD)] + [m for m in rep.timeline]
    problem_since: float | None = None
    problem_worst: list[int] = []
    for i, (t, state, _) in enumerate(marks):
        nxt = marks[i + 1][0] if i + 1 < len(marks) else end
        spans[state_name(state)] += max(nxt - t, 0.0)
        if state != OK and problem_since is None:
            problem_since, problem_worst = t, []
        if state != OK:
            problem_worst.append(state)
        if problem_since is not None and (i + 1 == len(marks) or marks[i + 1][1] == OK):
            stop = nxt
            length = stop - problem_since
            if longest is None or length > longest["seconds"]:
                longest = {"start": problem_since, "end": stop, "seconds": length,
                           "worst": state_name(worst(problem_worst))}
            problem_since = None
    total = max(end - start, 0.0)
    return {
        "steps": rep.steps, "evaluated": rep.evaluated, "interval": float(rep.check.interval),
        "transitions": len(rep.transitions), "check_transitions": sum(1 for t in rep.transitions if t.tag is None),
        "time_in_state": spans,
        "fraction_in_state": {k: (v / total if total else 0.0) for k, v in spans.items()},
        "notifications": rep.notifications,
        "flapping": [{"start": a, "end": b} for a, b in rep.flapping],
        "longest_problem": longest,
        "final_state": state_name(rep.timeline[-1][1]) if rep.timeline else "OK",
    }


def document(rep: Replay, overrides: Mapping[str, Any]) -> dict:
    """The ``--format json`` document (DESIGN §7)."""
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in rep.check.settings().items()}
    settings["overrides"] = dict(overrides)
    return {"check": rep.check.name, "start": rep.start, "end": rep.end, "settings": settings,
            "transitions": [t.to_json() for t in rep.transitions], "summary": summarize(rep)}


def run_backtest(cfg: Config, check_name: str, start: float, end: float,
                 overrides: Mapping[str, Any] | None = None, store: Any = None, max_steps: int | None = None,
                 keep_values: bool = False, _replay_out: list | None = None) -> dict:
    """Replay ``check_name`` (with ``overrides``, validated as the file is) over [start, end] GPS; the JSON
    document. Raises ConfigError (bad check or override), ValueError (bad window, more than ``max_steps`` steps),
    NoDataError (no data in the window) and BackendError (store unreachable). ``store``: an open reader to use
    (else the check's backend is opened read-only here and closed)."""
    overrides = dict(overrides or {})
    check = check_with(cfg, check_name, overrides)
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ValueError(f"the window [{start}, {end}] is empty")
    steps = math.floor((end - start) / float(check.interval) + 1e-9) + 1  # as step_times counts, before any array
    if max_steps is not None and steps > max_steps:
        raise ValueError(f"{steps} steps of {check.interval:g} s: more than {max_steps}; shorten the window")
    spec = cfg.schemas[check.schema]
    own = store is None
    if own:
        from .io import connect

        store = connect(cfg.backend(check.backend), readonly=True, schemas=cfg.schemas.values())
    try:
        rep = replay(check, spec, store, start, end, keep_values=keep_values)
    finally:
        if own:
            store.close()
    if not rep.saw_data:
        raise NoDataError(f"no data for {spec.measurement} ({check.column}) between {gps_to_iso(start)} and "
                          f"{gps_to_iso(end)} (GPS {start:.0f} to {end:.0f}): nothing to replay")
    if _replay_out is not None:
        _replay_out.append(rep)
    return document(rep, overrides)


# ---------------------------------------------------------------------------------------------- text


def _duration_text(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _utc(t: float) -> str:
    return gps_to_iso(t)[:19] + "Z"


def transitions_text(doc: Mapping[str, Any]) -> list[str]:
    """One line per reported-state change: UTC, GPS, tag, from -> to, type, value, summary."""
    lines = [f"{'time (UTC)':20}  {'GPS':>14}  {'tag':16}  {'change':22}  {'type':4}  {'value':>10}  summary"]
    for t in doc["transitions"]:
        value = "" if t["value"] is None else f"{t['value']:.4g}"
        lines.append(f"{_utc(t['time']):20}  {t['time']:14.3f}  {(t['tag'] or '(check)'):16}  "
                     f"{t['from'] + ' -> ' + t['to']:22}  {t['state_type']:4}  {value:>10}  {t['summary']}")
    if not doc["transitions"]:
        lines.append("(no state change: OK throughout)")
    return lines


def summary_rows(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows of a summary, for one column or two side by side."""
    s = doc["summary"]
    rows = [("steps", f"{s['steps']} every {s['interval']:g} s ({s['evaluated']} evaluated)"),
            ("transitions", f"{s['transitions']} ({s['check_transitions']} of the check as a whole)")]
    for state, seconds in s["time_in_state"].items():
        rows.append((f"time {state}", f"{_duration_text(seconds)} ({100 * s['fraction_in_state'][state]:.1f} %)"))
    rows.append(("notifications", str(s["notifications"])))
    flaps = s["flapping"]
    rows.append(("flapping", "never" if not flaps else f"{len(flaps)} period(s), first from {_utc(flaps[0]['start'])}"))
    lp = s["longest_problem"]
    rows.append(("longest problem", "none" if lp is None else
                 f"{lp['worst']} for {_duration_text(lp['seconds'])} from {_utc(lp['start'])}"))
    rows.append(("final state", s["final_state"]))
    return rows


def settings_text(doc: Mapping[str, Any]) -> str:
    st = doc["settings"]
    keys = ("warning", "critical", "for", "max_attempts", "lookback", "aggregate", "warning_reset", "critical_reset")
    shown = " ".join(f"{k}={st[k]}" for k in keys if st.get(k) is not None)
    over = st.get("overrides") or {}
    return shown + (f"  (--set {' '.join(f'{k}={v}' for k, v in over.items())})" if over else "")


def text_report(doc: Mapping[str, Any], other: Mapping[str, Any] | None = None) -> str:
    """The text output: a header, the transitions (of each side), the summary (side by side with ``other``)."""
    head = (f"backtest of {doc['check']} from {_utc(doc['start'])} to {_utc(doc['end'])} "
            f"(GPS {doc['start']:.0f} to {doc['end']:.0f})")
    lines = [head]
    sides = [("", doc)] if other is None else [("A", doc), ("B", other)]
    for tag, d in sides:
        lines.append("")
        lines.append(f"{tag + ': ' if tag else ''}settings: {settings_text(d)}")
        lines.extend(transitions_text(d))
    lines.append("")
    rows = summary_rows(doc)
    if other is None:
        lines.append("summary:")
        lines.extend(f"  {label:16} {text}" for label, text in rows)
    else:
        rows_b = dict(summary_rows(other))
        width = max(len(text) for _, text in rows) + 2
        lines.append(f"  {'summary':16} {'A':{width}} B")
        lines.extend(f"  {label:16} {text:{width}} {rows_b.get(label, '')}" for label, text in rows)
    return "\n".join(lines)


def command(cfg: Config, name: str, start: str | None, end: str | None, last: str | None, sets: Sequence[str],
            compares: Sequence[str], fmt: str = "text", plot: str | None = None, out: Any = None,
            err: Any = None) -> int:
    """``scald-monitor backtest``: print the replay (text or JSON), optionally write the SVG; the exit code:
    0 done, 2 usage or configuration error (naming the key), 3 no data in the window or backend unreachable."""
    import json
    import sys

    from .io.errors import BackendError

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        lo, hi = window(start, end, last)
        groups = [parse_settings(sets)] + ([parse_settings(compares, "--compare")] if compares else [])
    except ValueError as exc:
        print(f"scald-monitor backtest: {exc}", file=err)
        return 2
    docs, replays = [], []
    try:
        for overrides in groups:
            docs.append(run_backtest(cfg, name, lo, hi, overrides, keep_values=plot is not None,
                                     _replay_out=replays))
    except ConfigError as exc:
        print(str(exc), file=err)
        print(f"scald-monitor backtest: {len(exc.problems)} problem(s) found", file=err)
        return 2
    except NoDataError as exc:
        print(f"SCALD BACKTEST UNKNOWN - {exc}", file=out)
        return 3
    except BackendError as exc:
        print(f"SCALD BACKTEST UNKNOWN - backend: {exc}", file=out)
        return 3
    except ValueError as exc:
        print(f"scald-monitor backtest: {exc}", file=err)
        return 2
    if fmt == "json":
        doc = dict(docs[0])
        if len(docs) > 1:
            doc["compare"] = docs[1]
        print(json.dumps(doc, indent=1, allow_nan=False), file=out)
    else:
        print(text_report(docs[0], docs[1] if len(docs) > 1 else None), file=out)
    if plot is not None:
        from .backtest_svg import write_plot

        try:
            write_plot(plot, replays, ("A", "B") if len(replays) > 1 else ("",))
        except OSError as exc:
            print(f"scald-monitor backtest: cannot write {plot}: {exc.strerror or exc}", file=err)
            return 2
        print(f"wrote {plot}", file=err)
    return 0


__all__ = ["HistoryStore", "NoDataError", "Replay", "Transition", "check_with", "command", "document",
           "naive_transitions", "parse_duration", "parse_settings", "parse_time", "replay", "run_backtest",
           "step_times", "summarize", "text_report", "window"]
