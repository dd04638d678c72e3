"""The config's ``downtimes:`` and ``notifications:`` sections, checked by the lifecycle's own parsers after the
schema walk, with every problem located by its key path (``FILE:LINE: downtimes[0].weekly.day: ...``).

Why here and not in the schema document: a downtime's window arithmetic (clock times, weekdays, ISO times, an end
after its start) and a notification target's rules are the parsers' own; the schema names the keys for editors, and
these functions say what is wrong with the values in the parsers' words. Imported by ``config`` only when a file
has one of the sections, so a config without them costs nothing at start-up (``check_scald``).
"""
from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]")


def key_path(where: str) -> tuple:
    """``"downtimes[0].weekly.day"`` → ``("downtimes", 0, "weekly", "day")`` (what a Problem is located by)."""
    out: list[Any] = []
    pos = 0
    while pos < len(where):
        m = _STEP.match(where, pos)
        if m is None:
            break
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return tuple(out)


def _located(exc: ValueError) -> tuple[tuple, str]:
    """A parser's ``"<where>: <problem>"`` as (key path, problem)."""
    where, _, problem = str(exc).partition(": ")
    return key_path(where), problem or str(exc)


def check_sections(data: dict) -> tuple[list, list[dict], list[tuple[tuple, str]]]:
    """(downtimes, notification specs, problems) of a walked config; every entry is checked, not only the first.
    What is kept beside ``outputs.state_file`` (the delivery queue, the write routes' acks) needs one."""
    from .transports import parse_notifications
    from .windows import parse_downtime

    downtimes, problems = [], []
    for i, entry in enumerate(data.get("downtimes") or []):
        try:
            downtimes.append(parse_downtime(entry, f"downtimes[{i}]"))
        except ValueError as exc:
            problems.append(_located(exc))
    try:
        notifications = parse_notifications(data.get("notifications"))
    except ValueError as exc:
        notifications = []
        problems.append(_located(exc))
    if not (data.get("outputs") or {}).get("state_file"):
        if notifications:
            problems.append((("notifications",), "needs outputs.state_file: the delivery queue is kept beside it"))
        if (data.get("serve") or {}).get("tokens_file"):
            problems.append((("serve", "tokens_file"), "needs outputs.state_file: the write routes keep "
                             "acknowledgements and downtimes beside it"))
    return downtimes, notifications, problems
