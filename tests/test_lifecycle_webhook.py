"""Webhook notifications to a local http.server receiver: delivery, secrets from env, outage + retry, restarts,
permanent refusals, and the bounded queue dropping its oldest items with a logged count."""
from __future__ import annotations

import logging
import re
import time

import pytest

from scald_monitor.lifecycle.events import PROBLEM, RECOVERY, Event
from scald_monitor.lifecycle.notifier import Notifier
from scald_monitor.timeutil import gps_now

SECRET = "Bearer s3cr3t-token-value"


@pytest.fixture
def hook():
    from webhook_fixture import WebhookReceiver

    r = WebhookReceiver()
    r.start()
    try:
        yield r
    finally:
        r.stop()


def notifier(hook, path, **kw):
    spec = {"type": "webhook", "url": hook.url, "headers_env": {"Authorization": "HOOK_TOKEN"},
            "headers": {"X-Site": "llo"}, "timeout": 2}
    return Notifier([spec], str(path), kw.pop("board", "http://board.example/"), backoff=0.05, max_backoff=0.2,
                    **kw)


def event(i=0, kind=PROBLEM, state=2):
    return Event(kind, "range_bns", f"job={i:04d}", state, gps_now(), f"summary {i}", f"text {i}")


def test_delivers_the_event_as_json_with_headers_from_env(hook, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    caplog.set_level(logging.DEBUG)
    with notifier(hook, tmp_path / "q.sqlite") as n:
        n.submit(event(3))
        n.submit(event(3, RECOVERY, 0))
        assert n.drain(10) == 0
        assert n.stats()["targets"][f"webhook:{hook.url}"]["delivered"] == 2
    first, second = hook.received
    assert first["headers"]["Authorization"] == SECRET and first["headers"]["X-Site"] == "llo"
    assert first["headers"]["Content-Type"] == "application/json"
    body = first["body"]
    assert {k: body[k] for k in ("kind", "check", "label", "state", "state_name", "tags", "summary", "text")} == {
        "kind": "problem", "check": "range_bns", "label": "job=0003", "state": 2, "state_name": "CRITICAL",
        "tags": {"job": "0003"}, "summary": "summary 3", "text": "text 3"}
    assert body["title"] == "PROBLEM: range_bns[job=0003] is CRITICAL" and body["board_url"] == "http://board.example/"
    assert second["body"]["kind"] == "recovery"
    assert "s3cr3t" not in caplog.text


def test_outage_then_retry_delivers_everything_in_order(hook, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    hook.stop()
    with notifier(hook, tmp_path / "q.sqlite") as n:
        for i in range(20):
            n.submit(event(i))
        time.sleep(0.5)
        assert n.queue.count() == 20 and hook.received == []
        assert "retry" in caplog.text and "20 notification(s) queued" in caplog.text
        hook.start()
        assert n.drain(10) == 0
    assert [b["label"] for b in hook.bodies()] == [f"job={i:04d}" for i in range(20)]
    assert "s3cr3t" not in caplog.text


def test_queue_survives_a_daemon_restart(hook, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    hook.stop()
    n = notifier(hook, tmp_path / "q.sqlite")
    for i in range(5):
        n.submit(event(i))
    assert n.drain(0.3) == 5  # `run --once` gives up after its timeout: they stay queued
    n.close()
    hook.start()
    with notifier(hook, tmp_path / "q.sqlite") as n:
        assert n.last_sent("range_bns", "job=0004").kind == PROBLEM  # remembered across the restart
        assert n.drain(10) == 0
    assert len(hook.received) == 5


def test_server_errors_are_retried_and_client_errors_dropped(hook, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    with notifier(hook, tmp_path / "q.sqlite") as n:
        hook.fail_next(3, 503)
        n.submit(event(1))
        assert n.drain(10) == 0
        assert len(hook.received) == 1 and hook.attempts == 4
        hook.fail_next(1, 401)  # credentials: the site fixes them, nothing is lost meanwhile
        n.submit(event(1, RECOVERY, 0))
        assert n.drain(10) == 0
        hook.fail_next(1, 400)
        n.submit(event(2))
        n.submit(event(3))
        assert n.drain(10) == 0
    assert [(b["label"], b["kind"]) for b in hook.bodies()] == [("job=0001", "problem"), ("job=0001", "recovery"),
                                                                  ("job=0003", "problem")]
    assert "HTTP 400" in caplog.text and "rejected for good: 1 notification dropped" in caplog.text


def test_missing_secret_keeps_it_queued_and_names_the_variable(hook, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    with notifier(hook, tmp_path / "q.sqlite") as n:
        n.submit(event(1))
        assert n.drain(0.3) == 1
        assert "environment variable HOOK_TOKEN is not set" in caplog.text
        monkeypatch.setenv("HOOK_TOKEN", SECRET)
        assert n.drain(10) == 0
    assert len(hook.received) == 1


def test_full_queue_drops_the_oldest_with_a_logged_count(hook, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    hook.stop()
    with Notifier([{"type": "webhook", "url": hook.url}], str(tmp_path / "q.sqlite"), max_items=5,
                  backoff=60) as n:
        n.submit(event(0))
        deadline = time.monotonic() + 5
        while not n.stats()["targets"][f"webhook:{hook.url}"]["failed_attempts"]:  # first try failed: backing off
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for i in range(1, 12):
            n.submit(event(i))
        n.flush()
        assert n.queue.count() == 5 and n.stats()["dropped"] == 7
        n.queue.flush_log()
        logged = sum(int(m) for m in re.findall(r"dropped the (\d+) oldest", caplog.text))
        assert logged == 7  # every drop is in the log, with its count
        hook.start()
        assert n.drain(10) == 0
    assert [b["label"] for b in hook.bodies()] == [f"job={i:04d}" for i in range(7, 12)]  # the newest kept


def test_one_target_down_does_not_hold_up_another(hook, tmp_path, monkeypatch):
    from webhook_fixture import WebhookReceiver

    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    down = WebhookReceiver()  # never started: connection refused
    specs = [{"type": "webhook", "url": down.url, "name": "down"}, {"type": "webhook", "url": hook.url, "name": "up"}]
    with Notifier(specs, str(tmp_path / "q.sqlite"), backoff=0.05, max_backoff=0.2) as n:
        for i in range(3):
            n.submit(event(i))
        deadline = time.monotonic() + 10
        while len(hook.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(hook.received) == 3
        assert n.queue.count("down") == 3 and n.stats()["targets"]["down"]["last_error"]


def test_items_being_sent_are_not_the_ones_dropped(tmp_path):
    from scald_monitor.lifecycle.queue import DiskQueue

    q = DiskQueue(str(tmp_path / "q.sqlite"), max_items=3)
    q.put([("t", {"n": i}) for i in range(3)])
    (first,) = q.peek("t", 1, claim=True)  # in flight: it may still arrive
    assert q.put([("t", {"n": 3})]) == 1
    assert [p["n"] for _, p in q.peek("t", 10)] == [0, 2, 3]
    q.remove([first[0]])
    assert q.count() == 2 and q.dropped_total == 1
    q.close()
