"""`scald mock`: triggers and snapshots in ligo-scald's InfluxDB layout (``io/triggers.py``).

What a user of the mock relies on: a trigger schema's measurement answers in ligo-scald's nested ``"<far>_hz"``
retention policies with the triggers ``store_triggers`` would have kept from the generated samples (the very samples
``scald fill`` stores on SQLite), a Snapshot schema's measurement holds ``data``/``dims`` JSON strings in the default
policy, and both are read by our InfluxDB reader, by ligo-scald 0.8.5's own Consumer, and answered exactly as a real
influxd answers once ligo-scald's own Aggregator has written the same triggers.
"""
from __future__ import annotations

import json
import math

import pytest
import requests
import yaml

from scald_monitor.config import load
from scald_monitor.io.triggers import FAR_THRESHOLDS, normalize_triggers, rp_name
from scald_monitor.mock.answer import QueryError, execute
from scald_monitor.mock.generate import SNAPSHOT_DIMS, SNAPSHOT_FREQS, generate_rows
from scald_monitor.mock.source import SNAPSHOT_EVERY, MockSource
from scald_monitor.timeutil import gps_now, gps_to_unix, unix_to_gps
from test_mock_server import start_mock

NS = 10**9
NOW_GPS = 1_400_000_000
NOW_NS = int(gps_to_unix(NOW_GPS)) * NS

CONFIG = """\
backends:
  default: {{backend: influxdb, hostname: 127.0.0.1, port: {port}, db: mydb}}
mock:
  seed: 3
  rate: {rate}
  tags: {{job: ['0000', '0001']}}
schemas:
  latency:                     # a timeseries: nothing in the trigger policies
    measurement: latency_history
    column: data
    tag: job
    aggregate: max
  cands:                       # ligo-scald's trigger schema keys; `end` holds each trigger's exact time
    measurement: cands
    columns: [far, snr, end]
    column_key: far
    far_key: far
    time_key: end
    mock:
      columns:                 # FARs around 3e-3: every threshold cuts some; FAR > 1e-2 and < 0 are dropped
        far: {{signal: constant, offset: 3.0e-3, noise: 4.0e-3}}
        snr: {{signal: sine, offset: 9, amplitude: 3, period: 61, noise: 0.5}}
  ifar_only:                   # no far_key: a trigger schema because an IFAR plot draws it
    measurement: ifar_only
    columns: [far]
    mock: {{signal: constant, offset: 1.0e-3, noise: 1.0e-3}}
  tagged_far:                  # a tagged timeseries with a far column stays a timeseries (triggers have no tags)
    measurement: far_history
    column: far
    tag: job
    aggregate: max
  psd:
    measurement: psd
    column: data
navbar: {{title: t, pages: [index], tabs: []}}
pages:
  index: {{title: Home, lookback: 600, delay: 0, plots: []}}
plots:
  spectrum: {{type: Snapshot, schema: psd}}
  ifar: {{type: IFAR, schema: ifar_only}}
"""


def ns(gps: float) -> int:
    """Unix ns of a whole GPS second."""
    return int(gps_to_unix(gps)) * NS


def write_config(tmp_path, port: int = 8086, rate: float = 1) -> str:
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(port=port, rate=rate))
    return str(path)


@pytest.fixture(scope="module")
def cfg_path(tmp_path_factory):
    return write_config(tmp_path_factory.mktemp("trig"), rate=4)


@pytest.fixture(scope="module")
def src(cfg_path):
    return MockSource.from_config(load(cfg_path))


def run(src, q, **kw):
    kw.setdefault("db", "mydb")
    kw.setdefault("now_ns", NOW_NS)
    kw.setdefault("epoch", "ns")
    return execute(src, q, **kw)


def rows_of(result, i=0) -> list[dict]:
    """A statement's one series as dicts (time first), or [] when it has none."""
    series = result["results"][i].get("series", [])
    if not series:
        return []
    (one,) = series
    return [dict(zip(one["columns"], v)) for v in one["values"]]


def triggers_q(rp: str, lo: float, hi: float, fields: str = "*", m: str = "cands") -> str:
    return f'SELECT {fields} FROM "mydb"."{rp}"."{m}" WHERE time >= {ns(lo)} AND time <= {ns(hi)}'


# ====================================================================================================== catalog


