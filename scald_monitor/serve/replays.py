"""``GET /api/checks/<check>/backtest``: the check replayed over a window, with other thresholds if asked.

The same document as ``scald-monitor backtest --format json`` (:func:`scald_monitor.backtest.run_backtest`, the
daemon's own evaluation and state machine), so the board's "try thresholds" form and a script read one thing.
Why bounded: a replay reads every level of the window and runs the state machine at every step; a web request
must not be able to ask for a year of them. At most :data:`MAX_STEPS` steps, and :data:`AT_ONCE` replays at a time
per server (others wait up to :data:`WAIT` s, then get a 503).
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

from .errors import ApiError

#: Steps per replay: two days at a 60 s interval.
MAX_STEPS = 2880
AT_ONCE = 2
WAIT = 10.0
#: The settings a request may try (query parameters), each read as ``--set KEY=VALUE`` reads it.
SETTINGS = ("warning", "critical", "warning_reset", "critical_reset", "for", "max_attempts")
_slots = threading.BoundedSemaphore(AT_ONCE)


def answer(cfg: Any, name: str, args: Mapping[str, str]) -> dict:
    """The replay document for the request's ``start``/``end`` (or ``last``) and settings; ApiError otherwise."""
    from ..backtest import NoDataError, parse_settings, run_backtest, window
    from ..config import ConfigError
    from ..io.errors import BackendError

    unknown = sorted(set(args) - {"start", "end", "last", *SETTINGS})
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r} (known: start, end, last, {', '.join(SETTINGS)})")
    try:
        start, end = window(args.get("start") or None, args.get("end") or None, args.get("last") or None)
        overrides = parse_settings(f"{key}={args[key]}" for key in SETTINGS if args.get(key))
    except ValueError as exc:
        raise ApiError(400, str(exc).replace("--", "")) from None
    if not _slots.acquire(timeout=WAIT):
        raise ApiError(503, f"{AT_ONCE} replays are running: try again in a few seconds")
    try:
        return run_backtest(cfg, name, start, end, overrides, max_steps=MAX_STEPS)
    except ConfigError as exc:
        raise ApiError(400, "; ".join(f"setting {p.path.removeprefix(f'checks.{name}.')}: {p.message}"
                                      for p in exc.problems)) from None
    except NoDataError as exc:
        raise ApiError(404, str(exc)) from None
    except BackendError as exc:
        raise ApiError(503, f"the backend cannot be read: {exc}") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    finally:
        _slots.release()
