"""Triggers and snapshots (ligo-scald's ``store_triggers`` / ``store_snapshot`` / ``store``), on both backends, and
drop-in compatibility with ligo-scald 0.8.5's own Aggregator and Consumer on a real influxd, in both directions."""
from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from scald_monitor.io import BackendError, sqlite
from scald_monitor.io.sqlite_lite import LiteConsumer
from scald_monitor.io.triggers import FAR_THRESHOLDS, threshold_for

T0 = 1_400_000_000


def triggers() -> list[dict]:
    """Two triggers in each of seconds T0..T0+4 (the better one second in the row), FAR 1e-1 … 1e-9, and one
    above 1e-2 alone in T0+5 (dropped)."""
    rows = []
    for k in range(5):
        rows.append({"end": T0 + k + 0.1, "far": 10.0 ** -(2 * k + 1), "snr": 6.0 + k, "ifo": "H1"})
        rows.append({"end": T0 + k + 0.6, "far": 10.0 ** -(2 * k + 2), "snr": 7.0 + k, "ifo": "L1"})
    rows.append({"end": T0 + 5.5, "far": 0.5, "snr": 3.0, "ifo": "V1"})
    return rows


@pytest.fixture(params=["sqlite", "influxdb"])
def store(request, tmp_path):
    """An Aggregator of either backend, and a function giving a fresh reader of what it stored."""
    if request.param == "sqlite":
        agg = sqlite.Aggregator(path=tmp_path / "s.db")
        yield agg, lambda: sqlite.Consumer(path=tmp_path / "s.db")
        agg.close()
    else:
        influxd = request.getfixturevalue("influxd")
        db = request.getfixturevalue("influx_db")
        from scald_monitor.io import influx

        agg = influx.Aggregator(hostname=influxd.host, port=influxd.port, db=db, retry_max=0.2)
        yield agg, lambda: influx.Consumer(hostname=influxd.host, port=influxd.port, db=db)
        agg.close()


def test_lowest_far_per_second_and_far_cuts(store):
    agg, reader = store
    assert agg.store_triggers("trg", triggers()) == 5
    got = reader().retrieve_triggers("trg", T0 - 10, T0 + 10)
    assert [r["far"] for r in got] == [10.0 ** -(2 * k + 2) for k in range(5)]
    assert got[0] == {"time": float(T0), "end": T0 + 0.6, "far": 1e-2, "snr": 7.0, "ifo": "L1"}
    for far in (1e-2, 1e-3, 5e-4, 1e-4, 1e-6, 1e-7, 1e-8, 1e-12):
        cut = reader().retrieve_triggers("trg", T0 - 10, T0 + 10, ["far", "snr"], far=far)
        assert [r["far"] for r in cut] == [10.0 ** -(2 * k + 2) for k in range(5) if 10.0 ** -(2 * k + 2) <= far]
        assert all(set(r) == {"time", "far", "snr"} for r in cut)
    assert [r["time"] for r in reader().retrieve_triggers("trg", T0 + 1, T0 + 3, "far")] == [T0 + 1.0, T0 + 2.0,
                                                                                                 T0 + 3.0]
    assert reader().retrieve_triggers("nothing_here", T0, T0 + 10) == []


def test_a_later_worse_trigger_keeps_the_better_one(store):
    agg, reader = store
    agg.store_triggers("trg", [{"end": T0 + 0.5, "far": 1e-5, "snr": 9.0}])
    assert agg.store_triggers("trg", [{"end": T0 + 0.7, "far": 1e-3, "snr": 7.0},
                                      {"end": T0 + 1.2, "far": 1e-3, "snr": 7.5}]) == 1
    assert [(r["far"], r["snr"]) for r in reader().retrieve_triggers("trg", T0, T0 + 5)] == [(1e-5, 9.0),
                                                                                            (1e-3, 7.5)]
    agg.store_triggers("trg", [{"end": T0 + 0.9, "far": 1e-8, "snr": 12.0}])  # a better one replaces it everywhere
    assert [r["snr"] for r in reader().retrieve_triggers("trg", T0, T0 + 5, far=1e-7)] == [12.0]
    assert [r["snr"] for r in reader().retrieve_triggers("trg", T0, T0 + 5, far=1e-2)] == [12.0, 7.5]


