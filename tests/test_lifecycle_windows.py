"""Downtime windows: parsing, and the weekly arithmetic checked against a brute-force calendar model (hypothesis).

The reference model works on datetimes: a window of day D from START lasts (END - START) mod 24 h (24 h when
START == END), so it is active at t when some day D in {t's date, the day before} has the right weekday and t is
in [D + START, D + START + length). It shares no code with windows.py (no modular week arithmetic), so week
boundaries (Sunday into Monday) and midnight are tested, not restated.
"""
from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings, strategies as st

from scald_monitor.lifecycle.windows import (DAYS, Downtime, active_downtime, parse_downtime, parse_downtimes,
                                             parse_duration, parse_label, parse_time)
from scald_monitor.timeutil import gps_to_unix, iso_to_gps, unix_to_gps

UTC = dt.timezone.utc


def gps(text: str) -> float:
    return iso_to_gps(text)


def weekly(day, start, end, **kw) -> Downtime:
    return parse_downtime({"checks": "*", "weekly": {"day": day, "start": start, "end": end}, **kw})


def model_active(days: list[int], start_min: int, end_min: int, t: dt.datetime) -> bool:
    length = (end_min - start_min) % 1440 or 1440
    for back in (0, 1):
        d = (t - dt.timedelta(days=back)).date()
        if d.weekday() in days:
            begin = dt.datetime(d.year, d.month, d.day, tzinfo=UTC) + dt.timedelta(minutes=start_min)
            if begin <= t < begin + dt.timedelta(minutes=length):
                return True
    return False


def model_until(days, start_min, end_min, t: dt.datetime) -> dt.datetime | float | None:
    """Scan forward minute by minute (windows start and end on whole minutes) until the downtime ends."""
    if not model_active(days, start_min, end_min, t):
        return None
    m = t.replace(second=0, microsecond=0)
    for _ in range(8 * 1440):
        m += dt.timedelta(minutes=1)
        if not model_active(days, start_min, end_min, m):
            return m
    return math.inf


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


day_sets = st.one_of(st.just("*"), st.sampled_from(DAYS), st.lists(st.sampled_from(DAYS), min_size=1, max_size=7))
clock = st.integers(0, 1439)
# 2001 .. 2035, minute-aligned plus seconds; includes many Sunday->Monday and New Year boundaries
instants = st.builds(lambda m, s: dt.datetime(2001, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=m, seconds=s),
                     st.integers(0, 35 * 525600), st.floats(0, 59.999))


def to_days(day) -> list[int]:
    if day == "*":
        return list(range(7))
    return sorted({DAYS.index(d) for d in ([day] if isinstance(day, str) else day)})


def to_gps(t: dt.datetime) -> float:
    return unix_to_gps(t.timestamp())


@pytest.mark.slow  # the minute-by-minute scan of the model: ~5-15 s depending on the machine's load
@settings(max_examples=300, deadline=None)
@given(day=day_sets, start=clock, end=st.one_of(clock, st.just(1440)), t=instants)
def test_weekly_active_and_until_match_the_calendar_model(day, start, end, t):
    end_text = "24:00" if end == 1440 else hhmm(end)
    d = weekly(day, hhmm(start), end_text)
    days = to_days(day)
    g = to_gps(t)
    assert d.active(g) == model_active(days, start, end % 1440, t)  # 24:00 ends the day like 00:00 the next
    until = d.until(g)
    want = model_until(days, start, end % 1440, t)
    if want is None:
        assert until is None
    elif want == math.inf:
        assert until == math.inf
    else:
        assert until is not None and gps_to_unix(until) == pytest.approx(want.timestamp(), abs=1e-6)
        assert not d.active(until) and d.active(until - 0.5)


@settings(max_examples=200, deadline=None)
@given(t=instants, start=clock)
def test_start_equal_end_is_a_whole_day(t, start):
    d = weekly("mon", hhmm(start), hhmm(start))
    assert d.active(to_gps(t)) == model_active([0], start, start, t)
    begin = dt.datetime(2024, 5, 6, tzinfo=UTC) + dt.timedelta(minutes=start)  # a Monday
    assert d.until(to_gps(begin)) == pytest.approx(to_gps(begin + dt.timedelta(days=1)))


