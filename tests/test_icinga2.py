"""End to end against a real Icinga 2 (Debian ``icinga2``, the session's ``icinga`` fixture, tests/icinga_fixture.py):
results sent by ``scald-monitor run --once`` and by the running daemon, read back from Icinga's own
``/v1/objects/services``; the ttl turning a silent service UNKNOWN; wrong credentials, a wrong CA and an Icinga
outage: one log line per failed attempt, and once fixed the current state lands at the next interval.

"No lost results" means (outputs/icinga2.py): results are not queued; every check's current result is sent every
interval, so once the fault is fixed each check's present state reaches Icinga at its next run, with no restart
of the daemon, including a state that began during the outage.

Each test has its own services, named after its own checks (made with ``icinga.add_service``, or for the run --once
test by the config's apply rules), so tests sharing the session's Icinga never see each other's results.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from icinga_fixture import HOST, SCALD_PASSWORD, SCALD_USER, STATIC_CHECKS, STATIC_HEARTBEATS, Icinga2, make_ca
from scald_monitor.io.sqlite import Aggregator
from scald_monitor.outputs import OutputError, icinga2
from scald_monitor.rules.result import CRITICAL, CheckStatus, Perf, Result, TagResult
from scald_monitor.timeutil import gps_now

BIN = os.path.dirname(sys.executable)
MONITOR = shutil.which("scald-monitor", path=BIN) or shutil.which("scald-monitor")
PASSWORD_ENV = "SCALD_TEST_ICINGA_PASSWORD"
DEAD_MAN = "No passive result from scald-monitor within its ttl"  # the template's vars.dummy_text

CONFIG = """
backends:
  default: {{backend: sqlite, path: store.sqlite, timeout: 1}}
schemas:
  good: {{measurement: good_history, column: data}}
  warm: {{measurement: warm_history, column: data}}
  hot: {{measurement: hot_history, column: data}}
checks:
{checks}
outputs:
  state_file: state.json
  host: {host}
  icinga2:
{icinga}
"""

THRESHOLD = """\
  {name}:
    type: threshold
    schema: {schema}
    warning: "~:10"
    critical: "~:20"
    units: s
    interval: {interval}
    expiry: {expiry}
    timeout: 5
"""

HEARTBEAT = """\
  {name}:
    type: heartbeat
    schema: good
    warning: 60
    critical: 120
    interval: {interval}
    expiry: {expiry}
    timeout: 5
