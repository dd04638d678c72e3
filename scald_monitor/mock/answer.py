"""Answer parsed InfluxQL statements from a :class:`~scald_monitor.mock.source.MockSource`, in InfluxDB's JSON shape.

The aim is "what ``influxd`` would answer if it held the generated data", so clients (ligo-scald's Consumer, our own
InfluxDB backend, the ``influxdb`` Python client) can be tested against the mock and a real server alike:

* ``{"results": [{"statement_id": i, "series": [{"name", "tags"?, "columns", "values"}]}]}``, empty results as a
  bare ``{"statement_id": i}``; times as RFC 3339 text unless ``epoch`` (ns, u, µ, ms, s, m, h) is given;
* execution errors InfluxDB reports per statement stay per statement (``database name required``,
  ``retention policy not found: x``); a measurement that is not configured has no series, as in InfluxDB;
* where the mock is stricter, it is on purpose and loud (:class:`QueryError`, HTTP 400): a tag, field or GROUP BY
  key the measurement does not have, a condition on a field, a query that would return more than ``MAX_POINTS``.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .influxql import (
    AdminStatement, BinaryExpr, InfluxQLError, Literal, SELECTORS, SelectStatement, ShowStatement, Source, VarRef,
    parse_query,
)
from ..io.triggers import FAR_THRESHOLDS, rp_name
from .source import AGGREGATES, NS, MeasurementDef, MockSource, Policy, Series

__all__ = ["MAX_POINTS", "QueryError", "execute", "format_times", "parse_time_string"]

#: Most points one statement may return (or scan, for aggregate functions): beyond it the mock refuses.
MAX_POINTS = 1_000_000
#: Divisors of Unix ns for the ``epoch`` query parameter.
EPOCHS = {"ns": 1, "n": 1, "u": 1_000, "µ": 1_000, "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS}
#: Retention policies SHOW RETENTION POLICIES lists (the mock answers any "<dt>s"): ligo-scald's six, then its six
#: trigger policies "<far>_hz".
LISTED_DTS = (1, 10, 100, 1000, 10000, 100000)
#: Functions that also apply to string fields (a snapshot's data/dims), as in influxd.
STRING_FUNCTIONS = ("count", "first", "last")
#: InfluxDB's time range (Unix ns); bounds beyond it are clamped to it, as influxd does.
MIN_TIME, MAX_TIME = -9223372036854775806, 9223372036854775806
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|z|[+-]\d{2}:\d{2})?")


class QueryError(Exception):
    """Something the mock refuses (bad syntax, unsupported, too large): HTTP 400 with ``{"error": message}``."""


class _StatementError(Exception):
    """An execution error InfluxDB reports inside the statement's result (HTTP 200)."""


# ------------------------------------------------------------------------------------------------------ times


def parse_time_string(text: str) -> int:
    """RFC 3339 (or ``YYYY-MM-DD[ HH:MM:SS[.fff]]``, UTC) → Unix ns, as InfluxQL accepts time strings."""
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        raise QueryError(f"invalid time string {text!r}: expected RFC 3339, e.g. '2017-07-14T02:40:00Z'")
    year, month, day, hh, mm, ss, frac, zone = match.groups()
    try:
        seconds = calendar.timegm((int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0)))
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hh or 0) < 24 and int(mm or 0) < 60
                and int(ss or 0) < 61):
            raise ValueError
    except (ValueError, OverflowError):
        raise QueryError(f"invalid time string {text!r}: no such date or time") from None
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * NS + int((frac or "0").ljust(9, "0"))


