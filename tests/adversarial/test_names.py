"""Names that could reshape what is written or read: a trailing newline, reserved words, colliding measurements.

Regression tests for an adversarial pass: ``$`` matches before a final newline, so a tag name ``job\\n`` passed a
``^...$`` check and started a new line-protocol point; a tag named ``aggregate`` (the InfluxDB layout's own) made
every aggregate write fail later, for other measurements too. Each name is refused where it enters, on both
backends alike, and by ``scald-monitor validate`` with the file, line and key.
"""
from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.config import ConfigError, load
from scald_monitor.io.schema import NAME_RE, make_schema
from scald_monitor.io.sqlite import Aggregator as SqliteAggregator

@pytest.fixture(params=["sqlite", "influx"])
def aggregator(request, tmp_path):
    """An Aggregator of each backend (InfluxDB: a real influxd): both refuse the same names."""
    if request.param == "sqlite":
        agg = SqliteAggregator(path=tmp_path / "s.sqlite")
    else:
        from scald_monitor.io.influx import Aggregator as InfluxAggregator

        server = request.getfixturevalue("influxd")
        agg = InfluxAggregator(hostname=server.host, port=server.port, db=request.getfixturevalue("influx_db"))
    yield agg
    agg.close()


SNEAKY = ["job\n", "job\r\n", "\njob", "job\x00", "jo b", "job;drop", "١٢٣", "jöb", "job\u2028", ""]


@pytest.mark.parametrize("name", SNEAKY)
@pytest.mark.parametrize("kind", ["measurement", "column", "tag"])
def test_names_are_matched_whole_and_ascii_only(kind, name):
    args = {"measurement": "m", "columns": ["v"], "tags": ["job"]}
    args[{"measurement": "measurement", "column": "columns", "tag": "tags"}[kind]] = (
        name if kind == "measurement" else [name])
    with pytest.raises(ValueError, match=f"invalid {kind} name"):
        make_schema(args["measurement"], args["columns"], tags=args["tags"])


@given(st.text(min_size=1, max_size=12))
@settings(max_examples=300, deadline=None)
def test_an_accepted_name_has_no_line_break_space_or_separator(name):
    if NAME_RE.fullmatch(name):
        assert not set(name) & set("\n\r\t ,=\"'\\\x00") and name.isascii()


@pytest.mark.parametrize("tags,columns,message", [
    (["aggregate"], ["v"], "tag name 'aggregate' is reserved"),
    (["time"], ["v"], "tag name 'time' is reserved"),
    (["job"], ["time"], "column name 'time' is reserved"),
    (["job"], ["job", "v"], "both columns and tags"),
])
def test_reserved_and_colliding_names_are_refused_by_register_schema(aggregator, tags, columns, message):
    with pytest.raises(ValueError, match=message):
        aggregator.register_schema("m", columns, tags=tags)


def test_a_measurement_named_like_an_across_tags_reduction_is_not_written(aggregator):
    with pytest.raises(ValueError, match="named like the reduction across tags"):
        aggregator.register_schema("lat_across_jobs", "data", tags="ifo")
    aggregator.register_schema("lat_across", "data", tags="ifo")  # not of that form: fine


def _problems(tmp_path, text: str) -> dict[str, tuple[int, str]]:
    path = tmp_path / "scald.yml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(str(path))
    return {p.path: (p.line, p.message) for p in info.value.problems}


def test_validate_refuses_newline_names_and_reserved_names_with_their_line(tmp_path):
    problems = _problems(tmp_path, r"""
        schemas:
          lat: {column: data, tag: "job\n"}
          agg: {column: data, tags: [job, aggregate]}
          tim: {column: time, tag: job}
          both: {columns: [job, v], tag: job}
        checks:
          "snr_max\n": {type: heartbeat, schema: tim, critical: 10}
        outputs:
          host: "localhost\n"
    """)
    assert "not a valid name" in problems["schemas.lat.tag"][1] and problems["schemas.lat.tag"][0] == 2
    assert "reserved" in problems["schemas.agg.tags[1]"][1] and problems["schemas.agg.tags[1]"][0] == 3
    assert "reserved" in problems["schemas.tim.column"][1]
    assert "both a column and a tag" in problems["schemas.both.tags"][1]
    assert any(path.startswith("checks.snr_max") and line == 7 for path, (line, _) in problems.items())
    assert "outputs.host" in problems