"""

#: schema → value fed (WARNING above 10, CRITICAL above 20) and the state it gives
VALUES = {"good": (1.0, 0), "warm": (12.0, 1), "hot": (25.0, 2)}


def write_config(tmp_path: Path, icinga: Icinga2, checks: dict[str, str], interval: float = 60,
                 expiry: float = 180, **icinga_conf) -> Path:
    """Config with ``checks`` (name → schema, or "heartbeat") sending to ``icinga``; ``icinga_conf`` overrides
    url/user/password_env/ca (None drops the key)."""
    text = "".join(
        HEARTBEAT.format(name=name, interval=interval, expiry=expiry) if schema == "heartbeat" else
        THRESHOLD.format(name=name, schema=schema, interval=interval, expiry=expiry)
        for name, schema in checks.items())
    conf = {"url": icinga.base, "user": SCALD_USER, "password_env": PASSWORD_ENV, "ca": str(icinga.ca),
            **icinga_conf}
    block = "".join(f"    {key}: {value}\n" for key, value in conf.items() if value is not None)
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(checks=text, host=HOST, icinga=block.rstrip("\n")))
    return path


def feed(tmp_path: Path, values: dict[str, float] | None = None, span: int = 600) -> None:
    """``span`` seconds of 1 Hz data up to now, one constant value per schema."""
    agg = Aggregator(path=tmp_path / "store.sqlite")
    t = gps_now() - span + 1 + np.arange(float(span))
    for schema, value in (values or {s: v for s, (v, _) in VALUES.items()}).items():
        agg.register_schema(f"{schema}_history", "data")
        agg.store_columns(f"{schema}_history", {"time": t, "fields": {"data": np.full(t.size, value)}})
    agg.close()


def env(password: str = SCALD_PASSWORD) -> dict:
    return {**os.environ, PASSWORD_ENV: password}


def run_once(cfg: Path, password: str = SCALD_PASSWORD) -> subprocess.CompletedProcess:
    out = subprocess.run([MONITOR, "run", "--once", "-c", str(cfg)], capture_output=True, text=True, timeout=120,
                         env=env(password), cwd=cfg.parent)
    assert out.returncode == 0, f"run --once: {out.returncode}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr
    return out


def expected_output(cfg: Path, name: str) -> tuple[str, list[str]]:
    """(plugin_output without perfdata, perfdata items) of ``scald-monitor check NAME`` now."""
    proc = subprocess.run([MONITOR, "check", "-c", str(cfg), name], capture_output=True, text=True, timeout=60,
                          cwd=cfg.parent)
    first, *long_text = proc.stdout.rstrip("\n").split("\n")
    head, _, perf = first.partition(" | ")
    return "\n".join([head, *long_text]), perf.split()


class Daemon:
    """``scald-monitor run`` as a subprocess, its log (stderr) in a file; stopped by its PID."""

    def __init__(self, cfg: Path, password: str = SCALD_PASSWORD):
        self.log_path = cfg.parent / "daemon.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([MONITOR, "run", "-c", str(cfg)], stdout=log, stderr=subprocess.STDOUT,
                                         env=env(password), cwd=cfg.parent)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, count: int = 1, timeout: float = 15) -> list[str]:
        """Wait until ``count`` log lines match ``pattern``; return them."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log().splitlines() if re.search(pattern, line)]
            if len(lines) >= count:
                return lines
            assert self.proc.poll() is None, f"daemon exited {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"{count} x {pattern!r} not logged in {timeout} s:\n{self.log()}"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def daemons():
    started: list[Daemon] = []

    def start(cfg: Path, password: str = SCALD_PASSWORD) -> Daemon:
        d = Daemon(cfg, password)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def assert_one_line_errors(text: str, pattern: str, names) -> list[str]:
    """Every line of a log matching ``pattern`` is a complete log line naming its check; each check has one; no
    traceback; the password never appears."""
    assert "Traceback" not in text, text
    assert SCALD_PASSWORD not in text and "pa55" not in text, text
    lines = [line for line in text.splitlines() if re.search(pattern, line)]
    for line in lines:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ERROR scald_monitor\.daemon: \S+: Icinga 2: ", line), line
    for name in names:
        assert any(line.split(" ERROR scald_monitor.daemon: ")[1].startswith(f"{name}: ") for line in lines), \
            f"no {pattern!r} line for {name}:\n{text}"
    return lines


# ---- the output module against the real API ----------------------------------------------------------------------

def make_status(check: str, state: int = CRITICAL) -> CheckStatus:
    tags = [TagResult("job=0001", state, 25.0, "job=0001 max=25 s"), TagResult("job=0002", 0, 1.5, "")]
    perf = [Perf(t.label, t.value, "s", "~:10", "~:20", 0) for t in tags]
    result = Result(check=check, state=state, summary="1 of 2 jobs above limits", time=time.time() - 0.5,
                    tags=tags, perfdata=perf)
    return CheckStatus(result=result, raw_state=state, state_type="HARD", attempt=1, max_attempts=1,
                       last_change=result.time, last_hard_change=result.time, flapping=False,
                       percent_state_change=0.0)


def conf_for(icinga: Icinga2, **kw) -> dict:
    return {"url": icinga.base, "user": SCALD_USER, "password_env": PASSWORD_ENV, "ca": str(icinga.ca),
            "ttl": None, **kw}


