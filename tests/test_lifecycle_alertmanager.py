"""Notifications through a real Prometheus Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1.

Nothing is mocked: the Notifier posts to /api/v2/alerts and the tests read GET /api/v2/alerts back.
"""
from __future__ import annotations

import datetime as dt
import time

import pytest

from scald_monitor.lifecycle.events import PROBLEM, RECOVERY, Event, decide, derive
from scald_monitor.lifecycle.notifier import Notifier
from scald_monitor.lifecycle.store import LifecycleStore
from alertmanager_fixture import running_alertmanager
from scald_monitor.lifecycle.windows import active_downtime, parse_downtime
from scald_monitor.timeutil import gps_now, gps_to_unix

OK, WARNING, CRITICAL = 0, 1, 2
BOARD = "http://board.example/?check={check}"


am = pytest.fixture(name="am")(running_alertmanager)


def notifier(am, path, **kw):
    spec = {"type": "alertmanager", "url": am.base, "instance": "site-a", "resend_interval": kw.pop("resend", 60)}
    return Notifier([spec], str(path), BOARD, backoff=0.05, max_backoff=0.3, **kw)


def problem(state=CRITICAL, label="job=0003", t=None, since=None):
    t = gps_now() if t is None else t
    return Event(PROBLEM, "range_bns", label, state, t, "range_bns CRITICAL - 1 of 4 jobs",
                 "job=0003 max snr=12 (critical ~:10)", since=since if since is not None else t - 30)


def recovery(label="job=0003"):
    return Event(RECOVERY, "range_bns", label, OK, gps_now(), "range_bns OK", "")


