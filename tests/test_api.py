"""The JSON API of ``scald serve`` (scald_monitor.serve): every route, every error path, on SQLite and a real influxd.

Data is written through each backend's Aggregator and read back through the Flask test client; the JSON shapes
are ligo-scald's (and on InfluxDB compared with ligo-scald's own ``scald serve`` over the same database). Checks
come from ``Runner.run_all()`` (what ``scald-monitor run --once`` does). Nothing may ever answer 500 or non-JSON.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.config import load
from scald_monitor.daemon import Runner
from scald_monitor.io import connect
from scald_monitor.serve import create_app
from scald_monitor.serve.params import MAX_VALUES
from scald_monitor.timeutil import gps_now

#: The time the data end at. Checks are evaluated at the real time, so T0 must be "now" when this module's first
#: store is filled, not when the module was collected (a long run collects it minutes earlier): fresh_clock().
T0 = int(gps_now())
_CLOCK_SET = False


def fresh_clock() -> None:
    """Sets T0 to now, once per session (both backends' data share one T0)."""
    global T0, _CLOCK_SET
    if not _CLOCK_SET:
        T0, _CLOCK_SET = int(gps_now()), True
JOBS = ("0000", "0001", "0002")
XSS = '<script>alert("x")</script>'

CONFIG = """
backends:
  default: BACKEND
schemas:
  latency:
    measurement: latency_history
    column: data
    tag: job
    aggregate: max
    tag_format: 4digit
    num_tags: 4                 # 0003 never reports
    transform: none
    default: -1
  snr_history:
    measurement: snr_history
    columns: [snr, chisq, far]
    column_key: snr
    tags: [job]
    aggregate: max
  strain:
    measurement: strain
    column: h
    tags: [ifo, job]
  triggers:
    measurement: triggers
    columns: [snr, far]
    column_key: snr
    far_key: far
  empty:
    measurement: empty_history
    column: data
checks:
  lat_max:
    type: threshold
    schema: latency
    warning: "~:15"
    critical: "~:25"
    lookback: 120
    description: 'DESCRIPTION'
  lat_beat:
    type: heartbeat
    schema: latency
    warning: 60
    critical: 180
  empty_beat:
    type: heartbeat
    schema: empty
    critical: 60
  empty_max:
    type: threshold
    schema: empty
    critical: "~:1"
outputs:
  status_dir: status
  state_file: state.json
""".replace("DESCRIPTION", XSS.replace("'", "''"))


def latency_value(job: str, t: float) -> float:
    return int(job) * 10 + (int(t) % 7)


def feed(agg, sqlite: bool) -> None:
    """Deterministic data around now (checks are evaluated at the real time)."""
    if sqlite:  # SQLite keeps schemas in the file; "empty" stays unregistered: configured but never stored
        agg.register_schema("latency_history", ["data"], "data", ["job"], "job", "max")
        agg.register_schema("snr_history", ["snr", "chisq", "far"], "snr", ["job"], "job", "max")
        agg.register_schema("strain", ["h"], "h", ["ifo", "job"], "ifo")
        agg.register_schema("triggers", ["snr", "far"], "snr")
        agg.register_schema("extra_history", ["data"], "data")  # stored, not configured
    times = [float(t) for t in range(T0 - 599, T0 + 1)]
    agg.store_columns("latency_history", {
        (job,): {"time": times, "fields": {"data": [latency_value(job, t) for t in times]}} for job in JOBS})
    snr_t = [float(t) for t in range(T0 - 99, T0 + 1)]
    agg.store_columns("snr_history", {
        (job,): {"time": snr_t, "fields": {"snr": [5.0 + (t % 5) + int(job) for t in snr_t],
                                           "chisq": [1.0 + (t % 3) / 10 for t in snr_t],
                                           "far": [10.0 ** -(t % 8) for t in snr_t]}} for job in ("0000", "0001")})
    agg.store_columns("strain", {
        combo: {"time": snr_t[-10:], "fields": {"h": [1e-21 * (i + 1) for i in range(10)]}}
        for combo in (("H1", "0001"), ("L1", "0001"), ("H1", "0002"))})
    trig_t = [float(t) for t in range(T0 - 50, T0 + 1, 5)]
    agg.store_columns("triggers", {(): {"time": trig_t, "fields": {"snr": [8.0 + i for i in range(len(trig_t))],
                                                                   "far": [10.0 ** -i for i in range(len(trig_t))]}}})
    if sqlite:
        agg.store_columns("extra_history", {(): {"time": trig_t, "fields": {"data": [1.0] * len(trig_t)}}})


class Env:
    def __init__(self, kind, cfg, app):
        self.kind, self.cfg, self.app = kind, cfg, app
        self.client = app.test_client()

    def get(self, url: str, status: int = 200):
        r = self.client.get(url)
        assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:500])
        assert r.mimetype == "application/json", (url, r.headers)
        return json.loads(r.get_data(as_text=True))


