"""IGWN's real ``check_json`` (PyPI ``igwn-monitor[check-json]``, a test dependency) reading status files we wrote:
what LIGO's Icinga runs against our documents. Fresh documents give our state as exit code and our text; expired
ones give the stale state. ``check_json`` missing is a failure, not a skip: CI installs it."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from scald_monitor.config import make_check
from scald_monitor.outputs.status import status_document, unknown_document, write_status
from scald_monitor.rules.result import CRITICAL, OK, UNKNOWN, WARNING, CheckStatus, Perf, Result, TagResult

THRESHOLD = make_check("thresh", {
    "type": "threshold", "schema": "latency", "interval": 60, "warning": "~:10", "critical": "~:20", "units": "s",
    "aggregate": "max", "column": "data", "lookback": 300, "per_tag": True,
})
HEARTBEAT = make_check("beat", {"type": "heartbeat", "schema": "latency", "interval": 30, "warning": 60,
                                "critical": 180})
LEAP_LIST = "/usr/share/zoneinfo/leap-seconds.list"


@pytest.fixture(scope="module")
def check_json(tmp_path_factory):
    """Runs ``check_json -u <file>`` with cache and log dirs (and gpstime's leap-second cache) in a temp dir."""
    exe = shutil.which("check_json")
    if exe is None:
        pytest.fail("check_json not found: pip install 'igwn-monitor[check-json]' (needs libkrb5-dev to build gssapi)")
    base = tmp_path_factory.mktemp("check_json")
    env = {**os.environ, "XDG_CACHE_HOME": str(base / "xdg")}
    # gpstime tries to download a fresh leap-second list when the system's copy has expired (noise on stderr and
    # a network attempt); a private copy with a far expiry date keeps it offline.
    if os.path.exists(LEAP_LIST):
        (base / "xdg" / "gpstime").mkdir(parents=True)
        with open(LEAP_LIST, encoding="ascii") as src:
            text = re.sub(r"(?m)^#@.*$", "#@\t4102444800", src.read())
        (base / "xdg" / "gpstime" / "leap-seconds.list").write_text(text)

    def run(path: str) -> tuple[int, str]:
        proc = subprocess.run([exe, "-u", path, "-c", str(base / "cache"), "-l", str(base / "log"), "-t", "10"],
                              capture_output=True, text=True, env=env, timeout=60)
        return proc.returncode, proc.stdout

    return run


def plain(stdout: str) -> list[str]:
    """check_json's output with its HTML wrapping removed (the legend's <font> tags make it HTML)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in stdout.splitlines()]


def make_status(state: int, name: str = "latency") -> CheckStatus:
    tags = [TagResult("job=0001", OK, 3.0, "job=0001 max=3 s")]
    if state in (WARNING, CRITICAL):
        tags += [TagResult("job=0002", WARNING, 12.0, "job=0002 max=12 s is above 10")]
    if state == CRITICAL:
        tags += [TagResult("job=0003", CRITICAL, 25.0, "job=0003 max=25 s is above 20")]
    result = Result(check=name, state=state, summary=f"summary for state {state}", time=time.time(), tags=tags,
                    perfdata=[Perf(t.label, t.value, "s", "~:10", "~:20", 0) for t in tags])
    return CheckStatus(result=result, raw_state=state)


def run_all(check_json, paths):
    with ThreadPoolExecutor(4) as pool:  # each run is ~0.5 s of Python start-up; run them side by side
        return list(pool.map(check_json, paths))


def test_fresh_documents_exit_with_our_state_and_text(tmp_path, check_json):
    statuses = {state: make_status(state, f"check{state}") for state in (OK, WARNING, CRITICAL, UNKNOWN)}
    paths = [write_status(str(tmp_path / "status"), s.result.check, status_document(s, THRESHOLD, time.time()))
             for s in statuses.values()]
    for (state, status), (code, stdout) in zip(statuses.items(), run_all(check_json, paths)):
        lines = plain(stdout)
        result = status.result
        assert code == state, stdout
        long_text = result.long_text
        # long text on lines of their own; the perfdata check_json appends after the last text line
        text, _, perf = "\n".join(lines[:1 + len(long_text)]).partition("|")
        assert text.split("\n") == [result.first_line(), *long_text]
        assert perf.split() == [f"'{p.label.replace('=', '_')}'={str(p).split('=', 1)[1]};" for p in result.perfdata]
        assert "Author: scald-monitor" in lines
        assert any(line.strip().startswith("OK: max of data over 300 s") for line in lines)


def test_expired_documents_report_the_stale_state(tmp_path, check_json):
    cases = [
        ("thresh", THRESHOLD, UNKNOWN),
        ("beat", HEARTBEAT, CRITICAL),
        ("custom", THRESHOLD.replace(stale_state=1, expiry=600), WARNING),
    ]
    paths = []
    for name, check, _ in cases:
        expiry = check.expiry
        created = time.time() - expiry - 30  # written by a daemon that stopped EXPIRY + 30 s ago
        paths.append(write_status(str(tmp_path / "status"), name,
                                  status_document(make_status(OK, name), check, created)))
    # just inside the validity window: still the real state
    near = write_status(str(tmp_path / "status"), "near",
                        status_document(make_status(CRITICAL, "near"), THRESHOLD, time.time() - 170))
    results = run_all(check_json, paths + [near])
    for (name, _, stale), (code, stdout) in zip(cases, results):
        assert code == stale, stdout
        assert f"{name} is not updating" in plain(stdout)[0]
    assert results[-1][0] == CRITICAL, results[-1][1]


def test_unknown_document_and_schema_acceptance(tmp_path, check_json):
    path = write_status(str(tmp_path / "status"), "beat",
                        unknown_document("beat", HEARTBEAT, "no result yet", time.time()))
    code, stdout = check_json(path)
    assert code == UNKNOWN
    assert plain(stdout)[0] == "SCALD BEAT UNKNOWN - no result yet"
    assert "failed validation" not in stdout
    # and a document check_json would refuse is told apart (so the exit 3 above is ours, not a parse failure)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"status_intervals": [{"num_status": 0, "txt_status": "x", "start_sec": 1.5}]}))
    code, stdout = check_json(str(bad))
    assert code == UNKNOWN and "failed validation" in stdout


@pytest.mark.slow
def test_the_interval_rule_is_check_jsons(tmp_path, check_json):
    """The judge's table of cases (test_status_judge.CASES), read by the real check_json: the same state. Only the
    cases check_json can take: no reader's max_age (it has none), schema-valid (integer start_sec/end_sec), and
    not within seconds of a boundary (check_json reads the clock a moment later)."""
    from test_status_judge import CASES, NOW

    from scald_monitor.outputs.status import judge

    shift = time.time() + 2 - NOW  # documents created relative to "now" ≈ when check_json runs
    chosen, paths = [], []
    for i, (what, doc, max_age, *_rest) in enumerate(CASES):
        if max_age is not None or any(v is None for iv in doc["status_intervals"] for v in iv.values()):
            continue
        moved = dict(doc)
        for key in ("created_unix", "created_gps"):
            if key in moved:
                moved[key] = doc[key] + shift
        now = NOW + shift
        if len({judge(moved, now + dt).state for dt in (-2, 0, 2, 6)}) > 1:
            continue  # at a boundary: which side check_json lands on depends on its start-up time
        path = tmp_path / f"case{i}.json"
        path.write_text(json.dumps(moved))
        chosen.append((what, judge(moved, now)))
        paths.append(str(path))
    assert len(chosen) >= 15, [c[0] for c in chosen]
    for (what, verdict), (code, stdout) in zip(chosen, run_all(check_json, paths)):
        assert code == verdict.state, (what, verdict, stdout)
        first = plain(stdout)[0]
        if verdict.interval is not None:
            assert verdict.text.split("\\n")[0] in first, (what, first)
        else:
            assert "No status_interval matches elapsed time" in first, (what, first)
