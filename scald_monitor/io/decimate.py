"""Exact min/median/max decimation into time buckets, keeping whole rows.

ligo-scald's meaning is kept: a bucket's min/median/max is the *row* whose ``column_key`` value is the
min/median_high/max of the bucket, other columns carried from that row, and the point is stamped with the bucket's
start time. Ties break on (value, time, source) like ligo-scald's tuple comparison, so results are deterministic.
Unlike ligo-scald every level is computed from the raw points, so coarse medians are true medians.

The points are ranked once by (value, time, source); each level then needs only one integer sort of
``bucket * n + rank``, which is what makes decimating a million points into six levels cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass
class Decimated:
    """Per bucket (in time order): its start time and, per aggregate, the index of its row in the input."""

    starts: np.ndarray
    index: dict[str, np.ndarray]
    group: np.ndarray | None = None  # per bucket, when the input was split into groups (series)


def decimate_levels(time: np.ndarray, key: np.ndarray, levels: Mapping[int, np.ndarray | None],
                    source: np.ndarray | None = None, group: np.ndarray | None = None) -> dict[int, Decimated]:
    """Decimate the points into each level ``dt``; ``levels[dt]`` optionally masks the points that level uses.

    ``source`` breaks ties between equal (value, time) points of different series; ``group`` (small non-negative
    integers) decimates several independent series in one pass, each bucket then belonging to one group.
    """
    n = time.size
    order = np.lexsort((time, key) if source is None else (source, time, key))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    out = {}
    for dt, mask in levels.items():
        t = time if mask is None else time[mask]
        r = rank if mask is None else rank[mask]
        if t.size == 0:
            out[dt] = Decimated(np.empty(0), {a: np.empty(0, dtype=np.intp) for a in ("min", "median", "max")},
                                None if group is None else np.empty(0, dtype=np.int64))
            continue
        bucket = np.floor(t / dt).astype(np.int64)
        width = 0
        if group is not None:  # give every group its own disjoint range of bucket numbers
            g = (group if mask is None else group[mask]).astype(np.int64)
            lo = int(bucket.min())
            width = int(bucket.max()) - lo + 1
            bucket = g * width + (bucket - lo) + lo
        b0 = int(bucket.min())
        if (int(bucket.max()) - b0 + 1) * n < 2 ** 62:
            comp = (bucket - b0) * n + r
            comp.sort()
            b_sorted, r_sorted = np.divmod(comp, n)
        else:  # a range too wide to pack into one integer: sort on the pair instead
            o = np.lexsort((r, bucket))
            b_sorted, r_sorted = bucket[o] - b0, r[o]
        first = np.flatnonzero(np.concatenate(([True], b_sorted[1:] != b_sorted[:-1])))
        count = np.diff(np.concatenate((first, [b_sorted.size])))
        b_first = b_sorted[first] + b0
        groups = None
        if group is not None:
            groups, b_first = np.divmod(b_first - lo, width)
            b_first = b_first + lo
        out[dt] = Decimated(
            starts=b_first.astype(np.float64) * dt,
            index={"min": order[r_sorted[first]], "median": order[r_sorted[first + count // 2]],
                   "max": order[r_sorted[first + count - 1]]},
            group=groups,
        )
    return out


def decimate(time: np.ndarray, key: np.ndarray, dt: int, source: np.ndarray | None = None) -> Decimated:
    """One level of :func:`decimate_levels`."""
    return decimate_levels(time, key, {dt: None}, source)[dt]


def bucket_intervals(buckets: Mapping[int, np.ndarray]) -> list[tuple[float, float]]:
    """The union of the time spans of the given bucket numbers of every level (``{dt: buckets}``), as sorted
    disjoint ``[lo, hi)`` intervals (touching spans joined): what a writer reads back to recompute them, one read
    per interval."""
    parts = [np.asarray(b, dtype=np.float64) for b in buckets.values()]
    if not any(p.size for p in parts):
        return []
    lo = np.concatenate([p * level for level, p in zip(buckets, parts)])
    hi = np.concatenate([(p + 1) * level for level, p in zip(buckets, parts)])
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    new = np.concatenate(([True], lo[1:] > hi[:-1]))
    ends = hi[np.concatenate((np.flatnonzero(new)[1:] - 1, [len(lo) - 1]))]
    return list(zip(lo[new].tolist(), ends.tolist()))


def due_levels(last_run: dict, measurement: str, levels, force: bool, coarse_delay: float, now: float) -> list[int]:
    """Levels whose pending buckets should be recomputed now: fine ones (< 1000 s) always; a coarse level, whose
    buckets hold many raw points, at most every ``coarse_delay * dt`` seconds while streaming; all with ``force``.
    ``last_run`` maps (measurement, level) to the monotonic time of its last recomputation."""
    due = []
    for level in levels:
        last = last_run.get((measurement, level))
        if force or last is None or level < 1000 or now - last >= coarse_delay * level:
            due.append(level)
    return due
