"""Downtime windows: when a check (or some of its tag values) must not notify, and until when.

Two kinds, both in UTC (there is no daylight-saving time in UTC, so a weekly window is the same every week):

* **weekly**: ``{day: tue, start: "16:00", end: "20:00"}``. ``day`` is one day name (``mon`` … ``sun``, or
  the full name), a list of them, or ``"*"`` for every day. A window whose ``end`` is not after its ``start``
  runs across midnight into the next day (``sun 22:00 → mon 02:00`` crosses the week boundary too);
  ``start == end`` is a whole 24 hours from ``start``; ``end: "24:00"`` is the end of the day. Windows are
  half-open, ``[start, end)``. Overlapping or touching windows count as one downtime for :meth:`Downtime.until`.
* **once**: ``start:`` and ``end:`` as GPS seconds or ISO 8601 UTC text (``2024-05-07T16:00:00Z``).

Times are GPS seconds at this module's interface, as everywhere in scald-monitor; the calendar arithmetic is done
on Unix seconds (UTC), converted with :mod:`scald_monitor.timeutil`'s leap-second table.

Entry points::

    parse_downtime(entry: dict, where: str = "downtime") -> Downtime      # ValueError naming the key
    parse_downtimes(entries: list) -> list[Downtime]                      # the config's `downtimes:` list
    Downtime.active(gps) -> bool;  Downtime.until(gps) -> float | None (math.inf: always in downtime)
    Downtime.matches(check, tags) -> bool;  Downtime.to_dict() -> dict (what parse_downtime reads back)
    active_downtime(downtimes, check, tags, gps) -> (Downtime, until) | None
    parse_time(value, where) -> gps;  parse_duration("1h30m", where) -> seconds;  parse_label("job=1,ifo=H1")
"""
from __future__ import annotations

import datetime as _dt
import fnmatch
import math
import re
from typing import Any, Iterable, Mapping, Sequence

from ..timeutil import gps_to_iso, gps_to_unix, iso_to_gps, unix_to_gps

__all__ = [
    "DAYS", "Downtime", "active_downtime", "parse_downtime", "parse_downtimes", "parse_duration", "parse_label",
    "parse_time", "tag_label", "tag_pairs",
]

WEEK = 7 * 86400
DAY = 86400
#: Unix seconds of Monday 1970-01-05T00:00:00Z: weeks are counted from a Monday.
_MONDAY0 = 4 * DAY
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KEYS = {"id", "name", "checks", "tags", "weekly", "start", "end", "duration", "comment", "author", "created"}
_WEEKLY_KEYS = {"day", "start", "end"}
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?", re.ASCII)
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(w|d|h|m|s)?", re.I)
_UNIT = {"w": WEEK, "d": DAY, "h": 3600, "m": 60, "s": 1}


