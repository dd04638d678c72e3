"""Nagios threshold ranges, as defined by the Monitoring Plugins development guidelines.

A range ``[@]start:end`` says which values are fine; a value outside it raises the alert (or, with the
leading ``@``, a value inside it does).  The forms users write every day:

========== ======================= ==========================
text       means OK when           alerts when
========== ======================= ==========================
``10``     0 <= x <= 10            x < 0 or x > 10
``10:``    x >= 10                 x < 10
``~:10``   x <= 10                 x > 10
``10:20``  10 <= x <= 20           x < 10 or x > 20
``@10:20`` x < 10 or x > 20        10 <= x <= 20
========== ======================= ==========================

Unlike the Python ``nagiosplugin`` package we accept every float notation the C library accepts through
``strtod`` (``1e-21``, ``+2``, ``.5``, ``1E3``), because strain and false-alarm-rate thresholds are routinely
written that way.  ``nan``/``inf`` literals are refused (``~`` already spells minus infinity and an empty end
spells plus infinity), and so is ``start > end``.

Stdlib only: the ``check_scald`` plugin imports this module and must start fast.
"""
from __future__ import annotations

import math
import re

from ..records import FrozenRecord

__all__ = ["Range", "RangeError", "parse_range"]

# A finite decimal number in any common float notation; deliberately no "nan", "inf" or "1_000".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class RangeError(ValueError):
    """A threshold range that does not follow the Nagios range syntax."""


class Range(FrozenRecord):
    """A parsed Nagios range: ``start``/``end`` are inclusive (``-inf``/``inf`` for open ends).

    ``inside`` is the ``@`` flag: alert when the value lies inside ``[start, end]`` instead of outside.
    ``text`` is the range as the user wrote it (whitespace stripped), which is what perfdata should show.
    """

    _fields = ("start", "end", "inside", "text")
    start: float
    end: float
    inside: bool
    text: str

    def __init__(self, start: float, end: float, inside: bool, text: str) -> None:
        self._init(start=start, end=end, inside=inside, text=text)

    def alerts(self, value: float) -> bool:
        """True when ``value`` violates this range (Nagios semantics, both edges inclusive-OK / inclusive-alert).

        NaN cannot be compared with a range: the guidelines are silent and ``nagiosplugin`` gives opposite
        answers for ``10:20`` and ``@10:20``.  We raise ``ValueError`` so the caller reports UNKNOWN rather
        than silently OK.
        """
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"cannot compare NaN with range {self.text!r}; report the check as UNKNOWN")
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        return self.text


def _number(token: str, spec: str, what: str) -> float:
    if not _NUMBER.fullmatch(token):
        raise RangeError(
            f"invalid range {spec!r}: {what} {token!r} is not a number "
            "(expected e.g. 10, -3.5, 1e-21; '~' means minus infinity and only as the start)"
        )
    value = float(token)
    if math.isinf(value):
        raise RangeError(f"invalid range {spec!r}: {what} {token!r} is too large to represent")
    return value


def parse_range(text: str | int | float) -> Range:
    """Parse a Nagios range (``N``, ``N:``, ``~:N``, ``A:B``, ``@A:B``); a YAML int/float means ``N``.

    Raises :class:`RangeError` (a ``ValueError``) with a message that quotes the offending text.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise RangeError(f"invalid range {text!r}: expected a string such as '10', '~:10', '10:20' or '@10:20'")
    if isinstance(text, (int, float)):
        if isinstance(text, float) and not math.isfinite(text):
            raise RangeError(f"invalid range {text!r}: the limit must be a finite number")
        spec = repr(text) if isinstance(text, float) else str(text)
    else:
        spec = text.strip()
    if not spec:
        raise RangeError("invalid range '': empty (expected e.g. '10', '10:', '~:10', '10:20' or '@10:20')")

    body = spec
    inside = body.startswith("@")
    if inside:
        body = body[1:]
    if not body:
        raise RangeError(f"invalid range {spec!r}: nothing after '@'")

    if ":" in body:
        start_text, end_text = body.split(":", 1)
        if ":" in end_text:
            raise RangeError(f"invalid range {spec!r}: more than one ':'")
        if start_text == "~":
            start = -math.inf
        elif start_text == "":
            start = 0.0  # ':10' is '0:10', as in nagiosplugin and the C library
        else:
            start = _number(start_text, spec, "start")
        end = math.inf if end_text == "" else _number(end_text, spec, "end")
    else:
        if body == "~":
            raise RangeError(f"invalid range {spec!r}: '~' needs an end, e.g. '~:10'")
        start, end = 0.0, _number(body, spec, "end")

    if start > end:
        raise RangeError(f"invalid range {spec!r}: start {start:g} is greater than end {end:g}")
    return Range(start=start, end=end, inside=inside, text=spec)
