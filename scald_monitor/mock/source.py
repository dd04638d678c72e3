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

Measurements that are not timeseries keep ligo-scald's own layout for them (``io/triggers.py``), because that is
what its ``store_triggers`` / ``store_snapshot`` leave in InfluxDB and what every reader (ours, ligo-scald's
Consumer) looks for:

* **triggers** (a schema with ``far_key``, or drawn by an IFAR plot, or untagged with a ``far`` column): nothing in
  the default or ``"<dt>s"`` policies; ligo-scald's nested ``"<far>_hz"`` policies (``"0.01_hz"`` ... ``"1e-07_hz"``)
  hold the triggers with FAR <= far, one per second at most (:func:`~scald_monitor.mock.generate.generate_triggers`:
  the same samples ``scald fill`` stores as raw points);
* **snapshots** (a schema drawn by a Snapshot plot): the default policy holds, every ``SNAPSHOT_EVERY`` seconds, one
  point with the JSON string fields ``data`` and ``dims`` (:func:`~scald_monitor.mock.generate.generate_snapshot`).

Times leave this module as Unix nanoseconds (int64), computed exactly from the sample index, as InfluxDB stores them.
"""
from __future__ import annotations

import copy as _copy
import json
import math
import re
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np

from ..io.decimate import decimate
from ..io.triggers import FAR_THRESHOLDS, rp_name
from ..timeutil import gps_to_unix, unix_to_gps
from .generate import SNAPSHOT_DIMS, generate_columns, generate_snapshot, generate_triggers, tag_values_from

__all__ = ["AGGREGATES", "KINDS", "MeasurementDef", "MockSource", "NS", "Policy", "RAW", "SAMPLES_PER_BUCKET",
           "SNAPSHOT_EVERY", "SNAPSHOT_FIELDS", "Series"]

NS = 1_000_000_000
#: The ``aggregate`` tag values of decimated retention policies, in InfluxDB's (sorted) series order.
AGGREGATES = ("max", "median", "min")
#: Raw samples reduced per bucket at most; coarser buckets use this many samples of a sparser grid.
SAMPLES_PER_BUCKET = 16
#: Tag values of the one tag (``job``) when there is no configuration: ligo-scald style job ids.
DEFAULT_JOBS = tuple(f"{i:04d}" for i in range(10))
#: What a measurement holds: timeseries (raw + "<dt>s"), triggers ("<far>_hz") or snapshots (data/dims strings).
KINDS = ("timeseries", "triggers", "snapshot")
#: Seconds between two generated snapshots (stamped at GPS multiples of it).
SNAPSHOT_EVERY = 60
#: The string fields of a snapshot point, as ligo-scald's ``store_snapshot`` writes them.
SNAPSHOT_FIELDS = ("data", "dims")
_RP_DT = re.compile(r"([1-9][0-9]{0,9})s")
_RP_FAR = {rp_name(far): far for far in FAR_THRESHOLDS}


@dataclass(frozen=True)
class Policy:
    """A retention policy as the mock reads its name: the default one (raw samples, snapshots; both None),
    ``"<dt>s"`` (buckets of ``dt`` seconds) or ligo-scald's ``"<far>_hz"`` (triggers with FAR <= ``far``)."""

    dt: int | None = None
    far: float | None = None

    @classmethod
    def named(cls, name: str | None) -> "Policy | None":
        """The policy called ``name`` (None or "" or "autogen": the default one); None when there is no such one."""
        if name in (None, "", "autogen"):
            return RAW
        match = _RP_DT.fullmatch(name)
        if match:
            return cls(dt=int(match.group(1)))
        if name in _RP_FAR:
            return cls(far=_RP_FAR[name])
        return None


#: The default retention policy.
RAW = Policy()


