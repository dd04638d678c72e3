"""Conformance with ligo-scald 0.8.5: its own ``scald serve`` and ours, one config, one influxd, the same URLs.

Data are written twice with the same values: by ligo-scald's own Aggregator (database "ligo": no raw points where
it aggregates, only raw points with ``aggregate=None``, triggers in its per-FAR retention policies) and by ours
(database "ours": raw points and every level). Both servers read both databases (``?backend=ours``). Each test
either asserts that our answer equals ligo-scald's, or — where we differ on purpose — asserts exactly what each side
answers; every such difference is listed with its reason in docs/ligo-scald-differences.md.

Floats are compared exactly, except times that went through a GPS → Unix ns → GPS conversion of a sub-second time
(raw points): ligo-scald's float conversion is off by up to ~250 ns there, so those match to 1 µs.
"""
from __future__ import annotations

import math
import re
import statistics
import uuid
from typing import Any

import pytest

from ligo_scald_serve import Answer, LigoScaldServe
from scald_monitor.config import load
from scald_monitor.serve import create_app
from scald_monitor.timeutil import gps_now

JOBS = ("0000", "0001", "0002")
LOOKBACK = 600  # nagios look-back: data end at T0, the tests run well within it
TIME_TOLERANCE = 1e-6  # seconds, for raw (sub-second) times only


def lat(job: str, t: float) -> float:
    """latency_history: 4 Hz, 1 … 27, never 0 (ligo-scald's falsy-zero bug is pinned with snr_history); job
    0002 reaches 27, the thresholds below are set around it."""
    return float(int(job) * 10 + 1 + (int(round(t * 4)) % 7))


def raw_value(job: str, t: float) -> float:
    return float(int(job) * 100 + (int(round(t * 4)) % 5)) + 0.5


def snr(job: str, t: float, t0: int) -> float:
    """snr_history: 1 Hz, 0 … 4 with zeros (log scale, ligo-scald's falsy-zero bug); each job's newest value is 0."""
    return float((int(t) - t0 + 3 * int(job)) % 5) if int(t) != t0 else 0.0


CONFIG = """
backends:
  default: {{backend: influxdb, hostname: 127.0.0.1, port: {port}, db: {ligo_db}, timeout: 5}}
  ours: {{backend: influxdb, hostname: 127.0.0.1, port: {port}, db: {ours_db}, timeout: 5}}
  dead: {{backend: influxdb, hostname: 127.0.0.1, port: {dead_port}, db: nothing, timeout: 2}}
schemas:
  latency_history:
    measurement: latency_history
    column: data
    tag: job
    tag_key: job
    aggregate: max
    tag_format: 4digit
    num_tags: 3
    default: -1
    transform: none
  raw_history:
    measurement: raw_history
    column: data
    tag: job
    tag_key: job
    aggregate: max
    tag_format: 4digit
    num_tags: 3
  fresh_history:
    measurement: fresh_history
    column: data
    tag: job
    tag_key: job
    aggregate: max
  snr_history:
    measurement: snr_history
    column: snr
    tag: job
    tag_key: job
    aggregate: max
    tag_format: 4digit
    num_tags: 3                  # 0002 never reports
    default: 1e4                 # YAML 1.1: the string "1e4"
    transform: none
  triggers:
    measurement: triggers
    column: [snr, far, end]
    far_key: far
    time_key: end
  stored_triggers:               # store_triggers by each Aggregator into its own database
    measurement: stored_triggers
    column: [snr, far, end]
    far_key: far
    time_key: end
  lat_pairs:                     # ligo-scald's pair form of the expected tags
    measurement: latency_history
    column: data
    tag_key: job
    aggregate: max
    tags: [[job, '0001'], [job, '0002']]
  lat_ours: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
             tag_format: 4digit, num_tags: 3}}
  lat_dead: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
             tag_format: 4digit, num_tags: 3}}
  lat_max: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
            tag_format: 4digit, num_tags: 3}}
  lat_edge: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
             tag_format: 4digit, num_tags: 3}}
  lat_calm: {{measurement: latency_history, column: data, tag: job, tag_key: job, aggregate: max,
             tag_format: 4digit, num_tags: 3}}
  snr_max: {{measurement: snr_history, column: snr, tag: job, tag_key: job, aggregate: max,
            tag_format: 4digit, num_tags: 3}}
  strain: {{measurement: strain, column: h, tags: [ifo, job], tag_key: job, aggregate: max}}
nagios:
  latency_history: {{lookback: {lookback}, alert_type: heartbeat}}
  lat_ours: {{lookback: {lookback}, alert_type: heartbeat, backend: ours}}
  lat_pairs: {{lookback: {lookback}, alert_type: heartbeat}}
  raw_history: {{lookback: {lookback}, alert_type: heartbeat}}
  lat_dead: {{lookback: {lookback}, alert_type: heartbeat, backend: dead}}
  lat_max: {{lookback: {lookback}, alert_type: threshold, alert_settings: {{threshold: 25, threshold_units: ms}}}}
  lat_edge: {{lookback: {lookback}, alert_type: threshold, alert_settings: {{threshold: 27, threshold_units: ms}}}}
  lat_calm: {{lookback: {lookback}, alert_type: threshold, alert_settings: {{threshold: 30, threshold_units: ms}}}}
  snr_history: {{lookback: {lookback}, alert_type: heartbeat}}
  snr_max: {{lookback: {lookback}, alert_type: threshold, alert_settings: {{threshold: 10, threshold_units: ''}}}}
"""