class Downtime:
    """One downtime: which checks and tag values it covers, and when.

    Immutable by convention. ``weekly`` is a tuple of ``(start, length)`` in seconds from Monday 00:00 UTC
    (``length`` in 1 … 86400); a one-off downtime has ``weekly == ()`` and ``start``/``end`` in GPS seconds.
    ``tags`` maps tag names to the allowed values; ``None`` means every tag value and the check as a whole.
    """

    __slots__ = ("id", "name", "checks", "tags", "weekly", "start", "end", "comment", "author", "created", "_spec")

    def __init__(self, *, checks: tuple[str, ...], weekly: tuple[tuple[int, int], ...] = (),
                 start: float | None = None, end: float | None = None, tags: dict[str, frozenset[str]] | None = None,
                 name: str = "", id: str | None = None, comment: str = "", author: str = "",
                 created: float | None = None, spec: dict | None = None) -> None:
        self.id, self.name, self.checks, self.tags = id, name, checks, tags
        self.weekly, self.start, self.end = weekly, start, end
        self.comment, self.author, self.created = comment, author, created
        self._spec = spec or {}

    def __repr__(self) -> str:
        return f"Downtime({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Downtime) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # -------------------------------------------------------------------------------------------- scope
    def names(self, check: str) -> bool:
        """Is ``check`` one of this downtime's checks (a name, or a shell pattern it fits), whatever the tags?"""
        return any(c == check or fnmatch.fnmatchcase(check, c) for c in self.checks)

    def matches(self, check: str, tags: Mapping[str, str] | str | None = None) -> bool:
        """Does this downtime cover ``check`` (for the tag values ``tags``: a mapping or a tag label such as
        ``"job=0003,ifo=H1"``; ``None``/``""`` = the check as a whole)?

        ``checks`` entries are names or shell patterns (``range_*``, ``*``). A downtime restricted to some tag
        values covers only labels that carry one of the allowed values for every restricted tag name, so it never
        covers the check as a whole: the rest of the check's tags may still be failing.
        """
        if not self.names(check):
            return False
        if self.tags is None:
            return True
        values = parse_label(tags) if isinstance(tags, str) or tags is None else dict(tags)
        return all(k in values and str(values[k]) in allowed for k, allowed in self.tags.items())

    # --------------------------------------------------------------------------------------------- time
    def active(self, gps: float) -> bool:
        """Is ``gps`` inside this downtime?"""
        if not self.weekly:
            return self.start <= gps < self.end  # type: ignore[operator]
        return self._weekly_end(_unix_second(gps)) is not None

    def until(self, gps: float) -> float | None:
        """When the downtime that holds ``gps`` ends (GPS seconds), ``None`` when ``gps`` is not in downtime,
        ``math.inf`` when a weekly downtime covers the whole week. Touching and overlapping windows of this
        downtime are one downtime (``mon 22:00-02:00`` plus ``tue 02:00-04:00`` ends on Tuesday at 04:00)."""
        if not self.weekly:
            return self.end if self.active(gps) else None
        end = self._weekly_end(_unix_second(gps))
        if end is None or end == math.inf:
            return end
        return unix_to_gps(end)

    def next_start(self, gps: float) -> float | None:
        """The next time (GPS, after ``gps``) this downtime begins; ``None`` if it never begins again (a one-off
        downtime that started already, or a weekly one that covers the whole week). For status pages."""
        if not self.weekly:
            return self.start if self.start > gps else None  # type: ignore[operator]
        u = _unix_second(gps)
        best = None
        for s, length in self.weekly:
            if length >= WEEK:
                continue
            nxt = u + 1 + ((s + _MONDAY0 - (u + 1)) % WEEK)
            if best is None or nxt < best:
                best = nxt
        return None if best is None else unix_to_gps(best)

    def _weekly_end(self, n: int) -> float | None:
        """End (Unix s) of the union of touching windows holding integer Unix second ``n``, else None.

        Windows start and end on whole seconds, so a time ``u`` is in downtime exactly when ``floor(u)`` is."""
        t, end = n, None
        while True:
            best = None
            for s, length in self.weekly:
                since = (t - _MONDAY0 - s) % WEEK  # seconds since the most recent occurrence began
                if since < length:
                    e = t + length - since
                    if best is None or e > best:
                        best = e
            if best is None or best <= t:
                return end
            end, t = best, best
            if end - n >= WEEK:
                return math.inf

    def describe(self, gps: float) -> str:
        """``in downtime until 2024-05-07T20:00:00Z (tuesday-maintenance: detector maintenance)`` for status
        documents, the board and Nagios passive results; "" when not in downtime."""
        until = self.until(gps)
        if until is None:
            return ""
        when = "indefinitely" if until == math.inf else f"until {gps_to_iso(until)[:19]}Z"
        who = ": ".join(x for x in (self.name or (f"#{self.id}" if self.id else ""), self.comment) if x)
        return f"in downtime {when}" + (f" ({who})" if who else "")

    # ---------------------------------------------------------------------------------------- serialize
    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`parse_downtime` turns back into an equal Downtime (for the store and the API)."""
        d: dict[str, Any] = {}
        if self.id is not None:
            d["id"] = self.id
        if self.name:
            d["name"] = self.name
        d["checks"] = list(self.checks)
        if self.tags is not None:
            d["tags"] = {k: sorted(v) for k, v in sorted(self.tags.items())}
        if self.weekly:
            d["weekly"] = dict(self._spec)
        else:
            d["start"], d["end"] = self.start, self.end
        for key in ("comment", "author", "created"):
            value = getattr(self, key)
            if value:
                d[key] = value
        return d

    def view(self, gps: float) -> dict[str, Any]:
        """What the CLI's ``downtime list --format json`` and the API show: :meth:`to_dict`, whether it holds at
        ``gps`` and until when (null when it does not; ``endless`` for a weekly one covering the whole week)."""
        until = self.until(gps)
        endless = until is not None and math.isinf(until)
        return {**self.to_dict(), "active": self.active(gps), "until": None if endless else until,
                "endless": endless}


# ------------------------------------------------------------------------------------------------ parsing
def parse_downtimes(entries: Any) -> list[Downtime]:
    """The config's ``downtimes:`` list (already loaded) → Downtimes; ValueError names ``downtimes[i].key``."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValueError("downtimes: must be a list of downtime entries")
    out = [parse_downtime(e, f"downtimes[{i}]") for i, e in enumerate(entries)]
    names = [d.name for d in out if d.name]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"downtimes: duplicate name {dup[0]!r}")
    return out


