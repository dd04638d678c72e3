"""Deterministic fake timeseries (and triggers, and snapshots) for any schema.

The quickstart demo, the tests and the mock HTTP source all need data that looks like a pipeline's, and the HTTP
source must answer *any* time range the same way however it is asked. So every sample is a pure function of
``(seed, measurement, tag values, column, sample time)`` (and the sample rate, which fixes the grid):

* samples sit on the grid ``k / rate`` for integer ``k``; a range ``[start, end)`` selects the ``k`` whose time falls
  inside it, so ``[t0, t1) + [t1, t2)`` is exactly ``[t0, t2)``;
* the smooth parts (sine, random walk, steps) are functions of the time alone;
* random draws come from NumPy streams seeded by
  ``[seed, hash(measurement), hash(tags), hash(column), domain, block]`` where ``block`` numbers fixed-size blocks of
  sample (or knot/step) indices and ``domain`` separates noise, spikes, steps, ... . The hashes are BLAKE2b, never
  Python's per-process salted ``hash()``, so values are the same in every process. (NumPy does not promise stream
  compatibility across its own versions, so values may change with a NumPy upgrade; they never change between calls.)

A *spec* is the plain dict found under a schema's ``mock:`` key in the YAML configuration::

    signal: sine | random_walk | steps | spikes | constant    # default sine
    offset: 0            # baseline
    amplitude: 1         # sine amplitude; random_walk and steps stay within offset ± amplitude (before noise)
    period: 600          # s: sine period; random_walk's largest time scale
    noise: 0.1           # Gaussian standard deviation; default 0.1 × |amplitude| (0 for constant)
    spike_rate: 0        # spikes per hour (default 6 for the spikes signal); any signal can have spikes
    spike_height: 10     # added at a spike; default 10 × amplitude; negative for dips
    step_every: 900      # s: steps change level at multiples of this (GPS time)
    gaps:                # rows omitted, all columns together, so heartbeat checks can fail
      - {tag: "0001", start: 1187000000, every: 3600, length: 300}   # [start + n·every, ... + length) for all n
      - {tag: null, start: 1187000000, length: 60}                   # one window; tag null = every tag value
    columns:             # per-column overrides of any key above except gaps/columns
      snr: {signal: spikes, offset: 5}
    tags: {ifo: [H1, L1]}  # the caller's business (see tag_values_from); rate and seed likewise

A gap's ``tag`` (a value or a list of values) matches a series if any of its tag values is among them; ``start``
defaults to 0 and a null ``every`` means a single window.

Triggers (:func:`generate_triggers`) are those samples as ligo-scald's ``store_triggers`` keeps them, and snapshots
(:func:`generate_snapshot`) a PSD-like curve per instant, so a backend filled with ``store_triggers`` /
``store_snapshot`` and the mock's ``"<far>_hz"`` / ``data``+``dims`` answers show the same kind of data.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

from ..io.decimate import decimate
from ..schemawalk import Walker, format_path, load_schema

__all__ = [
    "DEFAULT_TAG_VALUES",
    "SNAPSHOT_DIMS",
    "SpecError",
    "generate_columns",
    "generate_rows",
    "generate_snapshot",
    "generate_triggers",
    "tag_values_from",
    "validate_spec",
]

#: Keys of a spec that belong to the caller (the config's ``mock:`` section: sample rate, seed, tag values),
#: accepted so that a config's whole ``mock:`` block can be passed; validated as that section's.
CALLER_KEYS = ("tags", "rate", "seed")

#: Tag values used for a tag that the config lists no values for.
DEFAULT_TAG_VALUES = ("0000", "0001", "0002", "0003")

#: Samples (or knots, or steps) per random stream. Large enough that stream set-up is negligible, small enough that
#: a short query does not pay for much more than it returns.
BLOCK = 4096

# Stream domains: separate streams for each kind of randomness, so e.g. adding spikes does not change the noise.
_NOISE, _SPIKES, _STEPS, _PARAMS, _SNAPSHOT, _KNOTS = 1, 2, 3, 4, 5, 10

#: Random-walk octaves: (knot spacing as a fraction of ``period``, weight). Weights sum to 1, so |walk| <= 1.
_OCTAVES = ((1.0, 4 / 7), (1 / 3, 2 / 7), (1 / 9, 1 / 7))


class SpecError(ValueError):
    """A mock spec (or generation argument) is invalid; the message names the offending key."""


# --------------------------------------------------------------------------------------------------------- spec


def _number(path: str, value: Any) -> float:
    """A finite float from a generation argument; numeric strings such as ``1e-21`` count."""
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{path}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{path}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SpecError(f"{path}: must be finite, got {value!r}")
    return number


def _walked(spec: Any) -> dict:
    """The spec checked against the configuration schema (``$defs/mock_spec``; the caller's keys against
    ``$defs/mock``), numbers converted: the one definition of mock settings, which ``scald-monitor validate``
    applies too. SpecError names the first problem's key."""
    walker = Walker(load_schema())
    rest = dict(spec) if isinstance(spec, Mapping) else spec
    caller = {k: rest.pop(k) for k in CALLER_KEYS if k in rest} if isinstance(rest, dict) else {}
    settings = walker.walk(walker.define("mock_spec"), rest)
    walker.walk(walker.define("mock"), caller)
    if walker.problems:
        path, message, _ = walker.problems[0]
        raise SpecError(f"{format_path(path) or 'mock'}: {message}")
    return settings


