"""E-mail notifications to a real SMTP server (aiosmtpd on 127.0.0.1; smtplib is not mocked): the message,
login with credentials from the environment, an outage and retry, temporary and permanent refusals."""
from __future__ import annotations

import logging

import pytest

from scald_monitor.lifecycle.events import PROBLEM, RECOVERY, Event
from scald_monitor.lifecycle.notifier import Notifier
from scald_monitor.timeutil import gps_now


@pytest.fixture
def smtp():
    from smtp_fixture import SMTPServer

    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def notifier(server, path, **extra):
    spec = {"type": "email", "smtp": f"{server.host}:{server.port}", "to": ["oncall@example.org", "b@example.org"],
            "from": "scald@example.org", "timeout": 5, **extra}
    return Notifier([spec], str(path), "http://board.example/?check={check}", backoff=0.05, max_backoff=0.2)


def event(kind=PROBLEM, state=2, label="job=0003"):
    return Event(kind, "range_bns", label, state, gps_now(), "range_bns CRITICAL - 1 of 4 jobs",
                 "job=0003 max snr=12 (critical ~:10)\njob=0004 ok", since=gps_now() - 60)


def test_mail_says_what_happened(smtp, tmp_path):
    with notifier(smtp, tmp_path / "q.sqlite") as n:
        n.submit(event())
        n.submit(event(RECOVERY, 0))
        assert n.drain(10) == 0
    assert len(smtp.messages) == 2
    env = smtp.messages[0]
    assert env.mail_from == "scald@example.org" and env.rcpt_tos == ["oncall@example.org", "b@example.org"]
    problem, recovery = smtp.parsed()
    assert problem["Subject"] == "[scald-monitor] PROBLEM: range_bns[job=0003] is CRITICAL"
    assert recovery["Subject"] == "[scald-monitor] RECOVERY: range_bns[job=0003] is OK"
    body = problem.get_content()
    assert "range_bns CRITICAL - 1 of 4 jobs" in body and "job=0004 ok" in body
    assert "Board: http://board.example/?check=range_bns" in body and "Since: " in body
    assert problem["Message-ID"] and problem["Date"]


def test_outage_then_retry_delivers_everything(smtp, tmp_path, caplog):
    smtp.stop()
    with notifier(smtp, tmp_path / "q.sqlite") as n:
        for i in range(4):
            n.submit(event(label=f"job={i}"))
        assert n.drain(0.5) == 4
        assert "Connection refused" in caplog.text
        smtp.start()
        assert n.drain(10) == 0
    assert [m["Subject"].split("[")[2] for m in smtp.parsed()] == [f"job={i}] is CRITICAL" for i in range(4)]


def test_temporary_refusal_is_retried_permanent_is_dropped(smtp, tmp_path, caplog):
    with notifier(smtp, tmp_path / "q.sqlite") as n:
        smtp.refuse = "451 4.3.0 try again later"
        n.submit(event(label="job=1"))
        assert n.drain(0.5) == 1
        smtp.refuse = None
        assert n.drain(10) == 0
        assert len(smtp.messages) == 1
        smtp.refuse = "550 5.1.1 no such user"
        n.submit(event(label="job=2"))
        assert n.drain(10) == 0
        assert len(smtp.messages) == 1 and n.undeliverable == 1
    assert "recipients refused (550" in caplog.text and "rejected for good" in caplog.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback test server only
def test_login_with_credentials_from_env(tmp_path, monkeypatch, caplog):
    from smtp_fixture import SMTPServer

    server = SMTPServer(users={"scald": "pa55-w0rd"})
    server.start()
    caplog.set_level(logging.DEBUG)
    try:
        monkeypatch.setenv("SMTP_USER", "scald")
        monkeypatch.setenv("SMTP_PASS", "wrong")
        with notifier(server, tmp_path / "q.sqlite", username_env="SMTP_USER", password_env="SMTP_PASS") as n:
            n.submit(event())
            assert n.drain(0.5) == 1  # wrong password: 535, kept (a password is fixed without losing mail)
            assert "login refused (SMTP 535)" in caplog.text and server.messages == []
            monkeypatch.setenv("SMTP_PASS", "pa55-w0rd")
            assert n.drain(10) == 0
    finally:
        server.stop()
    assert len(server.messages) == 1 and server.logins == ["scald"]
    assert "pa55-w0rd" not in caplog.text and "wrong" not in caplog.text
