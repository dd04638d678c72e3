"""Exact min/median/max decimation into time buckets, keeping whole rows.

ligo-scald's meaning is kept: a bucket's min/median/max is the *row* whose ``column_key`` value is the
min/median_high/max of the bucket, other columns carried from that row, and the point is stamped with the bucket's
start time. Ties break on (value, time, source) like ligo-scald's tuple comparison, so results are deterministic.
Unlike ligo-scald every level is computed from the raw points, so coarse medians are true medians.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decimated:
    """Per bucket (sorted by bucket): its start time and the index (into the input) of each aggregate's row."""

    starts: np.ndarray
    index: dict[str, np.ndarray]


def decimate(time: np.ndarray, key: np.ndarray, dt: float, source: np.ndarray | None = None) -> Decimated:
    """Pick the min, median_high and max row of ``key`` in each ``dt``-second bucket of ``time``."""
    bucket = np.floor(time / dt)
    sort_keys = (time, key, bucket) if source is None else (source, time, key, bucket)
    order = np.lexsort(sort_keys)
    b = bucket[order]
    n = b.size
    first = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1]))) if n else np.empty(0, dtype=np.intp)
    count = np.diff(np.concatenate((first, [n])))
    return Decimated(
        starts=b[first] * dt,
        index={"min": order[first], "median": order[first + count // 2], "max": order[first + count - 1]},
    )