def parse_downtime(entry: Any, where: str = "downtime") -> Downtime:
    """One downtime entry (a config item, a stored ad hoc downtime, an API body) → :class:`Downtime`.

    ``checks`` (a name, a list of names or patterns, or ``"*"``) is required, and exactly one of ``weekly`` or
    ``start`` + (``end`` or ``duration``). Raises ValueError ``"<where>.<key>: <problem>"``.
    """
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be a mapping, not {_kind(entry)}")
    unknown = sorted(str(k) for k in entry if k not in _KEYS)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key (expected one of {', '.join(sorted(_KEYS))})")
    name = _text(entry, "name", where)
    ident = entry.get("id")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (str, int))):
        raise ValueError(f"{where}.id: must be text or an integer")
    checks = _checks(entry.get("checks"), f"{where}.checks")
    tags = _tags(entry.get("tags"), f"{where}.tags")
    created = entry.get("created")
    if created is not None:
        created = parse_time(created, f"{where}.created")
    common = dict(checks=checks, tags=tags, name=name, id=None if ident is None else str(ident),
                  comment=_text(entry, "comment", where), author=_text(entry, "author", where), created=created)
    weekly = entry.get("weekly")
    once = [k for k in ("start", "end", "duration") if entry.get(k) is not None]
    if weekly is not None:
        if once:
            raise ValueError(f"{where}.{once[0]}: give either weekly: or start:/end:, not both")
        windows, spec = _weekly(weekly, f"{where}.weekly")
        return Downtime(weekly=windows, spec=spec, **common)
    if "start" not in once:
        raise ValueError(f"{where}: needs weekly: {{day, start, end}} or start: and end: (GPS or ISO UTC)")
    start = parse_time(entry["start"], f"{where}.start")
    if entry.get("end") is not None and entry.get("duration") is not None:
        raise ValueError(f"{where}.duration: give end: or duration:, not both")
    if entry.get("end") is not None:
        end = parse_time(entry["end"], f"{where}.end")
    elif entry.get("duration") is not None:
        end = _bounded(start + parse_duration(entry["duration"], f"{where}.duration"), f"{where}.end")
    else:
        raise ValueError(f"{where}.end: required with start: (or give duration:)")
    if not end > start:
        raise ValueError(f"{where}.end: must be after start ({gps_to_iso(start)[:19]}Z)")
    return Downtime(start=start, end=end, **common)


