"""Query parameters of the data routes, parsed and checked before any backend is touched.

ligo-scald's parameters (``column``, ``tag`` + the named tag parameters, ``tag_key``, ``aggregate``, ``dt``,
``fill``, ``scale``, ``far``, ``datetime``, ``backend``) mean what they meant there; every value that cannot be
used is refused here with a 400 naming the parameter, where ligo-scald crashed (500) or silently answered nothing.
Parameters this API does not know are ignored: ligo-scald's browser client sends its whole schema dict
(``measurement``, ``tag_format``, ``num_tags``...) along with every query.

Work is bounded up front: the resolution is chosen so that a series has at most :data:`MAX_POINTS` points unless
``dt`` says otherwise, and a request that would return more than :data:`MAX_VALUES` values is refused.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..io.schema import AGGREGATES, LEVELS, NAME_RE, Schema
from ..io.store import MAX_POINTS, pick_level
from .errors import ApiError

#: Points (time, value) one request may return, over all series and columns; beyond this it is refused (400).
MAX_VALUES = 1_000_000
#: Raw (undecimated) points are only read over windows this short: their number is not known in advance.
MAX_RAW_SPAN = 3600.0
#: GPS times accepted in the path: from the GPS epoch to the year ~2297.
MAX_GPS = 1e10
#: Tag filter limits: values per request (each is a query), length of one value.
MAX_FILTER_SERIES = 1000
MAX_TAG_VALUE = 256
#: ``dt`` values that mean "raw points": ligo-scald treated ``dt=0`` as "no retention policy", i.e. raw data.
RAW_DT = ("0", "raw")
#: ``/api/latest`` transforms (ligo-scald's): the value itself, or the age of the newest point.
TRANSFORMS = ("none", "latency")

#: Numbers as the API reads them, matched whole (``fullmatch``: ``$`` would also match before a final newline) and
#: ASCII-only: without ``re.ASCII`` ``\d`` matches any Unicode digit, and ``float()`` reads ``"١٢٣"`` as 123, so a
#: time nobody typed as digits would be accepted.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGRAL = re.compile(r"[0-9]+(?:\.0*)?", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Query:
    """One data request's parameters, checked; ``dt`` is None for raw points, ``aggregate`` None likewise."""

    start: float
    end: float
    backend: str
    columns: list[str] = field(default_factory=list)  # as given; :func:`bind` fills in the schema's column_key
    columns_given: bool = False
    tag_names: list[str] = field(default_factory=list)  # ``tag`` as given (names without values filter nothing)
    filters: dict[str, list[str]] = field(default_factory=dict)  # tag name -> values, in request order
    tag_key: str | None = None
    aggregate_param: str | None = None  # as given (None: absent)
    dt_param: int | None = None  # as given: None absent, 0 raw, else a level
    fill: float | None = None
    scale: str | None = None
    far: float | None = None
    datetime: bool = False
    transform: str | None = None  # /api/latest: none | latency
    default: float | None = None  # /api/latest: the value of a tag without data
    # Resolved against the measurement's schema by :func:`bind`:
    aggregate: str | None = None
    dt: int | None = None

    @property
    def raw(self) -> bool:
        return self.dt is None

    @property
    def span(self) -> float:
        return self.end - self.start


def _arg(args: Mapping, name: str) -> str | None:
    """A single-valued parameter; an empty value counts as absent (ligo-scald's client sends ``dt=`` for null)."""
    value = args.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def decimal(text: str | None) -> float | None:
    """``text`` as a number when it is one written in ASCII decimal notation, matched whole (Python's float()
    also takes '١٢٣', '1_000', 'nan' and ' 12\n'), else None. The one rule for numbers in URLs."""
    return float(text) if text is not None and _NUMBER.fullmatch(text) else None


def gps_time(text: str, what: str) -> float:
    """A GPS time from the path: a plain decimal number (int or float), finite, between 0 and :data:`MAX_GPS`."""
    if not _NUMBER.fullmatch(text or ""):
        raise ApiError(400, f"{what} must be GPS seconds (a number such as 1187008882 or 1187008882.4), "
                            f"not {text!r}")
    value = float(text)
    if not math.isfinite(value) or not 0 <= value <= MAX_GPS:
        raise ApiError(400, f"{what} {text!r} is out of range (0 to {MAX_GPS:.0e} GPS seconds)")
    return value