def make_env(kind: str, directory, backend_yaml: str, sqlite: bool) -> Env:
    (directory / "scald.yml").write_text(CONFIG.replace("BACKEND", backend_yaml))
    cfg = load(str(directory / "scald.yml"))
    agg = connect(cfg.backend(), schemas=cfg.schemas.values())
    try:
        feed(agg, sqlite)
    finally:
        agg.close()
    Runner(cfg).run_all()
    return Env(kind, cfg, create_app(cfg))


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory):
    fresh_clock()
    return make_env("sqlite", tmp_path_factory.mktemp("api-sqlite"), "{backend: sqlite, path: store.sqlite}", True)


@pytest.fixture(scope="module")
def influx_env(tmp_path_factory, influxd):
    fresh_clock()
    db = f"api_{uuid.uuid4().hex[:10]}"
    yaml = f"{{backend: influxdb, hostname: {influxd.host}, port: {influxd.port}, db: {db}}}"
    env = make_env("influx", tmp_path_factory.mktemp("api-influx"), yaml, False)
    env.db, env.influxd = db, influxd
    yield env
    if influxd.running():
        influxd.query(f'DROP DATABASE "{db}"')


@pytest.fixture(params=["sqlite", "influx"])
def env(request):
    return request.getfixturevalue(f"{request.param}_env")


def url(kind: str, measurement: str, start: float, end: float, query: str = "") -> str:
    return f"/api/{kind}/{measurement}/{start}/{end}" + (f"?{query}" if query else "")


# =================================================================================================== data routes


def test_timeseries_with_tag_filters_has_ligo_scalds_shape(env):
    body = env.get(url("timeseries", "latency_history", T0 - 10, T0,
                       "column=data&tag=job&job=0001&job=0002&aggregate=max&dt=1"))
    assert [set(trace) for trace in body] == [{"x", "y", "name"}] * 2
    assert [trace["name"] for trace in body] == ["0001", "0002"]
    expected_t = [float(t) for t in range(T0 - 10, T0 + 1)]
    for trace in body:
        assert trace["x"] == expected_t
        assert trace["y"] == [latency_value(trace["name"], t) for t in expected_t]


def test_timeseries_defaults_read_the_reduction_across_tags_at_a_bounded_resolution(env):
    body = env.get(url("timeseries", "latency_history", T0 - 10, T0))  # no column, aggregate or dt
    assert len(body) == 1 and set(body[0]) == {"x", "y"}
    assert body[0]["y"] == [latency_value("0002", t) for t in body[0]["x"]]  # max across jobs
    wide = env.get(url("timeseries", "latency_history", T0 - 10_000_000, T0, "column=data"))
    assert len(wide[0]["x"]) <= 2001
    assert all(t % 10000 == 0 for t in wide[0]["x"])  # bucket starts of the auto-picked 10000 s level
    assert env.get(url("timeseries", "latency_history", T0 - 3, T0, "dt=raw&tag=job&job=0001"))[0]["y"] == \
        [latency_value("0001", t) for t in range(T0 - 3, T0 + 1)]
    floats = env.get(url("timeseries", "latency_history", T0 - 3.5, T0 + 0.25, "dt=1&tag=job&job=0000"))
    assert floats[0]["x"] == [float(t) for t in range(T0 - 3, T0 + 1)]


def test_timeseries_several_columns_and_tags(env):
    body = env.get(url("timeseries", "snr_history", T0 - 2, T0, "column=snr&column=chisq&tag=job&job=0001&dt=1"))
    assert [(t["name"], t["column"]) for t in body] == [("0001 snr", "snr"), ("0001 chisq", "chisq")]
    assert body[0]["y"] == [5.0 + (t % 5) + 1 for t in range(T0 - 2, T0 + 1)]
    # strain has tags ifo and job: a partial filter selects every stored series that matches it
    partial = env.get(url("timeseries", "strain", T0 - 20, T0, "tag=job&job=0001&dt=1"))
    assert sorted(t["name"] for t in partial) == ["H1,0001", "L1,0001"]
    full = env.get(url("timeseries", "strain", T0 - 20, T0, "tag=ifo&tag=job&ifo=H1&job=0001&job=0002&dt=1"))
    assert [t["name"] for t in full] == ["H1,0001", "H1,0002"] and all(len(t["x"]) == 10 for t in full)
    none = env.get(url("timeseries", "strain", T0 - 20, T0, "tag=ifo&ifo=V1&dt=1"))
    assert none == [{"x": [], "y": [], "name": "V1"}]