class World:
    """Both servers over both databases. ``both(path)`` → (ligo-scald's :class:`Answer`, ours)."""

    def __init__(self, t0: int, ligo: LigoScaldServe, app: Any, influxd: Any, dbs: dict[str, str]):
        self.t0, self.ligo, self.app, self.influxd, self.dbs = t0, ligo, app, influxd, dbs
        self.client = app.test_client()

    def ours(self, path: str) -> Answer:
        r = self.client.get(path)
        return Answer(r.status_code, r.headers.get("Content-Type", ""), r.get_data(as_text=True), r.headers)

    def both(self, path: str) -> tuple[Answer, Answer]:
        return self.ligo.get(path), self.ours(path)


def _write_ligo(port: int, db: str, data: dict) -> None:
    """With ligo-scald's own Aggregator. ``last_reduce = 0`` before each call makes that call compute the coarse
    levels (ligo-scald does so once per ``reduce_dt``; this also sidesteps its one-``last_reduce``-for-all-
    measurements starvation bug, ligo-scald.md §12.1)."""
    from ligo.scald.io.influx import Aggregator

    agg = Aggregator(hostname="127.0.0.1", port=port, db=db, reduce_dt=1)
    agg.register_schema("latency_history", columns="data", column_key="data", tags="job", tag_key="job",
                        aggregate="max")
    for aggregate in ("max", "min", "median"):
        agg.last_reduce = 0
        agg.store_columns("latency_history", data["latency_history"], aggregate=aggregate)
    agg.register_schema("raw_history", columns="data", column_key="data", tags="job", tag_key="job")
    agg.store_columns("raw_history", data["raw_history"], aggregate=None)
    agg.register_schema("snr_history", columns="snr", column_key="snr", tags="job", tag_key="job", aggregate="max")
    agg.last_reduce = 0
    agg.store_columns("snr_history", data["snr_history"], aggregate="max")
    agg.store_triggers("triggers", [dict(r) for r in data["triggers"]], far_key="far", time_key="end")
    agg.store_triggers("stored_triggers", [dict(r) for r in data["triggers"]], far_key="far", time_key="end")
    agg.store_snapshot("psd", data["snapshot"]["data"], data["snapshot"]["dims"], data["snapshot"]["time"])
    agg.register_schema("strain", columns="h", column_key="h", tags=("ifo", "job"), tag_key="job", aggregate="max")
    agg.last_reduce = 0
    agg.store_columns("strain", data["strain"], aggregate="max")
    # fresh_history: only the 1 s level, as between two of ligo-scald's reductions (reduce_dt not yet elapsed),
    # and no reduction across jobs (reduce_across_tags=False)
    fresh = Aggregator(hostname="127.0.0.1", port=port, db=db, reduce_dt=10 ** 9, reduce_across_tags=False)
    fresh.register_schema("fresh_history", columns="data", column_key="data", tags="job", tag_key="job",
                          aggregate="max")
    fresh.store_columns("fresh_history", data["fresh_history"], aggregate="max")


def _write_ours(port: int, db: str, data: dict) -> None:
    from scald_monitor.io.influx import Aggregator

    agg = Aggregator(hostname="127.0.0.1", port=port, db=db)
    try:
        for name in ("latency_history", "raw_history", "fresh_history", "snr_history"):
            agg.register_schema(name, ["snr" if name == "snr_history" else "data"], None, ["job"], "job", "max")
            agg.store_columns(name, data[name])
        agg.register_schema("strain", ["h"], "h", ["ifo", "job"], "job", "max")
        agg.store_columns("strain", data["strain"])
        agg.register_schema("triggers", ["snr", "far", "end"], "snr")
        rows = data["triggers"]
        agg.store_triggers("stored_triggers", [dict(r) for r in rows], far_key="far", time_key="end")
        agg.store_snapshot("psd", data["snapshot"]["data"], data["snapshot"]["dims"], data["snapshot"]["time"])
        agg.store_columns("triggers", {(): {"time": [r["end"] for r in rows],
                                            "fields": {k: [r[k] for r in rows] for k in ("snr", "far", "end")}}})
    finally:
        agg.close()


def make_data(t0: int) -> dict:
    quarter = [t0 - LOOKBACK + 0.25 * (k + 1) for k in range(LOOKBACK * 4)]  # (t0 - 600, t0] at 4 Hz
    recent = [t for t in quarter if t > t0 - 120]
    second = [float(t) for t in range(t0 - 99, t0 + 1)]
    return {
        "latency_history": {(j,): {"time": quarter, "fields": {"data": [lat(j, t) for t in quarter]}} for j in JOBS},
        "raw_history": {(j,): {"time": recent, "fields": {"data": [raw_value(j, t) for t in recent]}} for j in JOBS},
        "fresh_history": {(j,): {"time": [float(t) for t in range(t0 - 599, t0 + 1)],
                                 "fields": {"data": [float(int(j) + t % 3) for t in range(t0 - 599, t0 + 1)]}}
                          for j in JOBS[:2]},
        "snr_history": {(j,): {"time": second, "fields": {"snr": [snr(j, t, t0) for t in second]}} for j in JOBS[:2]},
        # two tags; H1 above L1, so that a reduction (max) and ligo-scald's "last series wins" differ
        "strain": {combo: {"time": second[-20:], "fields": {"h": [value * (k + 1) for k in range(20)]}}
                   for combo, value in ((("H1", "0001"), 3.0), (("L1", "0001"), 2.0), (("H1", "0002"), 1.0))},
        # every 5 s for 50 s, FAR 1 … 1e-10: ligo-scald drops FAR > 1e-2 before storing
        "triggers": [{"end": float(t0 - 50 + 5 * i), "far": 10.0 ** -i, "snr": 8.0 + i} for i in range(11)],
        "snapshot": {"time": t0 - 7, "dims": {"x": "freq", "y": "asd"},
                     "data": {"freq": [10.0, 20.0, 40.0], "asd": [3e-21, 1e-22, 5e-23], "phase": [0.1, 0.2, 0.3]}},
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory, influxd):
    from procs import free_port

    influxd.start()
    t0 = int(gps_now())
    tag = uuid.uuid4().hex[:8]
    dbs = {"default": f"conf_ligo_{tag}", "ours": f"conf_ours_{tag}"}
    data = make_data(t0)
    _write_ligo(influxd.port, dbs["default"], data)
    _write_ours(influxd.port, dbs["ours"], data)
    directory = tmp_path_factory.mktemp("conformance")
    path = directory / "scald.yml"
    path.write_text(CONFIG.format(port=influxd.port, ligo_db=dbs["default"], ours_db=dbs["ours"],
                                  dead_port=free_port(), lookback=LOOKBACK))
    ligo = LigoScaldServe(path, directory / "ligo-scald.log")
    ligo.start()
    try:
        yield World(t0, ligo, create_app(load(str(path))), influxd, dbs)
    finally:
        ligo.stop()
        if influxd.running():
            for db in dbs.values():
                influxd.query(f'DROP DATABASE "{db}"')


