"""InfluxDB line protocol validation for the mock's ``POST /write``.

The mock stores nothing, but a writer tested against it must still learn that it wrote garbage: a line the real
``influxd`` would refuse is refused here too, with the same ``unable to parse '<line>': <reason>`` message.

``measurement[,tag=value...] field=value[,field=value...] [timestamp]`` with InfluxDB's escaping: ``\\,`` and
``\\ `` in measurements, also ``\\=`` in tag keys/values and field keys; string field values are double-quoted with
``\\"`` and ``\\\\``. Field values are floats (``1``, ``-1.5e-3``), integers (``3i``), unsigned (``3u``), booleans
(``t``, ``true``, ``F``, ...) or strings; timestamps are integers in the request's precision. Blank lines and
``#`` comments are skipped.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["LineProtocolError", "Point", "parse_line", "parse_lines"]

_BOOLEANS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True,
             "f": False, "F": False, "false": False, "False": False, "FALSE": False}
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT = re.compile(r"-?\d+i")
_UINT = re.compile(r"\d+u")
_TIMESTAMP = re.compile(r"-?\d+")
_INT64 = 2**63


class LineProtocolError(ValueError):
    """A line ``influxd`` would refuse; the message is influxd's (``unable to parse '...': reason``)."""


@dataclass
class Point:
    """One parsed line."""

    measurement: str
    tags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, float | int | bool | str] = field(default_factory=dict)
    timestamp: int | None = None


def _scan(line: str, i: int, stops: str) -> tuple[str, int]:
    """Text from ``i`` up to the first unescaped character in ``stops``; a backslash escapes any stop character
    (otherwise it is kept as is, as influxd does)."""
    out = []
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and (line[i + 1] in stops or line[i + 1] == "\\"):
            out.append(line[i + 1])
            i += 2
            continue
        if ch in stops:
            break
        out.append(ch)
        i += 1
    return "".join(out), i


def _field_value(token: str) -> float | int | bool:
    if _INT.fullmatch(token):
        value = int(token[:-1])
        if not -_INT64 <= value < _INT64:
            raise ValueError("value out of range")
        return value
    if _UINT.fullmatch(token):
        value = int(token[:-1])
        if value >= 2 * _INT64:
            raise ValueError("value out of range")
        return value
    if token in _BOOLEANS:
        return _BOOLEANS[token]
    if token[:1] in "tTfF":
        raise ValueError("invalid boolean")
    if not _FLOAT.fullmatch(token) or not math.isfinite(float(token)):
        raise ValueError("invalid number")
    return float(token)


def parse_line(line: str) -> Point:
    """Parse one line; raise :class:`LineProtocolError` with influxd's wording when it is malformed."""

    def fail(reason: str) -> LineProtocolError:
        return LineProtocolError(f"unable to parse '{line}': {reason}")

    measurement, i = _scan(line, 0, ", ")
    if not measurement:
        raise fail("missing measurement")
    point = Point(measurement)
    while i < len(line) and line[i] == ",":
        key, i = _scan(line, i + 1, ",= ")
        if i >= len(line) or line[i] != "=":
            raise fail("missing tag value")
        if not key:
            raise fail("missing tag key")
        value, i = _scan(line, i + 1, ",= ")
        if i < len(line) and line[i] == "=":
            raise fail("invalid tag format")
        if not value:
            raise fail("missing tag value")
        point.tags[key] = value
    if i >= len(line) or line[i] != " ":
        raise fail("missing fields")
    while i < len(line) and line[i] == " ":
        i += 1
    while True:
        key, i = _scan(line, i, ",= ")
        if i >= len(line) or line[i] != "=":
            raise fail("missing fields" if not key else "missing field value")
        if not key:
            raise fail("missing field key")
        i += 1
        if i < len(line) and line[i] == '"':
            chars, i = [], i + 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in '"\\':
                    i += 1
                chars.append(line[i])
                i += 1
            if i >= len(line):
                raise fail("unbalanced quotes")
            i += 1
            point.fields[key] = "".join(chars)
        else:
            token, i = _scan(line, i, ", ")
            if not token:
                raise fail("missing field value")
            try:
                point.fields[key] = _field_value(token)
            except ValueError as exc:
                raise fail(str(exc)) from None
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        break
    if i < len(line):
        if line[i] != " ":
            raise fail("invalid field format")
        rest = line[i:].strip(" ")
        if rest:
            if not _TIMESTAMP.fullmatch(rest) or not -_INT64 <= int(rest) < _INT64:
                raise fail("bad timestamp")
            point.timestamp = int(rest)
    return point


def parse_lines(body: str) -> list[Point]:
    """Parse a ``/write`` body. Malformed lines raise one :class:`LineProtocolError` naming each of them, one per
    line of the message, as influxd reports a partial write."""
    points, errors = [], []
    for raw in body.split("\n"):
        line = raw.rstrip("\r").lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        try:
            points.append(parse_line(line))
        except LineProtocolError as exc:
            errors.append(str(exc))
    if errors:
        raise LineProtocolError("\n".join(errors))
    return points