def test_segment_heatmap_latest_and_table_shapes(env):
    seg = env.get(url("segment", "latency_history", T0 - 2, T0, "tag=job&job=0001&dt=1"))
    assert seg == [{"x": [float(t) for t in range(T0 - 2, T0 + 1)], "y": [0.5],
                    "z": [[latency_value("0001", t) for t in range(T0 - 2, T0 + 1)]], "name": "0001"}]

    heat = env.get(url("heatmap", "latency_history", T0 - 4, T0 + 1, "column=data&tag_key=job&aggregate=max&dt=1"))
    assert len(heat) == 1 and set(heat[0]) == {"x", "y", "z"}
    assert heat[0]["x"] == list(range(T0 - 4, T0 + 2))  # ints, start + k*dt, end inclusive
    assert heat[0]["y"] == ["0000", "0001", "0002", "0003"]  # 0003 is expected but silent: an empty row
    assert heat[0]["z"][1] == [latency_value("0001", t) for t in range(T0 - 4, T0 + 1)] + [None]
    assert heat[0]["z"][3] == [None] * 6
    filled = env.get(url("heatmap", "latency_history", T0 - 4, T0 + 1, "dt=1&fill=0&scale=log&tag=job&job=0002"))
    assert filled[0]["y"] == ["0002"] and filled[0]["z"][0][-1] == 0
    assert filled[0]["text"][0][:5] == [latency_value("0002", t) for t in range(T0 - 4, T0 + 1)]
    assert filled[0]["z"][0][0] == pytest.approx(math.log(latency_value("0002", T0 - 4)))

    latest = env.get(url("latest", "latency_history", 0, 0))  # start/end unused, as in ligo-scald
    assert latest == [{"x": ["0000", "0001", "0002", "0003"],
                       "y": [latency_value(j, T0) for j in JOBS] + [-1]}]  # schema default for the silent job
    # the age of the newest point (at T0, fixed when the module was collected) as of the request
    before = gps_now() - T0
    ages = env.get(url("latest", "latency_history", 0, 0, "transform=latency&default=1e4&tag=job&job=0001"))
    after = gps_now() - T0
    assert ages[0]["x"] == ["0001"] and before - 1 <= ages[0]["y"][0] <= after + 1
    untagged = env.get(url("latest", "triggers", 0, 0, "column=far"))
    assert untagged == [{"x": ["triggers"], "y": [1e-10]}]

    table = env.get(url("table", "triggers", T0 - 50, T0, "column=far&column=snr&far=1e-3"))
    assert table["fields"] == [{"key": k, "label": k, "sortable": True} for k in ("time", "far", "snr")]
    assert [item["far"] for item in table["items"]] == [10.0 ** -i for i in range(3, 11)]
    assert table["items"][0] == {"time": float(T0 - 35), "far": 1e-3, "snr": 11.0}
    tagged = env.get(url("table", "snr_history", T0 - 1, T0))
    assert [f["key"] for f in tagged["fields"]] == ["time", "job", "snr", "chisq", "far"]
    assert [(i["time"], i["job"]) for i in tagged["items"]] == [(float(T0 - 1), "0000"), (float(T0 - 1), "0001"),
                                                                 (float(T0), "0000"), (float(T0), "0001")]


def test_datetime_and_measurement_lookup_by_schema_name(env):
    body = env.get(url("timeseries", "latency", T0 - 1, T0, "dt=1&datetime=true"))  # a schema name works too
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", x) for x in body[0]["x"])


def test_configured_measurement_without_data_is_empty_not_an_error(env):
    assert env.get(url("timeseries", "empty_history", T0 - 10, T0)) == [{"x": [], "y": []}]
    assert env.get(url("latest", "empty_history", 0, 0)) == [{"x": ["empty_history"], "y": [None]}]


def test_measurements(env):
    body = {m["name"]: m for m in env.get("/api/measurements")}
    assert body["snr_history"] == {"name": "snr_history", "schemas": ["snr_history"],
                                   "columns": ["snr", "chisq", "far"], "column_key": "snr", "tags": ["job"],
                                   "tag_key": "job", "aggregate": "max", "configured": True, "stored": True}
    assert body["empty_history"]["stored"] is False
    if env.kind == "sqlite":  # SQLite keeps schemas: a measurement nobody configured is listed and readable
        assert body["extra_history"]["configured"] is False
        assert env.get(url("timeseries", "extra_history", T0 - 5, T0, "dt=raw"))[0]["y"] == [1.0, 1.0]


def test_data_headers(sqlite_env):
    r = sqlite_env.client.get(url("timeseries", "latency_history", T0 - 1, T0))
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "max-age=10"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    bad = sqlite_env.client.get(url("timeseries", "latency_history", T0, T0 - 1))
    assert bad.headers["Cache-Control"] == "no-store"


def test_same_answers_as_ligo_scalds_own_serve(influx_env):
    """ligo-scald's bottle app over the same influxd database gives the same JSON for the routes it shares."""
    from werkzeug.test import Client

    from ligo.scald import serve as ligo

    influxd = influx_env.influxd
    ligo.app.config.update({
        "backends": {"default": {"backend": "influxdb", "db": influx_env.db, "hostname": influxd.host,
                                 "port": influxd.port}},
        "schemas": {"snr_history": {"measurement": "snr_history", "column": "snr", "tag": "job",
                                    "default": 0, "transform": "none"}},
    })
    theirs = Client(ligo.app)
    for path in [
        url("timeseries", "snr_history", T0 - 20, T0, "column=snr&tag=job&job=0000&job=0001&aggregate=max&dt=1"),
        url("segment", "snr_history", T0 - 20, T0, "column=snr&tag=job&job=0001&aggregate=max&dt=1"),
        url("heatmap", "snr_history", T0 - 20, T0, "column=snr&tag_key=job&aggregate=max&dt=1"),
        url("heatmap", "snr_history", T0 - 20, T0, "column=snr&tag_key=job&aggregate=max&dt=1&scale=log"),
    ]:
        response = theirs.get(path)
        assert response.status_code == 200, path
        assert influx_env.get(path) == json.loads(response.get_data(as_text=True)), path
    path = url("latest", "snr_history", T0 - 20, T0, "column=snr&aggregate=max&dt=1")  # same bars, ours sorted
    (bars,) = json.loads(theirs.get(path).get_data(as_text=True))
    (ours,) = influx_env.get(path)
    assert ours["x"] == sorted(bars["x"]) and dict(zip(ours["x"], ours["y"])) == dict(zip(bars["x"], bars["y"]))
    # Without tag filters ligo-scald reads every job's points mixed together (one point per job per time); we read
    # the reduction across jobs, i.e. the min of theirs at each time.
    path = url("timeseries", "snr_history", T0 - 20, T0, "column=chisq&aggregate=min&dt=10")
    mixed = json.loads(theirs.get(path).get_data(as_text=True))[0]
    ours = influx_env.get(path)[0]
    assert ours["x"] == sorted(set(mixed["x"]))
    assert ours["y"] == [min(y for x, y in zip(mixed["x"], mixed["y"]) if x == t) for t in ours["x"]]