def test_post_result_lands_in_icinga_with_state_output_perfdata_and_ttl(icinga, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, SCALD_PASSWORD)
    icinga.add_service("api_direct")
    status = make_status("api_direct")
    icinga2.post_result(conf_for(icinga), HOST, "api_direct", status, ttl=180)
    attrs = icinga.service("api_direct")
    cr = attrs["last_check_result"]
    assert attrs["state"] == CRITICAL and cr["state"] == CRITICAL  # (exit_status reads 0 in Icinga's record)
    assert cr["output"] == "\n".join([status.result.first_line(), *status.result.long_text])
    assert "\n" in cr["output"] and "|" not in cr["output"]
    assert cr["performance_data"] == [str(p) for p in status.result.perfdata]
    assert cr["ttl"] == 180 and cr["active"] is False
    assert cr["execution_end"] == pytest.approx(status.result.time, abs=1e-3)
    assert cr["check_source"] == icinga2._check_source()

    # outputs.icinga2.ttl replaces the daemon's (the check's expiry), and https://localhost works as well
    icinga2.post_result(conf_for(icinga, ttl=42, url=f"https://localhost:{icinga.port}"), HOST, "api_direct",
                        make_status("api_direct", 0), ttl=180)
    cr = icinga.result("api_direct")
    assert (cr["state"], cr["ttl"]) == (0, 42)


def test_unknown_service_and_missing_permission_are_a_404_with_a_hint(icinga, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, SCALD_PASSWORD)
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(icinga), HOST, "no_such_service", make_status("no_such_service"), ttl=60)
    message = str(excinfo.value)
    assert "HTTP 404" in message and "No objects found" in message and f"{HOST}!no_such_service" in message
    assert "no service 'no_such_service'" in message and "actions/process-check-result" in message

    # an ApiUser without the permission gets the same answer from Icinga (a 404, not a 403)
    icinga.add_service("api_noperm")
    icinga.add_api_user("scald-noperm", SCALD_PASSWORD, permissions=["objects/query/Service"])
    try:
        with pytest.raises(OutputError, match="HTTP 404.*lacks the permission actions/process-check-result"):
            icinga2.post_result(conf_for(icinga, user="scald-noperm"), HOST, "api_noperm",
                                make_status("api_noperm"), ttl=60)
    finally:
        icinga.delete("apiusers", "scald-noperm")
    assert (icinga.result("api_noperm") or {}).get("active", True) is True  # no passive result got in


def test_wrong_password_and_wrong_ca_are_one_clear_line(icinga, monkeypatch, tmp_path):
    monkeypatch.setenv(PASSWORD_ENV, "wrong-" + SCALD_PASSWORD)
    icinga.add_service("api_refused")
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(icinga), HOST, "api_refused", make_status("api_refused"), ttl=60)
    message = str(excinfo.value)
    assert message == (f"HTTP 401 from {icinga.base}/v1/actions/process-check-result: user 'scald' was refused "
                       f"(check outputs.icinga2.user and the password in {PASSWORD_ENV})")

    monkeypatch.setenv(PASSWORD_ENV, SCALD_PASSWORD)
    other_ca, _ = make_ca(tmp_path / "other", "/CN=Some other CA")
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(icinga, ca=str(other_ca)), HOST, "api_refused", make_status("api_refused"),
                            ttl=60)
    message = str(excinfo.value)
    assert message.startswith(f"TLS error talking to {icinga.base}/v1/actions/process-check-result: "
                              "certificate verify failed: "), message
    assert message.endswith(f"(is {other_ca} (outputs.icinga2.ca) the CA that signed Icinga's certificate?)")
    assert "HTTPSConnectionPool" not in message and "\n" not in message

    # no ca: the system CAs (here REQUESTS_CA_BUNDLE) do not know Icinga's own CA
    with pytest.raises(OutputError, match=r"certificate verify failed: .*outputs\.icinga2\.ca is not set"):
        icinga2.post_result(conf_for(icinga, ca=None), HOST, "api_refused", make_status("api_refused"), ttl=60)

    # a CA file that went away, or is not a certificate at all (the config only checks it at start-up)
    gone = tmp_path / "gone.crt"
    with pytest.raises(OutputError, match=rf"^cannot use the CA file {re.escape(str(gone))} \(outputs\.icinga2\.ca\)"
                                          r" for https://\S+: Could not find a suitable TLS CA certificate bundle"):
        icinga2.post_result(conf_for(icinga, ca=str(gone)), HOST, "api_refused", make_status("api_refused"), ttl=60)
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate\n")
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(icinga, ca=str(garbage)), HOST, "api_refused", make_status("api_refused"),
                            ttl=60)
    message = str(excinfo.value)
    assert message.startswith("TLS error talking to ") and str(garbage) in message, message
    assert "\n" not in message and "HTTPSConnectionPool" not in message and "object at 0x" not in message, message
    assert (icinga.result("api_refused") or {}).get("active", True) is True  # nothing got in