@pytest.mark.parametrize("day,start,end,at,active,until", [
    # across midnight and the week boundary: Sunday 22:00 -> Monday 02:00
    ("sun", "22:00", "02:00", "2024-05-05T21:59:59", False, None),
    ("sun", "22:00", "02:00", "2024-05-05T22:00:00", True, "2024-05-06T02:00:00"),
    ("sun", "22:00", "02:00", "2024-05-06T01:59:59.9", True, "2024-05-06T02:00:00"),
    ("sun", "22:00", "02:00", "2024-05-06T02:00:00", False, None),
    ("sun", "22:00", "02:00", "2024-12-29T23:30:00", True, "2024-12-30T02:00:00"),  # across a year too
    ("tue", "16:00", "20:00", "2024-05-07T16:00:00", True, "2024-05-07T20:00:00"),
    ("tue", "16:00", "20:00", "2024-05-14T19:59:00", True, "2024-05-14T20:00:00"),
    ("tue", "16:00", "20:00", "2024-05-08T17:00:00", False, None),
    ("fri", "00:00", "24:00", "2024-05-10T23:59:59", True, "2024-05-11T00:00:00"),
    # touching windows are one downtime: Mon+Tue whole days end Wednesday 00:00
    (["mon", "tue"], "00:00", "00:00", "2024-05-06T05:00:00", True, "2024-05-08T00:00:00"),
    # every day, whole day: always in downtime
    ("*", "03:00", "03:00", "2024-05-06T05:00:00", True, math.inf),
])
def test_weekly_examples(day, start, end, at, active, until):
    d = weekly(day, start, end)
    assert d.active(gps(at)) is active
    got = d.until(gps(at))
    if until is None or until == math.inf:
        assert got == until
    else:
        assert got == pytest.approx(gps(until))


def test_one_off_window_and_describe():
    d = parse_downtime({"name": "fix", "checks": ["a"], "start": "2024-05-07T16:00:00Z", "end": gps("2024-05-07T18:00:00"),
                        "comment": "cable swap"})
    assert not d.active(gps("2024-05-07T15:59:59"))
    assert d.active(gps("2024-05-07T16:00:00")) and d.until(gps("2024-05-07T17:00:00")) == gps("2024-05-07T18:00:00")
    assert not d.active(gps("2024-05-07T18:00:00"))
    assert d.describe(gps("2024-05-07T17:00:00")) == "in downtime until 2024-05-07T18:00:00Z (fix: cable swap)"
    assert d.describe(gps("2024-05-07T19:00:00")) == ""
    assert d.next_start(gps("2024-05-07T10:00:00")) == gps("2024-05-07T16:00:00")
    dd = parse_downtime({"checks": "a", "start": 1000, "duration": "1h30m"})
    assert (dd.start, dd.end) == (1000, 1000 + 5400)


def test_yaml_datetimes_and_round_trip():
    d = parse_downtime({"checks": ["a"], "start": dt.datetime(2024, 5, 7, 16, 0), "end": dt.datetime(
        2024, 5, 7, 18, 0, tzinfo=UTC)})
    assert (d.start, d.end) == (gps("2024-05-07T16:00:00"), gps("2024-05-07T18:00:00"))
    for entry in ({"checks": ["a"], "tags": {"job": ["0003", 4]}, "weekly": {"day": ["mon", "wed"], "start": "1:00",
                                                                               "end": "02:30:15"}},
                  {"id": 7, "checks": "*", "start": 5.0, "end": 9.0, "comment": "c", "author": "me", "created": 4.0}):
        d = parse_downtime(entry)
        assert parse_downtime(d.to_dict()) == d


def test_next_start_weekly():
    d = weekly("tue", "16:00", "20:00")
    assert d.next_start(gps("2024-05-07T15:00:00")) == gps("2024-05-07T16:00:00")
    assert d.next_start(gps("2024-05-07T16:00:00")) == gps("2024-05-14T16:00:00")


def test_matches_checks_and_tags():
    d = parse_downtime({"checks": ["range_*", "latency"], "tags": {"job": ["0003", "0004"]}, "start": 0, "end": 1})
    assert d.matches("range_bns", "job=0003") and d.matches("latency", {"job": "0004", "ifo": "H1"})
    assert not d.matches("range_bns", "job=0005")
    assert not d.matches("range_bns", "")  # the check as a whole: other tags may still be failing
    assert not d.matches("other", "job=0003")
    all_tags = parse_downtime({"checks": "*", "start": 0, "end": 1})
    assert all_tags.matches("x", "") and all_tags.matches("x", "job=1")
    assert parse_label("job=0003,ifo=H1") == {"job": "0003", "ifo": "H1"} and parse_label("") == {}