# =================================================================================================== errors


BAD = [
    # (url, status, words in the error)
    (url("timeseries", "latency_history", "abc", T0), 400, "start must be GPS seconds"),
    (url("timeseries", "latency_history", T0, "1e400"), 400, "out of range"),
    (url("timeseries", "latency_history", "nan", T0), 400, "GPS seconds"),
    (url("timeseries", "latency_history", "-5", T0), 400, "out of range"),
    (url("timeseries", "latency_history", "0x10", T0), 400, "GPS seconds"),
    (url("timeseries", "latency_history", T0, T0 - 1), 400, "before start"),
    (url("timeseries", "latency_history", 0, 1e10, "dt=1"), 400, "would return"),
    (url("timeseries", "latency_history", T0 - 7200, T0, "dt=raw"), 400, "raw points"),
    (url("timeseries", "latency_history", T0 - 9, T0, "column=nope"), 400, "unknown column"),
    (url("timeseries", "latency_history", T0 - 9, T0, "column=da'ta"), 400, "not a valid name"),
    (url("timeseries", "latency_history", T0 - 9, T0, "aggregate=mean"), 400, "aggregate must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "dt=5"), 400, "dt must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "dt=-1"), 400, "dt must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "dt=1e3"), 400, "dt must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "tag=ifo&ifo=H1"), 400, "unknown tag"),
    (url("timeseries", "latency_history", T0 - 9, T0, "tag=j%20ob&j%20ob=1"), 400, "not a valid name"),
    (url("timeseries", "latency_history", T0 - 9, T0, "tag=job&job=a%0Ab"), 400, "control characters"),
    (url("timeseries", "latency_history", T0 - 9, T0, "tag=job&job=" + "x" * 300), 400, "longer than"),
    (url("timeseries", "latency_history", T0 - 9, T0, "fill=NaN"), 400, "fill must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "fill=%3Cb%3E"), 400, "fill must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "scale=cubic"), 400, "scale must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "far=-1"), 400, "far must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "datetime=maybe"), 400, "datetime must be"),
    (url("timeseries", "latency_history", T0 - 9, T0, "backend=other"), 400, "unknown backend"),
    (url("heatmap", "latency_history", T0 - 9, T0, "column=data&column=data2"), 400, "unknown column"),
    (url("heatmap", "snr_history", T0 - 9, T0, "column=snr&column=chisq"), 400, "exactly one column"),
    (url("heatmap", "triggers", T0 - 9, T0), 400, "no tags"),
    (url("heatmap", "latency_history", T0 - 9, T0, "dt=raw"), 400, "aggregates"),
    (url("heatmap", "latency_history", 0, 1e10, "dt=1"), 400, "time axis"),
    (url("heatmap", "latency_history", T0 - 9, T0, "tag_key=ifo"), 400, "tag_key"),
    (url("latest", "latency_history", 0, 0, "transform=square"), 400, "transform must be"),
    (url("latest", "latency_history", 0, 0, "default=lots"), 400, "default must be"),
    (url("table", "snr_history", T0 - 9, T0, "far=0.1&column=snr"), 400, None),  # snr_history has a far column
    (url("table", "strain", T0 - 9, T0, "far=0.1"), 400, "no FAR column"),
    ("/api/measurements?backend=nope", 400, "unknown backend"),
    (url("timeseries", "no_such", T0 - 9, T0), 404, "unknown measurement"),
    (f"/api/timeseries/latency_history/{T0 - 9}", 404, "no such API route"),
    (url("snapshot", "latency_history", T0 - 9, T0), 404, "snapshots"),
    ("/api/nagios/no_such_check", 404, "unknown check"),
    ("/api/checks/no_such_check", 404, "unknown check"),
    ("/api/checks/..%2Fstate", 404, None),
    ("/api/nope", 404, "no such API route"),
]


@pytest.mark.parametrize("path,status,words", BAD, ids=[f"{i}" for i in range(len(BAD))])
def test_bad_requests_are_json_errors(sqlite_env, path, status, words):
    if path.startswith("/api/table/snr_history"):
        status = 200  # not an error: the far filter applies to its 'far' column
    body = sqlite_env.get(path, status)
    if status != 200:
        assert set(body) == {"error", "status"} and body["status"] == status
        if words:
            assert words in body["error"], body


