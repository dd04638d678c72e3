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


def decimate_levels(time: np.ndarray, key: np.ndarray, levels: Mapping[int, np.ndarray | None],
                    source: np.ndarray | None = None) -> dict[int, Decimated]:
    """Decimate the points into each level ``dt``; ``levels[dt]`` optionally masks the points that level uses."""
    n = time.size
    order = np.lexsort((time, key) if source is None else (source, time, key))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    out = {}
    for dt, mask in levels.items():
        t = time if mask is None else time[mask]
        r = rank if mask is None else rank[mask]
        if t.size == 0:
            out[dt] = Decimated(np.empty(0), {a: np.empty(0, dtype=np.intp) for a in ("min", "median", "max")})
            continue
        bucket = np.floor(t / dt).astype(np.int64)
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
        out[dt] = Decimated(
            starts=(b_sorted[first] + b0).astype(np.float64) * dt,
            index={"min": order[r_sorted[first]], "median": order[r_sorted[first + count // 2]],
                   "max": order[r_sorted[first + count - 1]]},
        )
    return out


def decimate(time: np.ndarray, key: np.ndarray, dt: int, source: np.ndarray | None = None) -> Decimated:
    """One level of :func:`decimate_levels`."""
    return decimate_levels(time, key, {dt: None}, source)[dt]