def _column_params(level: dict) -> dict:
    """Fill the defaults of one column's merged spec (floats, as NumPy computes with them). Defaults that depend
    on other keys are resolved here."""
    signal = level.get("signal", "sine")
    amplitude = float(level.get("amplitude", 1.0))
    return {
        "signal": signal,
        "offset": float(level.get("offset", 0.0)),
        "amplitude": amplitude,
        "period": float(level.get("period", 600.0)),
        "noise": float(level.get("noise", 0.0 if signal == "constant" else 0.1 * abs(amplitude))),
        "spike_rate": float(level.get("spike_rate", 6.0 if signal == "spikes" else 0.0)),
        "spike_height": float(level.get("spike_height", 10.0 * amplitude)),
        "step_every": float(level.get("step_every", 900.0)),
    }


def validate_spec(spec: Mapping | None, columns: Sequence[str] | None = None) -> dict:
    """Check a ``mock:`` spec; return it normalised as ``{"default": params, "columns": {col: params}, "gaps": [...]}``.

    Raises ``SpecError`` naming the key (relative to the spec, e.g. ``columns.snr.period``). When ``columns`` is
    given, per-column overrides for unknown columns are errors too. A gap's ``tags`` is a frozenset of tag values,
    or None for every series.
    """
    settings = _walked({} if spec is None else spec)
    signal_keys = load_schema()["$defs"]["mock_signal"]["properties"]
    base = {k: v for k, v in settings.items() if k in signal_keys}
    per_column = {}
    for name, override in (settings.get("columns") or {}).items():
        if columns is not None and name not in columns:
            raise SpecError(f"columns.{name}: not a column of this schema ({', '.join(columns)})")
        per_column[name] = _column_params({**base, **(override or {})})
    gaps = [{"tags": None if gap["tag"] is None else frozenset([gap["tag"]] if isinstance(gap["tag"], str)
                                                               else gap["tag"]),
             "start": float(gap.get("start") or 0.0), "every": None if gap.get("every") is None else float(gap["every"]),
             "length": float(gap["length"])}
            for gap in settings.get("gaps") or []]
    return {"default": _column_params(base), "columns": per_column, "gaps": gaps}


def tag_values_from(tags: Sequence[str], mapping: Mapping[str, Sequence[str]] | None) -> list[tuple[str, ...]]:
    """All tag-value tuples to generate: the cartesian product, in tag order, of the values listed per tag name.

    ``mapping`` is the config's ``mock.tags``; a tag it does not list gets ``DEFAULT_TAG_VALUES`` (four ligo-scald
    style job ids). No tags gives ``[()]``, the single key of an untagged measurement.
    """
    mapping = mapping or {}
    if not isinstance(mapping, Mapping):
        raise SpecError("tags: expected a mapping of tag name to a list of values")
    for name in mapping:
        if name not in tags:
            raise SpecError(f"tags.{name}: not a tag of this schema ({', '.join(tags) or 'it has none'})")
    axes = []
    for name in tags:
        values = mapping.get(name)
        if values is None:
            values = DEFAULT_TAG_VALUES
        elif isinstance(values, (str, int)) and not isinstance(values, bool):
            values = [values]
        values = list(dict.fromkeys(str(v) for v in values))
        if not values:
            raise SpecError(f"tags.{name}: needs at least one value")
        axes.append(values)
    return [tuple(combo) for combo in itertools.product(*axes)]