def test_kinds_follow_the_config(src):
    kinds = {name: src.measurement(name).kind for name in src.measurement_names()}
    assert kinds == {"cands": "triggers", "ifar_only": "triggers", "far_history": "timeseries",
                     "latency_history": "timeseries", "psd": "snapshot"}
    cands = src.measurement("cands")
    assert cands.column_key == "far" and cands.time_key == "end" and cands.tag_keys == []
    assert src.measurement("psd").fields == ("data", "dims")


def test_every_plot_example_is_served_in_ligo_scald_layout():
    """examples/every-plot.yml, the config of the Chromium test on the mock: its IFAR schema is triggers, its
    Snapshot schema snapshots, everything else timeseries."""
    from pathlib import Path

    src = MockSource.from_config(load(str(Path(__file__).resolve().parent.parent / "examples" / "every-plot.yml")))
    kinds = {name: src.measurement(name).kind for name in src.measurement_names()}
    assert kinds.pop("triggers") == "triggers" and kinds.pop("psd") == "snapshot"
    assert set(kinds.values()) == {"timeseries"}


# ===================================================================================================== triggers


def test_triggers_are_what_store_triggers_keeps_of_the_generated_samples(src, cfg_path):
    """The "0.01_hz" policy holds exactly what the project's store_triggers (io/triggers.py, ligo-scald's rules)
    would keep of the samples ``scald fill`` generates: the lowest FAR per second, stamped with the second, FAR >
    1e-2 dropped, the whole row (``end``: the sample's exact time) as fields."""
    cfg = load(cfg_path)
    spec = cfg.schemas["cands"]
    lo, hi = NOW_GPS - 300, NOW_GPS - 1
    samples = generate_rows("cands", ["far", "snr"], lo, hi + 1, rate=4, seed=3, spec=spec.mock)[()]
    rows = [{"end": r["time"], **r["fields"]} for r in samples if r["fields"]["far"] >= 0]
    expected = normalize_triggers("cands", rows, far_key="far", time_key="end")
    got = rows_of(run(src, triggers_q("0.01_hz", lo, hi)))
    assert got and len(got) < 300  # some seconds have only FARs above 1e-2
    assert [r["time"] for r in got] == [ns(b) for b, _, _ in expected]
    assert [{k: v for k, v in r.items() if k != "time"} for r in got] == [row for _, _, row in expected]
    assert all(r["end"] - math.floor(r["end"]) in (0, 0.25, 0.5, 0.75) for r in got)  # 4 Hz samples, not bins


def test_trigger_policies_are_nested_far_cuts(src):
    lo, hi = NOW_GPS - 3600, NOW_GPS
    every = rows_of(run(src, triggers_q("0.01_hz", lo, hi)))
    sizes = []
    for threshold in FAR_THRESHOLDS:
        cut = rows_of(run(src, triggers_q(rp_name(threshold), lo, hi)))
        assert cut == [r for r in every if r["far"] <= threshold], threshold
        sizes.append(len(cut))
    assert sizes[0] > sizes[1] > sizes[2] > 0  # the thresholds cut something: the test is not vacuous
    assert max(r["far"] for r in every) <= 1e-2 and min(r["far"] for r in every) >= 0


def test_triggers_are_deterministic_and_split_ranges_agree(src, cfg_path):
    lo, hi = NOW_GPS - 200, NOW_GPS - 1
    whole = rows_of(run(src, triggers_q("0.001_hz", lo, hi)))
    halves = rows_of(run(src, triggers_q("0.001_hz", lo, lo + 99))) + rows_of(
        run(src, triggers_q("0.001_hz", lo + 100, hi)))
    assert whole == halves == rows_of(run(MockSource.from_config(load(cfg_path)), triggers_q("0.001_hz", lo, hi)))
    other = MockSource.from_config(load(cfg_path), seed=4)
    assert rows_of(run(other, triggers_q("0.001_hz", lo, hi))) != whole


def test_no_trigger_after_now_nor_before_start(cfg_path):
    src = MockSource.from_config(load(cfg_path))
    got = rows_of(run(src, triggers_q("0.01_hz", NOW_GPS - 60, NOW_GPS + 600)))
    assert got and max(r["time"] for r in got) <= NOW_NS
    late = MockSource(src.measurements, rate=4, seed=3, start=NOW_GPS - 30)
    got = rows_of(run(late, triggers_q("0.01_hz", NOW_GPS - 600, NOW_GPS)))
    assert got and min(r["time"] for r in got) >= ns(NOW_GPS - 30)