def test_active_downtime_picks_the_longest():
    a = parse_downtime({"name": "a", "checks": "*", "start": 0, "end": 100})
    b = parse_downtime({"name": "b", "checks": ["c"], "start": 50, "end": 200})
    assert active_downtime([a, b], "c", "", 60) == (b, 200)
    assert active_downtime([a, b], "d", "", 60) == (a, 100)
    assert active_downtime([a, b], "d", "", 150) is None


@pytest.mark.parametrize("entry,message", [
    ({"weekly": {"day": "tue", "start": "16:00", "end": "20:00"}}, "downtimes[0].checks: required"),
    ({"checks": "a", "weekly": {"day": "tues", "start": "16:00", "end": "20:00"}}, "downtimes[0].weekly.day: 'tues'"),
    ({"checks": "a", "weekly": {"day": "tue", "start": 960, "end": "20:00"}}, "quote it"),
    ({"checks": "a", "weekly": {"day": "tue", "start": "16:00", "end": "25:00"}}, "downtimes[0].weekly.end"),
    ({"checks": "a", "weekly": {"day": "tue", "start": "24:00", "end": "02:00"}}, "downtimes[0].weekly.start"),
    ({"checks": "a", "weekly": {"day": "tue", "start": "16:00"}}, "downtimes[0].weekly.end: required"),
    ({"checks": "a", "weekly": {"day": "tue", "start": "1:00", "end": "2:00", "tz": "CET"}}, "weekly.tz: unknown"),
    ({"checks": "a", "start": "2024-05-07T16:00:00Z"}, "downtimes[0].end: required"),
    ({"checks": "a", "start": "yesterday", "end": 5}, "downtimes[0].start: 'yesterday' is neither"),
    ({"checks": "a", "start": "2024-05-07T16:00:00+02:00", "end": 5}, "downtimes[0].start"),
    ({"checks": "a", "start": 10, "end": 5}, "downtimes[0].end: must be after start"),
    ({"checks": "a", "start": 10, "duration": "soon"}, "downtimes[0].duration: 'soon' is not a duration"),
    ({"checks": "a"}, "needs weekly"),
    ({"checks": "a", "start": 1, "end": 2, "weekly": {}}, "not both"),
    ({"checks": "a", "tags": {"job": []}, "start": 1, "end": 2}, "downtimes[0].tags.job"),
    ({"checks": [], "start": 1, "end": 2}, "downtimes[0].checks"),
    ({"checks": "a", "start": 1, "end": 2, "comment": 5}, "downtimes[0].comment: must be text"),
    ({"checks": "a", "start": 1, "end": 2, "when": 5}, "downtimes[0].when: unknown key"),
    ("tuesday", "downtimes[0]: must be a mapping"),
])
def test_parse_errors_name_the_key(entry, message):
    with pytest.raises(ValueError) as info:
        parse_downtimes([entry])
    assert message in str(info.value)


def test_parse_downtimes_list_rules():
    assert parse_downtimes(None) == []
    with pytest.raises(ValueError, match="downtimes: must be a list"):
        parse_downtimes({"a": 1})
    with pytest.raises(ValueError, match="duplicate name 'x'"):
        parse_downtimes([{"name": "x", "checks": "a", "start": 1, "end": 2}] * 2)


@pytest.mark.parametrize("text,seconds", [("90", 90), (90, 90), ("90s", 90), ("2h", 7200), ("1h30m", 5400),
                                          ("1h 30m", 5400), ("1.5d", 129600), ("1w", 604800), ("2H", 7200)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1h30", "h", "", "1x", "-5", 0, True, "2 hours"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_time_forms():
    assert parse_time(1234567890) == 1234567890.0
    assert parse_time("1234567890.5") == 1234567890.5
    assert parse_time("2015-09-14T09:50:45Z") == pytest.approx(1126259462.0)
    with pytest.raises(ValueError, match="boolean"):
        parse_time(True)