@pytest.mark.parametrize("bad,message", [
    ({"far": 1e-3, "snr": 1.0}, "no 'end' key"),
    ({"end": T0 + 3.0, "snr": 1.0}, "no 'far' key"),
    ({"end": T0 + 3.0, "far": float("nan")}, "finite"),
    ({"end": float("inf"), "far": 1e-3}, "finite"),
    ({"end": "soon", "far": 1e-3}, "must be a number"),
    ({"end": T0 + 3.0, "far": True}, "must be a number"),
    ({"end": T0 + 3.0, "far": -1e-3}, ">= 0"),
    ({"end": T0 + 3.0, "far": 1e-3, "snr": None}, "must be a number"),
    ({"end": T0 + 3.0, "far": 1e-3, "snr": [1, 2]}, "must be a number"),
    ({"end": T0 + 3.0, "far": 1e-3, "time": 5.0}, "other than 'time'"),
    ({"end": T0 + 3.0, "far": 1e-3, "note": "a\nb"}, "newlines"),
    ("not a row", "not a mapping"),
])
def test_bad_rows_are_refused_before_anything_is_stored(store, bad, message):
    agg, reader = store
    with pytest.raises(ValueError, match=message):
        agg.store_triggers("trg", [{"end": T0 + 1.0, "far": 1e-4, "snr": 8.0}, bad])
    assert reader().retrieve_triggers("trg", T0 - 10, T0 + 10) == []


def test_numpy_values_and_other_keys(store):
    agg, reader = store
    agg.store_triggers("trg", [{"t": np.float64(T0 + 2.5), "p": np.float64(1e-3), "snr": np.int64(9),
                                "w": np.float32(0.5), "ok": np.bool_(True)}],
                       far_key="p", time_key="t")
    (row,) = reader().retrieve_triggers("trg", T0, T0 + 5, far=1e-3, far_key="p")
    assert row["time"] == T0 + 2.0 and row["t"] == T0 + 2.5 and row["p"] == 1e-3 and row["snr"] == 9
    assert row["w"] == 0.5 and row["ok"] is True


def test_snapshots(store):
    agg, reader = store
    assert reader().retrieve_snapshot("psd") == (None, {}, {})
    agg.store_snapshot("psd", {"f": [10.0, 20.0], "asd": [1e-21, 2e-21]}, {"x": "f", "y": "asd"}, T0)
    agg.store_snapshot("psd", {"f": np.array([1.0, 2.0, 3.0]), "asd": [3.0, None, "a\"b\\c"]},
                       {"x": "f", "y": "asd"}, T0 + 10)
    agg.store_snapshot("psd", {"f": [0.0], "asd": [0.0]}, {"x": "f", "y": "asd"}, T0 + 5)  # older: not the newest
    assert reader().retrieve_snapshot("psd") == (T0 + 10.0, {"f": [1.0, 2.0, 3.0], "asd": [3.0, None, "a\"b\\c"]},
                                                 {"x": "f", "y": "asd"})
    for data, dims, message in [({"f": [1.0]}, {"x": "f", "y": "g"}, "not a column"),
                                ({"f": [math.nan]}, {"x": "f", "y": "f"}, "finite"),
                                ({"f": [[1.0]]}, {"x": "f", "y": "f"}, "1-dim"),
                                ({"f": [1.0]}, {"x": "f"}, "'x' and 'y'"),
                                ({"f": [1.0]}, {"x": "f", "y": "f", "w": "f"}, "not one of x, y, z")]:
        with pytest.raises(ValueError, match=message):
            agg.store_snapshot("psd", data, dims, T0 + 20)
    with pytest.raises(ValueError, match="finite"):
        agg.store_snapshot("psd", {"f": [1.0]}, {"x": "f", "y": "f"}, math.inf)
    assert reader().retrieve_snapshot("psd")[0] == T0 + 10.0


