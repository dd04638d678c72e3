"""GPS/UTC conversions: published anchors, the leap second itself, round trips, arrays and import weight."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor import timeutil
from scald_monitor.timeutil import (
    GPS_EPOCH_UNIX,
    LEAP_SECOND_TABLE,
    gps_to_iso,
    gps_to_unix,
    iso_to_gps,
    leap_seconds,
    unix_to_gps,
)

UNIX_1980 = 315964800  # 1980-01-06, the GPS epoch
UNIX_2040 = 2208988800  # 2040-01-01
LEAP_2017 = 1483228800  # Unix time of 2017-01-01T00:00:00Z, right after the last leap second (offset 17 -> 18)
GPS_2017 = LEAP_2017 - GPS_EPOCH_UNIX + 18  # 1167264018


@pytest.mark.parametrize(
    "gps, iso",
    [
        (0, "1980-01-06T00:00:00.000000Z"),
        (1_000_000_000, "2011-09-14T01:46:25.000000Z"),
        (1126259462.4, "2015-09-14T09:50:45.400000Z"),  # GW150914
        (1187008882.4, "2017-08-17T12:41:04.400000Z"),  # GW170817
    ],
)
def test_anchors(gps, iso):
    assert gps_to_iso(gps) == iso
    assert iso_to_gps(iso) == pytest.approx(gps, abs=1e-6)


def test_anchor_unix_values():
    assert gps_to_unix(0) == GPS_EPOCH_UNIX
    assert gps_to_unix(1_000_000_000) == 1315964785  # 15 leap seconds in 2011
    assert unix_to_gps(1442224245.4) == pytest.approx(1126259462.4, abs=1e-6)  # 17 in 2015


def test_table_shape():
    assert LEAP_SECOND_TABLE[-1] == (LEAP_2017, 18)
    assert [off for _, off in LEAP_SECOND_TABLE] == list(range(1, 19))
    assert all(u % 86400 == 0 for u, _ in LEAP_SECOND_TABLE)  # inserted at midnight UTC
    times = [u for u, _ in LEAP_SECOND_TABLE]
    assert times == sorted(times)


def test_leap_seconds_steps():
    assert leap_seconds(0) == 0
    assert leap_seconds(UNIX_1980) == 0
    assert leap_seconds(362793600 - 1) == 0 and leap_seconds(362793600) == 1
    assert leap_seconds(LEAP_2017 - 0.001) == 17
    assert leap_seconds(LEAP_2017) == 18
    assert leap_seconds(UNIX_2040) == 18


def test_around_2016_leap_second():
    # 23:59:59 (GPS-UTC 17), 23:59:60 (the inserted second), 00:00:00 (GPS-UTC 18)
    assert gps_to_iso(GPS_2017 - 2) == "2016-12-31T23:59:59.000000Z"
    assert gps_to_iso(GPS_2017 - 1) == "2016-12-31T23:59:60.000000Z"
    assert gps_to_iso(GPS_2017 - 0.5) == "2016-12-31T23:59:60.500000Z"
    assert gps_to_iso(GPS_2017) == "2017-01-01T00:00:00.000000Z"
    assert iso_to_gps("2016-12-31T23:59:60.5Z") == GPS_2017 - 0.5
    assert unix_to_gps(LEAP_2017 - 1) == GPS_2017 - 2
    assert unix_to_gps(LEAP_2017) == GPS_2017
    # The leap second has no Unix name: it repeats 23:59:59, like the Linux kernel.
    assert gps_to_unix(GPS_2017 - 1.5) == LEAP_2017 - 0.5
    assert gps_to_unix(GPS_2017 - 0.5) == LEAP_2017 - 0.5
    assert gps_to_unix(GPS_2017) == LEAP_2017


def test_iso_rejects_non_utc_and_fake_leap_seconds():
    with pytest.raises(ValueError):
        iso_to_gps("2017-08-17T12:41:04+02:00")
    with pytest.raises(ValueError):
        iso_to_gps("2017-08-17T23:59:60Z")
    with pytest.raises(ValueError):
        iso_to_gps("yesterday")


def test_gps_now_is_plausible():
    import time

    now = timeutil.gps_now()
    assert now == pytest.approx(time.time() - GPS_EPOCH_UNIX + 18, abs=5)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=UNIX_1980, max_value=UNIX_2040, allow_nan=False))
def test_unix_roundtrip(unix):
    assert gps_to_unix(unix_to_gps(unix)) == unix


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=UNIX_2040 - GPS_EPOCH_UNIX + 18, allow_nan=False))
def test_gps_roundtrip(gps):
    unix = gps_to_unix(gps)
    in_leap_second = any(0 <= gps - (u - GPS_EPOCH_UNIX + off - 1) < 1 for u, off in LEAP_SECOND_TABLE)
    if in_leap_second:
        assert unix_to_gps(unix) == pytest.approx(gps - 1, abs=1e-6)
    else:
        # exact up to float rounding of the larger Unix value
        assert unix_to_gps(unix) == pytest.approx(gps, abs=1e-6)
        if 2**30 <= gps and unix < 2**31:  # same binade as the Unix value (2014-2038): bit-exact
            assert unix_to_gps(unix) == gps


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=(UNIX_2040 - GPS_EPOCH_UNIX) * 10**6))
def test_iso_roundtrip(micro):
    gps = micro / 10**6
    assert gps_to_iso(iso_to_gps(gps_to_iso(gps))) == gps_to_iso(gps)


def test_arrays_match_scalars():
    rng = np.random.default_rng(1)
    unix = np.concatenate(
        [
            rng.uniform(UNIX_1980, UNIX_2040, 2000),
            [u + d for u, _ in LEAP_SECOND_TABLE for d in (-1.5, -1, -0.5, 0, 0.5)],
        ]
    )
    gps = unix - GPS_EPOCH_UNIX + rng.integers(0, 19, unix.size)
    np.testing.assert_array_equal(leap_seconds(unix), [leap_seconds(float(u)) for u in unix])
    np.testing.assert_array_equal(unix_to_gps(unix), [unix_to_gps(float(u)) for u in unix])
    np.testing.assert_array_equal(gps_to_unix(gps), [gps_to_unix(float(g)) for g in gps])
    assert unix_to_gps(unix).dtype == np.float64


def test_numpy_scalar_gives_python_scalar():
    assert isinstance(unix_to_gps(np.float64(LEAP_2017)), float)
    assert isinstance(leap_seconds(np.float64(LEAP_2017)), int)


def test_matches_system_leap_seconds_list():
    path = "/usr/share/zoneinfo/leap-seconds.list"
    if not os.path.exists(path):
        pytest.skip("no tzdata leap-seconds.list on this host")
    with open(path, encoding="ascii") as fh:
        entries = timeutil._parse_leap_seconds_list(fh.read())
    assert entries[: len(LEAP_SECOND_TABLE)] == list(LEAP_SECOND_TABLE)


NEWER_LIST = """\
#\tsome header
#@\t4000000000
2272060800\t10\t# 1 Jan 1972
3692217600\t37\t# 1 Jan 2017
3976214400\t38\t# 1 Jan 2026 (hypothetical)
#h\tdeadbeef
"""


def test_newer_system_list_extends_table(tmp_path, monkeypatch):
    fake = tmp_path / "leap-seconds.list"
    fake.write_text(NEWER_LIST)
    monkeypatch.setattr(timeutil, "LEAP_SECONDS_FILE", str(fake))
    monkeypatch.setattr(timeutil, "_TABLE", None)
    new_leap = 3976214400 - 2208988800  # 2026-01-01 in Unix time
    assert leap_seconds(new_leap - 1) == 18
    assert leap_seconds(new_leap) == 19
    assert gps_to_iso(unix_to_gps(new_leap)) == "2026-01-01T00:00:00.000000Z"
    monkeypatch.setattr(timeutil, "_TABLE", None)  # leave the real table for the other tests


@pytest.mark.parametrize(
    "content",
    [
        "garbage\n",
        "3692217600\t36\n",  # disagrees with the IERS table
        "3976214400\t40\n",  # jumps by more than one second
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_bad_system_list_is_ignored(tmp_path, monkeypatch, content):
    fake = tmp_path / "leap-seconds.list"
    fake.write_text(content, encoding="latin-1")
    monkeypatch.setattr(timeutil, "LEAP_SECONDS_FILE", str(fake))
    monkeypatch.setattr(timeutil, "_TABLE", None)
    assert leap_seconds(UNIX_2040) == 18
    assert leap_seconds(LEAP_2017 - 1) == 17
    monkeypatch.setattr(timeutil, "_TABLE", None)


def test_missing_system_list_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(timeutil, "LEAP_SECONDS_FILE", str(tmp_path / "nope"))
    monkeypatch.setattr(timeutil, "_TABLE", None)
    assert leap_seconds(UNIX_2040) == 18
    monkeypatch.setattr(timeutil, "_TABLE", None)

def test_leap_table_rows_are_the_leap_seconds_the_conversions_use():
    """``leap_table()`` (handed to the dashboard): per leap second, the GPS second it starts at (read as 23:59:60),
    the Unix second after it, and the new offset, one more than the row before."""
    rows = timeutil.leap_table()
    assert rows[0] == [46828800, 362793600, 1] and rows[-1][2] >= 18
    for i, (gps, unix, offset) in enumerate(rows):
        assert gps_to_iso(gps).endswith("23:59:60.000000Z")
        assert gps_to_unix(gps + 1) == unix and leap_seconds(unix) == offset == i + 1