def test_selected_columns_limit_and_functions(src):
    lo, hi = NOW_GPS - 600, NOW_GPS
    every = rows_of(run(src, triggers_q("0.001_hz", lo, hi)))
    picked = rows_of(run(src, triggers_q("0.001_hz", lo, hi, fields='"far","snr"')))
    assert picked == [{"time": r["time"], "far": r["far"], "snr": r["snr"]} for r in every]
    newest = rows_of(run(src, f'SELECT "far" FROM "0.001_hz"."cands" WHERE time <= {NOW_NS} ORDER BY time DESC '
                              "LIMIT 2"))
    assert newest == [{"time": r["time"], "far": r["far"]} for r in every[::-1][:2]]
    (count,) = rows_of(run(src, f'SELECT count(far), min(far) FROM "0.001_hz".cands WHERE time >= {ns(lo)} AND '
                                f"time <= {ns(hi)}"))
    assert count["count"] == len(every) and count["min"] == min(r["far"] for r in every)


def test_each_kind_lives_in_its_own_policies(src):
    lo, hi = NOW_GPS - 60, NOW_GPS
    window = f"time >= {ns(lo)} AND time <= {ns(hi)}"
    # ligo-scald keeps triggers nowhere else; a timeseries is in no trigger policy
    for q in (f'SELECT far FROM cands WHERE {window}', f"SELECT far FROM \"1s\".cands WHERE aggregate = 'max' AND "
              f"{window}", f'SELECT far FROM "0.01_hz".far_history WHERE {window}',
              f'SELECT data FROM "0.01_hz".latency_history WHERE {window}', f'SELECT data FROM "1s".psd WHERE {window}'):
        assert run(src, q)["results"] == [{"statement_id": 0}], q
    assert run(src, f'SELECT far FROM "0.02_hz".cands WHERE {window}')["results"] == [
        {"statement_id": 0, "error": "retention policy not found: 0.02_hz"}]
    assert rows_of(run(src, f'SELECT far FROM "0.01_hz".ifar_only WHERE {window}'))  # IFAR-drawn: triggers
    assert rows_of(run(src, f"SELECT far FROM \"1s\".far_history WHERE aggregate = 'max' AND {window}"))


def test_show_statements_for_triggers_and_snapshots(src):
    result = run(src, 'SHOW FIELD KEYS FROM "0.01_hz"."cands"; SHOW FIELD KEYS FROM "autogen"."cands"; '
                      'SHOW TAG KEYS FROM cands; SHOW FIELD KEYS FROM psd; SHOW RETENTION POLICIES ON mydb')
    r = result["results"]
    assert r[0]["series"][0]["values"] == [["end", "float"], ["far", "float"], ["snr", "float"]]
    assert "series" not in r[1] and "series" not in r[2]  # no trigger in autogen; no tags at all
    assert r[3]["series"][0]["values"] == [["data", "string"], ["dims", "string"]]
    assert [v[0] for v in r[4]["series"][0]["values"]][-6:] == [rp_name(f) for f in FAR_THRESHOLDS]


# ==================================================================================================== snapshots


def test_newest_snapshot_is_a_psd(src):
    (row,) = rows_of(run(src, 'SELECT "data","dims" FROM "mydb".."psd" ORDER BY time DESC LIMIT 1'))
    gps = unix_to_gps(row["time"] / NS)
    assert round(gps) % SNAPSHOT_EVERY == 0 and NOW_GPS - SNAPSHOT_EVERY < round(gps) <= NOW_GPS
    dims, data = json.loads(row["dims"]), json.loads(row["data"])
    assert dims == SNAPSHOT_DIMS == {"x": "freq", "y": "asd"}
    assert data["freq"] == list(SNAPSHOT_FREQS) and len(data["asd"]) == len(data["freq"])
    asd = data["asd"]
    assert all(1e-24 < a < 1e-19 for a in asd)
    assert asd[0] > 10 * min(asd) and asd[-1] > 10 * min(asd)  # a bucket: seismic wall, shot-noise rise


def test_snapshots_differ_over_time_and_are_deterministic(src, cfg_path):
    q = f'SELECT "data" FROM psd WHERE time >= {ns(NOW_GPS - 600)} AND time <= {ns(NOW_GPS)}'
    rows = rows_of(run(src, q))
    stamps = [t for t in range(NOW_GPS - 600, NOW_GPS + 1) if t % SNAPSHOT_EVERY == 0]
    assert [r["time"] for r in rows] == [ns(t) for t in stamps] and len(rows) == 10
    assert len({r["data"] for r in rows}) == len(rows)
    assert rows == rows_of(run(MockSource.from_config(load(cfg_path)), q))
    (counted,) = rows_of(run(src, q.replace('"data"', "count(data), last(dims)")))
    assert counted["count"] == len(rows) and json.loads(counted["last"]) == SNAPSHOT_DIMS
    with pytest.raises(QueryError, match="max\\(\\) of string field 'data'"):
        run(src, q.replace('"data"', "max(data)"))