# =================================================================================================== comparison


def assert_same(ours: Any, theirs: Any, time_tolerance: float = 0.0, where: str = "", _tol: float = 0.0) -> None:
    """Same keys, same lengths, same values (Python equality: 6 == 6.0, but True is not 1); under the time keys
    ("x", "time") floats to within ``time_tolerance`` seconds."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (where, ours, theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key], time_tolerance, f"{where}.{key}",
                        time_tolerance if key in ("x", "time") else 0.0)
        return
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (where, ours, theirs)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, time_tolerance, f"{where}[{i}]", _tol)
        return
    if _tol and isinstance(theirs, float) and isinstance(ours, float):
        assert abs(ours - theirs) <= _tol, (where, ours, theirs)
        return
    assert ours == theirs and isinstance(ours, bool) == isinstance(theirs, bool), (where, ours, theirs)


def _ok(answer: Answer) -> Any:
    assert answer.status == 200 and answer.body is not None, answer
    return answer.body


def same_answer(world: World, path: str, time_tolerance: float = 0.0) -> tuple[Any, Answer]:
    """Assert both servers answer ``path`` alike (body and caching headers); ours (body and answer)."""
    theirs, ours = world.both(path)
    assert_same(_ok(ours), _ok(theirs), time_tolerance, path)
    assert ours.content_type == theirs.content_type == "application/json"
    assert ours.headers["Cache-Control"] == theirs.headers["Cache-Control"] == "max-age=10"
    return ours.body, ours


def api(kind: str, measurement: str, start: float, end: float, query: str = "") -> str:
    return f"/api/{kind}/{measurement}/{start}/{end}" + (f"?{query}" if query else "")


BACKENDS = pytest.mark.parametrize("backend", ["ligo", "ours"])


def on(backend: str, query: str) -> str:
    """``query`` for the database written by ``backend``'s Aggregator."""
    return query + ("&backend=ours" if backend == "ours" else "")


def source(answer: Answer) -> str:
    return answer.headers.get("X-Scald-Source")


# =================================================================================================== the same answers


@BACKENDS
def test_timeseries_with_tag_filters_and_dt(world, backend):
    t0 = world.t0
    for query, window in [("column=data&tag=job&job=0001&job=0002&aggregate=max&dt=1", 20),
                          ("column=data&tag=job&job=0000&aggregate=min&dt=1", 20),
                          ("column=data&tag=job&job=0002&aggregate=median&dt=1", 20),
                          ("column=data&tag=job&job=0000&job=0002&aggregate=max&dt=10", 300),
                          ("column=data&tag=job&job=0001&aggregate=min&dt=100", 600)]:
        body, ours = same_answer(world, api("timeseries", "latency_history", t0 - window, t0, on(backend, query)))
        assert all(trace["x"] for trace in body), query  # the data are there, not two empty answers
        level = re.search(r"dt=(\d+)", query).group(1)
        aggregate = re.search(r"aggregate=(\w+)", query).group(1)
        assert source(ours) == f"{level} s {aggregate} buckets"
    body, _ = same_answer(world, api("timeseries", "latency_history", t0 - 20, t0,
                                     on(backend, "column=data&tag=job&job=0001&aggregate=max&dt=1")))
    assert body[0]["y"] == [max(lat("0001", t + q / 4) for q in range(4)) for t in range(t0 - 20, t0)] + \
        [lat("0001", t0)]  # the 1 s maxima (the last bucket holds only the point at t0)


@BACKENDS
def test_segment_with_tag_filters_and_dt(world, backend):
    t0 = world.t0
    body, _ = same_answer(world, api("segment", "latency_history", t0 - 30, t0,
                                     on(backend, "column=data&tag=job&job=0001&job=0002&aggregate=max&dt=1")))
    assert [set(trace) for trace in body] == [{"x", "y", "z", "name"}] * 2 and len(body[0]["x"]) == 31


@BACKENDS
def test_raw_points_with_dt_0(world, backend):
    """``dt=0`` means raw points on both sides (ligo-scald: no retention policy, the default one)."""
    t0 = world.t0
    body, ours = same_answer(world, api("timeseries", "raw_history", t0 - 5, t0,
                                        on(backend, "column=data&tag=job&job=0001&job=0002&dt=0")), TIME_TOLERANCE)
    assert len(body[0]["x"]) == 21 and source(ours) == "raw points"


def test_raw_only_data_without_dt(world):
    """ligo-scald's aggregate=None layout (raw points only): without dt both read the raw points (ours by falling
    back from the 1 s level picked for the window, which holds nothing)."""
    t0 = world.t0
    body, ours = same_answer(world, api("timeseries", "raw_history", t0 - 10, t0, "column=data&tag=job&job=0002"),
                             TIME_TOLERANCE)
    assert len(body[0]["x"]) == 41 and body[0]["y"][-1] == raw_value("0002", t0)
    assert source(ours) == "raw points"


def _floor(t: float, dt: int) -> int:
    return int(math.floor(t / dt) * dt)