# ------------------------------------------------------------------------------------------------- randomness


@lru_cache(maxsize=4096)
def _stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process and on every platform (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _series_key(seed: int, measurement: str, tags: tuple[str, ...], column: str) -> tuple[int, ...]:
    # "\x1f" (unit separator) cannot be confused with tag text, and () differs from ("",).
    tag_text = f"{len(tags)}\x1f" + "\x1f".join(tags)
    return (seed, _stable_hash(measurement), _stable_hash(tag_text), _stable_hash(column))


def _zigzag(n: int) -> int:
    """Map any integer onto a non-negative one (SeedSequence takes no negatives): 0,-1,1,-2,... -> 0,1,2,3,..."""
    return 2 * n if n >= 0 else -2 * n - 1


def _draw(key: tuple[int, ...], domain: int, idx: np.ndarray, normal: bool = False) -> np.ndarray:
    """Random value number ``i`` of stream ``(key, domain)`` for each ``i`` in the sorted int64 array ``idx``.

    Values come in blocks of ``BLOCK`` from their own generator, so value ``i`` is the same whatever else is asked
    for, and memory stays at the output plus one block.
    """
    out = np.empty(idx.shape, dtype=np.float64)
    if idx.size == 0:
        return out
    blocks = idx // BLOCK
    cuts = np.flatnonzero(blocks[1:] != blocks[:-1]) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, idx.size]):
        block = int(blocks[lo])
        rng = np.random.default_rng([*key, domain, _zigzag(block)])
        values = rng.standard_normal(BLOCK) if normal else rng.random(BLOCK)
        out[lo:hi] = values[idx[lo:hi] - block * BLOCK]
    return out


