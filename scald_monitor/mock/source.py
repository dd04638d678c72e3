"""What the mock InfluxDB holds: measurements, series and their points on each retention policy's grid.

Nothing is stored. A point exists wherever :func:`scald_monitor.mock.generate.generate_columns` puts one, from
``start`` (GPS, default 0) up to *now*, so any time range, asked in any pieces, gets the same points:

* the default retention policy (``autogen``) holds the raw samples at ``rate`` Hz, tagged with the schema's tags;
* retention policy ``"<dt>s"`` (dt a positive integer, as ligo-scald names them) holds one point per dt-second
  bucket and per ``aggregate`` tag value (min, median, max), stamped with the bucket's start like ligo-scald's
  Aggregator and ours. A bucket is reduced from the raw samples with the project's own decimation (the row whose
  ``column_key`` is the min/median_high/max, other columns from that row), so when a bucket holds at most
  ``SAMPLES_PER_BUCKET`` raw samples the mock's "1s"/"10s" data equal what the Aggregator would store from the raw
  data. Coarser buckets are reduced from ``SAMPLES_PER_BUCKET`` evenly spaced samples of their own (a sparser grid
  with its own noise), which keeps a year at "100000s" as cheap as an hour at "1s".

Times leave this module as Unix nanoseconds (int64), computed exactly from the sample index, as InfluxDB stores them.
"""
from __future__ import annotations

import copy as _copy
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np

from ..io.decimate import decimate
from ..timeutil import gps_to_unix, unix_to_gps
from .generate import generate_columns, tag_values_from

__all__ = ["AGGREGATES", "MeasurementDef", "MockSource", "NS", "SAMPLES_PER_BUCKET", "Series"]

NS = 1_000_000_000
#: The ``aggregate`` tag values of decimated retention policies, in InfluxDB's (sorted) series order.
AGGREGATES = ("max", "median", "min")
#: Raw samples reduced per bucket at most; coarser buckets use this many samples of a sparser grid.
SAMPLES_PER_BUCKET = 16
#: Tag values of the one tag (``job``) when there is no configuration: ligo-scald style job ids.
DEFAULT_JOBS = tuple(f"{i:04d}" for i in range(10))


@dataclass(frozen=True)
class MeasurementDef:
    """One measurement: its fields (``column_key`` first decides the aggregates), tags and tag-value tuples."""

    name: str
    fields: tuple[str, ...]
    column_key: str
    tags: tuple[str, ...]
    tag_values: tuple[tuple[str, ...], ...]
    spec: Mapping | None = None


@dataclass(frozen=True)
class Series:
    """One series of a measurement in one retention policy: its tag values and, if decimated, its aggregate."""

    tag_values: tuple[str, ...]
    aggregate: str | None

    def tags(self, names: Sequence[str]) -> dict[str, str]:
        """The series' tags as InfluxDB reports them (``aggregate`` included when decimated)."""
        out = dict(zip(names, self.tag_values))
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate
        return dict(sorted(out.items()))


def _fraction(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1_000_000)


def _tag_mapping(cfg: Any, spec: Any) -> dict:
    """Tag values per tag name as ``scald fill`` uses them: mock.tags, plus a schema's expected values of tag_key."""
    mapping = dict((cfg.mock or {}).get("tags") or {})
    if spec.expected_tags and spec.tag_key and spec.tag_key not in mapping:
        mapping[spec.tag_key] = list(spec.expected_tags)
    return {name: values for name, values in mapping.items() if name in spec.tags}


