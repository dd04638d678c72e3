"""No tag value or name the InfluxDB Aggregator accepts can change what it writes: a property, on a real influxd.

Line protocol separates tags with ``,``, keys from values with ``=``, and the parts of a point with spaces and
newlines; a value that smuggles one of them in unescaped splits a point, starts a new one, or renames a series.
So, for random tag values (every delimiter, quotes, backslashes, control characters, any Unicode) and random names:
either :class:`scald_monitor.io.influx.Aggregator` refuses them with ``ValueError`` before anything is written, or,
after ``store_columns`` and ``flush``, influxd holds exactly the points that were meant —

- ``SHOW MEASUREMENTS``: the measurement, its reduction across tags (``<m>_across_<tag_key>s``) and at most our
  own bookkeeping measurement (``_scald/pending``, see the module docstring of :mod:`scald_monitor.io.influx`);
- raw points (``autogen``): one series per tag combination written, with exactly the tag values written (read back
  from influxd's JSON), ``N`` points each;
- each aggregate retention policy ``"<dt>s"``: per combination and per aggregate (min, median, max) one point per
  bucket the times fall in, and the same for the reduction across tags.
"""
from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scald_monitor.io.influx import Aggregator
from scald_monitor.io.schema import AGGREGATES, LEVELS

#: Times of the points: 1 s apart and then wider, so each level has its own number of buckets.
TIMES = [1_000_000_000.0 + t for t in (0, 1, 2, 7, 13, 140, 1500)]
#: Characters line protocol and InfluxQL give a meaning to, and a few that tend to break parsers.
SPECIALS = list("\n\r\t\x00\x0b\x0c ,=\"'\\#/*;:{}[]") + ["\u2028", "\u0085", "\ufeff", "é", "🎉", "\u200b"]
#: Tag values (never empty: an empty value is refused, and REFUSED says so once instead of in half the examples).
TAG_VALUE = st.text(alphabet=st.one_of(st.sampled_from(SPECIALS), st.characters(codec="utf-8")), min_size=1,
                    max_size=12)
#: Names: mostly (9 in 10) ones the Aggregator accepts, so that most examples get as far as writing; sometimes
#: anything at all, which it must refuse or write as harmlessly as the rest.
_VALID_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:-]{0,10}", fullmatch=True)
_ANY_NAME = st.text(alphabet=st.one_of(st.sampled_from(SPECIALS), st.characters(codec="utf-8")), max_size=8)
NAME = st.sampled_from([True] * 9 + [False]).flatmap(lambda valid: _VALID_NAME if valid else _ANY_NAME)
REFERENCE = ("ref0", "ref1")  # a second, plain series beside the drawn one: nothing may leak into or out of it