def _runs(j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted int array: its distinct values and, per element, the position of its value among them."""
    change = np.empty(j.size, dtype=bool)
    change[:1] = True
    np.not_equal(j[1:], j[:-1], out=change[1:])
    return j[change], np.cumsum(change) - 1


# ---------------------------------------------------------------------------------------------------- signals


def _grid(start: float, end: float, rate: float) -> np.ndarray:
    """Integer sample indices ``k`` with ``start <= k / rate < end``, decided on the float ``k / rate`` itself."""

    def first_at_or_after(t: float) -> int:
        k = math.ceil(t * rate)
        while k / rate < t:
            k += 1
        while (k - 1) / rate >= t:
            k -= 1
        return k

    return np.arange(first_at_or_after(start), first_at_or_after(end), dtype=np.int64)


def _gap_mask(times: np.ndarray, tags: tuple[str, ...], gaps: list[dict]) -> np.ndarray:
    """True for samples to keep: outside every gap window that applies to this tag-value tuple."""
    keep = np.ones(times.size, dtype=bool)
    for gap in gaps:
        if gap["tags"] is not None and not gap["tags"].intersection(tags):
            continue
        since = times - gap["start"]
        if gap["every"] is None:
            inside = (since >= 0) & (since < gap["length"])
        else:
            inside = np.mod(since, gap["every"]) < gap["length"]
        keep &= ~inside
    return keep


def _walk(key: tuple[int, ...], times: np.ndarray, period: float) -> np.ndarray:
    """Smooth bounded wander in [-1, 1]: value noise (random knots, smoothstep-interpolated) over three octaves."""
    total = np.zeros(times.size)
    for octave, (fraction, weight) in enumerate(_OCTAVES):
        scaled = times / (period * fraction)
        j = np.floor(scaled).astype(np.int64)
        knots, pos = _runs(j)
        left = _draw(key, _KNOTS + octave, knots)[pos] * 2 - 1
        right = _draw(key, _KNOTS + octave, knots + 1)[pos] * 2 - 1
        x = scaled - j
        x = x * x * (3 - 2 * x)
        total += weight * (left + (right - left) * x)
    return total


def _signal(key: tuple[int, ...], k: np.ndarray, times: np.ndarray, rate: float, p: dict) -> np.ndarray:
    """The values of one column at sample indices ``k`` (times ``times``) for resolved parameters ``p``."""
    signal = p["signal"]
    values = np.full(times.size, p["offset"])
    if signal == "sine":
        phase = _draw(key, _PARAMS, np.zeros(1, dtype=np.int64))[0] * 2 * math.pi
        values += p["amplitude"] * np.sin(2 * math.pi / p["period"] * times + phase)
    elif signal == "random_walk":
        values += p["amplitude"] * _walk(key, times, p["period"])
    elif signal == "steps":
        steps, pos = _runs(np.floor(times / p["step_every"]).astype(np.int64))
        values += p["amplitude"] * (_draw(key, _STEPS, steps)[pos] * 2 - 1)
    if p["noise"] > 0:
        values += p["noise"] * _draw(key, _NOISE, k, normal=True)
    if p["spike_rate"] > 0:
        probability = p["spike_rate"] / 3600.0 / rate
        values += np.where(_draw(key, _SPIKES, k) < probability, p["spike_height"], 0.0)
    return values


# -------------------------------------------------------------------------------------------------- public API


def _check_args(start: float, end: float, rate: float, seed: int) -> tuple[float, float, float]:
    start, end, rate = _number("start", start), _number("end", end), _number("rate", rate)
    if rate <= 0:
        raise SpecError(f"rate: must be > 0, got {rate:g}")
    if end < start:
        raise SpecError(f"end: must be >= start ({end!r} < {start!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed: expected a non-negative integer, got {seed!r}")
    return start, end, rate


def generate_columns(
    measurement: str,
    columns: Sequence[str],
    start: float,
    end: float,
    *,
    tags: Sequence[str] = (),
    tag_values: Sequence[tuple[str, ...]] = ((),),
    rate: float = 1.0,
    seed: int = 0,
    spec: Mapping | None = None,
) -> dict[tuple[str, ...], dict]:
    """Samples on the grid ``k / rate`` within ``[start, end)`` (GPS s), in the Aggregator's ``store_columns`` shape.

    Returns ``{tag_tuple: {"time": float64 array, "fields": {column: float64 array}}}``, one entry per tag-value tuple
    (every key is present, possibly with empty arrays). When ``tags`` is given but ``tag_values`` is left at its
    default, the tuples come from ``tag_values_from(tags, spec["tags"])``. Rows inside a gap window are omitted.
    """
    start, end, rate = _check_args(start, end, rate, seed)
    resolved = validate_spec(spec)
    tags = tuple(tags)
    if tags and tuple(tag_values) == ((),):
        tag_values = tag_values_from(tags, (spec or {}).get("tags"))
    k_all = _grid(start, end, rate)
    t_all = k_all.astype(np.float64) / rate
    out: dict[tuple[str, ...], dict] = {}
    for raw in tag_values:
        tag_tuple = tuple(str(v) for v in raw)
        if len(tag_tuple) != len(tags):
            raise SpecError(f"tag_values: {raw!r} has {len(tag_tuple)} values for {len(tags)} tags {tags!r}")
        keep = _gap_mask(t_all, tag_tuple, resolved["gaps"])
        k, times = (k_all, t_all) if keep.all() else (k_all[keep], t_all[keep])
        fields = {}
        for column in columns:
            params = resolved["columns"].get(column, resolved["default"])
            values = _signal(_series_key(int(seed), measurement, tag_tuple, column), k, times, rate, params)
            if not np.isfinite(values).all():
                raise SpecError(f"columns.{column}: spec values overflow to non-finite samples")
            fields[column] = values
        out[tag_tuple] = {"time": times.copy() if times is t_all else times, "fields": fields}
    return out


def generate_rows(
    measurement: str,
    columns: Sequence[str],
    start: float,
    end: float,
    *,
    tags: Sequence[str] = (),
    tag_values: Sequence[tuple[str, ...]] = ((),),
    rate: float = 1.0,
    seed: int = 0,
    spec: Mapping | None = None,
) -> dict[tuple[str, ...], list[dict]]:
    """The same samples as ``generate_columns``, in the Aggregator's ``store_rows`` shape (plain Python floats).

    ``{tag_tuple: [{"time": t, "fields": {column: value}}, ...]}`` — handy for tests and for row-oriented clients.
    """
    data = generate_columns(
        measurement, columns, start, end, tags=tags, tag_values=tag_values, rate=rate, seed=seed, spec=spec
    )
    rows: dict[tuple[str, ...], list[dict]] = {}
    for tag_tuple, block in data.items():
        names = list(block["fields"])
        value_lists = [block["fields"][name].tolist() for name in names]
        rows[tag_tuple] = [
            {"time": t, "fields": dict(zip(names, values))}
            for t, *values in zip(block["time"].tolist(), *value_lists)
        ]
    return rows


# ----------------------------------------------------------------------------------------- triggers, snapshots

#: Highest FAR (Hz) a trigger is kept with, as by ligo-scald's ``store_triggers`` (``io.triggers.FAR_THRESHOLDS[0]``).
TRIGGER_MAX_FAR = 1e-2
#: What a generated snapshot's ``dims`` says: the x and y columns of its ``data``.
SNAPSHOT_DIMS = {"x": "freq", "y": "asd"}
#: Frequencies of a generated snapshot (Hz): 120 log-spaced bins from 10 Hz to ~3.3 kHz, a detector's band.
SNAPSHOT_FREQS = tuple(10.0 * 1.05 ** k for k in range(120))


def generate_triggers(
    measurement: str,
    columns: Sequence[str],
    start: float,
    end: float,
    *,
    far_key: str = "far",
    time_key: str | None = None,
    rate: float = 1.0,
    seed: int = 0,
    spec: Mapping | None = None,
) -> dict:
    """The samples of ``generate_columns`` (untagged) in ``[start, end)`` as ligo-scald's ``store_triggers`` keeps
    them: per 1 s bin the sample with the lowest ``far_key`` (ties: the earlier one), stamped with the bin's start;
    FARs above 1e-2, negative or not finite are no triggers. Why the same samples: ``scald fill`` stores exactly
    these values as the measurement's raw points, so every backend shows one set of triggers.

    Returns ``{"time": bin starts (float64), "fields": {column: float64 array}}`` for ``columns`` (``far_key`` need
    not be among them); ``time_key`` (unless None or "time", which is the point's own time) holds each trigger's
    exact sample time, as ligo-scald stores the whole row. A bin is complete only when ``start`` is a whole second.
    """
    exact = time_key if time_key not in (None, "time") else None
    generated = [c for c in dict.fromkeys([far_key, *columns]) if c != exact]
    block = generate_columns(measurement, generated, start, end, rate=rate, seed=seed, spec=spec)[()]
    times, far = block["time"], block["fields"][far_key]
    keep = np.isfinite(far) & (far >= 0) & (far <= TRIGGER_MAX_FAR)
    times = times[keep]
    levels = decimate(times, far[keep], 1)
    pick = levels.index["min"]
    fields = {}
    for column in columns:
        if column == exact:
            fields[column] = times[pick]
        else:
            fields[column] = block["fields"][column][keep][pick]
    return {"time": levels.starts, "fields": fields}


def generate_snapshot(measurement: str, index: int, *, seed: int = 0) -> dict[str, list[float]]:
    """Snapshot number ``index`` of ``measurement``: an amplitude spectral density over ``SNAPSHOT_FREQS`` (seismic
    wall below 30 Hz, flat bucket, shot noise above 500 Hz), its level drifting slowly with ``index`` and with 5 %
    noise per bin, so consecutive snapshots differ visibly but alike. ``data`` for ``store_snapshot``, with
    ``SNAPSHOT_DIMS`` as its ``dims``; a pure function of (seed, measurement, index)."""
    freqs = np.array(SNAPSHOT_FREQS)
    key = _series_key(int(seed), measurement, (), "asd")
    noise = np.random.default_rng([*key, _SNAPSHOT, _zigzag(int(index))]).standard_normal(freqs.size)
    level = 1.0 + 0.2 * math.sin(2 * math.pi * index / 60.0)
    asd = 1e-23 * level * (1 + (30.0 / freqs) ** 4 + (freqs / 500.0) ** 2) * np.exp(0.05 * noise)
    return {"freq": freqs.tolist(), "asd": asd.tolist()}