class MockSource:
    """The generated database: a catalog of measurements plus point generation in Unix ns.

    ``measurements`` None means "any measurement exists", each with one field ``data`` and one tag ``job``
    (``DEFAULT_JOBS``): the no-configuration mode, like ligo-scald's ``scald mock``.
    """

    def __init__(self, measurements: Mapping[str, MeasurementDef] | None = None, *, rate: float = 1.0, seed: int = 0,
                 start: float = 0.0, databases: Sequence[str] = ()):
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be > 0, got {rate!r}")
        self.measurements = dict(measurements) if measurements is not None else None
        self.rate = float(rate)
        self.rate_fraction = _fraction(self.rate)
        self.seed = int(seed)
        self.start_gps = float(start)
        self.databases = tuple(databases) or ("mock",)
        self._pinned_now: int | None = None

    @classmethod
    def from_config(cls, cfg: Any, *, seed: int | None = None, rate: float | None = None) -> "MockSource":
        """A source answering for every measurement of a loaded configuration (``scald_monitor.config.Config``).

        Schemas sharing a measurement are merged (the fields of all; tags, spec and column_key of the first), and
        tag values come from ``mock.tags`` and the schemas' expected tags, exactly as ``scald fill`` generates them.
        """
        mock = cfg.mock or {}
        measurements: dict[str, MeasurementDef] = {}
        for spec in cfg.schemas.values():
            known = measurements.get(spec.measurement)
            if known is not None:
                extra = tuple(c for c in spec.columns if c not in known.fields)
                measurements[spec.measurement] = MeasurementDef(
                    known.name, known.fields + extra, known.column_key, known.tags, known.tag_values,
                    known.spec if known.spec is not None else spec.mock)
                continue
            tags = tuple(spec.tags or ())
            values = tag_values_from(tags, _tag_mapping(cfg, spec)) if tags else [()]
            fields = (spec.column_key,) + tuple(c for c in spec.columns if c != spec.column_key)
            measurements[spec.measurement] = MeasurementDef(spec.measurement, fields, spec.column_key, tags,
                                                            tuple(values), spec.mock)
        databases = [b["db"] for b in cfg.backends.values() if b.get("backend") == "influxdb" and b.get("db")]
        return cls(measurements,
                   rate=float(rate if rate is not None else mock.get("rate", 1.0)),
                   seed=int(seed if seed is not None else mock.get("seed", 0)),
                   start=float(mock.get("start", 0.0)),
                   databases=list(dict.fromkeys(databases)))

    # ------------------------------------------------------------------------------------------------ catalog

    def measurement(self, name: str) -> MeasurementDef | None:
        """The measurement called ``name``, or None when the configuration has no such measurement."""
        if self.measurements is None:
            return MeasurementDef(name, ("data",), "data", ("job",), tuple((j,) for j in DEFAULT_JOBS))
        return self.measurements.get(name)

    def measurement_names(self) -> list[str]:
        """Configured measurement names, sorted (empty without a configuration: then any name answers)."""
        return sorted(self.measurements or ())

    def series(self, meas: MeasurementDef, dt: int | None) -> list[Series]:
        """Every series of ``meas`` in the retention policy of ``dt`` (None = raw), in InfluxDB's series-key order."""
        aggregates: Sequence[str | None] = (None,) if dt is None else AGGREGATES
        out = [Series(values, agg) for values in meas.tag_values for agg in aggregates]
        return sorted(out, key=lambda s: tuple(s.tags(meas.tags).items()))

    def step_seconds(self, dt: int | None) -> float:
        """Spacing of the points of a retention policy, in seconds."""
        return 1.0 / self.rate if dt is None else float(dt)

    # ----------------------------------------------------------------------------------------------- points

    def now_ns(self) -> int:
        """Now, in Unix ns: the mock has no points after it."""
        return self._pinned_now if self._pinned_now is not None else time.time_ns()

    def pinned(self, now_ns: int) -> "MockSource":
        """A copy whose "now" stands still at ``now_ns``: reproducible answers for tests, one clock per query."""
        copy = _copy.copy(self)
        copy._pinned_now = int(now_ns)
        return copy

    def start_ns(self) -> int:
        """The first moment with data, in Unix ns."""
        whole = math.floor(self.start_gps)
        return int(_gps_seconds_to_unix_ns(np.array([whole]))[0]) + round((self.start_gps - whole) * NS)

    def points(self, meas: MeasurementDef, dt: int | None, series: Sequence[Series], lo_ns: int, hi_ns: int,
               fields: Sequence[str]) -> dict[Series, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """The points of each of ``series`` with ``lo_ns <= time <= hi_ns``, clipped to [start, now].

        Returns ``{series: (unix_ns int64 array ascending, {field: float64 array})}`` for the given ``fields``.
        """
        lo_ns = max(int(lo_ns), self.start_ns())
        hi_ns = min(int(hi_ns), self.now_ns())
        empty = (np.empty(0, dtype=np.int64), {f: np.empty(0) for f in fields})
        if hi_ns < lo_ns or not series:
            return {s: empty for s in series}
        wanted = list(dict.fromkeys(s.tag_values for s in series))
        gen_fields = list(dict.fromkeys([meas.column_key, *fields])) if dt is not None else list(fields)
        if dt is None:
            out = self._raw(meas, wanted, gen_fields, lo_ns, hi_ns)
            return {s: out[s.tag_values] for s in series}
        buckets = self._decimated(meas, dt, wanted, gen_fields, lo_ns, hi_ns)
        result = {}
        for s in series:
            ns, values = buckets[s.tag_values][s.aggregate]
            result[s] = (ns, {f: values[f] for f in fields})
        return result

    def _generate(self, meas: MeasurementDef, tag_values: list, fields: list, start: float, end: float,
                  rate: float) -> dict:
        return generate_columns(meas.name, fields, start, end, tags=meas.tags, tag_values=tag_values, rate=rate,
                                seed=self.seed, spec=meas.spec)

    def _raw(self, meas: MeasurementDef, tag_values: list, fields: list, lo_ns: int, hi_ns: int) -> dict:
        step = 1.0 / self.rate
        start = _unix_ns_to_gps(lo_ns) - 2 - step  # margins for float rounding and leap seconds; cut exactly below
        end = _unix_ns_to_gps(hi_ns) + 2 + step
        data = self._generate(meas, tag_values, fields, start, end, self.rate)
        out = {}
        for key, block in data.items():
            k = np.rint(block["time"] * self.rate).astype(np.int64)
            ns = _grid_to_unix_ns(k, self.rate_fraction)
            keep = (ns >= lo_ns) & (ns <= hi_ns)
            out[key] = (ns[keep], {f: block["fields"][f][keep] for f in fields})
        return out

    def _decimated(self, meas: MeasurementDef, dt: int, tag_values: list, fields: list, lo_ns: int,
                   hi_ns: int) -> dict:
        """Per tag-value tuple and aggregate: (bucket-start ns, field values) of buckets starting in [lo, hi]."""
        first = math.floor((_unix_ns_to_gps(lo_ns) - 2) / dt)
        last = math.floor((_unix_ns_to_gps(hi_ns) + 2) / dt)
        exact = dt * self.rate <= SAMPLES_PER_BUCKET
        rate = self.rate_fraction if exact else Fraction(SAMPLES_PER_BUCKET, dt)
        now_ns = self.now_ns()
        begin = max(first * dt, self.start_gps)
        end = max(begin, min((last + 1) * dt, _unix_ns_to_gps(now_ns) + 1))  # cut exactly at now below
        data = self._generate(meas, tag_values, fields, begin, end, float(rate))
        out = {}
        for key, block in data.items():
            k = np.rint(block["time"] * float(rate)).astype(np.int64)
            present = _grid_to_unix_ns(k, rate) <= now_ns
            t = block["time"][present]
            if not exact:  # exact sample times (k * dt / S), so floor(t / dt) cannot slip across a bucket edge
                t = k[present] * (dt / SAMPLES_PER_BUCKET)
            columns = {f: block["fields"][f][present] for f in fields}
            levels = decimate(t, columns[meas.column_key], dt)
            ns = _gps_seconds_to_unix_ns(levels.starts)
            keep = (ns >= lo_ns) & (ns <= hi_ns)
            out[key] = {agg: (ns[keep], {f: columns[f][levels.index[agg][keep]] for f in fields})
                        for agg in AGGREGATES}
        return out


# ----------------------------------------------------------------------------------------------- time helpers


def _unix_ns_to_gps(ns: int) -> float:
    """Approximate GPS seconds of a Unix ns time (float; callers add margins and filter exactly in ns)."""
    return unix_to_gps(ns / NS)


def _gps_seconds_to_unix_ns(whole: np.ndarray) -> np.ndarray:
    """Exact Unix ns of whole GPS seconds (a float array of integral values)."""
    whole = np.asarray(whole, dtype=np.float64)
    if whole.size == 0:
        return np.empty(0, dtype=np.int64)
    unix = np.asarray(gps_to_unix(whole), dtype=np.float64)
    return np.rint(unix).astype(np.int64) * NS


def _grid_to_unix_ns(k: np.ndarray, rate: Fraction) -> np.ndarray:
    """Exact Unix ns (rounded to the ns) of samples ``k / rate`` GPS seconds, by integer arithmetic.

    Floats cannot do this: at GPS 1.4e9 a double resolves ~240 ns, so ``k / 10`` would come out as ...099999744.
    """
    p, q = rate.numerator, rate.denominator  # t = k * q / p seconds
    whole_units, rem = np.divmod(k, p)
    seconds = whole_units * q + (rem * q) // p
    frac_ns = (((rem * q) % p) * (2 * NS) + p) // (2 * p)  # rounded half up
    unix_seconds = _gps_seconds_to_unix_ns(seconds.astype(np.float64)) // NS
    return unix_seconds * NS + frac_ns
