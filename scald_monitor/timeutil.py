"""GPS time <-> Unix/UTC conversions using a leap-second table.

Everything inside scald-monitor is stamped in GPS seconds (seconds since 1980-01-06T00:00:00 UTC, no leap seconds).
ligo-scald converted with a constant +18 s, which is only right after 2017-01-01; this module uses the real table so
that historical data (GW150914, O1/O2 archives) land on the right second.

Standard library only and nothing heavy at import time: the Nagios plugin imports this module on every start-up.
numpy is imported lazily, and only when a caller hands in an array (backends convert whole columns at once).

Leap-second semantics: Unix time cannot name 23:59:60. A GPS time inside an inserted leap second maps onto a repeat of
the Unix second before it (as the Linux kernel does), so conversions are exact inverses everywhere except during that
one second; ``gps_to_iso`` does print ``23:59:60`` for it.
"""
from __future__ import annotations

import bisect
import time

TYPE_CHECKING = False  # not ``from typing import ...``: this module stays free of non-builtin imports
if TYPE_CHECKING:
    import numpy

    TimeLike = float | numpy.ndarray

__all__ = [
    "GPS_EPOCH_UNIX",
    "LEAP_SECOND_TABLE",
    "gps_now",
    "gps_to_iso",
    "gps_to_unix",
    "iso_to_gps",
    "leap_seconds",
    "leap_table",
    "unix_to_gps",
]

#: Unix timestamp of the GPS epoch, 1980-01-06T00:00:00 UTC.
GPS_EPOCH_UNIX = 315964800

#: Leap seconds since the GPS epoch: (Unix timestamp of the first UTC second *after* the inserted leap second,
#: GPS - UTC offset in seconds from that moment on). Source: IERS Bulletin C, as distributed in the IANA tz database's
#: ``leap-seconds.list`` (there in NTP seconds with TAI - UTC; GPS - UTC = TAI - UTC - 19).
#: MUST be extended when the IERS announces a new leap second (Bulletin C, published every January and July). Until
#: then, a newer ``/usr/share/zoneinfo/leap-seconds.list`` on the host is picked up automatically (see ``_table``).
LEAP_SECOND_TABLE: tuple[tuple[int, int], ...] = (
    (362793600, 1),  # 1981-07-01
    (394329600, 2),  # 1982-07-01
    (425865600, 3),  # 1983-07-01
    (489024000, 4),  # 1985-07-01
    (567993600, 5),  # 1988-01-01
    (631152000, 6),  # 1990-01-01
    (662688000, 7),  # 1991-01-01
    (709948800, 8),  # 1992-07-01
    (741484800, 9),  # 1993-07-01
    (773020800, 10),  # 1994-07-01
    (820454400, 11),  # 1996-01-01
    (867715200, 12),  # 1997-07-01
    (915148800, 13),  # 1999-01-01
    (1136073600, 14),  # 2006-01-01
    (1230768000, 15),  # 2009-01-01
    (1341100800, 16),  # 2012-07-01
    (1435708800, 17),  # 2015-07-01
    (1483228800, 18),  # 2017-01-01
)

#: Where the host's copy of the IANA/IERS list lives (tzdata). Read lazily, once, only for entries newer than ours.
LEAP_SECONDS_FILE = "/usr/share/zoneinfo/leap-seconds.list"

_NTP_EPOCH_UNIX = -2208988800  # 1900-01-01T00:00:00 UTC
_TAI_MINUS_GPS = 19


class _Table:
    """The active table in the three forms the conversions need (built once, on first use)."""

    __slots__ = ("unix", "offsets", "gps")

    def __init__(self, entries: list[tuple[int, int]]):
        self.unix = [u for u, _ in entries]
        # offsets[i] applies from unix[i-1] on; offsets[0] (before the first leap second) is 0.
        self.offsets = [0] + [off for _, off in entries]
        # GPS second at which each inserted leap second (23:59:60) starts; from then on the new offset applies.
        self.gps = [u - GPS_EPOCH_UNIX + off - 1 for u, off in entries]


_TABLE: _Table | None = None


def _parse_leap_seconds_list(text: str) -> list[tuple[int, int]]:
    """Parse the IANA ``leap-seconds.list`` format into (unix, GPS - UTC) pairs after the GPS epoch.

    Data lines are ``<NTP seconds> <TAI-UTC> [# comment]``; lines starting with ``#`` are comments/metadata.
    """
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        ntp, tai_utc = line.split()[:2]
        offset = int(tai_utc) - _TAI_MINUS_GPS
        if offset > 0:
            entries.append((int(ntp) + _NTP_EPOCH_UNIX, offset))
    return entries