@BACKENDS
@pytest.mark.parametrize("aligned", [True, False], ids=["aligned", "unaligned"])
def test_heatmap_span_a_multiple_of_dt(world, backend, aligned):
    """Bins start + k·dt, start aligned to dt or not: the same bins and cells as long as end − start is a
    multiple of dt (see test_heatmap_span_not_a_multiple_of_dt for the other case)."""
    start = _floor(world.t0 - 300, 10) + (0 if aligned else 3)
    end = start + 290
    body, ours = same_answer(world, api("heatmap", "latency_history", start, end,
                                        on(backend, "column=data&tag_key=job&aggregate=max&dt=10")))
    assert len(body[0]["x"]) == 30 and body[0]["y"] == list(JOBS)
    assert body[0]["z"][2][:-1] == [27] * 29 and source(ours) == "10 s max buckets"
    same_answer(world, api("heatmap", "latency_history", start, end,
                           on(backend, "column=data&tag_key=job&aggregate=min&dt=10")))


@BACKENDS
def test_heatmap_log_scale_and_fill(world, backend):
    t0 = world.t0
    body, _ = same_answer(world, api("heatmap", "latency_history", t0 - 20, t0,
                                     on(backend, "column=data&tag_key=job&aggregate=max&dt=1&scale=log")))
    assert set(body[0]) == {"x", "y", "z", "text"}
    body, _ = same_answer(world, api("heatmap", "latency_history", t0 - 5, t0 + 5,
                                     on(backend, "column=data&tag_key=job&aggregate=max&dt=1&fill=0")))
    assert body[0]["z"][0][-5:] == [0] * 5  # after the data: the fill value on both sides


def _bars(answer: Answer) -> dict:
    (bars,) = _ok(answer)
    return dict(zip(bars["x"], bars["y"]))


@BACKENDS
def test_latest_values(world, backend):
    """The same newest value per job; the order of the bars differs (test_latest_order_tag_filters_and_zeros)."""
    newest = {job: lat(job, world.t0) for job in JOBS}  # the 1 s bucket at t0 holds only the point at t0
    for query, expected in (("column=data&aggregate=max&dt=1", newest), ("column=data&aggregate=median&dt=10", None)):
        theirs, ours = world.both(api("latest", "latency_history", 0, 0, on(backend, query)))
        assert _bars(ours) == _bars(theirs) and len(_bars(ours)) == 3, query
        assert expected is None or _bars(ours) == expected


def test_latest_raw_points_without_dt(world):
    """No dt, no aggregate, our layout: both answer the newest raw point of each job."""
    theirs, ours = world.both(api("latest", "latency_history", 0, 0, "column=data&backend=ours"))
    assert _bars(ours) == _bars(theirs) == {job: lat(job, world.t0) for job in JOBS}
    assert source(ours) == "raw points"


def test_table_of_ligo_scald_triggers(world):
    """Triggers stored by ligo-scald's store_triggers (its per-FAR retention policies): the same rows."""
    t0 = world.t0
    for far in ("1e-2", "1e-3", "1e-05"):
        body, ours = same_answer(world, api("table", "triggers", t0 - 60, t0, f"column=far&column=snr&far={far}"))
        expected = [10.0 ** -i for i in range(2, 11) if 10.0 ** -i <= float(far)]
        assert [item["far"] for item in body["items"]] == expected
        assert source(ours) == f"triggers from retention policy {float(far)}_hz"
    body, _ = same_answer(world, api("table", "triggers", t0 - 60, t0, "column=end&column=snr&column=far&far=1e-3"))
    assert body["items"][0] == {"time": float(t0 - 35), "end": float(t0 - 35), "snr": 11.0, "far": 1e-3}


@BACKENDS
def test_table_of_store_triggers_written_by_either(world, backend):
    """store_triggers by ligo-scald's Aggregator or by ours: ligo-scald's serve and ours answer alike, at every
    FAR policy (ours read by ligo-scald's serve: our writer keeps its layout)."""
    t0 = world.t0
    for far in ("1e-2", "1e-3", "1e-05", "1e-07"):
        body, ours = same_answer(world, api("table", "stored_triggers", t0 - 60, t0,
                                            on(backend, f"column=end&column=far&column=snr&far={far}")))
        assert [item["far"] for item in body["items"]] == [10.0 ** -i for i in range(2, 11) if 10.0 ** -i <= float(far)]
        assert [item["time"] for item in body["items"]] == [item["end"] for item in body["items"]]
        assert source(ours) == f"triggers from retention policy {float(far)}_hz"


@BACKENDS
def test_snapshot_written_by_either(world, backend):
    """store_snapshot by either Aggregator: /api/snapshot answers as ligo-scald's serve does (the window unused)."""
    t0 = world.t0
    body, ours = same_answer(world, api("snapshot", "psd", t0 - 60, t0, on(backend, "")))
    assert body == [{"x": [10.0, 20.0, 40.0], "y": [3e-21, 1e-22, 5e-23]}]
    assert source(ours) == f"snapshot at GPS {float(t0 - 7)!r}"


# =================================================================================================== nagios


def _theirs_bad(doc: dict) -> int:
    """ligo-scald's count of bad tags: the number its text starts with (its OK texts start with "OK")."""
    text = doc["status_intervals"][0]["txt_status"]
    match = re.match(r"(\d+) ", text)
    return int(match.group(1)) if match else 0


def _ours_bad(doc: dict) -> int:
    return sum(1 for tag in doc.get("tags", []) if tag["state"] != 0)