def test_methods_and_budget(sqlite_env):
    r = sqlite_env.client.post("/api/checks")
    assert r.status_code == 405 and r.mimetype == "application/json" and "not allowed" in r.get_json()["error"]
    r = sqlite_env.client.delete(url("timeseries", "latency_history", 1, 2))
    assert r.status_code == 405 and r.mimetype == "application/json"
    # 1000 values of one tag at dt=1 over 1000 s: ~1M values, just above the limit
    values = "&".join(f"job={i:04d}" for i in range(1000))
    body = sqlite_env.get(url("timeseries", "latency_history", T0 - 1000, T0, f"dt=1&tag=job&{values}"), 400)
    assert f"{MAX_VALUES:,}" in body["error"]


@pytest.mark.parametrize("kind", ["sqlite", "influx"])
def test_unreachable_backend_is_503(kind, tmp_path):
    if kind == "sqlite":
        backend = "{backend: sqlite, path: missing.sqlite}"
    else:
        from procs import free_port

        backend = f"{{backend: influxdb, hostname: 127.0.0.1, port: {free_port()}, db: x, timeout: 2}}"
    (tmp_path / "scald.yml").write_text(CONFIG.replace("BACKEND", backend))
    cfg = load(str(tmp_path / "scald.yml"))
    env = Env(kind, cfg, create_app(cfg))
    for path in (url("timeseries", "latency_history", T0 - 9, T0), url("heatmap", "latency_history", T0 - 9, T0),
                 url("latest", "latency_history", T0 - 9, T0), url("table", "triggers", T0 - 9, T0),
                 "/api/measurements"):
        body = env.get(path, 503)
        assert "unavailable" in body["error"] and body["status"] == 503
    assert not (tmp_path / "missing.sqlite").exists()  # readers never create the database
    doc = env.get("/api/nagios/lat_max")  # a known check whose backend is down: 200, UNKNOWN
    assert doc["status_intervals"][0]["num_status"] == 3 and doc["source"] == "evaluated"
    checks = env.get("/api/checks")
    assert [c["name"] for c in checks] == list(cfg.checks) and all(c["stale"] for c in checks)


# =================================================================================================== injection


INJECTIONS = ["0001'", "0001' OR '1'='1", "0001\\' OR 1=1 --", '0001"', "0001; DROP TABLE chunks; --",
              "0001' OR job='0002", "0001/*", "' UNION SELECT * FROM series --", "0001\\", "%27", "0001 --",
              '") OR ("1"="1']


def test_injection_in_tag_values_reads_no_other_data(env):
    for value in INJECTIONS:
        query = urllib.parse.urlencode([("tag", "job"), ("job", value), ("dt", "1")])
        body = env.get(url("timeseries", "latency_history", T0 - 5, T0, query))
        assert body == [{"x": [], "y": [], "name": value}], value
        heat = env.get(url("heatmap", "latency_history", T0 - 5, T0, query))
        assert heat[0]["y"] == [value] and heat[0]["z"] == [[None] * 6]
        assert env.get(url("latest", "latency_history", 0, 0, query)) == [{"x": [value], "y": [-1]}]
    # and the store still answers normally afterwards
    assert env.get(url("timeseries", "latency_history", T0 - 1, T0, "tag=job&job=0001&dt=1"))[0]["y"]


@pytest.mark.parametrize("name", ["latency_history'", 'latency_history"', "latency_history;", "x' OR '1'='1",
                                  "latency_history--", "a;DROP TABLE series", "latency_history\\", "*", "$1"])
def test_injection_in_names_is_refused(sqlite_env, name):
    quoted = urllib.parse.quote(name, safe="")
    body = sqlite_env.get(url("timeseries", quoted, T0 - 5, T0), 404)
    assert body["error"].startswith("unknown measurement")
    for param in ("column", "tag", "tag_key"):
        body = sqlite_env.get(url("timeseries", "latency_history", T0 - 5, T0, f"{param}={quoted}"), 400)
        assert any(w in body["error"] for w in ("not a valid name", "unknown", "not one of its tags"))
    sqlite_env.get(f"/api/nagios/{quoted}", 404)


def test_html_in_values_and_names_comes_back_as_json_strings(env):
    payload = '<img src=x onerror=alert(1)>'
    r = env.client.get(url("timeseries", "latency_history", T0 - 1, T0,
                           urllib.parse.urlencode({"tag": "job", "job": payload})))
    text = r.get_data(as_text=True)
    assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "<" not in text and ">" not in text and "\\u003cimg" in text
    assert json.loads(text)[0]["name"] == payload
    checks = {c["name"]: c for c in env.get("/api/checks")}
    assert checks["lat_max"]["description"] == XSS
    raw = env.client.get("/api/checks/lat_max").get_data(as_text=True)
    assert "<script" not in raw and json.loads(raw)["document"]["description"] == XSS


# =================================================================================================== checks