def format_times(ns: np.ndarray, epoch: str | None) -> list:
    """Unix ns as the response carries them: integers in ``epoch`` units, else RFC 3339 text (influxd's style)."""
    if epoch:
        return (ns // EPOCHS.get(epoch, 1)).tolist()  # influxd answers in ns for an epoch it does not know
    text = np.datetime_as_string(ns.astype("datetime64[ns]"), unit="ns")
    return [t[:19] + "Z" if t.endswith(".000000000") else t.rstrip("0") + "Z" for t in text.tolist()]


def _time_value(expr: Any, now_ns: int) -> int:
    """The Unix ns a time expression stands for: ns integers, time strings, now(), durations, + and -."""
    if isinstance(expr, Literal):
        if expr.kind == "now":
            return now_ns
        if expr.kind in ("number", "duration"):
            return int(expr.value)
        if expr.kind == "string":
            return parse_time_string(expr.value)
    if isinstance(expr, BinaryExpr) and expr.op in ("+", "-"):
        lhs, rhs = _time_value(expr.lhs, now_ns), _time_value(expr.rhs, now_ns)
        return lhs + rhs if expr.op == "+" else lhs - rhs
    raise QueryError(f"invalid time expression {expr}: use ns integers, 'RFC3339' strings, now() and durations")


# ------------------------------------------------------------------------------------------------- conditions


@dataclass
class _Filter:
    """A WHERE clause split into a time range (inclusive ns; None = open) and a predicate on series tags."""

    lo: int | None
    hi: int | None
    keep: Callable[[dict], bool]


def _conjuncts(expr: Any) -> list:
    if isinstance(expr, BinaryExpr) and expr.op == "AND":
        return _conjuncts(expr.lhs) + _conjuncts(expr.rhs)
    return [expr]


def _mentions_time(expr: Any) -> bool:
    if isinstance(expr, VarRef):
        return expr.name == "time"
    if isinstance(expr, BinaryExpr):
        return _mentions_time(expr.lhs) or _mentions_time(expr.rhs)
    return False


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _split_where(condition: Any, meas: MeasurementDef, now_ns: int) -> _Filter:
    lo: int | None = None
    hi: int | None = None
    rest = []
    for term in ([] if condition is None else _conjuncts(condition)):
        if not _mentions_time(term):
            rest.append(term)
            continue
        if not (isinstance(term, BinaryExpr) and term.op in _FLIP):
            raise QueryError(f"unsupported time condition {term}: AND together time >=, >, <=, < or = comparisons")
        op, other = term.op, term.rhs
        if not (isinstance(term.lhs, VarRef) and term.lhs.name == "time"):
            if isinstance(term.rhs, VarRef) and term.rhs.name == "time":
                op, other = _FLIP[term.op], term.lhs
            else:
                raise QueryError(f"unsupported time condition {term}: compare time itself with a time value")
        value = min(max(_time_value(other, now_ns), MIN_TIME), MAX_TIME)
        if op in (">=", ">", "="):
            bound = value + 1 if op == ">" else value
            lo = bound if lo is None else max(lo, bound)
        if op in ("<=", "<", "="):
            bound = value - 1 if op == "<" else value
            hi = bound if hi is None else min(hi, bound)
    keep = _tag_predicate(rest, meas)
    return _Filter(lo, hi, keep)


def _tag_predicate(terms: list, meas: MeasurementDef) -> Callable[[dict], bool]:
    known = set(meas.tags) | {"aggregate"}

    def compile_(expr: Any) -> Callable[[dict], bool]:
        if isinstance(expr, BinaryExpr) and expr.op in ("AND", "OR"):
            lhs, rhs = compile_(expr.lhs), compile_(expr.rhs)
            if expr.op == "AND":
                return lambda tags: lhs(tags) and rhs(tags)
            return lambda tags: lhs(tags) or rhs(tags)
        if isinstance(expr, Literal) and expr.kind == "bool":
            return lambda tags: bool(expr.value)
        if isinstance(expr, BinaryExpr) and expr.op in ("=", "!=", "<>", "<", "<=", ">", ">="):
            ref, lit = expr.lhs, expr.rhs
            if isinstance(lit, VarRef) and not isinstance(ref, VarRef):
                ref, lit = lit, ref
            if isinstance(ref, VarRef):
                name = ref.name
                if name in meas.fields:
                    raise QueryError(f"condition on field {name!r} ({expr}): the mock filters on tags and time only")
                if name not in known:
                    raise QueryError(f"unknown tag {name!r} in {expr}: measurement {meas.name!r} has tags "
                                     f"{', '.join(sorted(known))}")
                if expr.op not in ("=", "!=", "<>"):
                    raise QueryError(f"unsupported operator in {expr}: tags compare with =, != or <>")
                if not (isinstance(lit, Literal) and lit.kind == "string"):
                    raise QueryError(f"tag {name!r} compared with {lit} in {expr}: tag values are strings, "
                                     "quote them ('0001')")
                value = lit.value
                if expr.op == "=":
                    return lambda tags: tags.get(name, "") == value
                return lambda tags: tags.get(name, "") != value
        raise QueryError(f"unsupported condition {expr}: the mock understands tag = 'v', tag != 'v', AND, OR, "
                         "parentheses and time comparisons")

    compiled = [compile_(term) for term in terms]
    return lambda tags: all(c(tags) for c in compiled)


# --------------------------------------------------------------------------------------------------- scanning


def _scan(src: MockSource, meas: MeasurementDef, rp: Policy, series: Sequence[Series], lo: int, hi: int,
          fields: Sequence[str], need: int | None, descending: bool) -> dict:
    """Points of ``series`` in [lo, hi]; with ``need``, only enough windows (from the end when descending) to find
    ``need`` points per series, so ``ORDER BY time DESC LIMIT 1`` over a year costs a few windows, not a year."""
    step_ns = max(1, int(src.step_seconds(meas, rp) * NS))
    if need is None:
        estimate = len(series) * ((hi - lo) // step_ns + 1) if hi >= lo else 0
        if estimate > MAX_POINTS:
            span = f"{(hi - lo) / NS:.0f} s" if hi - lo < 10**9 * NS else "an unbounded range"
            raise QueryError(
                f"query would read about {estimate:,} points ({len(series)} series over {span}), more than the "
                f"mock's limit of {MAX_POINTS:,}: narrow the time range, filter on tags, use a coarser retention "
                f"policy (\"<dt>s\") or add ORDER BY time DESC LIMIT n")
        return src.points(meas, rp, series, lo, hi, fields)
    chunks: dict[Series, list] = {s: [] for s in series}
    counts = {s: 0 for s in series}
    pending = list(series)
    width = max(need, 64) * 2 * step_ns
    cursor_lo, cursor_hi = lo, hi
    scanned = 0
    while pending and cursor_lo <= cursor_hi:
        width = min(width, max(1, MAX_POINTS // len(pending)) * step_ns)  # one window never exceeds the budget
        if descending:
            w_lo, w_hi = max(cursor_lo, cursor_hi - width + 1), cursor_hi
            cursor_hi = w_lo - 1
        else:
            w_lo, w_hi = cursor_lo, min(cursor_hi, cursor_lo + width - 1)
            cursor_lo = w_hi + 1
        for s, (ns, values) in src.points(meas, rp, pending, w_lo, w_hi, fields).items():
            if ns.size:
                chunks[s].append((ns, values))
                counts[s] += ns.size
        scanned += len(pending) * ((w_hi - w_lo) // step_ns + 1)
        pending = [s for s in pending if counts[s] < need]
        if scanned > MAX_POINTS:  # give up: these series have no (more) data within reach
            break
        width *= 4
    out = {}
    for s in series:
        parts = chunks[s][::-1] if descending else chunks[s]
        if parts:
            out[s] = (np.concatenate([p[0] for p in parts]),
                      {f: np.concatenate([p[1][f] for p in parts]) for f in fields})
        else:
            out[s] = (np.empty(0, dtype=np.int64), {f: np.empty(0) for f in fields})
    return out


# ----------------------------------------------------------------------------------------------------- SELECT


def _dedupe(columns: list[str]) -> list[str]:
    """InfluxDB's column names: a repeated name gets ``_1``, ``_2``, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in columns:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _retention(source: Source) -> Policy:
    rp = Policy.named(source.retention_policy)
    if rp is None:
        raise _StatementError(f"retention policy not found: {source.retention_policy}")
    return rp


@dataclass
class _Plan:
    """What a SELECT reads: the series that pass its tag conditions, grouped, over [lo, hi] (clipped to the data)."""

    meas: MeasurementDef
    rp: Policy
    tag_keys: list[str]
    group_tags: list[str]
    groups: dict[tuple, list[Series]]
    order: list[tuple]  # group keys in output order
    series: list[Series]
    lo: int
    hi: int
    lower: int | None  # the query's own lower time bound (aggregate rows are stamped with it)


def _plan(src: MockSource, st: SelectStatement, db: str | None, now_ns: int) -> _Plan | None:
    if not (st.source.database or db):
        raise _StatementError("database name required")
    rp = _retention(st.source)
    meas = src.measurement(st.source.measurement)
    if meas is None:
        return None
    # The tag keys of the measurement, as influxd indexes them: for timeseries "aggregate" too, even where the raw
    # points of the default retention policy have none (GROUP BY * then shows aggregate="" and SELECT * a null
    # column); triggers and snapshots have only their own.
    tag_keys = meas.tag_keys
    functions = [f for f in st.fields if f.function]
    if functions and len(functions) != len(st.fields):
        raise QueryError("mixing aggregate and non-aggregate queries is not supported")
    for f in st.fields:
        if not f.wildcard and f.name not in meas.fields and f.name not in tag_keys:
            raise QueryError(f"measurement {meas.name!r} has no field or tag {f.name!r} (fields: "
                             f"{', '.join(meas.fields)}; tags: {', '.join(tag_keys)})")
        if f.function and f.name not in meas.fields:
            raise QueryError(f"{f.function}() needs a field; {f.name!r} is a tag")
        if f.function and meas.field_type(f.name) == "string" and f.function not in STRING_FUNCTIONS:
            raise QueryError(f"{f.function}() of string field {f.name!r}: only {', '.join(STRING_FUNCTIONS)} apply "
                             "to strings")
    for name in st.group_by:
        if name != "*" and name not in tag_keys:
            raise QueryError(f"GROUP BY {name!r}: measurement {meas.name!r} has tags {', '.join(tag_keys)}")
    group_tags = tag_keys if "*" in st.group_by else sorted(set(st.group_by))

    where = _split_where(st.condition, meas, now_ns)
    series = [s for s in src.series(meas, rp) if where.keep(s.tags(meas.tags))]
    groups: dict[tuple, list[Series]] = {}
    for s in series:
        tags = s.tags(meas.tags)
        groups.setdefault(tuple(tags.get(t, "") for t in group_tags), []).append(s)
    order = sorted(groups, reverse=st.descending)  # influxd reverses the series order too
    start = src.start_ns()
    lo = start if where.lo is None else max(where.lo, start)  # no data before start...
    hi = now_ns if where.hi is None else min(where.hi, now_ns)  # ... nor after now
    return _Plan(meas, rp, tag_keys, group_tags, groups, order, series, lo, hi, where.lo)


def _select(src: MockSource, st: SelectStatement, db: str | None, epoch: str | None, now_ns: int) -> list[dict]:
    plan = _plan(src, st, db, now_ns)
    if plan is None:
        return []
    if st.fields[0].function:
        return _select_functions(src, st, plan, epoch)
    return _select_points(src, st, plan, epoch)


def _select_functions(src: MockSource, st: SelectStatement, plan: _Plan, epoch: str | None) -> list[dict]:
    """``SELECT last(f), max(g) ...``: one row per group."""
    kinds = {f.function for f in st.fields}
    need, descending = None, False
    if kinds == {"last"}:  # only the newest point of each series matters: scan backwards
        need, descending = 1, True
    elif kinds == {"first"}:
        need = 1
    data = _scan(src, plan.meas, plan.rp, plan.series, plan.lo, plan.hi, sorted({f.name for f in st.fields}),
                 need, descending)
    columns = _dedupe(["time"] + [f.column for f in st.fields])
    out = []
    for key in plan.order:
        row = _aggregate_row(st.fields, plan.groups[key], data, plan.lower)
        rows = [] if row is None else [[format_times(np.array([row[0]], dtype=np.int64), epoch)[0]] + row[1:]]
        rows = rows[st.offset:]
        if st.limit is not None:
            rows = rows[:st.limit]
        if rows:
            out.append(_series_json(plan.meas.name, dict(zip(plan.group_tags, key)), st.group_by, columns, rows))
    return out


def _select_points(src: MockSource, st: SelectStatement, plan: _Plan, epoch: str | None) -> list[dict]:
    """``SELECT f, tag, * ...``: the points, merged by time within each group."""
    meas = plan.meas
    names: list[str] = []  # what each column holds
    labels: list[str] = []  # what it is called
    for f in st.fields:
        if f.wildcard:  # every field and tag, except those grouped by (they are in the series' tags)
            expanded = sorted(list(meas.fields) + [t for t in plan.tag_keys if t not in plan.group_tags])
            names.extend(expanded)
            labels.extend(expanded)
        else:
            names.append(f.name)
            labels.append(f.alias or f.name)
    columns = _dedupe(["time"] + labels)
    field_names = [n for n in dict.fromkeys(names) if n in meas.fields]
    need = None if st.limit is None else st.limit + st.offset
    if need is not None and need * len(plan.series) > MAX_POINTS:
        raise QueryError(f"LIMIT {st.limit} OFFSET {st.offset} over {len(plan.series)} series could return more "
                         f"than the mock's limit of {MAX_POINTS:,} points")
    data = _scan(src, meas, plan.rp, plan.series, plan.lo, plan.hi, field_names, need, st.descending)
    out = []
    for key in plan.order:
        members = plan.groups[key]
        ns = np.concatenate([data[s][0] for s in members])
        idx = np.argsort(-ns if st.descending else ns, kind="stable")[st.offset:]
        if st.limit is not None:
            idx = idx[:st.limit]
        if idx.size == 0:
            continue
        cols = [format_times(ns[idx], epoch)]
        for name in names:
            if name in meas.fields:
                cols.append(np.concatenate([data[s][1][name] for s in members])[idx].tolist())
            else:  # a tag: its value per point (None where the series has no such tag, as influxd's null)
                tag = np.concatenate([np.full(data[s][0].size, s.tags(meas.tags).get(name), dtype=object)
                                      for s in members])
                cols.append(tag[idx].tolist())
        out.append(_series_json(meas.name, dict(zip(plan.group_tags, key)), st.group_by, columns,
                                [list(row) for row in zip(*cols)]))
    return out


def _aggregate_row(functions: Sequence, members: Sequence[Series], data: dict, lower: int | None) -> list | None:
    """One row ``[time_ns, value, ...]`` of aggregate functions over the group's points; None when it has none."""
    ns_all = np.concatenate([data[s][0] for s in members]) if members else np.empty(0, dtype=np.int64)
    if ns_all.size == 0:
        return None
    row_time = lower if lower is not None else 0
    values = []
    order = np.argsort(ns_all, kind="stable")
    ns = ns_all[order]
    for f in functions:
        v = np.concatenate([data[s][1][f.name] for s in members])[order]
        pick = None
        if f.function == "last":
            pick = ns.size - 1
        elif f.function == "first":
            pick = 0
        elif f.function == "max":
            pick = int(np.argmax(v))
        elif f.function == "min":
            pick = int(np.argmin(v))
        if pick is not None:
            values.append(v[pick].item() if isinstance(v[pick], np.generic) else v[pick])
            if len(functions) == 1 and f.function in SELECTORS:
                row_time = int(ns[pick])
        elif f.function == "count":
            values.append(int(v.size))
        elif f.function == "sum":
            values.append(float(v.sum()))
        elif f.function == "mean":
            values.append(float(v.mean()))
        elif f.function == "median":
            values.append(float(np.median(v)))
    return [row_time] + values


def _series_json(name: str, tags: dict, group_by: Sequence[str], columns: list[str], values: list) -> dict:
    out: dict[str, Any] = {"name": name}
    if group_by:
        out["tags"] = tags
    out["columns"] = columns
    out["values"] = values
    return out


# ------------------------------------------------------------------------------------------------------- SHOW


def _show(src: MockSource, st: ShowStatement, db: str | None) -> list[dict]:
    if st.what == "DATABASES":
        return [{"name": "databases", "columns": ["name"], "values": [[d] for d in src.databases]}]
    if not (st.database or db):
        raise _StatementError("database name required")
    if st.what == "RETENTION POLICIES":
        rows = [["autogen", "0s", "168h0m0s", 1, True]] + [[f"{dt}s", "0s", "168h0m0s", 1, False]
                                                            for dt in LISTED_DTS]
        rows += [[rp_name(far), "0s", "168h0m0s", 1, False] for far in FAR_THRESHOLDS]
        return [{"columns": ["name", "duration", "shardGroupDuration", "replicaN", "default"], "values": rows}]
    if st.what == "MEASUREMENTS":
        names = src.measurement_names()
        return [{"name": "measurements", "columns": ["name"], "values": [[n] for n in names]}] if names else []
    if st.source is not None:
        meas = src.measurement(st.source.measurement)
        measurements = [meas] if meas is not None else []
        if st.source.retention_policy is not None:  # keys where the policy holds the measurement's points
            rp = _retention(st.source)
            measurements = [m for m in measurements if src.series(m, rp)]
    else:
        measurements = [src.measurement(n) for n in src.measurement_names()]
    out = []
    for meas in measurements:
        if st.what == "TAG KEYS":
            rows = [[t] for t in meas.tag_keys]
            if rows:  # influxd lists no series for a measurement without tags
                out.append({"name": meas.name, "columns": ["tagKey"], "values": rows})
        elif st.what == "FIELD KEYS":
            rows = [[f, meas.field_type(f)] for f in sorted(meas.fields)]
            out.append({"name": meas.name, "columns": ["fieldKey", "fieldType"], "values": rows})
        else:  # TAG VALUES
            rows = []
            for key in sorted(set(st.keys)):
                if key == "aggregate" and key in meas.tag_keys:
                    values = sorted(AGGREGATES)
                elif key in meas.tags:
                    i = meas.tags.index(key)
                    values = sorted({v[i] for v in meas.tag_values})
                else:
                    values = []
                rows.extend([key, v] for v in values)
            if rows:
                out.append({"name": meas.name, "columns": ["key", "value"], "values": rows})
    return out


# ---------------------------------------------------------------------------------------------------- execute


def execute(src: MockSource, query: str, *, db: str | None = None, epoch: str | None = None,
            now_ns: int | None = None) -> dict:
    """Run every statement of ``query``; return InfluxDB's response document.

    Raises :class:`QueryError` for a query the mock cannot parse or refuses (the server's 400). ``now_ns`` pins
    ``now()`` (and the end of the data) for tests; by default it is the wall clock.
    """
    try:
        statements = parse_query(query)
    except InfluxQLError as exc:
        raise QueryError(str(exc)) from None
    src = src.pinned(src.now_ns() if now_ns is None else now_ns)  # one "now" for every statement
    now = src.now_ns()
    results = []
    for i, st in enumerate(statements):
        result: dict[str, Any] = {"statement_id": i}
        try:
            if isinstance(st, SelectStatement):
                series = _select(src, st, db, epoch, now)
            elif isinstance(st, ShowStatement):
                series = _show(src, st, db)
            else:
                assert isinstance(st, AdminStatement)
                series = []  # CREATE/DROP DATABASE or RETENTION POLICY: the mock is stateless
        except _StatementError as exc:
            result["error"] = str(exc)
        except InfluxQLError as exc:
            raise QueryError(str(exc)) from None
        else:
            if series:
                result["series"] = series
        results.append(result)
    return {"results": results}
