"""`scald mock`: the InfluxDB 1.x HTTP stand-in.

In-process: the InfluxQL tokenizer/parser (with hypothesis), line protocol validation and the query executor (grids,
aggregates, tags, epochs, determinism). Over HTTP: `scald mock` as a subprocess on a free 127.0.0.1 port, talked to
with raw requests, the `influxdb` client, ligo-scald's own Aggregator and ligo-scald's own `scald serve`; and the
mock's answers compared with a real influxd holding the same points.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procs import free_port
from scald_monitor.config import load
from scald_monitor.mock.answer import MAX_POINTS, QueryError, execute
from scald_monitor.mock.generate import generate_columns
from scald_monitor.mock.influxql import (
    BinaryExpr, InfluxQLError, Literal, SelectField, SelectStatement, Source, VarRef, parse_query, quote_ident,
    quote_string, tokenize,
)
from scald_monitor.mock.lineprotocol import LineProtocolError, parse_line, parse_lines
from scald_monitor.mock.source import MockSource
from scald_monitor.timeutil import gps_now, gps_to_unix, unix_to_gps

NS = 10**9
#: "now" for in-process tests: a fixed moment, so answers never depend on the wall clock.
NOW_GPS = 1_400_000_000
NOW_NS = int(gps_to_unix(NOW_GPS)) * NS
SCALD = [sys.executable, "-c", "import sys; from scald_monitor.cli import scald; sys.exit(scald(prog_name='scald'))"]

CONFIG = """\
backends:
  default:
    backend: influxdb
    db: mydb
    hostname: 127.0.0.1
    port: {port}
mock:
  seed: 7
  rate: 1
  tags:
    job: ['0000', '0001', '0002', '0003']
navbar:
  title: interop
  pages: [index]
  tabs: []
pages:
  index: {{title: Home, lookback: 600, delay: 10, plots: []}}
plots: {{}}
schemas:
  latency_history:             # ligo-scald wants the schema key to equal the measurement for /api/latest
    measurement: latency_history
    column: data
    tag: job
    tag_key: job
    aggregate: max
    default: 1e4
    transform: latency
    mock:
      signal: random_walk
      offset: 5
      amplitude: 2
      gaps:                    # job 0003 is silent for the first 5 minutes of every 10
        - {{tag: '0003', start: 0, every: 600, length: 300}}
  snr_history:
    measurement: snr_history
    columns: [snr, chisq]
    column_key: snr
    tags: [job]
    tag_key: job
    aggregate: max