def test_checks_list_after_a_run(env):
    body = env.get("/api/checks")
    assert [c["name"] for c in body] == ["lat_max", "lat_beat", "empty_beat", "empty_max"]
    for entry in body:
        for key in ("name", "state", "state_name", "summary", "last_change", "stale", "type", "schema"):
            assert key in entry
        assert entry["stale"] is False and entry["source"] == "status_file"
    by_name = {c["name"]: c for c in body}
    assert by_name["lat_max"]["state_name"] == "CRITICAL" and "0002" in by_name["lat_max"]["summary"]
    assert by_name["lat_beat"]["state"] == 2  # job 0003 never reported
    assert by_name["empty_beat"]["state"] == 2 and by_name["lat_max"]["problems"] >= 2
    r = env.client.get("/api/checks")
    assert r.headers["Cache-Control"] == "no-cache"


def test_stale_and_missing_status_files(sqlite_env):
    """No usable status file (expired, missing): /api/checks, /api/checks/<name> and /api/nagios give the same
    answer, evaluated on the spot, and say why (``stale``: the daemon is not updating the file)."""
    status_dir = sqlite_env.cfg.outputs["status_dir"]
    path = os.path.join(status_dir, "lat_beat.json")
    original = open(path).read()
    doc = json.loads(original)
    try:
        doc["created_unix"] -= 10_000  # the daemon stopped long ago
        with open(path, "w") as fh:
            json.dump(doc, fh)
        for problem in ("expired", "does not exist"):
            entry = {c["name"]: c for c in sqlite_env.get("/api/checks")}["lat_beat"]
            fresh = sqlite_env.get("/api/nagios/lat_beat")
            assert fresh["source"] == "evaluated" and fresh["created_unix"] > doc["created_unix"] + 9000
            assert entry["source"] == "evaluated" and entry["stale"] is True and problem in entry["note"]
            assert (entry["state"], entry["summary"]) == (fresh["state"], fresh["summary"])
            assert entry["state"] == 2  # job 0003 never reported
            detail = sqlite_env.get("/api/checks/lat_beat")
            assert detail["source"] == "evaluated" and detail["stale"] is True and detail["state"] == 2
            if os.path.exists(path):
                os.unlink(path)
    finally:
        with open(path, "w") as fh:
            fh.write(original)


def test_nagios_from_the_status_file(env):
    path = os.path.join(env.cfg.outputs["status_dir"], "lat_max.json")
    on_disk = json.load(open(path))
    doc = env.get("/api/nagios/lat_max")
    assert doc.pop("source") == "status_file"
    assert doc == on_disk
    assert doc["nagios_shib_scraper_ver"] == 0.1 and doc["status_intervals"][0]["num_status"] == 2


def test_nagios_on_the_spot_and_unknown_without_data(tmp_path, sqlite_env):
    """No daemon has run here (no status files): documents are evaluated on request."""
    text = CONFIG.replace("BACKEND", "{backend: sqlite, path: %s}" % sqlite_env.cfg.backend()["path"])
    (tmp_path / "scald.yml").write_text(text)
    cfg = load(str(tmp_path / "scald.yml"))
    env = Env("sqlite", cfg, create_app(cfg))
    doc = env.get("/api/nagios/lat_max")
    assert doc["source"] == "evaluated" and doc["state"] == 2 and "job=0002" in doc["summary"]
    assert set(doc) >= {"nagios_shib_scraper_ver", "created_gps", "status_intervals", "performance_metrics"}
    empty = env.get("/api/nagios/empty_max")  # a known check with no data: 200 and UNKNOWN
    assert empty["status_intervals"][0]["num_status"] == 3 and empty["state_name"] == "UNKNOWN"
    assert env.get("/api/nagios/empty_beat")["state_name"] == "CRITICAL"  # a heartbeat without data
    assert not os.path.exists(tmp_path / "status")  # the web side never writes status files


def test_check_detail(env):
    body = env.get("/api/checks/lat_max")
    assert body["name"] == "lat_max" and body["source"] == "status_file"
    assert body["document"]["check"] == "lat_max" and body["settings"]["critical"] == "~:25"
    assert body["state_machine"]["check"]["state"] == 2
    tags = {t["label"]: t for t in body["tags"]}
    assert tags["job=0002"]["state_name"] == "CRITICAL" and tags["job=0002"]["state_type"] == "HARD"
    assert tags["job=0000"]["state"] == 0


HISTORY_CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  latency: {measurement: latency_history, column: data}
checks:
  lat_max: {type: threshold, schema: latency, critical: "~:25", lookback: 60}
  lat_beat: {type: heartbeat, schema: latency, critical: 600}
outputs:
  status_dir: status
  state_file: state.json