@dataclass(frozen=True)
class MeasurementDef:
    """One measurement: its fields (``column_key`` first decides the aggregates), tags and tag-value tuples, and
    what it holds (``kind``, one of ``KINDS``). For triggers ``column_key`` is the FAR column and ``time_key``
    (if any) the field holding each trigger's exact time."""

    name: str
    fields: tuple[str, ...]
    column_key: str
    tags: tuple[str, ...]
    tag_values: tuple[tuple[str, ...], ...]
    spec: Mapping | None = None
    kind: str = "timeseries"
    time_key: str | None = None

    @property
    def tag_keys(self) -> list[str]:
        """The tag keys influxd would index: decimated timeseries also carry ``aggregate`` (in every policy, so
        ``GROUP BY *`` shows ``aggregate=""`` for raw points); triggers and snapshots only their own tags."""
        return sorted(set(self.tags) | ({"aggregate"} if self.kind == "timeseries" else set()))

    def field_type(self, name: str) -> str:
        """InfluxDB's type of a field (SHOW FIELD KEYS): snapshots' ``data``/``dims`` are strings."""
        return "string" if self.kind == "snapshot" else "float"


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


def _kinds(cfg: Any) -> dict[str, str]:
    """What each measurement of the config holds, when it is not a timeseries: "snapshot" for a schema that a
    Snapshot plot draws, else "triggers" for an untagged schema with ``far_key``, or drawn by an IFAR plot, or with
    a column named ``far`` (store_triggers measurements have no tags, so a tagged schema stays a timeseries)."""
    plots = ((getattr(cfg, "dashboard", None) or {}).get("plots") or {}).values()
    drawn: dict[str, set] = {}
    for plot in plots:
        if isinstance(plot, Mapping) and isinstance(plot.get("schema"), str):
            drawn.setdefault(plot["schema"], set()).add(plot.get("type"))
    kinds: dict[str, str] = {}
    for name, spec in cfg.schemas.items():
        types = drawn.get(name, set())
        if "Snapshot" in types:
            kinds[spec.measurement] = "snapshot"
        elif not spec.tags and ("far_key" in spec.extra or "IFAR" in types or "far" in spec.columns):
            kinds.setdefault(spec.measurement, "triggers")
    return kinds


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
        Trigger and snapshot measurements (see the module's docstring) keep ligo-scald's layout: a trigger's FAR
        column is the schema's ``far_key`` (default ``far``) and its ``time_key`` (unless "time") a field too; a
        snapshot's fields are ``data`` and ``dims``.
        """
        mock = cfg.mock or {}
        kinds = _kinds(cfg)
        measurements: dict[str, MeasurementDef] = {}
        for spec in cfg.schemas.values():
            kind = kinds.get(spec.measurement, "timeseries")
            known = measurements.get(spec.measurement)
            if known is not None:
                extra = tuple(c for c in spec.columns if c not in known.fields) if kind != "snapshot" else ()
                measurements[spec.measurement] = MeasurementDef(
                    known.name, known.fields + extra, known.column_key, known.tags, known.tag_values,
                    known.spec if known.spec is not None else spec.mock, known.kind, known.time_key)
                continue
            tags = tuple(spec.tags or ())
            values = tag_values_from(tags, _tag_mapping(cfg, spec)) if tags else [()]
            column_key, time_key = spec.column_key, None
            if kind == "triggers":
                column_key = str(spec.extra.get("far_key") or "far")
                time_key = spec.extra.get("time_key")
                time_key = str(time_key) if time_key not in (None, "", "time") else None
            fields = (column_key,) + tuple(c for c in spec.columns if c != column_key)
            if time_key is not None and time_key not in fields:
                fields += (time_key,)
            if kind == "snapshot":
                column_key, fields = SNAPSHOT_FIELDS[0], SNAPSHOT_FIELDS
            measurements[spec.measurement] = MeasurementDef(spec.measurement, fields, column_key, tags,
                                                            tuple(values), spec.mock, kind, time_key)
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

    def series(self, meas: MeasurementDef, rp: Policy) -> list[Series]:
        """Every series of ``meas`` in retention policy ``rp``, in InfluxDB's series-key order: none where its kind
        keeps nothing (a trigger measurement's default policy, a timeseries' ``"<far>_hz"``, ...)."""
        holds = {"timeseries": rp.far is None, "triggers": rp.far is not None, "snapshot": rp == RAW}[meas.kind]
        if not holds:
            return []
        aggregates: Sequence[str | None] = AGGREGATES if meas.kind == "timeseries" and rp.dt is not None else (None,)
        out = [Series(values, agg) for values in meas.tag_values for agg in aggregates]
        return sorted(out, key=lambda s: tuple(s.tags(meas.tags).items()))

    def step_seconds(self, meas: MeasurementDef, rp: Policy) -> float:
        """Smallest spacing of the points of ``meas`` in ``rp``, in seconds (what a scan budgets for)."""
        if meas.kind == "snapshot":
            return float(SNAPSHOT_EVERY)
        if meas.kind == "triggers":
            return max(1.0, 1.0 / self.rate)  # at most one trigger per second
        return 1.0 / self.rate if rp.dt is None else float(rp.dt)

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

    def points(self, meas: MeasurementDef, rp: Policy, series: Sequence[Series], lo_ns: int, hi_ns: int,
               fields: Sequence[str]) -> dict[Series, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """The points of each of ``series`` (of ``self.series(meas, rp)``) with ``lo_ns <= time <= hi_ns``, clipped
        to [start, now].

        Returns ``{series: (unix_ns int64 array ascending, {field: array})}`` for the given ``fields`` (float64;
        a snapshot's ``data``/``dims`` are object arrays of JSON strings).
        """
        lo_ns = max(int(lo_ns), self.start_ns())
        hi_ns = min(int(hi_ns), self.now_ns())
        empty = (np.empty(0, dtype=np.int64), {f: np.empty(0) for f in fields})
        if hi_ns < lo_ns or not series:
            return {s: empty for s in series}
        if meas.kind == "triggers":
            return {s: self._triggers(meas, rp.far, lo_ns, hi_ns, fields) for s in series}
        if meas.kind == "snapshot":
            return {s: self._snapshots(meas, lo_ns, hi_ns, fields) for s in series}
        dt = rp.dt
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

    def _triggers(self, meas: MeasurementDef, far: float, lo_ns: int, hi_ns: int,
                  fields: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Triggers with FAR <= ``far`` stamped in [lo, hi] (already clipped to [start, now]). Whole seconds are
        generated around the window, so a bin's trigger is the same however the range is cut; samples after now
        (or before start) do not exist yet, as in a store being filled."""
        first = math.floor(_unix_ns_to_gps(lo_ns)) - 2
        last = math.floor(_unix_ns_to_gps(hi_ns)) + 2
        start, now = _unix_ns_to_gps(self.start_ns()), _unix_ns_to_gps(self.now_ns())
        begin = max(first, start)
        end = max(begin, min(last + 1, math.nextafter(now, math.inf)))  # samples at most at now
        wanted = list(dict.fromkeys([meas.column_key, *fields]))
        block = generate_triggers(meas.name, wanted, begin, end, far_key=meas.column_key, time_key=meas.time_key,
                                  rate=self.rate, seed=self.seed, spec=meas.spec)
        ns = _gps_seconds_to_unix_ns(block["time"])
        keep = (ns >= lo_ns) & (ns <= hi_ns) & (block["fields"][meas.column_key] <= far)
        return ns[keep], {f: block["fields"][f][keep] for f in fields}

    def _snapshots(self, meas: MeasurementDef, lo_ns: int, hi_ns: int,
                   fields: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One snapshot every ``SNAPSHOT_EVERY`` s stamped in [lo, hi]: ``data``/``dims`` as ``store_snapshot``
        writes them (JSON text)."""
        first = math.floor((_unix_ns_to_gps(lo_ns) - 2) / SNAPSHOT_EVERY)
        last = math.floor((_unix_ns_to_gps(hi_ns) + 2) / SNAPSHOT_EVERY)
        index = np.arange(first, last + 1, dtype=np.int64)
        ns = _gps_seconds_to_unix_ns((index * SNAPSHOT_EVERY).astype(np.float64))
        keep = (ns >= lo_ns) & (ns <= hi_ns)
        index, ns = index[keep], ns[keep]
        dims = json.dumps(SNAPSHOT_DIMS)
        values: dict[str, np.ndarray] = {}
        for f in fields:
            if f == "data":
                texts = [json.dumps(generate_snapshot(meas.name, int(i), seed=self.seed)) for i in index]
            else:
                texts = [dims] * index.size
            values[f] = np.array(texts, dtype=object)
        return ns, values

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