def test_timeout_and_connection_refused_with_a_real_icinga(icinga, tmp_path, monkeypatch):
    """A stopped (SIGSTOP) Icinga accepts the TCP connection and never answers; a stopped one refuses it."""
    monkeypatch.setenv(PASSWORD_ENV, SCALD_PASSWORD)
    own = Icinga2(tmp_path / "icinga", icinga.binary, ca=(icinga.ca, icinga.ca_key))
    own.start()
    try:
        os.killpg(own.pid, signal.SIGSTOP)  # our own instance's process group
        try:
            start = time.monotonic()
            with pytest.raises(OutputError) as excinfo:
                icinga2.post_result(conf_for(own), HOST, "x", make_status("x"), ttl=60, timeout=0.5)
            assert time.monotonic() - start < 3
        finally:
            os.killpg(own.pid, signal.SIGCONT)
        assert str(excinfo.value) == f"no answer from {own.base}/v1/actions/process-check-result within 0.5 s " \
                                     f"for {HOST}!x"
    finally:
        own.stop()
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(own), HOST, "x", make_status("x"), ttl=60, timeout=2)
    assert str(excinfo.value) == f"cannot connect to {own.base}/v1/actions/process-check-result: Connection refused"


# ---- scald-monitor run --once ---------------------------------------------------------------------------------------

ONCE_CHECKS = {"once_ok": "good", "once_warn": "warm", "once_crit": "hot", "once_beat": "heartbeat"}


def test_run_once_results_land_in_icinga_with_state_output_and_perfdata(icinga, tmp_path):
    # these services come from the config's apply rules (docs/icinga2.md), not from add_service
    assert set(ONCE_CHECKS) == {*STATIC_CHECKS, *STATIC_HEARTBEATS}
    assert icinga.service("once_beat")["vars"]["dummy_state"] == 2
    cfg = write_config(tmp_path, icinga, ONCE_CHECKS, expiry=90)
    feed(tmp_path)
    t0 = time.time()
    out = run_once(cfg)
    assert "Icinga 2:" not in out.stderr, out.stderr  # nothing to complain about

    printed = {line.split()[1].lower(): line for line in out.stdout.splitlines() if line.startswith("SCALD ")}
    for name, schema in ONCE_CHECKS.items():
        state = 0 if schema == "heartbeat" else VALUES[schema][1]
        attrs = icinga.service(name)
        cr = attrs["last_check_result"]
        assert cr is not None, f"{name}: no result in Icinga"
        assert (attrs["state"], cr["state"], cr["active"], cr["ttl"]) == (state, state, False, 90), (name, cr)
        assert cr["output"].split("\n")[0] == printed[name]  # the line run --once printed
        assert t0 - 1 < cr["execution_end"] < time.time()
        if schema == "heartbeat":
            assert re.fullmatch(r"SCALD ONCE_BEAT OK - .*", cr["output"].split("\n")[0]), cr["output"]
            assert len(cr["performance_data"]) == 1
            assert re.fullmatch(r"'?age'?=[0-9.]+s;60;120;0", cr["performance_data"][0]), cr["performance_data"]
        else:
            output, perf = expected_output(cfg, name)  # constant data: `check` says the same now
            assert cr["output"] == output
            assert cr["performance_data"] == perf and perf


