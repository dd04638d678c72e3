"""Nagios range parsing and evaluation, checked against the guideline vectors (reference/nagios.md §1)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.rules.ranges import Range, RangeError, parse_range

INF = math.inf

# (range text, start, end, inside, [(value, alerts?), ...]) — every vector of nagios.md §1.
VECTORS = [
    ("10", 0, 10, False, [(-1, True), (0, False), (10, False), (11, True)]),
    ("10:", 10, INF, False, [(9, True), (10, False), (11, False)]),
    ("~:10", -INF, 10, False, [(-100, False), (9, False), (10, False), (11, True)]),
    ("10:20", 10, 20, False, [(9, True), (10, False), (15, False), (20, False), (21, True)]),
    ("@10:20", 10, 20, True, [(9, False), (10, True), (15, True), (20, True), (21, False)]),
    ("~:0", -INF, 0, False, [(0, False), (0.1, True)]),
    ("1:", 1, INF, False, [(0, True), (1, False)]),
    ("5:6", 5, 6, False, [(4.9, True), (5, False), (6, False), (6.1, True)]),
    ("@0", 0, 0, True, [(0, True), (1, False), (-1, False)]),
    ("-5:-1", -5, -1, False, [(-3, False), (0, True)]),
    ("1.5:2.5", 1.5, 2.5, False, [(1.4, True), (1.5, False), (2.5, False), (2.6, True)]),
    (":10", 0, 10, False, [(-1, True), (0, False), (10, False), (11, True)]),
    ("@~:10", -INF, 10, True, [(-1e300, True), (10, True), (10.0001, False)]),
]


@pytest.mark.parametrize("text,start,end,inside,cases", VECTORS, ids=[v[0] for v in VECTORS])
def test_guideline_vectors(text, start, end, inside, cases):
    rng = parse_range(text)
    assert (rng.start, rng.end, rng.inside, rng.text) == (start, end, inside, text)
    for value, expected in cases:
        assert rng.alerts(value) is expected, f"{text} with {value}"


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("1e-21", 0, 1e-21),
        ("~:1e-21", -INF, 1e-21),
        ("1E3", 0, 1000),
        ("+2", 0, 2),
        (".5", 0, 0.5),
        ("5.", 0, 5),
        ("-3.5:-1e-3", -3.5, -1e-3),
        ("2.5e+2:", 250, INF),
        ("  10  ", 0, 10),
        ("~:", -INF, INF),
    ],
)
def test_float_notations(text, start, end):
    rng = parse_range(text)
    assert (rng.start, rng.end) == (start, end)
    assert rng.text == text.strip()


def test_yaml_numbers_mean_upper_limit():
    assert parse_range(50) == Range(0.0, 50.0, False, "50")
    rng = parse_range(0.5)
    assert (rng.start, rng.end, rng.text) == (0.0, 0.5, "0.5")
    assert parse_range(1e-21).end == 1e-21


def test_guideline_command_line_example():
    """`-w 10 -c 20`: 5 → OK, 15 → WARNING, 25 → CRITICAL (critical is checked first)."""
    warning, critical = parse_range("10"), parse_range("20")

    def state(value):
        return 2 if critical.alerts(value) else 1 if warning.alerts(value) else 0

    assert [state(v) for v in (5, 15, 25, -1)] == [0, 1, 2, 2]


def test_infinite_values_compare_sensibly():
    assert parse_range("10:").alerts(INF) is False
    assert parse_range("~:10").alerts(INF) is True
    assert parse_range("~:10").alerts(-INF) is False


def test_nan_is_not_silently_ok():
    with pytest.raises(ValueError, match="NaN"):
        parse_range("10:20").alerts(float("nan"))


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("20:10", "greater than"),
        ("@20:10", "greater than"),
        ("~", "needs an end"),
        ("@", "nothing after"),
        ("10:~", "not a number"),
        ("abc", "not a number"),
        ("nan", "not a number"),
        ("inf", "not a number"),
        ("-inf:0", "not a number"),
        ("1:2:3", "more than one"),
        ("@@1:2", "not a number"),
        ("1_000", "not a number"),
        ("10 : 20", "not a number"),
        ("0x10", "not a number"),
        ("1e999", "too large"),
        (-5, "greater than"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (True, "expected a string"),
        (None, "expected a string"),
        ([1, 2], "expected a string"),
    ],
)
def test_bad_specs(bad, fragment):
    with pytest.raises(RangeError, match=fragment) as info:
        parse_range(bad)
    assert isinstance(info.value, ValueError)


def test_range_is_frozen_and_prints_its_text():
    rng = parse_range("@10:20")
    assert str(rng) == "@10:20"
    with pytest.raises(AttributeError):
        rng.start = 3  # type: ignore[misc]


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(a=finite, b=finite, v=finite)
def test_property_outside_and_inside(a, b, v):
    a, b = min(a, b), max(a, b)
    outside = parse_range(f"{a!r}:{b!r}")
    inside = parse_range(f"@{a!r}:{b!r}")
    assert outside.alerts(v) == (v < a or v > b)
    assert inside.alerts(v) == (not outside.alerts(v))


@settings(max_examples=200, deadline=None)
@given(b=finite, v=finite)
def test_property_single_number_and_open_forms(b, v):
    if b >= 0:
        assert parse_range(repr(b)).alerts(v) == (v < 0 or v > b)
    else:
        with pytest.raises(RangeError):
            parse_range(repr(b))
    assert parse_range(f"{b!r}:").alerts(v) == (v < b)
    assert parse_range(f"~:{b!r}").alerts(v) == (v > b)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet="0123456789.:~@+-eE ", max_size=12)))
def test_property_junk_parses_or_raises_range_error(text):
    try:
        rng = parse_range(text)
    except RangeError as exc:
        assert str(exc)
    else:
        assert rng.start <= rng.end
        assert not math.isnan(rng.start) and not math.isnan(rng.end)
        assert isinstance(rng.alerts(0.0), bool)