def time_range(start: str, end: str) -> tuple[float, float]:
    s, e = gps_time(start, "start"), gps_time(end, "end")
    if e < s:
        raise ApiError(400, f"end {end} is before start {start}")
    return s, e


def number(args: Mapping, name: str, positive: bool = False) -> float | None:
    text = _arg(args, name)
    if text is None:
        return None
    if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)) or (positive and float(text) <= 0):
        raise ApiError(400, f"{name} must be a {'positive ' if positive else ''}finite number, not {text!r}")
    return float(text)


def parse(args: Mapping, start: str, end: str, backends: Mapping[str, Any]) -> Query:
    """Everything that does not depend on the measurement's schema."""
    s, e = time_range(start, end)
    q = Query(start=s, end=e, backend=backend_name(args, backends))

    aggregate = _arg(args, "aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ApiError(400, f"aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}")
    q.aggregate_param = aggregate

    dt = _arg(args, "dt")
    if dt is not None:
        if dt.lower() in RAW_DT:
            q.dt_param = 0
        elif _INTEGRAL.fullmatch(dt) and float(dt) in LEVELS:  # compared as a float: "9"*400 is inf, no int
            q.dt_param = int(float(dt))
        else:
            raise ApiError(400, f"dt must be one of {', '.join(map(str, LEVELS))} (seconds), or 0/raw for raw "
                                f"points, not {dt!r}")

    fill = _arg(args, "fill")
    if fill is not None and fill.lower() not in ("null", "none"):
        if not _NUMBER.fullmatch(fill) or not math.isfinite(float(fill)):
            raise ApiError(400, f"fill must be null or a finite number (it replaces missing values), not {fill!r}")
        q.fill = float(fill)

    scale = _arg(args, "scale")
    if scale is not None and scale.lower() not in ("linear", "lin", "log"):
        raise ApiError(400, f"scale must be log or linear, not {scale!r}")
    q.scale = "log" if scale and scale.lower() == "log" else None

    q.far = number(args, "far", positive=True)

    flag = _arg(args, "datetime")
    if flag is not None and flag.lower() not in ("true", "false", "1", "0"):
        raise ApiError(400, f"datetime must be true or false, not {flag!r}")
    q.datetime = bool(flag) and flag.lower() in ("true", "1")

    q.columns = _names(args.getlist("column"), "column")
    q.columns_given = bool(q.columns)

    transform = _arg(args, "transform")
    if transform is not None and transform not in TRANSFORMS:
        raise ApiError(400, f"transform must be one of {', '.join(TRANSFORMS)}, not {transform!r}")
    q.transform = transform
    q.default = number(args, "default")
    tag_names = q.tag_names = _names(args.getlist("tag"), "tag")
    for name in tag_names:
        values = []
        for value in args.getlist(name):
            if value == "":
                continue
            if len(value) > MAX_TAG_VALUE:
                raise ApiError(400, f"tag value for {name!r} is longer than {MAX_TAG_VALUE} characters")
            if _CONTROL.search(value):
                raise ApiError(400, f"tag value {value!r} for {name!r} contains control characters")
            if value not in values:
                values.append(value)
        if values:
            q.filters[name] = values
    tag_key = _arg(args, "tag_key")
    if tag_key is not None:
        q.tag_key = _names([tag_key], "tag_key")[0]
    return q


def named_level(args: Mapping) -> int | None:
    """The aggregate level ``dt`` names, by the rule :func:`parse` applies; None when absent, raw or not valid
    (then :func:`parse` decides). For the answer cache's key, before anything else is parsed."""
    dt = _arg(args, "dt")
    if dt is None or not _INTEGRAL.fullmatch(dt) or float(dt) not in LEVELS:
        return None
    return int(float(dt))