def test_run_once_with_a_wrong_password_logs_one_line_per_check_and_the_next_run_delivers(icinga, tmp_path):
    checks = {"pw_ok": "good", "pw_crit": "hot"}
    for name in checks:
        icinga.add_service(name)
    cfg = write_config(tmp_path, icinga, checks)
    feed(tmp_path)
    run_once(cfg)
    before = {name: icinga.result(name) for name in checks}
    assert [before[n]["state"] for n in checks] == [0, 2]

    out = run_once(cfg, password="wrong-" + SCALD_PASSWORD)  # the run completed: exit 0
    lines = assert_one_line_errors(out.stderr, "HTTP 401", checks)
    assert len(lines) == len(checks), out.stderr
    assert f"user 'scald' was refused (check outputs.icinga2.user and the password in {PASSWORD_ENV})" in lines[0]
    assert "wrong-" not in out.stderr
    assert {name: icinga.result(name) for name in checks} == before  # Icinga kept what it had

    run_once(cfg)  # fixed: the next run delivers the current state
    for name in checks:
        now = icinga.result(name)
        assert now["execution_end"] > before[name]["execution_end"] and now["state"] == before[name]["state"]


def test_run_once_with_a_wrong_or_missing_ca_logs_one_line_per_check(icinga, tmp_path):
    checks = {"ca_ok": "good", "ca_warn": "warm"}
    for name in checks:
        icinga.add_service(name)
    other_ca, _ = make_ca(tmp_path / "other", "/CN=Some other CA")
    feed(tmp_path)
    out = run_once(write_config(tmp_path, icinga, checks, ca=str(other_ca)))
    lines = assert_one_line_errors(out.stderr, "TLS error", checks)
    assert len(lines) == len(checks)
    assert all("certificate verify failed" in line and f"is {other_ca} (outputs.icinga2.ca)" in line
               for line in lines), lines
    out = run_once(write_config(tmp_path, icinga, checks, ca=None))
    lines = assert_one_line_errors(out.stderr, "TLS error", checks)
    assert all("outputs.icinga2.ca is not set" in line for line in lines), lines
    for name in checks:
        assert (icinga.result(name) or {}).get("active", True) is True  # no passive result got in


# ---- the running daemon ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_daemon_resends_every_interval_and_the_ttl_turns_icinga_unknown_when_it_stops(icinga, tmp_path, daemons):
    checks = {"ttl_warn": "warm", "ttl_beat": "heartbeat", "ttl_no_active": "hot"}
    icinga.add_service("ttl_warn")
    icinga.add_service("ttl_beat", heartbeat=True)
    # the control: the template without active checks, which docs/icinga2.md says never notices a silent daemon
    icinga.add_service("ttl_no_active", enable_active_checks=False)
    feed(tmp_path)
    expiry = 3  # = the ttl sent: results every second, Icinga's dead-man fires 3 s after the last one
    daemon = daemons(write_config(tmp_path, icinga, checks, interval=1, expiry=expiry))

    first = {name: icinga.wait_for(name, lambda cr: not cr["active"], timeout=20, what="a passive result")
             for name in checks}
    for name in checks:  # re-sent every interval, not only on changes
        later = icinga.wait_for(name, lambda cr, n=name: cr["execution_end"] >= first[n]["execution_end"] + 1.5,
                                timeout=10, what="a newer result")
        assert not later["active"] and later["ttl"] == expiry
    assert [icinga.result(name)["state"] for name in checks] == [1, 0, 2]

    assert daemon.stop() == 0
    last = {name: icinga.result(name) for name in checks}
    assert all(not cr["active"] for cr in last.values()), last  # still the daemon's, right after it stopped
    for name, state in (("ttl_warn", 3), ("ttl_beat", 2)):  # UNKNOWN; CRITICAL for a heartbeat (template)
        cr = icinga.wait_for(name, lambda cr: cr["active"], timeout=expiry + 10, what="the ttl to expire")
        assert (cr["state"], cr["output"], cr["command"]) == (state, DEAD_MAN, "passive"), cr
        assert icinga.service(name)["state"] == state
        # Icinga ran it at the ttl after it processed the last result, not earlier, not much later
        waited = cr["execution_start"] - last[name]["schedule_end"]
        assert expiry - 0.5 < waited < expiry + 3, waited
    # without active checks the expired ttl changed nothing: the daemon's last result still shows, CRITICAL
    assert icinga.result("ttl_no_active") == last["ttl_no_active"]
    assert icinga.service("ttl_no_active")["state"] == 2
    assert "Icinga 2:" not in daemon.log(), daemon.log()