def parse_time(value: Any, where: str = "time") -> float:
    """GPS seconds (a number), ISO 8601 UTC text, or a datetime (YAML reads unquoted timestamps as datetimes;
    naive means UTC) → GPS seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: must be GPS seconds or an ISO 8601 UTC time, not a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number of GPS seconds")
        return _bounded(float(value), where)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return _bounded(iso_to_gps(value.isoformat()), where)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return _bounded(number, where)
        try:
            gps = iso_to_gps(text)
        except (ValueError, OverflowError):
            raise ValueError(f"{where}: {value!r} is neither GPS seconds nor an ISO 8601 UTC time "
                             "(e.g. 2024-05-07T16:00:00Z)") from None
        return _bounded(gps, where)
    raise ValueError(f"{where}: must be GPS seconds or an ISO 8601 UTC time, not {_kind(value)}")


#: Times are kept within GPS 0 (1980) and this (year ~5150): every later step (ISO text, calendar arithmetic)
#: stays inside what Python's datetime can show.
MAX_GPS = 1e11


def _bounded(gps: float, where: str) -> float:
    if not 0 <= gps <= MAX_GPS:
        raise ValueError(f"{where}: {gps:g} is outside GPS 0 to {MAX_GPS:g} (the years 1980 to 5100)")
    return gps


def parse_duration(value: Any, where: str = "duration") -> float:
    """Seconds (a number) or text such as ``90``, ``2h``, ``1h30m``, ``1.5d``, ``1w`` → seconds (> 0)."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: must be a duration such as 2h or 3600, not a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text, pos, seconds = value.strip(), 0, 0.0
        for m in _DURATION.finditer(text):
            if m.start() != pos or (m.group(2) is None and (m.start() != 0 or m.end() != len(text))):
                break
            seconds += float(m.group(1)) * _UNIT[(m.group(2) or "s").lower()]
            pos = m.end()
            while pos < len(text) and text[pos] == " ":
                pos += 1
        if pos != len(text):
            raise ValueError(f"{where}: {value!r} is not a duration (e.g. 90, 90s, 2h, 1h30m, 1d)")
    else:
        raise ValueError(f"{where}: must be a duration such as 2h or 3600, not {_kind(value)}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{where}: must be a positive duration")
    return seconds