def _merge(builtin: tuple[tuple[int, int], ...], extra: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Append the entries of ``extra`` that are newer than ``builtin``, if ``extra`` agrees with it where they overlap.

    A file that disagrees with the IERS table we ship is damaged or not what we think it is: ignore it entirely.
    """
    table = list(builtin)
    known = dict(builtin)
    for unix, offset in extra:
        if unix in known:
            if known[unix] != offset:
                return list(builtin)
        elif unix > table[-1][0]:
            if abs(offset - table[-1][1]) != 1:  # a leap second changes the offset by exactly one
                return list(builtin)
            table.append((unix, offset))
        else:  # an entry we do not know, in the past: not the list we think it is
            return list(builtin)
    return table


def _table() -> _Table:
    """The built-in table, extended from the host's ``leap-seconds.list`` if that knows newer leap seconds."""
    global _TABLE
    if _TABLE is None:
        entries = list(LEAP_SECOND_TABLE)
        try:
            with open(LEAP_SECONDS_FILE, "rb") as fh:  # bytes.decode: no codec module to import, unlike open(text)
                entries = _merge(LEAP_SECOND_TABLE, _parse_leap_seconds_list(fh.read().decode("ascii")))
        except Exception:  # missing, unreadable or malformed: the built-in table is authoritative anyway
            pass
        _TABLE = _Table(entries)
    return _TABLE


def leap_table() -> list[list[int]]:
    """``[[GPS second, Unix second, GPS - UTC from then on], ...]``, ascending: the table every conversion here
    uses (the host's newer leap seconds included), for a client that converts by itself (the dashboard's page), so
    that it keeps no table of its own. Each row is a leap second: the GPS second at which it starts and the Unix
    second after it."""
    t = _table()
    return [[g, u, off] for g, u, off in zip(t.gps, t.unix, t.offsets[1:])]


def _as_array(t: TimeLike) -> tuple:
    """Return (numpy module, float64 array) if ``t`` is array-like with ndim ≥ 1, else (None, None)."""
    if not hasattr(t, "__array__"):
        return None, None
    import numpy

    arr = numpy.asarray(t, dtype=numpy.float64)
    if arr.ndim == 0:
        return None, None
    return numpy, arr


def leap_seconds(unix: TimeLike) -> int | numpy.ndarray:
    """GPS - UTC in seconds at Unix time ``unix`` (0 before 1981-07-01). Arrays give an int64 array."""
    table = _table()
    np, arr = _as_array(unix)
    if np is not None:
        idx = np.searchsorted(np.asarray(table.unix, dtype=np.float64), arr, side="right")
        return np.asarray(table.offsets, dtype=np.int64)[idx]
    return table.offsets[bisect.bisect_right(table.unix, float(unix))]


def unix_to_gps(t: TimeLike) -> TimeLike:
    """Unix timestamp (UTC, POSIX) → GPS seconds. Accepts floats or numpy arrays."""
    np, arr = _as_array(t)
    if np is not None:
        return arr - GPS_EPOCH_UNIX + leap_seconds(arr)
    t = float(t)
    return t - GPS_EPOCH_UNIX + leap_seconds(t)


def gps_to_unix(t: TimeLike) -> TimeLike:
    """GPS seconds → Unix timestamp. During an inserted leap second the Unix second before it is repeated."""
    table = _table()
    np, arr = _as_array(t)
    if np is not None:
        idx = np.searchsorted(np.asarray(table.gps, dtype=np.float64), arr, side="right")
        return arr + GPS_EPOCH_UNIX - np.asarray(table.offsets, dtype=np.int64)[idx]
    t = float(t)
    return t + GPS_EPOCH_UNIX - table.offsets[bisect.bisect_right(table.gps, t)]


def gps_now() -> float:
    """The current GPS time, from the system clock."""
    return unix_to_gps(time.time())


def gps_to_iso(t: float) -> str:
    """GPS seconds → ISO 8601 UTC with microseconds, e.g. ``2015-09-14T09:50:45.400000Z``.

    Always UTC and always six decimals (fixed width, sorts as text); a time inside a leap second reads ``23:59:60``.
    """
    table = _table()
    micro = round(float(t) * 1_000_000)  # whole microseconds first, so rounding can never print ":60" by accident
    whole, frac = divmod(micro, 1_000_000)
    i = bisect.bisect_right(table.gps, whole)
    in_leap = i > 0 and whole == table.gps[i - 1]
    unix = whole + GPS_EPOCH_UNIX - table.offsets[i]  # inside a leap second this is the second before it
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unix))
    if in_leap:
        stamp = stamp[:-2] + "60"
    return f"{stamp}.{frac:06d}Z"


def iso_to_gps(text: str) -> float:
    """Parse an ISO 8601 UTC time (``Z``/``+00:00`` or no zone, which means UTC; ``T`` or space) to GPS seconds.

    The inverse of ``gps_to_iso``, including ``23:59:60`` on a real leap second. Local times are refused.
    """
    import datetime

    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1]
    elif s.endswith("+00:00"):
        s = s[:-6]
    leap = len(s) >= 19 and s[16:19] == ":60"
    if leap:
        s = s[:17] + "59" + s[19:]
    try:
        dt = datetime.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}") from None
    if dt.tzinfo is not None:
        raise ValueError(f"not a UTC time (use Z): {text!r}")
    delta = dt - datetime.datetime(1970, 1, 1)
    whole = delta.days * 86400 + delta.seconds
    gps = unix_to_gps(whole)
    if leap:
        if leap_seconds(whole + 1) != leap_seconds(whole) + 1:
            raise ValueError(f"{text!r}: no leap second was inserted at that time")
        gps += 1
    return gps + delta.microseconds / 1_000_000