def test_store_dispatches_like_ligo_scald(store):
    agg, reader = store
    agg.register_schema("lat", "data", "data", tags="job", tag_key="job", aggregate="max")
    agg.store("rows", "lat", {("1",): [{"time": T0 + 0.5, "fields": {"data": 2.0}}]})
    agg.store("columns", "lat", {("1",): {"time": [T0 + 1.5], "fields": {"data": [3.0]}}})
    agg.store("triggers", "trg", [{"end": T0 + 1.0, "far": 1e-4}], far_key="far", time_key="end")
    agg.store("snapshot", "snap", {"a": [1]}, {"x": "a", "y": "a"}, T0)
    agg.flush()
    r = reader()
    assert r.retrieve_timeseries("lat", T0, T0 + 2, "data", tags=("1",)) == ([T0 + 0.5, T0 + 1.5], [2.0, 3.0])
    assert [t["far"] for t in r.retrieve_triggers("trg")] == [1e-4]
    assert r.retrieve_snapshot("snap")[1] == {"a": [1]}
    for error in (ValueError, NotImplementedError):  # ligo-scald raised NotImplementedError
        with pytest.raises(error, match="data_type 'timeseries' is not one of"):
            agg.store("timeseries", "lat", {})


def test_reader_argument_errors(store):
    _, reader = store
    r = reader()
    for kwargs, message in [({"far": "abc"}, "far must be a number"), ({"far": -1.0}, ">= 0"),
                            ({"far": math.nan}, "finite"), ({"start": 10, "end": 5}, "before start"),
                            ({"columns": [1]}, "columns must be names")]:
        with pytest.raises(ValueError, match=message):
            r.retrieve_triggers("trg", **kwargs)


def test_threshold_for_names_ligo_scalds_policies():
    assert [threshold_for(f) for f in (None, 1.0, 1e-2, 5e-3, 1e-3, 2e-7, 1e-7, 1e-9)] == \
        [1e-2, 1e-2, 1e-2, 1e-2, 1e-3, 1e-6, 1e-7, 1e-7]
    assert [f"{f}_hz" for f in FAR_THRESHOLDS] == ["0.01_hz", "0.001_hz", "0.0001_hz", "1e-05_hz", "1e-06_hz",
                                                   "1e-07_hz"]


# ============================================================================================ SQLite file format


def test_a_format_1_file_opens_and_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    agg = sqlite.Aggregator(path=path)
    agg.register_schema("lat", "data")
    agg.store_rows("lat", {(): [{"time": T0, "fields": {"data": 1.0}}]})
    agg.close()
    with sqlite3.connect(path) as conn:  # what scald-monitor wrote before triggers and snapshots
        conn.execute("DROP TABLE triggers")
        conn.execute("DROP TABLE snapshots")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    for reader in (sqlite.Consumer(path=path), LiteConsumer(path=path)):
        assert reader.retrieve_triggers("trg") == [] and reader.retrieve_snapshot("s") == (None, {}, {})
        assert reader.retrieve_timeseries("lat", T0, T0, "data") == ([float(T0)], [1.0])
        reader.close()
    agg = sqlite.Aggregator(path=path)
    agg.store_triggers("trg", [{"end": T0 + 0.5, "far": 1e-3}])
    agg.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == ("1.1",)
    lite = LiteConsumer(path=path)
    assert lite.retrieve_triggers("trg", far=1e-3) == [{"time": float(T0), "end": T0 + 0.5, "far": 1e-3}]
    assert lite.retrieve_timeseries("lat", T0, T0, "data") == ([float(T0)], [1.0])
    lite.close()