@pytest.mark.slow
def test_daemon_recovers_from_a_wrong_ca_and_unknown_credentials_at_the_next_interval(icinga, tmp_path, daemons):
    """Both faults at once, fixed where a site fixes them: the CA file is replaced (no restart: it is read for
    every request), then the Icinga admin creates the missing ApiUser. Meanwhile the check went CRITICAL; that
    present state lands at the next interval."""
    checks = {"fix_ok": "good", "fix_to_crit": "warm"}
    for name in checks:
        icinga.add_service(name)
    ca_file = tmp_path / "icinga-ca.crt"
    shutil.copy(make_ca(tmp_path / "other", "/CN=Some other CA")[0], ca_file)
    cfg = write_config(tmp_path, icinga, checks, interval=1, expiry=60, user="scald-late", ca=str(ca_file))
    feed(tmp_path, {"good": 1.0, "warm": 12.0})
    daemon = daemons(cfg)

    assert_one_line_errors("\n".join(daemon.wait_log(r"fix_to_crit: Icinga 2: TLS error", count=2)),
                           "TLS error", ["fix_to_crit"])  # retried every interval
    feed(tmp_path, {"warm": 25.0}, span=3)  # the check goes CRITICAL during the outage
    daemon.wait_log(r"state change: .*fix_to_crit.*CRITICAL")

    tmp = ca_file.with_suffix(".new")
    shutil.copy(icinga.ca, tmp)
    os.replace(tmp, ca_file)  # the operator installs the right CA
    lines = daemon.wait_log(r"Icinga 2: HTTP 401", count=2)  # the next fault shows, at the next interval
    assert all("user 'scald-late' was refused" in line for line in lines), lines
    for name in checks:
        assert (icinga.result(name) or {}).get("active", True) is True  # nothing got in so far

    icinga.add_api_user("scald-late", SCALD_PASSWORD)  # the Icinga admin creates the user
    try:
        t0 = time.monotonic()
        for name, state in (("fix_ok", 0), ("fix_to_crit", 2)):
            cr = icinga.wait_for(name, lambda cr: not cr["active"], timeout=10, what="the first passive result")
            assert cr["state"] == state and cr["output"].startswith(f"SCALD {name.upper()} "), cr
        delay = time.monotonic() - t0
        assert delay < 5, delay  # interval 1 s (+ jitter and the CLI's speed)
        for name in checks:
            daemon.wait_log(rf"accepts results for {HOST}!{name} again \(\d+ failed attempts since ")
        log = daemon.log()
        assert_one_line_errors(log, r"Icinga 2: (TLS error|HTTP 401)", checks)
        assert daemon.stop() == 0
    finally:
        icinga.delete("apiusers", "scald-late")


@pytest.mark.slow
def test_daemon_carries_on_through_an_icinga_outage(icinga, tmp_path, daemons):
    """Icinga stopped under a running daemon (own instance: the session's stays up): 'cannot connect' once per
    attempt; once it is back, the next interval's results land without a restart of the daemon."""
    own = Icinga2(tmp_path / "icinga", icinga.binary, ca=(icinga.ca, icinga.ca_key))
    own.start()
    try:
        own.add_service("outage_warn")
        feed(tmp_path)
        daemon = daemons(write_config(tmp_path, own, {"outage_warn": "warm"}, interval=1, expiry=60))
        before = own.wait_for("outage_warn", lambda cr: not cr["active"], timeout=20, what="a passive result")
        own.stop()
        lines = daemon.wait_log(r"outage_warn: Icinga 2: cannot connect", count=2)
        assert all(line.endswith(f"cannot connect to {own.base}/v1/actions/process-check-result: Connection refused")
                   for line in lines), lines
        assert own.start() < 10
        cr = own.wait_for("outage_warn", lambda cr: cr["execution_end"] > before["execution_end"] + 1, timeout=10,
                          what="a result after the outage")
        assert cr["state"] == 1 and not cr["active"]
        daemon.wait_log(rf"accepts results for {HOST}!outage_warn again")
        assert daemon.stop() == 0
    finally:
        own.stop()