def ident(name: str) -> str:
    """An InfluxQL identifier, quoted here (not by the code under test)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def buckets(dt: int) -> int:
    return len({math.floor(t / dt) for t in TIMES})


def series_counts(influxd, db: str, rp: str, measurement: str, column: str) -> dict[tuple, int]:
    """``{sorted tag items: COUNT(column)}`` of one measurement in one retention policy, read over raw HTTP."""
    answer = influxd.query(f"SELECT COUNT({ident(column)}) FROM {ident(db)}.{ident(rp)}.{ident(measurement)} "
                           "GROUP BY *", db=db)
    result = answer["results"][0]
    assert "error" not in result, result
    out = {}
    for series in result.get("series", []):
        # GROUP BY * lists every tag key of the measurement, across retention policies: raw points show
        # aggregate="" (no such tag). An empty value is no tag in InfluxDB (and the Aggregator refuses to write one).
        key = tuple(sorted((k, v) for k, v in (series.get("tags") or {}).items() if v != ""))
        assert key not in out, series
        out[key] = series["values"][0][1]
    return out


def write_and_check(influxd, measurement: str, column: str, tags: list[str], values: list[str]) -> str:
    """Write the drawn series and a plain reference series through the Aggregator, then check what influxd holds
    (module docstring). Returns what happened: ``name refused``, ``tag value refused`` or ``written``."""
    influxd.start()
    db = f"lp_{uuid.uuid4().hex[:12]}"
    agg = Aggregator(hostname=influxd.host, port=influxd.port, db=db, retry_max=1.0)
    try:
        try:
            schema = agg.register_schema(measurement, [column], column, tags, tags[0], "max")
        except ValueError:
            return "name refused"
        drawn = tuple(values[: len(tags)])
        reference = REFERENCE[: len(tags)]
        data = {key: {"time": TIMES, "fields": {column: [float(i) for i in range(len(TIMES))]}}
                for key in (drawn, reference)}
        try:
            agg.store_columns(measurement, data)
        except ValueError:
            shown = influxd.query("SHOW MEASUREMENTS", db=db)["results"][0]
            assert "series" not in shown, shown  # refused before anything was written
            return "tag value refused"
        agg.flush()

        across = f"{measurement}_across_{schema.tag_key}s"
        shown = influxd.query("SHOW MEASUREMENTS", db=db)["results"][0]
        names = {row[0] for s in shown.get("series", []) for row in s["values"]}
        assert {measurement, across} <= names <= {measurement, across, "_scald/pending"}, names

        combos = {tuple(sorted(zip(schema.tags, key))) for key in (drawn, reference)}
        assert series_counts(influxd, db, "autogen", measurement, column) == {c: len(TIMES) for c in combos}
        for dt in LEVELS:
            expected = {tuple(sorted((*c, ("aggregate", a)))): buckets(dt) for c in combos for a in AGGREGATES}
            assert series_counts(influxd, db, f"{dt}s", measurement, column) == expected, dt
            assert series_counts(influxd, db, f"{dt}s", across, column) == {
                (("aggregate", a),): buckets(dt) for a in AGGREGATES}, dt
        return "written"
    finally:
        agg.close()
        influxd.query(f"DROP DATABASE {ident(db)}")


#: Values line protocol must escape, which the Aggregator accepts: each must come back exactly as written.
ACCEPTED = ["a b", "a,b", "a=b", "a\\ b", "c\\,d=e", "x\\=y z", 'a"b\'c', "tab\there", " lead and trail ", "\u2028é🎉",
            "#comment", "m,job=0002 v=99 1", "\\n", "=", ",", " ", "a\\b"]
#: Values that cannot be stored as they are: refused, and nothing of the call written.
REFUSED = ["0001\nm,job=0002 v=99", "a\rb", "nul\x00", "", "\\", "ends with \\"]


@pytest.mark.parametrize("value", ACCEPTED)
def test_a_value_that_needs_escaping_is_stored_as_it_is(influxd, value):
    assert write_and_check(influxd, "m", "v", ["job", "ifo"], [value, "ref1"]) == "written"


@pytest.mark.parametrize("value", REFUSED)
def test_a_value_that_cannot_be_stored_is_refused_before_anything_is_written(influxd, value):
    assert write_and_check(influxd, "m", "v", ["job", "ifo"], [value, "x"]) == "tag value refused"


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(measurement=NAME, names=st.lists(NAME, min_size=2, max_size=3, unique=True),
       values=st.lists(TAG_VALUE, min_size=2, max_size=2))
def test_no_accepted_tag_value_or_name_changes_what_is_written(influxd, measurement, names, values):
    column, *tags = names  # distinct: a column named like a tag is refused, and would make most examples moot
    event(write_and_check(influxd, measurement, column, tags, values))


def test_the_check_catches_an_escaping_bug(influxd, monkeypatch):
    """Planted bug: commas and equals signs in tag values no longer escaped. ``job=a,x=y`` is then a valid line
    with a tag ``x`` nobody wrote, which influxd accepts, and :func:`write_and_check` must say so (the property
    can fail)."""
    from scald_monitor.io import influx

    monkeypatch.setattr(influx, "_escape_key", lambda text: str(text).replace(" ", "\\ "))
    with pytest.raises(AssertionError):
        write_and_check(influxd, "m", "v", ["job", "ifo"], ["a,x=y", "ref1"])