def test_an_unknown_format_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "new.db"
    sqlite.Aggregator(path=path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
    with pytest.raises(BackendError, match="storage format 2 is not supported"):
        sqlite.Aggregator(path=path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == ("2",)


# ============================================================================ ligo-scald 0.8.5 on a real influxd


@pytest.fixture
def both(influxd, influx_db):
    """(ligo-scald's Aggregator, ligo-scald's Consumer, our Aggregator, our Consumer) on one database."""
    from ligo.scald.io import influx as theirs

    from scald_monitor.io import influx as ours

    kw = dict(hostname=influxd.host, port=influxd.port, db=influx_db)
    ligo_agg = theirs.Aggregator(**kw)
    our_agg = ours.Aggregator(retry_max=0.2, **kw)
    yield ligo_agg, theirs.Consumer(**kw), our_agg, ours.Consumer(**kw)
    our_agg.close()


COLUMNS = ["end", "far", "snr", "ifo"]


def test_ligo_scald_triggers_and_snapshots_read_by_ours(both):
    ligo_agg, ligo, _, ours = both
    ligo_agg.store_triggers("trg", triggers(), far_key="far", time_key="end")
    ligo_agg.store_snapshot("psd", {"f": [1.0, 2.0], "asd": [5.0, 6.0]}, {"x": "f", "y": "asd"}, T0 + 3)
    for far in FAR_THRESHOLDS:
        theirs = ligo.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=far)
        assert ours.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=far) == theirs
        assert len(theirs) == sum(10.0 ** -(2 * k + 2) <= far for k in range(5)) > 0
    assert ours.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=5e-5) == \
        ligo.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=1e-4)[1:]  # any cut, not only the policies'
    assert ours.retrieve_snapshot("psd") == ligo.retrieve_snapshot("psd") == \
        (T0 + 3.0, {"f": [1.0, 2.0], "asd": [5.0, 6.0]}, {"x": "f", "y": "asd"})


def test_our_triggers_and_snapshots_read_by_ligo_scald(both):
    _, ligo, our_agg, ours = both
    our_agg.store_triggers("trg", triggers())
    our_agg.store_snapshot("psd", {"f": [1.0, 2.0], "asd": ["a", "b"]}, {"x": "f", "y": "asd"}, T0 + 3)
    for far in FAR_THRESHOLDS:
        theirs = ligo.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=far)
        assert theirs == ours.retrieve_triggers("trg", T0 - 10, T0 + 10, COLUMNS, far=far)
        assert [r["far"] for r in theirs] == [10.0 ** -(2 * k + 2) for k in range(5) if 10.0 ** -(2 * k + 2) <= far]
    assert ligo.retrieve_snapshot("psd") == (T0 + 3.0, {"f": [1.0, 2.0], "asd": ["a", "b"]}, {"x": "f", "y": "asd"})


def test_field_types_ligo_scald_chose_are_kept(both):
    """ligo-scald writes Python ints as InfluxDB integers: ours writes into such a field as an integer (a float
    would be refused by influxd and the write lost) and refuses, before writing, a value it cannot hold."""
    ligo_agg, ligo, our_agg, ours = both
    ligo_agg.store_triggers("trg", [{"end": T0 + 0.5, "far": 1e-3, "snr": 8}])
    assert our_agg.store_triggers("trg", [{"end": T0 + 1.5, "far": 1e-3, "snr": 9.0}]) == 1
    with pytest.raises(ValueError, match="integer on the server"):
        our_agg.store_triggers("trg", [{"end": T0 + 2.5, "far": 1e-3, "snr": 9.5}])
    assert [r["snr"] for r in ligo.retrieve_triggers("trg", T0 - 1, T0 + 5, ["snr"], far=1e-2)] == [8, 9]
    assert our_agg.buffered_points == 0
