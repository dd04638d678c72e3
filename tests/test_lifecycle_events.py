"""Which events notify (events.decide / derive), and the notification specs' validation."""
from __future__ import annotations

import pytest

from scald_monitor.lifecycle.events import (FLAPPING_START, FLAPPING_STOP, PROBLEM, RECOVERY, Event, Sent, decide,
                                            derive)
from scald_monitor.lifecycle.transports import AlertmanagerTransport, parse_notifications

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


def ev(kind=PROBLEM, state=CRITICAL, time=1000.0):
    return Event(kind, "c", "job=1", state, time, "summary", "long")


@pytest.mark.parametrize("event,down,acked,last,renotify,expected", [
    # a new problem notifies; the same problem again does not
    (ev(), False, False, None, 0, True),
    (ev(), False, False, Sent(PROBLEM, CRITICAL, 900), 0, False),
    (ev(), False, False, Sent(PROBLEM, WARNING, 900), 0, True),  # WARNING -> CRITICAL
    (ev(), False, False, Sent(RECOVERY, OK, 900), 0, True),
    # never while in downtime or acknowledged
    (ev(), True, False, None, 0, False),
    (ev(), False, True, None, 0, False),
    (ev(FLAPPING_START), True, False, None, 0, False),
    (ev(FLAPPING_START), False, False, Sent(PROBLEM, CRITICAL, 900), 0, True),
    (ev(FLAPPING_STOP), False, True, None, 0, False),
    # renotify: off by default, else every N s while the problem lasts, and not while acknowledged
    (ev(time=1000), False, False, Sent(PROBLEM, CRITICAL, 100), 0, False),
    (ev(time=1000), False, False, Sent(PROBLEM, CRITICAL, 100), 900, True),
    (ev(time=1000), False, False, Sent(PROBLEM, CRITICAL, 101), 900, False),
    (ev(time=1000), False, True, Sent(PROBLEM, CRITICAL, 100), 900, False),
    # recoveries close what was notified, even in downtime; a problem never notified recovers quietly
    (ev(RECOVERY, OK), False, False, Sent(PROBLEM, CRITICAL, 900), 0, True),
    (ev(RECOVERY, OK), True, True, Sent(PROBLEM, CRITICAL, 900), 0, True),
    (ev(RECOVERY, OK), False, False, None, 0, False),
    (ev(RECOVERY, OK), False, False, Sent(RECOVERY, OK, 900), 0, False),
])
def test_decide(event, down, acked, last, renotify, expected):
    assert decide(event, down, acked, last, renotify) is expected


def test_renotify_marks_repeat():
    e = ev(time=2000)
    assert decide(e, False, False, Sent(PROBLEM, CRITICAL, 100), 60)
    assert e.repeat and e.title() == "PROBLEM (repeated): c[job=1] is CRITICAL"


def test_derive_is_level_triggered():
    assert [e.kind for e in derive("c", "", CRITICAL, time=1)] == [PROBLEM]
    assert [e.kind for e in derive("c", "", OK, time=1)] == [RECOVERY]
    assert [e.kind for e in derive("c", "", WARNING, True, False, time=1)] == [FLAPPING_START, PROBLEM]
    assert [e.kind for e in derive("c", "", OK, False, True, time=1)] == [FLAPPING_STOP, RECOVERY]


def test_a_problem_that_began_in_downtime_notifies_when_it_ends():
    last = None
    for down in (True, True, False, False):
        (e,) = derive("c", "", CRITICAL, time=1)
        if decide(e, down, False, last):
            last = Sent(e.kind, e.state, e.time)
            sent_when = down
    assert last is not None and sent_when is False


def test_event_round_trip_and_title():
    e = Event(PROBLEM, "range_bns", "job=0003", CRITICAL, 5.0, "s", "t", since=4.0)
    d = e.to_dict()
    assert d["tags"] == {"job": "0003"} and d["state_name"] == "CRITICAL"
    assert Event.from_dict(d) == e
    assert e.title() == "PROBLEM: range_bns[job=0003] is CRITICAL"
    with pytest.raises(ValueError, match="event kind"):
        Event("bogus", "c", "", 0, 0)


def test_parse_notifications_defaults_and_names():
    specs = parse_notifications([
        {"type": "alertmanager", "url": ["http://a:9093/", "http://b:9093"]},
        {"type": "webhook", "url": "https://chat.example.org/hooks/abc", "headers_env": {"Authorization": "HOOK_TOKEN"}},
        {"type": "email", "smtp": "127.0.0.1:25", "to": "oncall@example.org"},
    ])
    assert [s["name"] for s in specs] == ["alertmanager:http://a:9093/", "alertmanager:http://b:9093",
                                          "webhook:https://chat.example.org/hooks/abc",
                                          "email:127.0.0.1:25:oncall@example.org"]
    assert specs[0]["url"] == "http://a:9093" and specs[0]["resend_interval"] == 60 and specs[0]["instance"] == \
        "scald-monitor"
    assert specs[3]["port"] == 25 and specs[3]["to"] == ["oncall@example.org"]
    assert parse_notifications(None) == []


@pytest.mark.parametrize("entry,message", [
    ({"type": "pager"}, "notifications[0].type: must be one of alertmanager, webhook, email"),
    ({"type": "alertmanager"}, "notifications[0].url: required"),
    ({"type": "alertmanager", "url": "127.0.0.1:9093"}, "notifications[0].url: must be an http"),
    ({"type": "alertmanager", "url": "http://a", "labels": {"severity": "x"}}, "notifications[0].labels.severity"),
    ({"type": "alertmanager", "url": "http://a", "resend_interval": 0}, "notifications[0].resend_interval"),
    ({"type": "webhook", "url": "http://a", "headers_env": {"Authorization": "not a var"}},
     "notifications[0].headers_env.Authorization"),
    ({"type": "webhook", "url": "http://a", "token": "x"}, "notifications[0].token: unknown key"),
    ({"type": "email", "to": ["a@b"]}, "notifications[0].smtp: required"),
    ({"type": "email", "smtp": "h:x", "to": ["a@b"]}, "notifications[0].smtp: 'h:x' is not HOST:PORT"),
    ({"type": "email", "smtp": "h", "to": []}, "notifications[0].to: required"),
    ({"type": "email", "smtp": "h", "to": ["a@b"], "username_env": "U"}, "username_env and password_env go together"),
    ({"type": "email", "smtp": "h", "to": ["a@b"], "starttls": "yes"}, "notifications[0].starttls"),
])
def test_parse_notifications_errors_name_the_key(entry, message):
    with pytest.raises(ValueError) as info:
        parse_notifications([entry])
    assert message in str(info.value)


def test_duplicate_targets_refused():
    with pytest.raises(ValueError, match="different name"):
        parse_notifications([{"type": "webhook", "url": "http://a"}] * 2)


def test_alertmanager_labels():
    (spec,) = parse_notifications([{"type": "alertmanager", "url": "http://a", "instance": "llo",
                                    "labels": {"site": "LLO"}}])
    t = AlertmanagerTransport(spec, "http://board/?check={check}")
    labels = t.labels({"check": "range_bns", "label": "job=0003,severity=x,ifo-name=H1", "state": WARNING})
    assert labels == {"alertname": "range_bns", "job": "0003", "tag_severity": "x", "ifo_name": "H1",
                      "severity": "warning", "instance": "llo", "site": "LLO"}