def parse_label(label: str | None) -> dict[str, str]:
    """A tag label as the rules write it (``"job=0003,ifo=H1"``; ``""`` = the check as a whole) → a dict."""
    out: dict[str, str] = {}
    for part in (label or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def tag_pairs(items: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` texts (the CLI's ``--tag``, the API's ``?tag=``) → ``{name: value}``; ValueError naming a
    malformed one."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise ValueError(f"{item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def tag_label(tag_names: Sequence[str], tags: Mapping[str, str]) -> str:
    """The label the rules give the tag values ``tags`` of a check whose measurement has ``tag_names`` (in that
    order, as the daemon writes it: ``"job=0003,ifo=H1"``), so that an acknowledgement typed in any order matches.
    Raises ValueError naming a tag the measurement does not have, or a value that is empty or has a comma."""
    for name, value in tags.items():
        if name not in tag_names:
            known = ", ".join(tag_names) or "none"
            raise ValueError(f"tag {name!r}: not a tag of the check's measurement (its tags: {known})")
        if not isinstance(value, str) or not value or "," in value or any(ord(c) < 32 for c in value):
            raise ValueError(f"tag {name!r}: a value must be a non-empty string without commas or control "
                             "characters")
    return ",".join(f"{name}={tags[name]}" for name in tag_names if name in tags)


def active_downtime(downtimes: Iterable[Downtime], check: str, tags: Mapping[str, str] | str | None,
                    gps: float) -> tuple[Downtime, float] | None:
    """The downtime covering ``check``/``tags`` at ``gps`` that lasts longest, with its end; ``None`` if none."""
    best: tuple[Downtime, float] | None = None
    for d in downtimes:
        if d.matches(check, tags):
            until = d.until(gps)
            if until is not None and (best is None or until > best[1]):
                best = (d, until)
    return best


# ------------------------------------------------------------------------------------------------ helpers
def _unix_second(gps: float) -> int:
    return math.floor(gps_to_unix(float(gps)))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _text(entry: Mapping, key: str, where: str) -> str:
    value = entry.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: must be text, not {_kind(value)}")
    return value


def _checks(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        raise ValueError(f"{where}: required (a check name, a list of names or patterns, or \"*\")")
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: must be a check name, a non-empty list of names, or \"*\"")
    for i, c in enumerate(items):
        if not isinstance(c, str) or not c.strip():
            raise ValueError(f"{where}[{i}]: must be a check name or pattern")
    return tuple(items)


def _tags(value: Any, where: str) -> dict[str, frozenset[str]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{where}: must be a mapping of tag name to value(s), e.g. {{job: ['0003']}}")
    out = {}
    for k, v in value.items():
        values = v if isinstance(v, list) else [v]
        if not values:
            raise ValueError(f"{where}.{k}: needs at least one value")
        for x in values:
            if isinstance(x, (bool, dict, list)) or x is None:
                raise ValueError(f"{where}.{k}: tag values must be text or numbers, not {_kind(x)}")
        out[str(k)] = frozenset(str(x) for x in values)
    return out


def _clock(value: Any, where: str, allow_24: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        hint = " (YAML reads an unquoted 16:00 as a number: quote it, \"16:00\")" if isinstance(value, int) else ""
        raise ValueError(f"{where}: must be a time of day as text, \"HH:MM\"{hint}")
    m = _CLOCK.fullmatch(value.strip())
    if not m:
        raise ValueError(f"{where}: {value!r} is not a time of day \"HH:MM\" or \"HH:MM:SS\"")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    seconds = h * 3600 + mi * 60 + s
    if mi > 59 or s > 59 or seconds > DAY or (seconds == DAY and not allow_24):
        raise ValueError(f"{where}: {value!r} is not a time of day (00:00 to 23:59:59"
                         f"{', or 24:00 as an end' if allow_24 else ''})")
    return seconds


def _day_index(value: Any, where: str) -> int:
    if isinstance(value, str):
        v = value.strip().lower()
        if v in DAYS:
            return DAYS.index(v)
        if v in _FULL_DAYS:
            return _FULL_DAYS.index(v)
    raise ValueError(f"{where}: {value!r} is not a day ({', '.join(DAYS)}, or \"*\" for every day)")


def _weekly(value: Any, where: str) -> tuple[tuple[tuple[int, int], ...], dict]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping {{day: tue, start: \"16:00\", end: \"20:00\"}}")
    unknown = sorted(str(k) for k in value if k not in _WEEKLY_KEYS)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key (expected day, start, end)")
    for key in ("day", "start", "end"):
        if value.get(key) is None:
            raise ValueError(f"{where}.{key}: required")
    day = value["day"]
    if day == "*":
        days = list(range(7))
    elif isinstance(day, list):
        if not day:
            raise ValueError(f"{where}.day: needs at least one day")
        days = sorted({_day_index(d, f"{where}.day[{i}]") for i, d in enumerate(day)})
    else:
        days = [_day_index(day, f"{where}.day")]
    start = _clock(value["start"], f"{where}.start", allow_24=False)
    end = _clock(value["end"], f"{where}.end", allow_24=True)
    length = (end - start) % DAY or DAY  # end <= start: across midnight; end == start: 24 hours
    spec = {"day": day if not isinstance(day, list) else list(day), "start": value["start"], "end": value["end"]}
    return tuple((d * DAY + start, length) for d in days), spec