"""


def test_check_history_follows_the_daemon(tmp_path):
    (tmp_path / "scald.yml").write_text(HISTORY_CONFIG)
    cfg = load(str(tmp_path / "scald.yml"))
    env = Env("sqlite", cfg, create_app(cfg))
    before = env.get("/api/checks/lat_max/history")  # the daemon never ran: no changes, not an error
    assert before["name"] == "lat_max" and before["changes"] == [] and abs(before["now"] - time.time()) < 60

    def store(value: float) -> None:
        agg = connect(cfg.backend(), schemas=cfg.schemas.values())
        try:
            agg.register_schema("latency_history", ["data"], "data")
            now = gps_now()
            agg.store_columns("latency_history", {(): {"time": [now - 2, now - 1], "fields": {"data": [value] * 2}}})
        finally:
            agg.close()

    store(1.0)
    t1 = time.time()
    Runner(cfg).run_all()
    first = env.get("/api/checks/lat_max/history")["changes"]
    assert [(c["state"], c["state_type"]) for c in first] == [(0, "HARD")]  # the first state reported
    assert t1 - 5 < first[0]["time"] < time.time() + 5
    store(99.0)
    Runner(cfg).run_all()
    Runner(cfg).run_all()  # no change: nothing more logged
    body = env.get("/api/checks/lat_max/history")
    assert [(c["state"], c["state_type"]) for c in body["changes"]] == [(0, "HARD"), (2, "HARD")]
    assert body["changes"][0] == first[0] and body["changes"][1]["time"] >= first[0]["time"]
    assert [c["state"] for c in env.get("/api/checks/lat_beat/history")["changes"]] == [0]
    r = env.client.get("/api/checks/lat_max/history")
    assert r.headers["Cache-Control"] == "no-cache"
    assert env.get("/api/checks/nope/history", 404)["error"] == "unknown check 'nope'"
    assert env.client.post("/api/checks/lat_max/history").status_code == 405  # read-only
    assert "changes" not in env.get("/api/checks/lat_max")["state_machine"]  # the detail stays small


def test_check_history_without_state_file(tmp_path):
    (tmp_path / "scald.yml").write_text(HISTORY_CONFIG.replace("  state_file: state.json\n", ""))
    cfg = load(str(tmp_path / "scald.yml"))
    assert "state_file" not in cfg.outputs or not cfg.outputs["state_file"]
    assert Env("sqlite", cfg, create_app(cfg)).get("/api/checks/lat_max/history")["changes"] == []


# =================================================================================================== openapi etc.


def test_openapi_document_is_valid_and_complete(sqlite_env):
    doc = sqlite_env.get("/api/openapi.json")
    from openapi_spec_validator import validate

    validate(doc)
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in sqlite_env.app.url_map.iter_rules()
             if rule.endpoint.startswith(("api.", "writes."))}
    documented = set(doc["paths"]) | {"/api/"}
    assert rules <= documented, rules - documented
    params = {p["name"] for p in doc["components"]["parameters"].values()}
    assert {"column", "tag", "tag_key", "aggregate", "dt", "fill", "scale", "backend", "far", "datetime"} <= params


def test_readers_are_per_thread(sqlite_env):
    state = sqlite_env.app.extensions["scald_monitor"]
    seen, errors = [], []

    def work():
        try:
            with sqlite_env.app.app_context():
                seen.append(state.readers.get("default"))  # the objects, not id()s: an id is reused once freed
                r = sqlite_env.app.test_client().get(url("timeseries", "latency_history", T0 - 60, T0))
                assert r.status_code == 200
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len({id(store) for store in seen}) == 4


SEGMENT = st.text(min_size=0, max_size=20)
KINDS = st.sampled_from(["timeseries", "heatmap", "latest", "segment", "table", "snapshot", "nagios", "checks",
                         "measurements", "openapi.json"]) | SEGMENT
PARAM_NAMES = st.sampled_from(["column", "tag", "job", "ifo", "tag_key", "aggregate", "dt", "fill", "scale", "far",
                               "datetime", "backend", "transform", "default"]) | SEGMENT
PARAM_VALUES = st.sampled_from(["data", "job", "0001", "max", "1", "10", "raw", "log", "null", "true", "nan",
                                "1e308", "-1", "'", "\x00"]) | st.text(max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=KINDS, segments=st.lists(st.one_of(SEGMENT, st.integers(-10, 2 * 10**9).map(str),
                                                st.sampled_from(["latency_history", "snr_history", "lat_max",
                                                                 str(T0), f"{T0 - 100}.5"])), max_size=4),
       query=st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=6))
def test_random_requests_never_fail(sqlite_env, kind, segments, query):
    """Whatever the path and parameters, the answer is JSON and 200, 400, 404 or 405: never a 500, and never a 503
    either, as the backend is healthy (a 503 would blame it for a request it never failed)."""
    path = "/api/" + "/".join(urllib.parse.quote(s, safe="") for s in [kind, *segments])
    r = sqlite_env.client.get(path, query_string=query)
    assert r.status_code in (200, 400, 404, 405), (path, query, r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json", (path, r.headers)
    body = json.loads(r.get_data(as_text=True))
    if r.status_code != 200:
        assert isinstance(body.get("error"), str)


# =================================================================================================== scald serve


def test_scald_serve_command(sqlite_env):
    """The real server: waitress on a free port, concurrent requests, SIGTERM → exit 0."""
    import requests

    scald = os.path.join(os.path.dirname(sys.executable), "scald")
    proc = subprocess.Popen([scald, "serve", "-c", sqlite_env.cfg.path, "--port", "0", "--threads", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = match.group(1)
        results = []

        def fetch(path):
            results.append(requests.get(base + path.lstrip("/"), timeout=10).status_code)

        paths = ["/api/checks", url("timeseries", "latency_history", T0 - 600, T0, "tag=job&job=0001"),
                 url("heatmap", "latency_history", T0 - 600, T0), "/api/nagios/lat_max", "/api/nope"]
        threads = [threading.Thread(target=fetch, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 200, 200, 200, 404]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0


def test_internal_errors_are_json_without_traceback(sqlite_env, monkeypatch, caplog):
    from scald_monitor.serve import data

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(data, "timeseries", broken)
    r = sqlite_env.client.get(url("timeseries", "latency_history", T0 - 7, T0))  # a URL not answered (cached) yet
    assert r.status_code == 500 and r.mimetype == "application/json"
    assert r.get_json() == {"error": "internal error (logged on the server)", "status": 500}
    assert "secret internals" in caplog.text  # logged for the operator, not shown to the client
    page = sqlite_env.client.get("/no/such/page")  # outside /api the pages' own (HTML) handlers answer
    assert page.status_code == 404 and page.mimetype != "application/json"


def test_undecodable_query_bytes(sqlite_env):
    body = sqlite_env.get(url("timeseries", "latency_history", T0 - 1, T0, "dt=1&tag=job&job=%ff%fe"))
    assert body[0]["x"] == [] and isinstance(body[0]["name"], str)  # werkzeug keeps or replaces the bytes
    sqlite_env.get(url("timeseries", "latency_history", T0 - 1, T0, "column=%ff"), 400)
    sqlite_env.get(url("timeseries", "%ff", T0 - 1, T0), 404)


def test_identical_requests_share_one_answer_for_a_few_seconds(sqlite_env, monkeypatch):
    """Many browsers on one dashboard: the second identical request is served from the cache, not the backend."""
    from scald_monitor.serve import data

    calls = []
    real = data.timeseries

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "timeseries", counting)
    target = url("timeseries", "latency_history", T0 - 11, T0)
    first = sqlite_env.client.get(target)
    second = sqlite_env.client.get(target)
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert len(calls) == 1
    assert sqlite_env.client.get(url("timeseries", "latency_history", T0 - 12, T0)).status_code == 200
    assert len(calls) == 2  # another URL is another query


@pytest.mark.parametrize("name", ["latency_history%0A", "latency_history%0D%0A", "latency_history%00", "%0Alatency_history"])
def test_a_measurement_name_with_a_line_break_is_unknown_not_an_outage(env, name):
    """'$' matched before a final newline: such a name reached InfluxDB, which answered with an error the reader
    took for an outage (503, connection dropped). Names are matched whole: 404, and the reader still works."""
    r = env.client.get(url("timeseries", name, T0 - 60, T0, "column=data"))
    assert r.status_code == 404 and "error" in r.get_json()
    ok = env.client.get(url("timeseries", "latency_history", T0 - 60, T0, "column=data"))
    assert ok.status_code == 200


# =================================================================================================== compression


@pytest.mark.parametrize("header, gzipped", [("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.5", True),
                                             ("*", True), ("identity", False), ("gzip;q=0", False),
                                             ("*, gzip;q=0", False), ("", False), ("x-gzip", True)])
def test_accept_encoding(header, gzipped):
    from scald_monitor.serve.compress import accepts_gzip

    assert accepts_gzip(header) is gzipped


def test_json_answers_are_gzipped_when_the_client_takes_it(sqlite_env, monkeypatch):
    """A data answer of a few kB is gzipped for a client that accepts it, decodes to the very bytes an identity
    answer carries, keeps its headers, and is compressed once while the answer cache holds it; small answers and
    clients that do not accept gzip get identity; every JSON answer varies on Accept-Encoding."""
    import gzip

    from scald_monitor.serve import compress

    calls = []
    real = compress.gzip_body
    monkeypatch.setattr(compress, "gzip_body", lambda body: calls.append(len(body)) or real(body))
    target = url("timeseries", "latency_history", T0 - 600, T0, "column=data&aggregate=max&dt=1&tag=job&job=0001")
    plain = sqlite_env.client.get(target)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers and len(plain.data) > 4096
    assert plain.headers["Vary"] == "Accept-Encoding"
    for _ in range(2):
        zipped = sqlite_env.client.get(target, headers={"Accept-Encoding": "gzip, deflate"})
        assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
        assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 2
        assert gzip.decompress(zipped.data) == plain.data
        for name in ("Content-Type", "Cache-Control", "X-Scald-Source", "X-Content-Type-Options"):
            assert zipped.headers[name] == plain.headers[name], name
    assert calls == [len(plain.data)]  # compressed once, then from the answer cache
    refused = sqlite_env.client.get(target, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data
    # a small answer is sent as it is; other JSON routes (here the OpenAPI document) are gzipped as well
    small = sqlite_env.client.get(url("latest", "latency_history", T0 - 10, T0), headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "Content-Encoding" not in small.headers and len(small.data) < compress.MIN_SIZE
    doc = sqlite_env.client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert doc.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(doc.data))["openapi"].startswith("3.")
    # errors stay JSON, gzipped or not
    bad = sqlite_env.client.get(url("timeseries", "latency_history", T0, T0 - 1), headers={"Accept-Encoding": "gzip"})
    assert bad.status_code == 400 and bad.headers["Vary"] == "Accept-Encoding"