def parse_iso(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_alert_appears_with_labels_annotations_and_bounded_end(am, tmp_path):
    n = notifier(am, tmp_path / "q.sqlite", resend=30)
    try:
        ev = problem()
        n.submit(ev)
        assert n.drain(10) == 0
    finally:
        n.close()
    (alert,) = am.alerts()
    assert alert["labels"] == {"alertname": "range_bns", "job": "0003", "severity": "critical",
                               "instance": "site-a"}
    assert alert["annotations"] == {"summary": "range_bns CRITICAL - 1 of 4 jobs",
                                    "description": "job=0003 max snr=12 (critical ~:10)"}
    assert alert["generatorURL"] == "http://board.example/?check=range_bns"
    assert alert["status"]["state"] == "active"
    assert parse_iso(alert["startsAt"]) == pytest.approx(gps_to_unix(ev.since), abs=0.01)
    ends = parse_iso(alert["endsAt"]) - time.time()
    assert 60 < ends <= 4 * 30 + 1  # bounded, about 4 x resend_interval ahead


def test_resolves_on_recovery_and_severity_change_keeps_one_alert(am, tmp_path):
    n = notifier(am, tmp_path / "q.sqlite")
    try:
        n.submit(problem(WARNING))
        assert n.drain(10) == 0
        assert [a["labels"]["severity"] for a in am.alerts()] == ["warning"]
        n.submit(problem(CRITICAL))
        assert n.drain(10) == 0
        assert [a["labels"]["severity"] for a in am.alerts()] == ["critical"]  # the warning one was resolved
        n.submit(recovery())
        assert n.drain(10) == 0
        assert am.alerts() == []
    finally:
        n.close()


def daemon_step(n, store, downtimes, hard_state, now, label="job=0003", old=None, renotify=0):
    """What the daemon does for one label after its state machine ran (see scald_monitor.lifecycle)."""
    if old is not None:
        store.on_result("range_bns", label, old, hard_state)
    down = active_downtime(downtimes + store.downtimes(), "range_bns", label, now) is not None
    sent = []
    for e in derive("range_bns", label, hard_state, time=now, summary="s", text="t", since=now - 10):
        if decide(e, down, store.acked("range_bns", label, now) is not None, n.last_sent("range_bns", label),
                  renotify):
            n.submit(e)
            sent.append(e.kind)
    return sent


def severities(am):
    return sorted(a["labels"]["severity"] for a in am.alerts())


def test_not_sent_in_downtime_or_after_ack(am, tmp_path):
    store = LifecycleStore(str(tmp_path / "state.lifecycle.json"))
    n = notifier(am, tmp_path / "q.sqlite")
    now = gps_now() - 100
    downtimes = [parse_downtime({"name": "maint", "checks": ["range_*"], "start": now - 60, "end": now + 5})]
    try:
        # in downtime: evaluated (the daemon records the state) but nothing is sent
        assert daemon_step(n, store, downtimes, CRITICAL, now) == []
        assert n.drain(5) == 0 and am.alerts() == []
        # the downtime ends while the problem lasts: it is notified then
        assert daemon_step(n, store, downtimes, CRITICAL, now + 6) == [PROBLEM]
        assert n.drain(10) == 0 and severities(am) == ["critical"]
        assert daemon_step(n, store, downtimes, OK, now + 7, old=CRITICAL) == [RECOVERY]
        assert n.drain(10) == 0 and am.alerts() == []

        # a WARNING is notified and re-notified every 2 s ... until it is acknowledged (non-sticky)
        assert daemon_step(n, store, downtimes, WARNING, now + 8, old=OK, renotify=2) == [PROBLEM]
        assert daemon_step(n, store, downtimes, WARNING, now + 10, old=WARNING, renotify=2) == [PROBLEM]
        store.ack("range_bns", "job=0003", comment="on it", author="ann", state=WARNING, now=now + 10.5)
        assert daemon_step(n, store, downtimes, WARNING, now + 12, old=WARNING, renotify=2) == []
        assert daemon_step(n, store, downtimes, WARNING, now + 14, old=WARNING, renotify=2) == []
        # WARNING -> CRITICAL ends a non-sticky acknowledgement: CRITICAL is notified
        assert daemon_step(n, store, downtimes, CRITICAL, now + 15, old=WARNING) == [PROBLEM]
        assert n.drain(10) == 0 and severities(am) == ["critical"]
        # a sticky acknowledgement holds through CRITICAL -> WARNING: nothing sent, Alertmanager unchanged
        store.ack("range_bns", "job=0003", comment="known", sticky=True, now=now + 16)
        assert daemon_step(n, store, downtimes, WARNING, now + 17, old=CRITICAL) == []
        assert n.drain(5) == 0 and severities(am) == ["critical"]
        # ... until OK: the recovery closes the alert and ends the acknowledgement
        assert daemon_step(n, store, downtimes, OK, now + 18, old=WARNING) == [RECOVERY]
        assert n.drain(10) == 0 and am.alerts() == [] and store.acks() == []

        # acknowledged during a downtime (sticky): still quiet after the downtime ends
        downtimes = [parse_downtime({"checks": "*", "start": now + 19, "end": now + 21})]
        assert daemon_step(n, store, downtimes, CRITICAL, now + 20, old=OK) == []
        store.ack("range_bns", "job=0003", comment="cabling", sticky=True, now=now + 20.5)
        assert daemon_step(n, store, downtimes, CRITICAL, now + 22, old=CRITICAL) == []
        assert n.drain(5) == 0 and am.alerts() == []
    finally:
        n.close()


def test_survives_an_alertmanager_restart_in_the_middle(am, tmp_path):
    """A's alert is delivered, Alertmanager goes down (and forgets it: alerts live in its memory), B is queued
    meanwhile — across a daemon restart too — and when Alertmanager is back both alerts are there."""
    q = tmp_path / "q.sqlite"
    n = notifier(am, q, resend=1)
    try:
        n.submit(problem(label="job=A"))
        assert n.drain(10) == 0
        am.stop()
        n.submit(problem(label="job=B"))
        assert n.drain(0.5) == 1  # could not be delivered: stays queued
    finally:
        n.close()
    n = notifier(am, q, resend=1)  # the daemon restarted too; the queue and the firing alerts are on disk
    try:
        assert n.queue.count() == 1
        am.start()
        assert n.drain(10) == 0
        deadline = time.monotonic() + 5
        while len(am.alerts()) < 2 and time.monotonic() < deadline:  # A comes back with the next re-post
            time.sleep(0.1)
        assert sorted(a["labels"]["job"] for a in am.alerts()) == ["A", "B"]
    finally:
        n.close()


@pytest.mark.slow
def test_two_daemons_one_alert_and_it_stays_firing_when_one_stops(am, tmp_path):
    """An HA pair: two Notifiers (own queues) send the same alerts; Alertmanager deduplicates by label set.
    With resend_interval 0.5 s a post is good for 2 s: after 3.5 s only the survivor's re-posts keep it firing,
    and once both stop it resolves by itself."""
    now = gps_now()
    n1, n2 = notifier(am, tmp_path / "q1.sqlite", resend=0.5), notifier(am, tmp_path / "q2.sqlite", resend=0.5)
    try:
        n1.submit(problem(t=now, since=now - 30))
        n2.submit(problem(t=now + 0.3, since=now - 29.7))  # the other host evaluates a little later
        assert n1.drain(10) == 0 and n2.drain(10) == 0
        (alert,) = am.alerts()
        assert parse_iso(alert["startsAt"]) == pytest.approx(gps_to_unix(now - 30), abs=0.01)  # earliest kept
        n1.close()  # daemon 1 is killed
        time.sleep(3.5)
        alerts = am.alerts()
        assert len(alerts) == 1 and alerts[0]["status"]["state"] == "active"
    finally:
        n1.close()
        n2.close()
    deadline = time.monotonic() + 5
    while am.alerts() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert am.alerts() == []  # no daemon asserts it any more: it ended at its bounded endsAt


def test_bad_request_is_dropped_not_retried_for_ever(am, tmp_path, caplog):
    """Alertmanager answers 400 for an invalid label name (a queue written by some other version, say); that
    item is logged and dropped and the next one is delivered."""
    n = notifier(am, tmp_path / "q.sqlite")
    try:
        bad = {"fire": {"labels": {"alertname": "x", "bad-name": "y"}, "startsAt": gps_now()}, "resolve": [],
               "at": gps_now()}
        n.queue.put([(n._targets[0].transport.name, bad)])
        n.submit(problem())
        assert n.drain(10) == 0
        assert len(am.alerts()) == 1 and n.undeliverable == 1
        assert "HTTP 400" in caplog.text and "rejected for good" in caplog.text
    finally:
        n.close()