def nagios(world: World, check: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((state, bad tags) of ligo-scald, (state, bad tags) of ours) for ``/api/nagios/<check>``."""
    theirs, ours = world.both(f"/api/nagios/{check}")
    t, o = _ok(theirs), _ok(ours)
    return (t["status_intervals"][0]["num_status"], _theirs_bad(t)), (o["status_intervals"][0]["num_status"],
                                                                       _ours_bad(o))


@pytest.mark.parametrize("check,expected", [
    ("latency_history", (0, 0)),  # heartbeat, ligo-scald's layout: every job has points in the look-back
    ("lat_ours", (0, 0)),  # the same on the database our Aggregator wrote
    ("snr_history", (2, 1)),  # heartbeat: expected job 0002 never sent anything
    ("lat_max", (2, 1)),  # threshold 25: job 0002 reaches 27
    ("lat_calm", (0, 0)),  # threshold 30: nobody reaches it
    ("snr_max", (2, 1)),  # threshold 10: nobody reaches it, but job 0002 has no data
])
def test_nagios_same_state(world, check, expected):
    theirs, ours = nagios(world, check)
    assert theirs == expected and ours == expected


# =================================================================================================== levels


def test_no_dt_falls_back_to_the_level_holding_data(world):
    """fresh_history (ligo-scald's layout between two reductions): only 1 s buckets. Over 5000 s the picked level
    is 10 s, which holds nothing; ours falls back to the 1 s buckets and answers what ligo-scald gives for dt=1.
    ligo-scald without dt reads the default retention policy (nothing), and so does any read that names dt=10."""
    t0 = world.t0
    window = (t0 - 5000, t0)
    theirs = _ok(world.ligo.get(api("timeseries", "fresh_history", *window, "column=data&tag=job&job=0001"
                                                                              "&aggregate=max&dt=1")))
    ours = world.ours(api("timeseries", "fresh_history", *window, "column=data&tag=job&job=0001"))
    assert_same(_ok(ours), theirs)
    assert len(theirs[0]["x"]) == 600
    assert source(ours) == "1 s max buckets"
    for query in ("column=data&tag=job&job=0001", "column=data&tag=job&job=0001&aggregate=max&dt=10"):
        assert _ok(world.ligo.get(api("timeseries", "fresh_history", *window, query))) == \
            [{"x": [], "y": [], "name": "0001"}]
    named = world.ours(api("timeseries", "fresh_history", *window, "column=data&tag=job&job=0001&dt=10"))
    assert _ok(named) == [{"x": [], "y": [], "name": "0001"}] and source(named) == "none"
    # where our Aggregator wrote every level, the picked level answers, as ligo-scald's dt=10 does
    body, mine = same_answer(world, api("timeseries", "fresh_history", *window,
                                        "column=data&tag=job&job=0001&aggregate=max&dt=10&backend=ours"))
    no_dt = world.ours(api("timeseries", "fresh_history", *window, "column=data&tag=job&job=0001&backend=ours"))
    assert _ok(no_dt) == body and source(no_dt) == source(mine) == "10 s max buckets"


def test_heatmap_without_dt_falls_back_into_the_picked_bins(world):
    """The 1 s buckets found for a 10 s heatmap are reduced (max) into its 10 s bins: ligo-scald's dt=1 heatmap,
    binned by 10."""
    t0 = world.t0
    start = _floor(t0 - 5000, 10)
    window = (start, start + 5000)
    (fine,) = _ok(world.ligo.get(api("heatmap", "fresh_history", *window, "column=data&tag_key=job&aggregate=max"
                                                                            "&dt=1")))
    ours = world.ours(api("heatmap", "fresh_history", *window, "column=data&tag_key=job"))
    (coarse,) = _ok(ours)
    assert source(ours) == "1 s max buckets"
    assert coarse["x"] == fine["x"][::10] and coarse["y"] == fine["y"] == ["0000", "0001"]
    for row_fine, row_coarse in zip(fine["z"], coarse["z"]):
        expected = [max((v for v in row_fine[i:i + 10] if v is not None), default=None)
                    for i in range(0, len(row_fine), 10)]
        assert row_coarse == expected and any(v is not None for v in expected)


def test_reduction_across_tags_without_an_across_tags_series(world):
    """fresh_history has no "_across_jobs" series (reduce_across_tags=False): ours reduces every job's buckets
    (max at each time) and says so; ligo-scald lists every job's points."""
    t0 = world.t0
    path = api("timeseries", "fresh_history", t0 - 10, t0, "column=data&aggregate=max&dt=1")
    theirs, ours = world.both(path)
    (mixed,), (reduced,) = _ok(theirs), _ok(ours)
    assert len(mixed["x"]) == 22 and reduced["x"] == sorted(set(mixed["x"]))
    assert reduced["y"] == [max(y for x, y in zip(mixed["x"], mixed["y"]) if x == t) for t in reduced["x"]]
    assert source(ours) == "1 s max buckets of every tag combination"


def test_levels_on_sqlite_with_our_data(tmp_path):
    """SQLite with our data: the header names the level that answered, which is the one a named dt reads."""
    from scald_monitor.io import connect

    t0 = int(gps_now())
    (tmp_path / "scald.yml").write_text("backends:\n  default: {backend: sqlite, path: store.sqlite}\n"
                                        "schemas:\n  latency_history: {measurement: latency_history, column: data, "
                                        "tag: job, tag_key: job, aggregate: max}\n")
    cfg = load(str(tmp_path / "scald.yml"))
    agg = connect(cfg.backend(), schemas=cfg.schemas.values())
    try:
        agg.register_schema("latency_history", ["data"], "data", ["job"], "job", "max")
        agg.store_columns("latency_history", make_data(t0)["latency_history"])
    finally:
        agg.close()
    client = create_app(cfg).test_client()

    def get(path: str) -> tuple[Any, str]:
        r = client.get(path)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json(), r.headers["X-Scald-Source"]

    for window, level in ((600, 1), (30_000, 100)):
        for kind, query in (("timeseries", "tag=job&job=0001"), ("timeseries", ""), ("heatmap", "")):
            auto, header = get(api(kind, "latency_history", t0 - window, t0, query))
            named, named_header = get(api(kind, "latency_history", t0 - window, t0, f"{query}&dt={level}"))
            assert header == named_header == f"{level} s max buckets" and auto == named, (kind, window)
            assert auto[0]["x"]
    body, header = get(api("timeseries", "latency_history", t0 - 2, t0, "tag=job&job=0001&dt=raw"))
    assert header == "raw points" and len(body[0]["x"]) == 9
    assert get(api("latest", "latency_history", 0, 0))[1] == "raw points"
    assert get(api("latest", "latency_history", 0, 0, "dt=10"))[1] == "10 s max buckets"
    body, header = get(api("timeseries", "latency_history", 1_000_000, 1_000_100))
    assert header == "none" and body == [{"x": [], "y": []}]
    cached = client.get(api("timeseries", "latency_history", t0 - 600, t0, "tag=job&job=0001"))
    assert cached.headers["X-Scald-Source"] == "1 s max buckets"  # a cached answer keeps its header
    doc = client.get("/api/openapi.json").get_json()
    ok = doc["paths"]["/api/timeseries/{measurement}/{start}/{end}"]["get"]["responses"]["200"]
    assert "X-Scald-Source" in ok["headers"]  # documented


# =================================================================================================== differences
# Each test below pins one deliberate difference: what ligo-scald answers and what we answer. The reasons are in
# docs/ligo-scald-differences.md (same order).


@BACKENDS
def test_heatmap_span_not_a_multiple_of_dt(world, backend):
    """ligo-scald makes ceil(span/dt + 1) bins: when end − start is not a multiple of dt the last one starts after
    end and is always empty. Ours stops at the bin holding end."""
    start = _floor(world.t0 - 300, 10) + 3
    end = start + 295
    theirs, ours = world.both(api("heatmap", "latency_history", start, end,
                                  on(backend, "column=data&tag_key=job&aggregate=max&dt=10")))
    (t,), (o,) = _ok(theirs), _ok(ours)
    assert len(o["x"]) == 30 and len(t["x"]) == 31
    assert t["x"] == o["x"] + [o["x"][-1] + 10] and t["x"][-1] > end
    assert t["z"] == [row + [None] for row in o["z"]] and t["y"] == o["y"]


@BACKENDS
def test_timeseries_without_tag_filter(world, backend):
    """ligo-scald lists every job's points (one per job per time); ours is the reduction across jobs."""
    t0 = world.t0
    for kind in ("timeseries", "segment"):
        theirs, ours = world.both(api(kind, "latency_history", t0 - 20, t0,
                                      on(backend, "column=data&aggregate=max&dt=1")))
        (mixed,), (reduced,) = _ok(theirs), _ok(ours)
        mixed_y = mixed["y"] if kind == "timeseries" else mixed["z"][0]
        reduced_y = reduced["y"] if kind == "timeseries" else reduced["z"][0]
        assert len(mixed["x"]) == 3 * 21 and reduced["x"] == sorted(set(mixed["x"]))
        assert reduced_y == [max(y for x, y in zip(mixed["x"], mixed_y) if x == t) for t in reduced["x"]]


def test_requests_without_dt(world):
    """ligo-scald without dt reads the default retention policy: nothing where it aggregated (and nothing at all
    with an aggregate, which raw points lack); raw points of ours. Ours reads the level picked for the window."""
    t0 = world.t0
    window = (t0 - 20, t0)
    named = _ok(world.ours(api("timeseries", "latency_history", *window, "column=data&tag=job&job=0001&dt=1")))
    for query in ("column=data&tag=job&job=0001", "column=data&tag=job&job=0001&aggregate=max"):
        theirs, ours = world.both(api("timeseries", "latency_history", *window, query))
        assert _ok(theirs) == [{"x": [], "y": [], "name": "0001"}]
        assert _ok(ours) == named and source(ours) == "1 s max buckets"
    # our layout: ligo-scald's raw points, our 1 s maxima
    theirs, ours = world.both(api("timeseries", "latency_history", *window, "column=data&tag=job&job=0001"
                                                                              "&backend=ours"))
    assert len(_ok(theirs)[0]["x"]) == 4 * 20 + 1 and _ok(ours) == named
    # heatmap: ligo-scald's bins then end before `end` (arange(end - start)), and are empty
    theirs, ours = world.both(api("heatmap", "latency_history", *window, "column=data&tag_key=job&aggregate=max"))
    assert _ok(theirs) == [{"x": list(range(t0 - 20, t0)), "y": [], "z": []}]
    assert _ok(ours) == _ok(world.ours(api("heatmap", "latency_history", *window, "column=data&tag_key=job&dt=1")))
    # latest: ligo-scald finds no raw points; ours the newest 1 s buckets
    theirs, ours = world.both(api("latest", "latency_history", 0, 0, "column=data"))
    assert _ok(theirs) == [{"x": [], "y": []}]
    assert _bars(ours) == {job: lat(job, t0) for job in JOBS} and source(ours) == "1 s max buckets"


def test_nagios_backend_down(world):
    """ligo-scald swallows the connection error and counts every job as behind: CRITICAL. Ours: UNKNOWN."""
    theirs, ours = nagios(world, "lat_dead")
    assert theirs == (2, 3) and ours[0] == 3


def test_nagios_tag_pairs(world):
    """ligo-scald's `tags: [[job, '0001'], [job, '0002']]` adds every pair to every query, so it finds nothing and
    says CRITICAL however fresh the data (the same data make `latency_history` OK). Ours checks jobs 0001, 0002."""
    from ligo.scald.io.influx import _format_influxql_conditions
    from ligo.scald.utils import gps_now as ligo_gps_now

    theirs, ours = nagios(world, "lat_pairs")
    assert theirs == (2, 2) and ours == (0, 0)
    assert nagios(world, "latency_history") == ((0, 0), (0, 0))
    # the statement ligo-scald sends for job 0001, on the real server: nothing; with one pair: the points
    end = ligo_gps_now()
    db = world.dbs["default"]
    pairs = [("job", "0001"), ("job", "0001"), ("job", "0002")]
    for tags, found in ((pairs, False), (pairs[:1], True)):
        where = _format_influxql_conditions(start=end - LOOKBACK, end=end, aggregate="max", tags=tags)
        assert ("job = '0001' AND job = '0001' AND job = '0002'" in where) is not found
        result = world.influxd.query(f'SELECT "data" FROM "{db}"."1s"."latency_history" {where}', db=db)
        assert bool(result["results"][0].get("series")) is found, result


def test_nagios_raw_only_data(world):
    """ligo-scald's nagios reads the "1s" retention policy only: data it stored with aggregate=None (raw points) are
    invisible to it, every job is "behind". Ours falls back to the raw points."""
    theirs, ours = nagios(world, "raw_history")
    assert theirs == (2, 3) and ours == (0, 0)


def test_nagios_threshold_equal_to_the_value(world):
    """ligo-scald alerts when the maximum is at or above the threshold; ours (critical: "~:27") when above it."""
    theirs, ours = nagios(world, "lat_edge")
    assert theirs == (2, 1) and ours == (0, 0)


def test_latest_order_tag_filters_and_zeros(world):
    """ligo-scald: bars in InfluxDB's series order, tag filters ignored, a value of 0 shown as the schema's default
    (its identity transform tests truthiness; `default: 1e4` is even the string "1e4"), expected jobs without data
    left out. Ours: sorted, filtered, 0 is 0, the expected job 0002 with the default."""
    theirs, ours = world.both(api("latest", "latency_history", 0, 0, "column=data&aggregate=max&dt=1"))
    assert _ok(theirs)[0]["x"] == ["0002", "0001", "0000"] and _ok(ours)[0]["x"] == ["0000", "0001", "0002"]
    theirs, ours = world.both(api("latest", "latency_history", 0, 0, "column=data&aggregate=max&dt=1"
                                                                      "&tag=job&job=0001"))
    assert len(_ok(theirs)[0]["x"]) == 3 and _ok(ours) == [{"x": ["0001"], "y": [lat("0001", world.t0)]}]
    theirs, ours = world.both(api("latest", "snr_history", 0, 0, "column=snr&aggregate=max&dt=1"))
    assert _bars(theirs) == {"0000": "1e4", "0001": "1e4"}
    assert _bars(ours) == {"0000": 0, "0001": 0, "0002": 1e4}


def test_heatmap_rows_and_log_of_zero(world):
    """ligo-scald: rows only for jobs with data; two filter values are ANDed (no rows); ln(0) = -Infinity, which
    is not JSON. Ours: expected jobs as empty rows, filter values ORed, null for ln of 0."""
    t0 = world.t0
    theirs, ours = world.both(api("heatmap", "snr_history", t0 - 10, t0, "column=snr&tag_key=job&aggregate=max&dt=1"
                                                                          "&scale=log"))
    (t,), (o,) = _ok(theirs), _ok(ours)
    assert t["y"] == ["0000", "0001"] and o["y"] == ["0000", "0001", "0002"]
    assert "-Infinity" in theirs.text and t["z"][0][-1] == -math.inf and o["z"][0][-1] is None
    assert o["z"][:2] == [[None if v == -math.inf else v for v in row] for row in t["z"]]
    assert o["text"][:2] == t["text"] and o["z"][2] == [None] * 11
    theirs, ours = world.both(api("heatmap", "latency_history", t0 - 5, t0, "column=data&tag_key=job&aggregate=max"
                                                                             "&dt=1&tag=job&job=0000&job=0001"))
    assert _ok(theirs)[0]["y"] == [] and _ok(ours)[0]["y"] == ["0000", "0001"]


def test_datetime_times(world):
    """ligo-scald asks InfluxDB for epoch=rfc3339, which InfluxDB 1.x does not know: it gets Unix nanoseconds.
    Ours: ISO 8601 UTC strings. They name the same instants."""
    from datetime import datetime, timezone

    t0 = world.t0
    theirs, ours = world.both(api("timeseries", "latency_history", t0 - 2, t0, "column=data&tag=job&job=0001"
                                                                               "&aggregate=max&dt=1&datetime=true"))
    (t,), (o,) = _ok(theirs), _ok(ours)
    assert all(isinstance(x, int) for x in t["x"]) and all(isinstance(x, str) for x in o["x"])
    assert [datetime.fromtimestamp(x / 1e9, timezone.utc) for x in t["x"]] == \
        [datetime.strptime(x, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) for x in o["x"]]
    assert t["y"] == o["y"]


def test_table_differences(world):
    """ligo-scald: `far` is required (500 without), it names a retention policy (none for 5e-3: empty), triggers
    are read only from those policies (none in our database: empty), and without `column` only the time comes back.
    Ours: every stored row without `far`, a FAR cut at any value, our raw points, every column by default."""
    t0 = world.t0
    theirs, ours = world.both(api("table", "triggers", t0 - 60, t0, "column=far&column=snr"))
    assert theirs.status == 500 and theirs.body is None
    assert [i["far"] for i in _ok(ours)["items"]] == [10.0 ** -i for i in range(2, 11)]
    theirs, ours = world.both(api("table", "triggers", t0 - 60, t0, "column=far&far=5e-3"))
    assert _ok(theirs)["items"] == [] and [i["far"] for i in _ok(ours)["items"]] == [10.0 ** -i for i in range(3, 11)]
    theirs, ours = world.both(api("table", "triggers", t0 - 60, t0, "column=far&far=1e-3&backend=ours"))
    assert _ok(theirs)["items"] == [] and len(_ok(ours)["items"]) == 8 and source(ours) == "raw points"
    theirs, ours = world.both(api("table", "triggers", t0 - 60, t0, "far=1e-3"))
    assert [f["key"] for f in _ok(theirs)["fields"]] == ["time"] and set(_ok(theirs)["items"][0]) == {"time"}
    assert [f["key"] for f in _ok(ours)["fields"]] == ["time", "snr", "far", "end"]


@pytest.mark.parametrize("path,ligo_status,ours_status", [
    ("/api/nagios/no_such_check", 500, 404),  # ligo-scald: KeyError → HTML traceback
    ("/api/timeseries/latency_history/{s}.5/{e}?column=data&dt=1", 404, 200),  # bottle's <start:int>
    ("/api/timeseries/no_such_measurement/{s}/{e}?column=data&dt=1", 200, 404),  # ligo-scald: empty answer
    ("/api/timeseries/latency_history/{s}/{e}?column=data&dt=1&aggregate=mean", 200, 400),
    ("/api/timeseries/latency_history/{s}/{e}?column=data&dt=5&aggregate=max", 200, 400),  # no "5s" policy
    ("/api/timeseries/latency_history/{s}/{e}?column=data&dt=abc", 500, 400),  # int("abc")
    ("/api/timeseries/latency_history/{s}/{e}?column=data&dt=1&tag=ifo&ifo=H1", 200, 400),  # no such tag
    ("/api/timeseries/triggers/{s}/{e}?column=snr&column=far&backend=ours", 500, 200),  # 2 columns: unpacking
    ("/api/heatmap/latency_history/{s}/{later}?column=data&tag_key=job&dt=1&fill=foo", 200, 400),  # not JSON
    ("/api/heatmap/latency_history/{s}/{e}?column=data&tag_key=job&dt=1&datetime=true", 500, 200),  # not done
    ("/api/snapshot/latency_history/{s}/{e}", 500, 404),  # no snapshot of it stored: KeyError; ours a JSON 404
])
def test_errors(world, path, ligo_status, ours_status):
    """Requests ligo-scald answers with an HTML error page, an empty 200 or invalid JSON; ours: JSON, 400/404 for
    a bad request, an answer where the request is fine."""
    path = path.format(s=world.t0 - 60, e=world.t0, later=world.t0 + 5)  # later: empty cells, filled
    theirs, ours = world.both(path)
    assert (theirs.status, ours.status) == (ligo_status, ours_status), (theirs, ours)
    assert ours.content_type == "application/json" and ours.body is not None
    if ligo_status == 500:
        assert theirs.content_type.startswith("text/html")
    elif ligo_status == 200:
        empty = theirs.body in ([{"x": [], "y": []}], [{"x": [], "y": [], "name": "H1"}])
        assert empty or (theirs.body is None and "foo" in theirs.text), theirs
    if ours_status != 200:
        assert isinstance(ours.body["error"], str)


def test_repeated_tag_values(world):
    """ligo-scald makes one trace per value given, repeats included; ours one per distinct value."""
    t0 = world.t0
    theirs, ours = world.both(api("timeseries", "latency_history", t0 - 2, t0, "column=data&tag=job&job=0001"
                                                                               "&job=0001&aggregate=max&dt=1"))
    assert _ok(theirs) == _ok(ours) * 2


def test_coarse_medians_as_written(world):
    """Writers differ (both servers read what is stored): ligo-scald's 10 s median is the median_high of its 1 s
    medians, ours the median_high of the raw points."""
    t0 = world.t0
    start = _floor(t0 - 300, 10)
    for backend, expected in (("ligo", "of medians"), ("ours", "of points")):
        body, _ = same_answer(world, api("timeseries", "latency_history", start, start + 90,
                                         on(backend, "column=data&tag=job&job=0001&aggregate=median&dt=10")))
        for b, value in zip(body[0]["x"], body[0]["y"]):
            points = [lat("0001", b + k / 4) for k in range(40)]
            of_points = statistics.median_high(points)
            of_medians = statistics.median_high(statistics.median_high(points[4 * s:4 * s + 4]) for s in range(10))
            assert value == (of_medians if expected == "of medians" else of_points)
    assert any(statistics.median_high([lat("0001", b + k / 4) for k in range(40)]) !=
               statistics.median_high(statistics.median_high([lat("0001", b + s + k / 4) for k in range(4)])
                                      for s in range(10)) for b in range(start, start + 100, 10))


def test_several_tags(world):
    """strain (tags ifo, job). ligo-scald: one trace per filter pair, each filtering on that pair alone (H1 = both
    jobs' H1 points mixed); a heatmap cell of job 0001 holds whichever ifo's point InfluxDB returned last (the
    order of points at one time varies). Ours: one trace per combination of the values; a cell is the max over
    ifos."""
    t0 = world.t0
    window = (t0 - 19, t0)
    theirs, ours = world.both(api("timeseries", "strain", *window, "column=h&tag=ifo&tag=job&ifo=H1&job=0001"
                                                                     "&aggregate=max&dt=1"))
    assert [t["name"] for t in _ok(theirs)] == ["H1", "0001"] and [len(t["x"]) for t in _ok(theirs)] == [40, 40]
    assert _ok(ours) == [{"x": [float(t) for t in range(*window)] + [float(t0)],
                          "y": [3.0 * (k + 1) for k in range(20)], "name": "H1,0001"}]
    theirs, ours = world.both(api("heatmap", "strain", *window, "column=h&tag_key=job&aggregate=max&dt=1"))
    (t,), (o,) = _ok(theirs), _ok(ours)
    assert t["y"] == o["y"] == ["0001", "0002"]
    assert o["z"][0] == [3.0 * (k + 1) for k in range(20)]
    assert all(cell in (3.0 * (k + 1), 2.0 * (k + 1)) for k, cell in enumerate(t["z"][0]))
    assert o["z"][1] == t["z"][1]  # job 0002 has one ifo: the same cells
