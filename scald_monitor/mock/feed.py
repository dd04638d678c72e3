"""Feed generated data for every schema of a config into a backend: the demo source and a test-data loader.

Samples are a pure function of time (see ``generate``), so feeding the same span twice stores the same points
(idempotent) and ``follow`` can extend the history second by second.
"""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..timeutil import gps_now
from .generate import generate_columns


@dataclass
class Fed:
    """What one schema received."""

    measurement: str
    series: int
    points: int


def _tag_mapping(cfg: Any, spec: Any) -> dict:
    mapping = dict((cfg.mock or {}).get("tags") or {})
    if spec.expected_tags and spec.tag_key and spec.tag_key not in mapping:
        mapping[spec.tag_key] = list(spec.expected_tags)
    return mapping


def feed(cfg: Any, aggregator: Any, start: float, end: float) -> list[Fed]:
    """Store generated samples in [start, end) for every schema of ``cfg`` (one per measurement)."""
    from .generate import tag_values_from

    mock = cfg.mock or {}
    seed, rate = int(mock.get("seed", 0)), float(mock.get("rate", 1.0))
    done: list[Fed] = []
    seen = set()
    for spec in cfg.schemas.values():
        if spec.measurement in seen:  # several display schemas may share one measurement
            continue
        seen.add(spec.measurement)
        if spec.measurement not in aggregator.schemas:
            aggregator.register_schema(spec.measurement, spec.columns, spec.column_key, spec.tags or None,
                                       spec.tag_key, spec.aggregate)
        tag_values = tag_values_from(spec.tags, _tag_mapping(cfg, spec)) if spec.tags else [()]
        data = generate_columns(spec.measurement, spec.columns, start, end, tags=spec.tags, tag_values=tag_values,
                                rate=rate, seed=seed, spec=spec.mock)
        data = {tags: cols for tags, cols in data.items() if len(cols["time"])}
        points = aggregator.store_columns(spec.measurement, data) if data else 0
        done.append(Fed(spec.measurement, len(data), points))
    return done


def follow(cfg: Any, aggregator: Any, since: float, interval: float = 1.0,
           on_batch: Callable[[list[Fed]], None] | None = None, stop_after: float | None = None) -> None:
    """Keep storing new samples every ``interval`` s until SIGINT/SIGTERM (or ``stop_after`` seconds)."""
    stopping = []
    previous = {sig: signal.signal(sig, lambda *_: stopping.append(True)) for sig in (signal.SIGINT, signal.SIGTERM)}
    began = time.monotonic()
    try:
        while not stopping and (stop_after is None or time.monotonic() - began < stop_after):
            now = gps_now()
            if now > since:
                fed = feed(cfg, aggregator, since, now)
                since = now
                if on_batch:
                    on_batch(fed)
            time.sleep(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