"""


def ns(gps: float) -> int:
    """Unix ns of a whole GPS second."""
    return int(gps_to_unix(gps)) * NS


def to_gps(unix_ns: int) -> float:
    return unix_to_gps(unix_ns / NS)


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("mockcfg") / "scald.yml"
    path.write_text(CONFIG.format(port=8086))
    return path


@pytest.fixture(scope="module")
def src(config_path):
    return MockSource.from_config(load(str(config_path)))


def run(src, q, **kw):
    kw.setdefault("db", "mydb")
    kw.setdefault("now_ns", NOW_NS)
    return execute(src, q, **kw)


def series_of(result, i=0):
    return result["results"][i].get("series", [])


def values_of(result, i=0):
    (series,) = series_of(result, i)
    return series["values"]


# ======================================================================================================= parser


def test_tokenize_kinds_and_escapes():
    tokens = tokenize('SELECT "a \\"b\\"" FROM m WHERE t = \'it\\\'s\\n\' AND time > now() - 1h30m -- c\n;')
    kinds = [(t.kind, t.text) for t in tokens]
    assert ("qident", 'a "b"') in kinds
    assert ("string", "it's\n") in kinds
    (duration,) = [t for t in tokens if t.kind == "duration"]
    assert duration.value == 5400 * NS
    assert kinds[-2:] == [("op", ";"), ("eof", "")]


@pytest.mark.parametrize("text, message", [
    ("SELECT \"unterminated FROM m", "unterminated identifier"),
    ("SELECT a FROM m WHERE t = 'x", "unterminated string"),
    ("SELECT a FROM m WHERE t = 'a\\qb'", "bad escape"),
    ("SELECT a FROM m WHERE t = 'a\nb'", "newline in string"),
    ("SELECT a FROM m WHERE time > now() - 10x", "invalid number or duration"),
    ("SELEC a FROM m", "found SELEC, expected SELECT"),
    ("SELECT a FROM m GROUP BY time(10s)", "GROUP BY time()"),
    ("SELECT a FROM m WHERE job =~ /00/", "regular expression"),
    ("SELECT a + 1 FROM m", "arithmetic"),
    ("SELECT derivative(a) FROM m", "function derivative()"),
    ("SELECT a FROM m1, m2", "more than one measurement"),
    ("SELECT a FROM m ORDER BY job", "only ORDER BY time"),
    ("DELETE FROM m", "stateless"),
    ("   ", "empty query"),
])
def test_parse_errors_are_clear(text, message):
    with pytest.raises(InfluxQLError, match=re.escape(message)):
        parse_query(text)


def test_parse_ligo_scald_queries():
    q = ('SELECT "data","job" FROM "mydb"."1s"."latency_history" WHERE aggregate = \'max\' AND job = \'0001\' '
         'AND time >= 1400000000000000000 AND time <= 1400000005000000000 GROUP BY job ORDER BY time DESC LIMIT 1')
    (stmt,) = parse_query(q)
    assert stmt.source == Source("latency_history", "mydb", "1s")
    assert [f.name for f in stmt.fields] == ["data", "job"]
    assert stmt.group_by == ("job",) and stmt.descending and stmt.limit == 1
    (stmt,) = parse_query('SELECT "data" FROM "mydb".."m"')
    assert stmt.source == Source("m", "mydb", None)
    (stmt,) = parse_query('select LAST("d") as "x" from "rp"."m" group by *')
    assert stmt.fields == (SelectField("d", "last", "x"),) and stmt.group_by == ("*",)
    assert stmt.source == Source("m", None, "rp")
    assert len(parse_query(' CREATE DATABASE "db"; CREATE RETENTION POLICY "1s" ON "db" DURATION INF '
                           'REPLICATION 1;')) == 2


# Any text at all: quotes, backslashes, newlines, non-ASCII, keywords.
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
names = st.one_of(any_text.filter(bool), st.sampled_from(["time", "select", "job", 'a"b', "a'b", "a\\", "\n"]))


@settings(max_examples=200, deadline=None)
@given(ident=names, value=any_text)
def test_quoting_round_trips(ident, value):
    tokens = tokenize(f"{quote_ident(ident)} = {quote_string(value)}")
    assert [(t.kind, t.text) for t in tokens] == [("qident", ident), ("op", "="), ("string", value), ("eof", "")]


def _conditions(depth: int):
    tag_cmp = st.builds(lambda n, op, v: BinaryExpr(op, VarRef(n), Literal("string", v)),
                        names, st.sampled_from(["=", "!=", "<>"]), any_text)
    time_value = st.one_of(
        st.integers(0, 2**62).map(lambda v: Literal("number", v)),
        st.builds(lambda d: BinaryExpr("-", Literal("now"), Literal("duration", d)), st.integers(0, 10**15)),
    )
    time_cmp = st.builds(lambda op, v: BinaryExpr(op, VarRef("time"), v),
                         st.sampled_from([">=", ">", "<=", "<", "="]), time_value)
    leaf = st.one_of(tag_cmp, time_cmp)
    return st.recursive(leaf, lambda inner: st.builds(BinaryExpr, st.sampled_from(["AND", "OR"]), inner, inner),
                        max_leaves=depth)


select_statements = st.builds(
    SelectStatement,
    fields=st.one_of(
        st.lists(st.builds(SelectField, names, st.none(), st.none() | names), min_size=1, max_size=3),
        st.lists(st.builds(SelectField, names, st.sampled_from(["last", "max", "mean"]), st.none() | names),
                 min_size=1, max_size=2),
        st.just([SelectField("*", wildcard=True)]),
    ).map(tuple),
    source=st.builds(Source, names, st.none() | names, st.none() | names),
    condition=st.none() | _conditions(5),
    group_by=st.one_of(st.just(()), st.just(("*",)),
                       st.lists(names.filter(lambda n: n != "*"), min_size=1, max_size=2).map(tuple)),
    descending=st.booleans(),
    limit=st.none() | st.integers(0, 10**6),
    offset=st.integers(0, 100),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stmt=select_statements)
def test_select_statements_round_trip(stmt):
    assert parse_query(str(stmt)) == [stmt]


query_words = st.sampled_from([
    "SELECT", "FROM", "WHERE", "AND", "OR", "GROUP", "BY", "ORDER", "time", "DESC", "LIMIT", "SHOW", "TAG", "KEYS",
    "VALUES", "WITH", "KEY", "=", "!=", ">=", "<", "(", ")", ",", ".", "*", ";", '"data"', "data", "job", "aggregate",
    "'0001'", "'max'", "now()", "-", "1h", "10", "1400000000000000000", '"1s"', '"mydb"', "latency_history",
    "last(data)", "count(data)", "\"", "'", "\\", "DATABASES", "MEASUREMENTS", "FIELD", "CREATE", "DATABASE", "x",
])


@settings(max_examples=300, deadline=None)
@given(words=st.lists(query_words, max_size=25), noise=any_text)
def test_executor_only_ever_refuses_cleanly(src, words, noise):
    """Whatever the text, the answer is a result document or a QueryError (the server's 400), never a crash."""
    for text in (" ".join(words), noise, "SELECT data FROM latency_history WHERE " + " ".join(words)):
        try:
            result = run(src, text)
        except QueryError as exc:
            assert str(exc)
        else:
            json.dumps(result)


# ================================================================================================ line protocol


@pytest.mark.parametrize("line, expected", [
    ("m,job=0001 data=1.5 1500000000000000000", ("m", {"job": "0001"}, {"data": 1.5}, 1500000000000000000)),
    ("m data=-1e-3,n=3i,u=4u,ok=t,s=\"a \\\"q\\\" b\"", ("m", {}, {"data": -0.001, "n": 3, "u": 4, "ok": True,
                                                           "s": 'a "q" b'}, None)),
    ("my\\ m,t\\=k=v\\,1 f\\ 1=2", ("my m", {"t=k": "v,1"}, {"f 1": 2.0}, None)),
    ("m,aggregate=max,job=0000 data=0.97,snr=0.5 -5", ("m", {"aggregate": "max", "job": "0000"},
                                                      {"data": 0.97, "snr": 0.5}, -5)),
])
def test_line_protocol_valid(line, expected):
    point = parse_line(line)
    assert (point.measurement, point.tags, point.fields, point.timestamp) == expected


@pytest.mark.parametrize("line, reason", [
    ("m,job=0001 data=", "missing field value"),
    ("m data=1 12a", "bad timestamp"),
    ("m", "missing fields"),
    ("m,job data=1", "missing tag value"),
    ("m,=x data=1", "missing tag key"),
    ("m data=1x", "invalid number"),
    ("m data=tru", "invalid boolean"),
    ('m s="open', "unbalanced quotes"),
    (",job=1 data=1", "missing measurement"),
    ("m data=1i2", "invalid number"),
    ("m data=99999999999999999999i", "value out of range"),
])
def test_line_protocol_invalid(line, reason):
    with pytest.raises(LineProtocolError) as info:
        parse_line(line)
    assert str(info.value) == f"unable to parse '{line}': {reason}"


def test_line_protocol_body_skips_blank_and_comment_lines():
    assert len(parse_lines("# comment\n\nm a=1\r\n  m b=2\n")) == 2


def test_line_protocol_reports_every_bad_line():
    with pytest.raises(LineProtocolError) as info:
        parse_lines("m a=1\nm a=\nm b=2\nm c=x")
    assert str(info.value) == "unable to parse 'm a=': missing field value\nunable to parse 'm c=x': invalid number"


# ================================================================================================ the executor


def test_aggregate_grid_and_tags(src):
    start, end = NOW_GPS - 100, NOW_GPS - 90
    q = (f"SELECT \"data\" FROM \"mydb\".\"1s\".\"latency_history\" WHERE aggregate = 'max' AND job = '0001' "
         f"AND time >= {ns(start)} AND time <= {ns(end)}")
    rows = values_of(run(src, q, epoch="ns"))
    assert [r[0] for r in rows] == [ns(t) for t in range(start, end + 1)]  # inclusive bounds, 1 s grid
    rows10 = values_of(run(src, q.replace('"1s"', '"10s"').replace(str(ns(end)), str(ns(end + 100))), epoch="s"))
    assert [to_gps(r[0] * NS) % 10 for r in rows10] == [0.0] * len(rows10)  # bucket starts, GPS-aligned
    assert len(rows10) == 11


def test_aggregates_are_reductions_of_the_raw_samples(src):
    """1 s and 10 s buckets (<= 16 raw samples) hold exactly what the Aggregator would compute from raw data."""
    start = NOW_GPS - 200
    raw = values_of(run(src, f"SELECT data FROM latency_history WHERE job = '0002' AND time >= {ns(start)} "
                             f"AND time < {ns(start + 60)}", epoch="ns"))
    raw_values = np.array([r[1] for r in raw])
    by_agg = {}
    for dt in (1, 10):
        for agg in ("min", "median", "max"):
            q = (f"SELECT data FROM \"{dt}s\".latency_history WHERE aggregate = '{agg}' AND job = '0002' "
                 f"AND time >= {ns(start)} AND time < {ns(start + 60)}")
            by_agg[dt, agg] = np.array([r[1] for r in values_of(run(src, q, epoch="ns"))])
    for agg in ("min", "median", "max"):
        assert np.array_equal(by_agg[1, agg], raw_values)
    buckets = raw_values.reshape(6, 10)
    assert np.array_equal(by_agg[10, "max"], buckets.max(axis=1))
    assert np.array_equal(by_agg[10, "min"], buckets.min(axis=1))
    assert np.array_equal(by_agg[10, "median"], np.sort(buckets, axis=1)[:, 5])  # median_high, as ligo-scald
    coarse = {agg: np.array([r[1] for r in values_of(run(
        src, f"SELECT data FROM \"1000s\".latency_history WHERE aggregate = '{agg}' AND job = '0000' AND "
             f"time >= {ns(NOW_GPS - 20000)}", epoch="s"))]) for agg in ("min", "median", "max")}
    assert len(coarse["max"]) >= 20
    assert (coarse["min"] <= coarse["median"]).all() and (coarse["median"] <= coarse["max"]).all()
    assert (coarse["min"][:-1] < coarse["max"][:-1]).all()
    assert coarse["min"][-1] == coarse["max"][-1]  # the current bucket (at NOW) holds one sample so far


def test_raw_points_are_the_generator_samples(src):
    """The default retention policy serves what `scald fill` would store: generate_columns on the rate grid."""
    start = NOW_GPS - 50
    rows = values_of(run(src, f"SELECT data FROM mydb..latency_history WHERE job = '0001' AND "
                              f"time >= {ns(start)} AND time < {ns(start + 20)}", epoch="ns"))
    gen = generate_columns("latency_history", ["data"], start, start + 20, tags=["job"], tag_values=[("0001",)],
                           rate=1.0, seed=7, spec=src.measurement("latency_history").spec)[("0001",)]
    assert [r[1] for r in rows] == gen["fields"]["data"].tolist()
    assert [to_gps(r[0]) for r in rows] == gen["time"].tolist()


def test_determinism_and_split_ranges(src):
    a, b, c = NOW_GPS - 3000, NOW_GPS - 2000, NOW_GPS - 1000
    for rp in ('"1s"', '"10s"', '"100s"', "autogen"):
        q = (f"SELECT data, job FROM {rp}.latency_history WHERE (aggregate = 'max' OR aggregate = '') "
             "AND time >= %d AND time < %d")
        whole = run(src, q % (ns(a), ns(c)), epoch="ns")
        assert whole == run(src, q % (ns(a), ns(c)), epoch="ns")
        first, second = (values_of(run(src, q % (ns(x), ns(y)), epoch="ns")) for x, y in ((a, b), (b, c)))
        assert values_of(whole) == first + second


def test_subsecond_rate_times_are_exact():
    src = MockSource(rate=10.0)
    rows = values_of(run(src, f"SELECT data FROM m WHERE job = '0000' AND time >= {ns(NOW_GPS - 1)} "
                              f"AND time < {ns(NOW_GPS)}", epoch="ns"))
    assert [r[0] for r in rows] == [ns(NOW_GPS - 1) + i * 100_000_000 for i in range(10)]
    rfc = values_of(run(src, f"SELECT data FROM m WHERE job = '0000' AND time >= {ns(NOW_GPS - 1)} "
                             f"AND time < {ns(NOW_GPS - 1) + 300_000_000}"))
    assert [r[0][19:] for r in rfc] == ["Z", ".1Z", ".2Z"]  # influxd trims trailing zeros


@pytest.mark.parametrize("epoch, divisor", [("ns", 1), ("u", 1_000), ("ms", 1_000_000), ("s", NS), ("h", 3600 * NS),
                                            ("bogus", 1)])
def test_epochs(src, epoch, divisor):
    q = f"SELECT data FROM latency_history WHERE job = '0000' AND time = {ns(NOW_GPS - 7200)}"
    assert values_of(run(src, q, epoch=epoch))[0][0] == ns(NOW_GPS - 7200) // divisor


def test_rfc3339_times_in_and_out(src):
    (row,) = values_of(run(src, "SELECT data FROM latency_history WHERE job = '0000' AND time = "
                                "'2024-05-01T12:00:00Z'"))
    assert row[0] == "2024-05-01T12:00:00Z"
    same = values_of(run(src, "SELECT data FROM latency_history WHERE job = '0000' AND time = "
                              "'2024-05-01T14:00:00+02:00'"))
    assert same == [row]


def test_relative_time_and_now(src):
    rows = values_of(run(src, "SELECT data FROM \"10s\".latency_history WHERE aggregate = 'min' AND job = '0001' "
                              "AND time >= now() - 1m", epoch="ns"))
    assert [r[0] for r in rows] == [t for t in range(NOW_NS - 60 * NS, NOW_NS + 1, 10 * NS)
                                    if to_gps(t) % 10 == 0]
    assert rows[-1][0] == NOW_NS  # NOW is a multiple of 10 s: the current, partial bucket is there


def test_tag_filters(src):
    base = f"SELECT data, job FROM \"1s\".latency_history WHERE time = {ns(NOW_GPS - 305)} AND aggregate = 'max'"
    jobs = lambda q: [r[2] for r in values_of(run(src, q))]  # noqa: E731
    assert jobs(base) == ["0000", "0001", "0002", "0003"]
    assert jobs(base + " AND job != '0001'") == ["0000", "0002", "0003"]
    assert jobs(base + " AND (job = '0001' OR job = '0003')") == ["0001", "0003"]
    assert jobs(base + " AND job <> '0001' AND job <> '0002'") == ["0000", "0003"]
    assert series_of(run(src, base + " AND job = 'nope'")) == []
    assert series_of(run(src, base.replace("'max'", "'sum'"))) == []


@pytest.mark.parametrize("where, message", [
    ("nosuch = 'x'", "unknown tag 'nosuch'"),
    ("data > 1", "condition on field 'data'"),
    ("job = 1", "tag values are strings"),
    ("job > '0001'", "tags compare with =, != or <>"),
    ("job = '0001' OR time > 0", "AND together time"),
    ("time > 'yesterday'", "invalid time string"),
    ("time != 0", "unsupported time condition"),
])
def test_bad_conditions_are_refused(src, where, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        run(src, f"SELECT data FROM latency_history WHERE {where}")


def test_group_by_order_limit_offset(src):
    q = ("SELECT \"data\",\"job\" FROM \"mydb\".\"1s\".\"latency_history\" WHERE aggregate = 'max' GROUP BY job "
         "ORDER BY time DESC LIMIT 1")  # ligo-scald's retrieve_latest_by_tag
    series = series_of(run(src, q, epoch="ns"))
    assert [s["tags"] for s in series] == [{"job": j} for j in ("0003", "0002", "0001", "0000")]  # influxd's order
    for s in series:
        assert s["columns"] == ["time", "data", "job"] and len(s["values"]) == 1
        assert s["values"][0][2] == s["tags"]["job"]
    newest = {s["tags"]["job"]: s["values"][0][0] for s in series}
    assert newest["0000"] == NOW_NS
    # job 0003 is in its gap (first 300 s of every 600 s) at NOW: its newest point is just before the gap
    assert NOW_GPS % 600 < 300 and to_gps(newest["0003"]) == NOW_GPS - NOW_GPS % 600 - 1
    rows = values_of(run(src, "SELECT data FROM latency_history WHERE job = '0001' ORDER BY time DESC LIMIT 3 "
                              "OFFSET 2", epoch="s"))
    assert [r[0] for r in rows] == [NOW_NS // NS - 2, NOW_NS // NS - 3, NOW_NS // NS - 4]
    star = series_of(run(src, f"SELECT * FROM \"10s\".latency_history WHERE time = {ns(NOW_GPS - 400)} "
                              "GROUP BY *"))
    assert len(star) == 12 and star[0]["tags"] == {"aggregate": "max", "job": "0000"}
    assert star[0]["columns"] == ["time", "data"]


def test_functions(src):
    last = series_of(run(src, 'SELECT last("data") FROM latency_history GROUP BY *', epoch="ns"))
    # "aggregate" is a tag key of the measurement (the decimated points have it): "" for raw series, as influxd
    assert [s["tags"] for s in last] == [{"aggregate": "", "job": j} for j in ("0000", "0001", "0002", "0003")]
    assert last[0]["columns"] == ["time", "last"] and last[0]["values"][0][0] == NOW_NS
    window = f"WHERE job = '0001' AND time >= {ns(NOW_GPS - 59)} AND time <= {ns(NOW_GPS)}"
    raw = [r[1] for r in values_of(run(src, f"SELECT data FROM latency_history {window}"))]
    (row,) = values_of(run(src, f"SELECT count(data), mean(data), max(data) AS top, min(data), first(data), "
                                f"median(data), sum(data) FROM latency_history {window}", epoch="ns"))
    assert row[0] == ns(NOW_GPS - 59)  # several functions: the start of the range, as influxd
    assert row[1:] == pytest.approx([60, np.mean(raw), max(raw), min(raw), raw[0], np.median(raw), sum(raw)])
    (row,) = values_of(run(src, f"SELECT max(data) FROM latency_history {window}", epoch="ns"))
    assert row[0] == ns(NOW_GPS - 59 + raw.index(max(raw)))  # one selector: the time of its point
    with pytest.raises(QueryError, match="mixing aggregate and non-aggregate"):
        run(src, "SELECT last(data), job FROM latency_history")
    with pytest.raises(QueryError, match="needs a field"):
        run(src, "SELECT last(job) FROM latency_history")


def test_show_and_admin_statements(src):
    result = run(src, 'SHOW DATABASES; SHOW MEASUREMENTS; SHOW TAG KEYS FROM "snr_history"; SHOW FIELD KEYS; '
                      'SHOW TAG VALUES WITH KEY = "job"; SHOW RETENTION POLICIES ON mydb; CREATE DATABASE "x"; '
                      'CREATE RETENTION POLICY "1s" ON "x" DURATION INF REPLICATION 1; DROP DATABASE "x"')
    r = result["results"]
    assert values_of(result, 0) == [["mydb"]]
    assert values_of(result, 1) == [["latency_history"], ["snr_history"]]
    assert values_of(result, 2) == [["aggregate"], ["job"]]
    assert [s["values"] for s in r[3]["series"]] == [[["data", "float"]], [["chisq", "float"], ["snr", "float"]]]
    assert r[4]["series"][0]["values"] == [["job", j] for j in ("0000", "0001", "0002", "0003")]
    assert [v[0] for v in values_of(result, 5)] == ["autogen", "1s", "10s", "100s", "1000s", "10000s", "100000s",
                                                    "0.01_hz", "0.001_hz", "0.0001_hz", "1e-05_hz", "1e-06_hz",
                                                    "1e-07_hz"]  # ligo-scald's Aggregator creates all twelve
    assert r[6:] == [{"statement_id": 6}, {"statement_id": 7}, {"statement_id": 8}]


def test_influx_style_statement_errors(src):
    assert run(src, "SELECT data FROM m", db=None)["results"] == [
        {"statement_id": 0, "error": "database name required"}]
    assert run(src, 'SELECT data FROM "0.005_hz".latency_history')["results"] == [
        {"statement_id": 0, "error": "retention policy not found: 0.005_hz"}]
    # ligo-scald's trigger policies exist (its Aggregator creates them) but hold no timeseries
    assert run(src, 'SELECT data FROM "0.01_hz".latency_history')["results"] == [{"statement_id": 0}]
    assert run(src, "SELECT data FROM not_configured")["results"] == [{"statement_id": 0}]
    with pytest.raises(QueryError, match="has no field or tag 'nope'"):
        run(src, "SELECT nope FROM latency_history")
    with pytest.raises(QueryError, match="GROUP BY 'ifo'"):
        run(src, "SELECT data FROM latency_history GROUP BY ifo")


def test_size_is_bounded(src):
    with pytest.raises(QueryError, match="more than the mock's limit of 1,000,000"):
        run(src, "SELECT data FROM latency_history")  # no lower time bound: since GPS 0
    with pytest.raises(QueryError, match="more than the mock's limit"):
        run(src, f"SELECT * FROM snr_history WHERE time >= {ns(NOW_GPS - 300_000)}")
    # the same span is fine where it is small: a coarse retention policy, or LIMIT
    assert len(values_of(run(src, f"SELECT * FROM \"100s\".snr_history WHERE time >= {ns(NOW_GPS - 300_000)} "
                                  "AND aggregate = 'max' AND job = '0000'"))) == 3001
    assert len(values_of(run(src, "SELECT data FROM latency_history ORDER BY time DESC LIMIT 5"))) == 5
    with pytest.raises(QueryError, match="LIMIT 300000 OFFSET 0 over 4 series"):
        run(src, "SELECT data FROM latency_history ORDER BY time DESC LIMIT 300000")
    assert MAX_POINTS == 1_000_000


def test_extreme_time_bounds_are_clamped():
    src = MockSource(start=NOW_GPS - 100)
    (row,) = values_of(run(src, "SELECT count(data) FROM m WHERE job = '0000' AND time >= -99999999999999999999999 "
                                "AND time <= 99999999999999999999999", epoch="ns"))
    assert row == [-9223372036854775806, 101]  # data from `start` to now; the range start clamped as influxd does
    assert series_of(run(src, "SELECT data FROM m WHERE time > now() + 5200w")) == []


def test_no_config_any_measurement():
    src = MockSource()
    (row,) = values_of(run(src, f"SELECT data, job FROM whatever WHERE job = '0009' AND time = {ns(NOW_GPS)}"))
    assert row[2] == "0009"
    assert len(series_of(run(src, f"SELECT data FROM \"1s\".x WHERE aggregate = 'max' AND time = {ns(NOW_GPS)} "
                                  "GROUP BY job"))) == 10
    assert series_of(run(src, "SHOW MEASUREMENTS")) == []


# ============================================================================================== over HTTP


class Proc:
    """A server subprocess, stopped by its PID."""

    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc, self.url = proc, url

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_mock(*args: str) -> Proc:
    """`scald mock -p 0 ...`; the URL comes from its start-up line."""
    proc = subprocess.Popen([*SCALD, "mock", "--hostname", "127.0.0.1", "-p", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline() if ready else ""
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not match:
        proc.kill()
        pytest.fail(f"scald mock did not start: {line!r} {proc.stderr.read()}")
    return Proc(proc, match.group(0))


@pytest.fixture(scope="module")
def mock(config_path):
    server = start_mock("-c", str(config_path))
    yield server
    server.stop()
    assert server.proc.returncode == 0  # SIGTERM is a clean stop


def get(mock, q, **params):
    return requests.get(f"{mock.url}/query", params={"q": q, "db": "mydb", **params}, timeout=30)


def test_ping(mock):
    resp = requests.get(f"{mock.url}/ping", timeout=5)
    assert resp.status_code == 204 and resp.headers["X-Influxdb-Version"].startswith("1.")
    assert requests.head(f"{mock.url}/ping", timeout=5).status_code == 204
    assert requests.get(f"{mock.url}/ping?verbose=true", timeout=5).json()["version"].startswith("1.")


def test_write_is_validated_and_discarded(mock):
    t = ns(int(gps_now()) - 3600)
    ok = f"latency_history,job=0001 data=1e9 {t}\nlatency_history,aggregate=max,job=0002 data=2,n=3i {t}\n"
    assert requests.post(f"{mock.url}/write", params={"db": "mydb"}, data=ok, timeout=5).status_code == 204
    gz = requests.post(f"{mock.url}/write", params={"db": "mydb", "precision": "s"}, data=gzip.compress(b"m a=1 1"),
                       headers={"Content-Encoding": "gzip"}, timeout=5)
    assert gz.status_code == 204
    bad = requests.post(f"{mock.url}/write", params={"db": "mydb"}, data=ok + "latency_history,job=0001 data=",
                        timeout=5)
    assert bad.status_code == 400
    assert bad.json() == {"error": "unable to parse 'latency_history,job=0001 data=': missing field value"}
    assert requests.post(f"{mock.url}/write", data=ok, timeout=5).json() == {"error": "database is required"}
    assert requests.post(f"{mock.url}/write", params={"db": "x", "precision": "y"}, data=ok,
                         timeout=5).status_code == 400
    assert requests.get(f"{mock.url}/write", params={"db": "x"}, timeout=5).status_code == 405
    (row,) = get(mock, f"SELECT data FROM latency_history WHERE job = '0001' AND time = {t}").json()[
        "results"][0]["series"][0]["values"]
    assert row[1] != 1e9  # stateless: the write changed nothing


def test_query_over_http(mock):
    now = int(gps_now())
    q = (f"SELECT \"data\" FROM \"mydb\".\"1s\".\"latency_history\" WHERE aggregate = 'max' AND job = '0001' "
         f"AND time >= {ns(now - 600)} AND time <= {ns(now - 590)}")
    by_get = get(mock, q, epoch="ns")
    by_post = requests.post(f"{mock.url}/query", data={"q": q, "db": "mydb", "epoch": "ns"}, timeout=30)
    by_mixed = requests.post(f"{mock.url}/query", params={"db": "mydb", "epoch": "ns"}, data={"q": q}, timeout=30)
    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json() == by_post.json() == by_mixed.json()
    values = by_get.json()["results"][0]["series"][0]["values"]
    assert [v[0] for v in values] == [ns(t) for t in range(now - 600, now - 589)]
    pretty = get(mock, q, epoch="s", pretty="true")
    assert "\n    " in pretty.text and pretty.json()["results"][0]["series"][0]["values"][0][0] == ns(now - 600) // NS


@pytest.mark.parametrize("q", [
    "SELEC data", "SELECT nope FROM latency_history", "SELECT data FROM latency_history WHERE x = 'y'",
    "SELECT data FROM latency_history", "SELECT data FROM m WHERE t = 'a\\", "'", "SELECT \x00",
])
def test_http_errors_are_json_400(mock, q):
    resp = get(mock, q)
    assert resp.status_code == 400 and resp.headers["Content-Type"] == "application/json"
    assert resp.json()["error"] and "Traceback" not in resp.text


def test_http_other_errors(mock):
    assert requests.get(f"{mock.url}/query", timeout=5).json() == {"error": 'missing required parameter "q"'}
    assert requests.get(f"{mock.url}/nope", timeout=5).status_code == 404
    assert requests.delete(f"{mock.url}/query", timeout=5).status_code == 405
    with socket.create_connection(("127.0.0.1", int(mock.url.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        reply = sock.makefile("rb").read().decode()
    assert reply.startswith("HTTP/") and " 400 " in reply.split("\r\n")[0] and reply.rstrip().endswith("}")
    too_big = requests.post(f"{mock.url}/write?db=x", headers={"Content-Length": str(10**9)}, data=b"", timeout=5)
    assert too_big.status_code == 413


def test_influxdb_python_client(mock):
    from influxdb import InfluxDBClient

    host, port = mock.url.rsplit("/", 1)[1].split(":")
    client = InfluxDBClient(host=host, port=int(port), database="mydb", timeout=10)
    assert client.ping().startswith("1.")
    client.create_database("mydb")
    assert client.write_points([{"measurement": "m", "tags": {"job": "0001"}, "fields": {"data": 1.0},
                                 "time": 1_500_000_000}], time_precision="s")
    points = list(client.query("SELECT last(data) FROM latency_history GROUP BY job").get_points(
        tags={"job": "0002"}))
    assert len(points) == 1 and isinstance(points[0]["last"], float)
    client.close()


def test_ligo_scald_aggregator_writes_are_accepted(mock, caplog):
    """ligo-scald's own Aggregator (CREATE DATABASE/RPs, /write with rp=1s, reads back for across-tag reduction)."""
    from ligo.scald.io import influx

    host, port = mock.url.rsplit("/", 1)[1].split(":")
    with caplog.at_level(logging.WARNING, logger="scald"):
        agg = influx.Aggregator(hostname=host, port=int(port), db="mydb", reduce_dt=1)
        agg.register_schema("latency_history", columns="data", column_key="data", tags="job", tag_key="job")
        now = gps_now()
        times = list(np.arange(now - 30, now, 0.25))
        agg.store_columns("latency_history", {("0001",): {"time": times, "fields": {"data": [1.0] * len(times)}}},
                          aggregate="max")
    assert not [r for r in caplog.records if "response status" in r.getMessage()]


@pytest.fixture(scope="module")
def ligo_serve(mock, tmp_path_factory):
    """ligo-scald's own `scald serve` (bottle, wsgiref) with its backend pointing at our mock."""
    port_of_mock = int(mock.url.rsplit(":", 1)[1])
    cfg = tmp_path_factory.mktemp("ligo") / "scald.yml"
    cfg.write_text(CONFIG.format(port=port_of_mock))
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "ligo.scald", "serve", "-c", str(cfg), "-p", str(port),
                                 "--hostname", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Proc(proc, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        if proc.poll() is None:
            yield server
            server.stop()
            return
    pytest.fail("ligo-scald's scald serve did not start")


def test_ligo_scald_serve_on_the_mock(ligo_serve):
    end = int(gps_now()) - 60
    start = end - 30
    api = f"{ligo_serve.url}/api"
    ts = requests.get(f"{api}/timeseries/latency_history/{start}/{end}",
                      params={"column": "data", "aggregate": "max", "dt": 1, "tag": "job", "job": "0001"}, timeout=30)
    assert ts.status_code == 200
    (trace,) = ts.json()
    assert trace["name"] == "0001" and trace["x"] == [float(t) for t in range(start, end + 1)]
    assert len(trace["y"]) == len(trace["x"]) and all(isinstance(y, float) for y in trace["y"])

    latest = requests.get(f"{api}/latest/latency_history/{start}/{end}",
                          params={"column": "data", "aggregate": "max", "dt": 1}, timeout=30).json()
    assert sorted(latest[0]["x"]) == ["0000", "0001", "0002", "0003"]
    assert all(0 <= y < 1e4 for y in latest[0]["y"])  # latency transform: now - newest time, never the default

    heat = requests.get(f"{api}/heatmap/latency_history/{start}/{end}",
                        params={"column": "data", "tag_key": "job", "aggregate": "max", "dt": 1}, timeout=30).json()
    assert heat[0]["y"] == ["0000", "0001", "0002", "0003"] or heat[0]["y"] == ["0000", "0001", "0002"]
    assert heat[0]["x"] == list(range(start, end + 1))
    assert any(v is not None for v in heat[0]["z"][0])


# ========================================================================================= the mock vs influxd


def test_mock_answers_like_influxd(mock, influxd, influx_db):
    """Copy a stretch of the mock's data into a real influxd, then ask both the same questions."""
    now = int(gps_now())
    lo, hi = ns(now - 3600), ns(now - 3600 + 119)
    influxd.query(f'CREATE DATABASE "{influx_db}"')
    influxd.query(f'CREATE RETENTION POLICY "10s" ON "{influx_db}" DURATION INF REPLICATION 1')
    window = f"time >= {lo} AND time <= {hi}"
    for rp in ("autogen", "10s"):
        fetched = get(mock, f'SELECT * FROM "{rp}"."snr_history" WHERE {window} GROUP BY *', epoch="ns").json()
        lines = []
        for series in fetched["results"][0]["series"]:
            tags = ",".join(f"{k}={v}" for k, v in sorted(series["tags"].items()) if v)
            lines += [f"snr_history,{tags} chisq={c!r},snr={s!r} {t}" for t, c, s in series["values"]]
        assert len(lines) in (4 * 120, 3 * 4 * 12)
        resp = influxd.write("\n".join(lines), influx_db, rp=rp)
        assert resp.status_code == 204, resp.text[:500]
    queries = [
        f"SELECT \"snr\" FROM \"DB\".\"10s\".\"snr_history\" WHERE aggregate = 'max' AND job = '0001' AND {window}",
        f"SELECT \"snr\",\"job\" FROM \"DB\".\"10s\".\"snr_history\" WHERE aggregate = 'median' AND {window}",
        f"SELECT snr, chisq FROM snr_history WHERE (job = '0001' OR job = '0003') AND {window} GROUP BY job",
        f"SELECT \"snr\",\"job\" FROM \"DB\".\"10s\".\"snr_history\" WHERE aggregate = 'max' AND {window} "
        "GROUP BY job ORDER BY time DESC LIMIT 2",
        f"SELECT last(snr) FROM snr_history WHERE {window} GROUP BY *",
        f"SELECT max(chisq) FROM \"10s\".snr_history WHERE aggregate = 'min' AND {window} GROUP BY job",
        f"SELECT count(snr), max(snr) FROM snr_history WHERE job != '0000' AND {window}",
        f"SELECT * FROM \"10s\".snr_history WHERE job = '0002' AND {window} LIMIT 3 OFFSET 1",
        'SHOW FIELD KEYS FROM snr_history; SHOW TAG VALUES FROM snr_history WITH KEY = "job"',
    ]
    for q in queries:
        for epoch in ("ns", None):
            params = {"epoch": epoch} if epoch else {}
            ours = get(mock, q.replace("DB", "mydb"), **params).json()
            theirs = influxd.query(q.replace("DB", influx_db), influx_db, **params)
            assert ours == theirs, q