def backend_name(args: Mapping, backends: Mapping[str, Any]) -> str:
    """``backend`` (a key of ``backends:``), by default ``default`` (or the only/first backend configured)."""
    name = _arg(args, "backend")
    if name is None:
        if "default" in backends or not backends:
            return "default"
        return next(iter(backends))
    if name not in backends:
        known = ", ".join(sorted(backends)) or "none"
        raise ApiError(400, f"unknown backend {name!r} (configured: {known})")
    return name


def _names(values: list[str], what: str) -> list[str]:
    """Distinct non-empty names, each a valid identifier (what the backends can store)."""
    out: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if not NAME_RE.fullmatch(value):
            raise ApiError(400, f"{what} {value!r} is not a valid name (letters, digits, '_', '.', ':', '-')")
        if value not in out:
            out.append(value)
    return out


def bind(q: Query, schema: Schema, default_raw: bool = False) -> Query:
    """Check columns, tag names and tag_key against the measurement's schema; resolve aggregate and dt.

    ``dt`` absent: the coarsest level that gives at most :data:`MAX_POINTS` points per series, the backends' own
    pick (or raw points when ``default_raw`` and the window is short, for tables of triggers); the reads start
    there and fall back along the levels that hold data (:func:`.data.plan`). ``dt=0``/``raw``: raw points.
    """
    for column in q.columns:
        if column not in schema.columns:
            raise ApiError(400, f"{schema.measurement}: unknown column {column!r} "
                                f"(columns: {', '.join(schema.columns)})")
    if not q.columns:
        q.columns = [schema.column_key]
    for name in q.tag_names:
        if name not in schema.tags:
            tags = ", ".join(schema.tags) or "none"
            raise ApiError(400, f"{schema.measurement}: unknown tag {name!r} (tags: {tags})")
    if q.tag_key is not None and q.tag_key not in schema.tags:
        tags = ", ".join(schema.tags) or "none"
        raise ApiError(400, f"{schema.measurement}: tag_key {q.tag_key!r} is not one of its tags ({tags})")
    if q.tag_key is None:
        q.tag_key = schema.tag_key or (schema.tags[0] if schema.tags else None)
    if filter_count(q) > MAX_FILTER_SERIES:
        raise ApiError(400, f"the tag filters select more than {MAX_FILTER_SERIES} series; ask for fewer values")

    raw = q.dt_param == 0 or (q.dt_param is None and q.aggregate_param is None and default_raw
                              and q.span <= MAX_RAW_SPAN)
    if raw:
        if q.span > MAX_RAW_SPAN:
            raise ApiError(400, f"raw points are served for windows of at most {MAX_RAW_SPAN:g} s (this one is "
                                f"{q.span:g} s); ask for an aggregate with dt=1 or coarser")
        q.aggregate, q.dt = None, None
    else:
        q.aggregate = q.aggregate_param or schema.aggregate or "max"
        q.dt = q.dt_param or pick_level(q.start, q.end, None)
    return q


def points_per_series(q: Query) -> int:
    """Buckets in the window at ``q.dt`` (the most a series can hold); 0 for raw reads (not known in advance)."""
    if q.dt is None:
        return 0
    return int(math.floor(q.span / q.dt)) + 1


def filter_count(q: Query) -> int:
    """Series the tag filters name: the product of the value counts (1 when there are none)."""
    return math.prod(len(v) for v in q.filters.values()) if q.filters else 1


def check_budget(values: int, what: str = "this request") -> None:
    """Refuse work beyond :data:`MAX_VALUES` values with a 400 that says how to ask for less."""
    if values > MAX_VALUES:
        raise ApiError(400, f"{what} would return {values:,} values (limit {MAX_VALUES:,}); use a larger dt, a "
                            "shorter time range or fewer tags/columns")


def combos(q: Query, schema: Schema) -> list[dict[str, str]] | None:
    """The tag filters as full or partial tag combinations (``{tag: value}``), in request order.

    None without filters (read the reduction across tags). With a value for every tag of the schema, each combination
    is one series; otherwise a combination selects every stored series that matches it.
    """
    if not q.filters:
        return None
    names = [t for t in schema.tags if t in q.filters]
    return [dict(zip(names, values)) for values in itertools.product(*(q.filters[n] for n in names))]