# ================================================================================================== over HTTP


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    server = start_mock("-c", write_config(tmp_path_factory.mktemp("trighttp"), rate=4))
    yield server
    server.stop()


def mock_entry(mock) -> dict:
    host, port = mock.url.rsplit("/", 1)[1].split(":")
    return {"backend": "influxdb", "hostname": host, "port": int(port), "db": "mydb"}


def test_ligo_scald_consumer_reads_the_mocks_triggers_and_snapshot(mock):
    """ligo-scald 0.8.5's own reader: retrieve_triggers (its "<far>_hz" policy, its GPS conversion) and
    retrieve_snapshot get the mock's data, the same as the mock answers over the HTTP API."""
    from ligo.scald.io import influx

    entry = mock_entry(mock)
    consumer = influx.Consumer(hostname=entry["hostname"], port=entry["port"], db="mydb")
    end = int(gps_now()) - 5
    start = end - 300
    for far in (1e-2, 1e-3, 1e-4):
        theirs = consumer.retrieve_triggers("cands", start, end, columns=["far", "snr", "end"], far=far)
        wire = requests.get(f"{mock.url}/query", params={"db": "mydb", "epoch": "ns", "q": triggers_q(
            rp_name(far), start, end, fields='"far","snr","end"')}, timeout=30).json()
        ours = rows_of(wire)
        assert theirs and len(theirs) == len(ours), far
        assert [(r["far"], r["snr"], r["end"]) for r in theirs] == [(r["far"], r["snr"], r["end"]) for r in ours]
        assert all(r["far"] <= far for r in theirs)
        assert all(abs(r["time"] - math.floor(r["end"])) < 1e-6 for r in theirs)  # bin start, in GPS
    t, data, dims = consumer.retrieve_snapshot("psd")
    assert dims == {"x": "freq", "y": "asd"} and len(data[dims["x"]]) == len(data[dims["y"]]) == 120
    assert end - SNAPSHOT_EVERY - 10 < t <= end + 10


def test_our_influx_reader_gets_the_mocks_triggers_and_snapshot(mock):
    from scald_monitor.io import connect

    store = connect(mock_entry(mock), readonly=True)
    try:
        end = int(gps_now()) - 5
        rows = store.retrieve_triggers("cands", end - 300, end, ["far", "snr"], far=1e-4)
        assert rows and all(r["far"] <= 1e-4 for r in rows)
        assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
        assert all(float(r["time"]).is_integer() for r in rows)
        t, data, dims = store.retrieve_snapshot("psd")
        assert dims == SNAPSHOT_DIMS and t is not None and end - SNAPSHOT_EVERY - 10 < t
        assert data["freq"] == list(SNAPSHOT_FREQS)
    finally:
        store.close()


def test_mock_triggers_match_what_ligo_scald_writes_to_influxd(mock, influxd, influx_db):
    """ligo-scald's own Aggregator.store_triggers writes the generated samples (4 Hz, the mock's) into a real
    influxd; every trigger policy of influxd then answers exactly what the mock answers."""
    from ligo.scald.io import influx

    end = int(gps_now()) - 5
    start = end - 120
    spec = yaml.safe_load(CONFIG.format(port=0, rate=4))["schemas"]["cands"]["mock"]
    samples = generate_rows("cands", ["far", "snr"], start, end + 1, rate=4, seed=3, spec=spec)[()]
    rows = [{"end": r["time"], **r["fields"]} for r in samples if r["fields"]["far"] >= 0]
    agg = influx.Aggregator(hostname=influxd.host, port=influxd.port, db=influx_db)
    agg.store_triggers("cands", rows, far_key="far", time_key="end")
    for far in FAR_THRESHOLDS[:4]:
        q = triggers_q(rp_name(far), start, end)
        theirs = influxd.query(q.replace('"mydb"', f'"{influx_db}"'), influx_db, epoch="ns")
        ours = requests.get(f"{mock.url}/query", params={"db": "mydb", "epoch": "ns", "q": q}, timeout=30).json()
        assert ours == theirs, far
        if far == FAR_THRESHOLDS[0]:
            assert len(rows_of(ours)) > 20
