"""Ad hoc downtimes and acknowledgements: Nagios ack semantics, expiry, persistence, several writer processes."""
from __future__ import annotations

import json
import logging
import multiprocessing
import os

import pytest

from scald_monitor.lifecycle.store import LifecycleStore

OK, WARNING, CRITICAL = 0, 1, 2


@pytest.fixture
def store(tmp_path):
    return LifecycleStore(str(tmp_path / "state.lifecycle.json"), recheck=0)


def test_beside_the_state_file(tmp_path):
    assert LifecycleStore.beside(str(tmp_path / "state.json")) == str(tmp_path / "state.lifecycle.json")
    assert LifecycleStore.beside("/var/lib/scald/state") == "/var/lib/scald/state.lifecycle.json"


def test_non_sticky_ack_ends_on_any_state_change(store):
    store.ack("c", "job=1", comment="on it", author="ann", now=100)
    assert store.acked("c", "job=1", gps=101).author == "ann"
    assert store.on_result("c", "job=1", CRITICAL, CRITICAL) == []  # no change: stays
    assert store.acked("c", "job=1", gps=102) is not None
    cleared = store.on_result("c", "job=1", CRITICAL, WARNING)
    assert [a.comment for a in cleared] == ["on it"]
    assert store.acked("c", "job=1", gps=103) is None


def test_sticky_ack_lasts_until_ok(store):
    store.ack("c", "", comment="known", sticky=True, now=100)
    assert store.on_result("c", "", CRITICAL, WARNING) == []
    assert store.on_result("c", "", WARNING, CRITICAL) == []
    assert store.acked("c", "", gps=101).sticky
    assert len(store.on_result("c", "", CRITICAL, OK)) == 1
    assert store.acks() == []


def test_ack_of_a_state_that_already_changed_ends_at_once(store):
    """The operator acknowledged CRITICAL, but the daemon had already seen WARNING: a non-sticky ack ends."""
    store.ack("c", "", comment="x", state=CRITICAL, now=100)
    assert len(store.on_result("c", "", WARNING, WARNING)) == 1


def test_check_wide_ack_covers_tags_and_own_label_wins(store):
    store.ack("c", "", comment="whole", now=100)
    assert store.acked("c", "job=1", gps=101).comment == "whole"
    store.ack("c", "job=1", comment="mine", now=100)
    assert store.acked("c", "job=1", gps=101).comment == "mine"
    assert store.acked("other", "job=1", gps=101) is None
    # a tag's state change does not end the check-wide ack
    store.on_result("c", "job=2", CRITICAL, WARNING)
    assert store.acked("c", "job=2", gps=101).comment == "whole"


def test_expiry(store):
    store.ack("c", comment="x", expire=200, now=100)
    assert store.acked("c", gps=199) is not None
    assert store.acked("c", gps=200) is None
    assert store.prune(gps=201) == 1 and store.acks() == []
    with pytest.raises(ValueError, match="ack.expire: must be in the future"):
        store.ack("c", comment="x", expire=50, now=100)
    with pytest.raises(ValueError, match="ack.comment: required"):
        store.ack("c", comment="")


def test_unack_and_replace(store):
    store.ack("c", comment="one", now=1)
    store.ack("c", comment="two", now=2)
    assert [a.comment for a in store.acks()] == ["two"]
    assert store.unack("c") is True and store.unack("c") is False


def test_downtimes_add_list_remove_persist(tmp_path, store):
    a = store.add_downtime({"checks": ["c"], "tags": {"job": "1"}, "duration": "2h", "comment": "swap",
                            "author": "bob"}, now=1000)
    b = store.add_downtime({"checks": "*", "weekly": {"day": "tue", "start": "16:00", "end": "20:00"},
                            "comment": "maintenance"}, now=1000)
    assert (a.id, b.id) == ("1", "2")
    assert (a.start, a.end, a.created) == (1000, 1000 + 7200, 1000)
    again = LifecycleStore(store.path, recheck=0)  # a restart, or another process
    assert [d.to_dict() for d in again.downtimes()] == [a.to_dict(), b.to_dict()]
    assert again.downtimes()[0].active(2000) and again.downtimes()[0].matches("c", "job=1")
    assert again.remove_downtime("1") and not again.remove_downtime("1")
    assert [d.id for d in store.downtimes()] == ["2"]  # the first instance sees the other's write
    assert store.add_downtime({"checks": "c", "duration": 60, "comment": "x"}, now=5).id == "3"  # ids not reused
    assert store.prune(gps=10 ** 6) == 1 and [d.id for d in store.downtimes()] == ["2"]  # weekly ones stay
    with pytest.raises(ValueError, match="downtime.comment: required"):
        store.add_downtime({"checks": "c", "duration": 60})
    with pytest.raises(ValueError, match="downtime.checks: required"):
        store.add_downtime({"duration": 60, "comment": "x"})


def test_file_is_json_written_atomically(store):
    store.ack("c", comment="x", now=1)
    data = json.load(open(store.path))
    assert data["format"] == 1 and data["acks"][0]["check"] == "c"
    assert not [f for f in os.listdir(os.path.dirname(store.path)) if f.endswith(".tmp")]


def test_broken_file_keeps_last_good_for_readers_and_refuses_writes(store, caplog):
    store.ack("c", comment="x", now=1)
    assert store.acked("c", gps=2) is not None
    with open(store.path, "w") as f:
        f.write("{not json")
    with caplog.at_level(logging.ERROR, logger="scald_monitor.lifecycle"):
        assert store.acked("c", gps=2) is not None  # last good contents
    assert "not a lifecycle file" in caplog.text
    with pytest.raises(ValueError, match="not a lifecycle file"):
        store.ack("d", comment="y")
    assert open(store.path).read() == "{not json"  # not overwritten


def _writer(path: str, n: int, who: int) -> None:
    s = LifecycleStore(path)
    for i in range(n):
        s.add_downtime({"checks": f"c{who}", "duration": 60, "comment": f"{who}-{i}"}, now=100)
        s.ack(f"c{who}", f"job={i}", comment="x", now=100)


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "l.json")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, 15, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    s = LifecycleStore(path)
    assert sorted(int(d.id) for d in s.downtimes()) == list(range(1, 61))
    assert len(s.acks()) == 60


def test_readers_look_at_the_file_at_most_every_recheck_seconds(tmp_path):
    import time

    reader = LifecycleStore(str(tmp_path / "l.json"), recheck=0.3)
    writer = LifecycleStore(reader.path, recheck=0)
    assert reader.acked("c", gps=1) is None
    writer.ack("c", comment="x", now=0)
    assert reader.acked("c", gps=1) is None  # not looked yet
    time.sleep(0.35)
    assert reader.acked("c", gps=1) is not None
    reader.unack("c")  # its own write: seen at once
    assert reader.acked("c", gps=1) is None
