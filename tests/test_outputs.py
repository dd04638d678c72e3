"""Outputs: status JSON documents (checked against IGWN's own schema), atomic status files, Nagios passive command
lines and the command-file writer (real FIFOs), and what of the Icinga 2 API client needs no real Icinga (the rest is
tests/test_icinga2.py, against a real one)."""
from __future__ import annotations

import http.server
import importlib.resources
import json
import logging
import math
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.config import Check, make_check
from scald_monitor.outputs import OutputError
from scald_monitor.outputs import icinga2
from scald_monitor.outputs.nagios_cmd import PIPE_BUF, passive_line, send_passive
from scald_monitor.outputs.status import (
    expiry_seconds,
    judge,
    status_document,
    sync_status_dir,
    unknown_document,
    write_status,
)
from scald_monitor.rules.result import CRITICAL, OK, UNKNOWN, WARNING, CheckStatus, Perf, Result, TagResult, state_name
from scald_monitor.timeutil import unix_to_gps

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_700_000_000.0
SCHEMA = json.loads(
    importlib.resources.files("igwn_monitor.plugins").joinpath("check_json_schema.json").read_text()
)

SETTINGS = {  # as under checks: in a configuration
    "latency": {"type": "threshold", "schema": "latency", "interval": 60, "description": "pipeline latency",
                "warning": "~:10", "critical": "~:20", "units": "s", "aggregate": "max", "column": "data",
                "lookback": 300, "per_tag": True, "max_attempts": 3},
    "beat": {"type": "heartbeat", "schema": "beat", "interval": 30, "warning": 60, "critical": 180, "per_tag": False},
}


def configured(base: Check, **change) -> Check:
    """``base`` with some settings changed, through the loader's own path (validation, then every default)."""
    return make_check(base.name, {**SETTINGS[base.name], **change})


THRESHOLD = make_check("latency", SETTINGS["latency"])
HEARTBEAT = make_check("beat", SETTINGS["beat"])
SUMMARIES = {
    OK: "all 3 jobs within limits",
    WARNING: "1 of 3 jobs above warning",
    CRITICAL: "2 of 3 jobs above limits",
    UNKNOWN: "backend unreachable: database is locked",
}
PERFDATA_ITEM = re.compile(
    r"^'(?:[^']|'')+'=(?:U|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[A-Za-z%/]*)(?:;[^;\s]*){0,4}$"
)


def make_status(state: int, check: str = "latency", **kw) -> CheckStatus:
    """A hand-built status as the state machine would hand it over: per-tag results, perfdata, bookkeeping."""
    tag_states = {OK: [OK, OK, OK], WARNING: [OK, WARNING, OK], CRITICAL: [CRITICAL, WARNING, CRITICAL],
                  UNKNOWN: []}[state]
    tags = [TagResult(f"job=000{i}", s, 5.0 + 7 * s + i, f"job=000{i} max={5.0 + 7 * s + i:g} s")
            for i, s in enumerate(tag_states)]
    perf = [Perf(t.label, t.value, "s", "~:10", "~:20", 0) for t in tags]
    result = Result(check=check, state=state, summary=SUMMARIES[state], time=NOW - 1, tags=tags, perfdata=perf)
    defaults = dict(raw_state=state, state_type="HARD", attempt=1, max_attempts=3, last_change=NOW - 600,
                    last_hard_change=NOW - 600, flapping=False, percent_state_change=12.5)
    defaults.update(kw)
    return CheckStatus(result=result, **defaults)


def validate(doc: dict) -> None:
    """IGWN's own schema (what check_json enforces), and strict JSON (no NaN/inf) as browsers and jq need."""
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    json.loads(json.dumps(doc, allow_nan=False))


# ---- status documents ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [OK, WARNING, CRITICAL, UNKNOWN])
def test_document_shape_and_values(state):
    status = make_status(state)
    doc = status_document(status, THRESHOLD, NOW)
    validate(doc)

    assert doc["nagios_shib_scraper_ver"] == 0.1
    assert doc["created_unix"] == NOW
    assert doc["created_gps"] == pytest.approx(unix_to_gps(NOW))
    assert doc["author"] == {"name": "scald-monitor"}
    first, stale = doc["status_intervals"]
    assert first == {"start_sec": 0, "end_sec": 180, "num_status": state, "txt_status": first["txt_status"]}
    assert stale["start_sec"] == 180 and "end_sec" not in stale
    assert stale["num_status"] == UNKNOWN
    assert "latency is not updating" in stale["txt_status"]

    text = first["txt_status"]
    lines = text.split("\\n")  # the literal backslash-n that check_json turns into line breaks
    assert lines[0] == status.result.first_line()
    assert lines[1:] == status.result.long_text
    assert "\n" not in text and "|" not in text, "perfdata travel in performance_metrics only"

    assert doc["check"] == "latency"
    assert (doc["state"], doc["state_name"], doc["state_type"]) == (state, status.result.state_name, "HARD")
    assert (doc["attempt"], doc["max_attempts"]) == (1, 3)
    assert doc["summary"] == SUMMARIES[state]
    assert doc["last_change"] == doc["last_hard_change"] == NOW - 600
    assert doc["flapping"] is False and doc["percent_state_change"] == 12.5
    assert doc["tags"] == [{"label": t.label, "state": t.state, "value": t.value, "text": t.text}
                           for t in status.result.tags]
    assert doc["description"] == "pipeline latency"
    for key in ("ok_txt", "warning_txt", "critical_txt", "unknown_txt"):
        assert isinstance(doc[key], str) and 0 < len(doc[key]) < 120
    assert doc["warning_txt"] == "max of data over 300 s for any tag value above 10 s"
    assert doc["critical_txt"] == "max of data over 300 s for any tag value above 20 s"
    assert doc["unknown_txt"].endswith("; or no new result for 180 s")


def test_performance_metrics_render_as_valid_perfdata():
    """check_json prints ``'label'=v;w;c;min;max`` from each list: it must be valid perfdata, same as our plugin's."""
    from igwn_monitor.utils import format_performance_metrics

    status = make_status(CRITICAL)
    status.result.perfdata += [Perf("it's odd", None), Perf("ratio", 0.5, "%", "", "@0:1", 0, 1), Perf("x=y", 1e-21)]
    doc = status_document(status, THRESHOLD, NOW)
    validate(doc)
    metrics = doc["performance_metrics"]
    assert metrics["job_0000"] == ["19s", "~:10", "~:20", "0", None]
    assert metrics["it''s odd"] == ["U", None, None, None, None]
    assert metrics["ratio"] == ["0.5%", None, "@0:1", "0", "1"]
    assert metrics["x_y"] == ["1e-21", None, None, None, None]
    assert all(len(v) == 5 for v in metrics.values())

    rendered = format_performance_metrics(metrics)
    items = re.findall(r"'(?:[^']|'')+'=\S*", rendered)
    assert " ".join(items) == rendered
    assert len(items) == len(status.result.perfdata)
    for item, perf in zip(items, status.result.perfdata):
        assert PERFDATA_ITEM.match(item), item
        # the same numbers and thresholds as the plugin prints (up to label quoting and trailing empty fields)
        assert item.split("=", 1)[1].rstrip(";") == str(perf).rsplit("=", 1)[1]


def test_multiline_text_and_no_raw_newlines():
    status = make_status(CRITICAL)
    status.result.summary = "two\nlines"
    status.result.tags[0].text = "text with\r\na break"
    doc = status_document(status, THRESHOLD, NOW)
    text = doc["status_intervals"][0]["txt_status"]
    assert text.splitlines() == [text]
    assert text.split("\\n")[0].endswith("two lines")
    assert "text with a break" in text


def test_non_finite_numbers_become_null():
    status = make_status(CRITICAL, percent_state_change=math.nan, last_change=math.inf)
    status.result.tags[0].value = math.nan
    doc = status_document(status, THRESHOLD, NOW)
    validate(doc)
    assert doc["tags"][0]["value"] is None and doc["percent_state_change"] is None and doc["last_change"] is None


@pytest.mark.parametrize(
    "change, expiry",
    [({}, 180), ({"interval": 10}, 30), ({"interval": 2.5}, 8), ({"expiry": 45}, 45), ({"expiry": 0.5}, 1),
     ({"expiry": 3600, "interval": 10}, 3600)],
)
def test_expiry_default_is_three_intervals_and_can_be_overridden(change, expiry):
    doc = status_document(make_status(OK), configured(THRESHOLD, **change), NOW)
    validate(doc)  # integer start_sec/end_sec even from float settings
    first, stale = doc["status_intervals"]
    assert first["end_sec"] == stale["start_sec"] == expiry


@pytest.mark.parametrize(
    "check, change, stale",
    [(THRESHOLD, {}, UNKNOWN), (HEARTBEAT, {}, CRITICAL), (THRESHOLD, {"stale_state": 1}, WARNING),
     (HEARTBEAT, {"stale_state": 3}, UNKNOWN), (THRESHOLD, {"stale_state": 0}, OK)],
)
def test_stale_state_defaults_heartbeat_critical_threshold_unknown(check, change, stale):
    doc = status_document(make_status(OK, check=check.name), configured(check, **change), NOW)
    validate(doc)
    assert doc["status_intervals"][1]["num_status"] == stale
    legend = ("ok_txt", "warning_txt", "critical_txt", "unknown_txt")[stale]
    assert "no new result for" in doc[legend]


def test_heartbeat_legend():
    doc = status_document(make_status(CRITICAL, check="beat"), HEARTBEAT, NOW)
    assert doc["ok_txt"] == "newest point at most 60 s old"
    assert doc["warning_txt"] == "newest point older than 60 s"
    assert doc["critical_txt"] == "newest point older than 180 s, or no data at all; or no new result for 90 s"
    assert "description" not in doc  # empty description: no key


def test_threshold_legend_describes_ranges_in_words():
    check = configured(THRESHOLD, per_tag=False, aggregate="min", warning="100:", critical="@10:20", units="Mpc")
    doc = status_document(make_status(OK), check, NOW)
    assert doc["warning_txt"] == "min of data over 300 s below 100 Mpc"
    assert doc["critical_txt"] == "min of data over 300 s between 10 and 20 Mpc"
    doc = status_document(make_status(OK), configured(THRESHOLD, warning=None, critical="5:15"), NOW)
    assert doc["warning_txt"] == "no warning threshold set"
    assert doc["critical_txt"].endswith("below 5 or above 15 s")


@pytest.mark.parametrize("check,change,stale", [
    (THRESHOLD, {}, UNKNOWN),
    (HEARTBEAT, {}, CRITICAL),
    (THRESHOLD, {"expiry": 45, "stale_state": WARNING}, WARNING),
])
@pytest.mark.parametrize("state", [OK, WARNING, CRITICAL, UNKNOWN])
def test_what_we_write_reads_back_as_meant(check, change, stale, state):
    """The writer and the reader in one module agree: the result until the expiry, then the stale state."""
    check = configured(check, **change)
    doc = json.loads(json.dumps(status_document(make_status(state), check, NOW)))
    expiry = expiry_seconds(check)
    for age, want, is_stale in [(0, state, False), (expiry - 1, state, False), (expiry, stale, True),
                                (10 * expiry, stale, True)]:
        verdict = judge(doc, NOW + age)
        assert (verdict.state, verdict.stale) == (want, is_stale), (age, verdict)
        assert verdict.expires == NOW + expiry and verdict.created == NOW
        # check_scald --max-age <expiry>, as nagios-config writes it, reads the same
        assert judge(doc, NOW + age, expiry).state == want
    assert judge(doc, NOW).text.startswith(f"SCALD {doc['check'].upper()} {state_name(state)} - ")


def test_unknown_document_for_a_check_without_result():
    doc = unknown_document("beat", HEARTBEAT, "no result yet (daemon starting)", NOW)
    validate(doc)
    first, stale = doc["status_intervals"]
    assert first["num_status"] == UNKNOWN and "no result yet (daemon starting)" in first["txt_status"]
    assert stale == {"start_sec": 90, "num_status": CRITICAL, "txt_status": stale["txt_status"]}
    assert (doc["check"], doc["state"], doc["state_name"], doc["tags"]) == ("beat", UNKNOWN, "UNKNOWN", [])
    assert doc["performance_metrics"] == {}


# ---- status files ------------------------------------------------------------------------------------------------


def test_write_status_creates_one_file_and_keeps_temps_outside(tmp_path):
    status_dir = tmp_path / "a" / "status"
    doc = status_document(make_status(WARNING), THRESHOLD, NOW)
    path = write_status(str(status_dir), "latency", doc)
    assert path == str(status_dir / "latency.json")
    assert json.loads(Path(path).read_text()) == doc
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    doc2 = status_document(make_status(OK), THRESHOLD, NOW + 60)
    write_status(str(status_dir) + "/", "latency", doc2)
    assert json.loads(Path(path).read_text()) == doc2
    assert os.listdir(status_dir) == ["latency.json"]
    assert os.listdir(tmp_path / "a" / ".status.tmp") == []  # sibling, hidden, empty after success


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "../escape", "/abs", "nul\0l"])
def test_write_status_refuses_path_like_names(tmp_path, name):
    with pytest.raises(ValueError):
        write_status(str(tmp_path / "status"), name, {"status_intervals": []})
    assert not (tmp_path / "status").exists()  # refused before anything is created


def test_write_status_refuses_non_json_values_before_touching_disk(tmp_path):
    write_status(str(tmp_path / "s"), "c", {"v": 1})
    with pytest.raises(ValueError):
        write_status(str(tmp_path / "s"), "c", {"v": math.nan})
    assert json.loads((tmp_path / "s" / "c.json").read_text()) == {"v": 1}


WRITER = r"""
import os, sys
from scald_monitor.outputs.status import write_status
status_dir, start = sys.argv[1], int(sys.argv[2])
i = start
while True:
    # every document has a different size, so a torn file would show as bad JSON or a wrong pad length
    write_status(status_dir, "c", {"i": i, "pad": "x" * ((i * 7919) % 60000)})
    i += 1
"""


def current(path: Path) -> int:
    try:
        return json.loads(path.read_text())["i"]
    except FileNotFoundError:
        return -1


def test_atomic_write_under_concurrent_reads_and_sigkill(tmp_path):
    """A writer rewrites the file in a loop and is SIGKILLed at random moments; a reader never sees a partial file."""
    status_dir = tmp_path / "status"
    path = status_dir / "c.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    problems: list[str] = []
    reads = [0]
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue  # before the first write only
            try:
                doc = json.loads(text)
                if len(doc["pad"]) != (doc["i"] * 7919) % 60000:
                    problems.append(f"inconsistent document {doc['i']}")
            except ValueError as exc:
                problems.append(f"partial/invalid JSON ({len(text)} bytes): {exc}")
            reads[0] += 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    rng = random.Random(1234)
    try:
        for round_ in range(6):
            writer = subprocess.Popen([sys.executable, "-c", WRITER, str(status_dir), str(round_ * 1_000_000)],
                                      env=env, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 10
            while current(path) < round_ * 1_000_000 and time.monotonic() < deadline:
                time.sleep(0.005)  # this round's writer has started writing
            time.sleep(rng.uniform(0.05, 0.3))
            writer.send_signal(signal.SIGKILL)
            _, err = writer.communicate(timeout=10)
            assert writer.returncode == -signal.SIGKILL, err.decode()
            doc = json.loads(path.read_text())  # right after the kill: complete
            assert doc["i"] >= round_ * 1_000_000
    finally:
        stop.set()
        thread.join(10)
    assert not problems, problems[:5]
    assert reads[0] > 100
    assert os.listdir(status_dir) == ["c.json"]


def test_sync_status_dir_removes_only_stale_json(tmp_path):
    status_dir = tmp_path / "status"
    status_dir.mkdir()
    for name in ("keep.json", "old.json", "older.json", "notes.txt", "README", "keep.json.bak"):
        (status_dir / name).write_text("{}")
    (status_dir / "dir.json").mkdir()
    (tmp_path / "target.json").write_text("{}")
    (status_dir / "link.json").symlink_to(tmp_path / "target.json")
    removed = sync_status_dir(str(status_dir), ["keep", "other"])
    assert removed == ["old", "older"]
    assert sorted(os.listdir(status_dir)) == ["README", "dir.json", "keep.json", "keep.json.bak", "link.json",
                                              "notes.txt"]
    assert (tmp_path / "target.json").exists()
    assert sync_status_dir(str(tmp_path / "missing"), []) == []


def test_sync_status_dir_clears_old_temp_files_of_killed_writers(tmp_path):
    status_dir = tmp_path / "status"
    write_status(str(status_dir), "c", {"v": 1})
    tmp_dir = tmp_path / ".status.tmp"
    old, new = tmp_dir / "c.abc.tmp", tmp_dir / "c.def.tmp"
    old.write_text("{")
    new.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sync_status_dir(str(status_dir), ["c"]) == []
    assert not old.exists() and new.exists()


# ---- Nagios passive command lines -----------------------------------------------------------------------------

LINE = re.compile(r"^\[(\d+)\] PROCESS_SERVICE_CHECK_RESULT;([^;\n]+);([^;\n]+);([0-3]);([^\n]*)\n$")


def nagios_unescape(text: str) -> str:
    """What Nagios 4 (unescape_check_result_output) makes of the output: ``\\\\`` → ``\\``, ``\\n`` → newline."""
    return re.sub(r"\\([\\n])", lambda m: "\n" if m.group(1) == "n" else "\\", text)


def test_passive_line_format():
    line = passive_line("ldas-grid", "latency", make_status(CRITICAL), NOW + 0.9)
    status = make_status(CRITICAL)
    assert line == (
        f"[1700000000] PROCESS_SERVICE_CHECK_RESULT;ldas-grid;latency;2;{status.result.first_line()} | "
        f"{status.result.perf_text()}\\n" + "\\n".join(status.result.long_text) + "\n"
    )
    assert nagios_unescape(LINE.match(line).group(5)) == status.result.plugin_output()


def test_passive_line_escapes_backslashes_and_newlines():
    status = make_status(WARNING)
    status.result.summary = "path C:\\new"
    status.result.tags[1].text = "first\nsecond\\"
    line = passive_line("h", "s", status, NOW)
    assert line.count("\n") == 1
    output = LINE.match(line).group(5)
    head, *long_lines = nagios_unescape(output).split("\n")
    assert head.startswith("SCALD LATENCY WARNING - path C:\\new | ")
    assert long_lines == ["WARNING: first second\\"]  # one line per tag: a newline in a text is a space


@pytest.mark.parametrize("host, service", [("a;b", "s"), ("h", "s;x"), ("h\n", "s"), ("h", "two\nlines"), ("", "s"),
                                           ("h", ""), ("h", "s\r"), ("h\0", "s")])
def test_passive_line_refuses_bad_names(host, service):
    with pytest.raises(ValueError):
        passive_line(host, service, make_status(OK), NOW)


def test_passive_line_truncates_long_text_not_first_line_or_perfdata():
    status = make_status(CRITICAL)
    result = status.result
    result.tags = [TagResult(f"job={i:04d}", CRITICAL, 99.0, f"job={i:04d} max=99 s is above 20") for i in range(400)]
    result.perfdata = [Perf("worst", 99.0, "s", "~:10", "~:20", 0)]
    line = passive_line("h", "s", status, NOW)
    assert len(line.encode()) <= PIPE_BUF
    output = LINE.match(line).group(5)
    assert output.startswith(f"{result.first_line()} | worst=99s;~:10;~:20;0\\n")
    shown = output.count("\\nCRITICAL: job=")
    assert 50 < shown < 400
    assert output.endswith(f"\\n[... {400 - shown} more lines not shown]")


def test_passive_line_keeps_whole_perfdata_items_when_even_perfdata_is_too_long():
    status = make_status(CRITICAL)
    status.result.perfdata = [Perf(f"job={i:04d}", 99.5, "s", "~:10", "~:20", 0, 1000) for i in range(400)]
    line = passive_line("h", "s", status, NOW)
    assert len(line.encode()) <= PIPE_BUF
    head, _, perf = LINE.match(line).group(5).split("\\n")[0].partition(" | ")
    assert head == status.result.first_line()
    items = perf.split(" ")
    assert 20 < len(items) < 400
    assert all(item == f"job_{i:04d}=99.5s;~:10;~:20;0;1000" for i, item in enumerate(items))


names = st.text(st.characters(exclude_characters=";\0", exclude_categories=("Cs",)), min_size=1,
                max_size=60).filter(lambda s: s.splitlines() == [s])
texts = st.text(max_size=800)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=names, service=names, state=st.integers(0, 3), summary=texts,
       tag_texts=st.lists(texts, max_size=20), labels=st.lists(st.text(max_size=40), max_size=30),
       now=st.floats(0, 4e9))
def test_passive_line_always_one_parseable_line_under_pipe_buf(host, service, state, summary, tag_texts, labels,
                                                               now):
    result = Result(check="c", state=state, summary=summary, time=now,
                    tags=[TagResult(f"t{i}", (i % 3) + 1, None, t) for i, t in enumerate(tag_texts)],
                    perfdata=[Perf(label, 1.5, "s") for label in labels])
    line = passive_line(host, service, CheckStatus(result=result, raw_state=state), now)
    data = line.encode("utf-8")
    assert len(data) <= PIPE_BUF
    assert line.endswith("\n") and line.splitlines() == [line[:-1]] and "\0" not in line
    match = LINE.match(line)
    assert match, line
    assert (match.group(1), match.group(2), match.group(3), match.group(4)) == (str(int(now)), host, service,
                                                                               str(state))
    assert not re.search(r"(?<!\\)(?:\\\\)*\\$", match.group(5)), "no dangling escape at the end"


# ---- Nagios command file --------------------------------------------------------------------------------------


def lines_of(sizes: list[int], prefix: str = "") -> list[str]:
    return [f"[{i}] PROCESS_SERVICE_CHECK_RESULT;h;{prefix}s{i};0;" + "x" * size + "\n"
            for i, size in enumerate(sizes)]


def test_send_passive_to_fifo_with_reader_lines_arrive_intact(tmp_path):
    fifo = tmp_path / "nagios.cmd"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # Nagios holds its end open
    received = bytearray()
    done = threading.Event()

    def drain():
        import select
        while not done.is_set() or select.select([rfd], [], [], 0)[0]:
            if select.select([rfd], [], [], 0.05)[0]:
                try:
                    chunk = os.read(rfd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:  # no writer has it open (yet, or any more)
                    if done.is_set():
                        break
                    time.sleep(0.01)
                received.extend(chunk)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    rng = random.Random(7)
    batches = [lines_of([rng.randrange(100, 4000) for _ in range(40)], prefix=p) for p in "ab"]
    counts: list[int] = []
    writers = [threading.Thread(target=lambda b=b: counts.append(send_passive(str(fifo), b))) for b in batches]
    try:
        for w in writers:
            w.start()
        for w in writers:
            w.join(10)
    finally:
        time.sleep(0.2)
        done.set()
        thread.join(10)
        os.close(rfd)
    got = received.decode().splitlines(keepends=True)
    sent = {line for batch in batches for line in batch}
    assert len(got) == sum(counts) and sum(counts) > 0
    assert all(line in sent for line in got), "a line arrived torn or interleaved"
    for p, batch in zip("ab", batches):  # each writer's lines in order
        mine = [line for line in got if f";{p}s" in line]
        assert mine == batch[:len(mine)]


def test_send_passive_full_fifo_counts_what_was_written(tmp_path, caplog):
    fifo = tmp_path / "nagios.cmd"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that never reads: the pipe fills up
    try:
        lines = lines_of([4000] * 100)
        with caplog.at_level(logging.WARNING):
            n = send_passive(str(fifo), lines)
        assert 0 < n < 100
        assert "full" in caplog.text
        data = b""
        while True:
            try:
                chunk = os.read(rfd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        assert data.decode().splitlines(keepends=True) == lines[:n]
    finally:
        os.close(rfd)


def test_send_passive_fifo_without_reader_returns_at_once(tmp_path, caplog):
    fifo = tmp_path / "nagios.cmd"
    os.mkfifo(fifo)
    out: list[int] = []
    with caplog.at_level(logging.WARNING):
        thread = threading.Thread(target=lambda: out.append(send_passive(str(fifo), lines_of([10]))), daemon=True)
        thread.start()
        thread.join(5)  # ample for a call that must not wait at all: only one that blocks takes this long
    if thread.is_alive():  # it blocked: unblock it by opening a reader, then fail
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        pytest.fail("send_passive blocked on a FIFO nobody reads")
    assert out == [0]  # it gave up on the FIFO (ENXIO: no reader) instead of waiting for one
    assert "not reading" in caplog.text


def test_send_passive_missing_path(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert send_passive(str(tmp_path / "rw" / "nagios.cmd"), lines_of([10])) == 0
    assert "does not exist" in caplog.text
    assert not (tmp_path / "rw").exists()


def test_send_passive_regular_file_appends(tmp_path):
    path = tmp_path / "cmd.log"
    path.write_text("existing\n")
    lines = [passive_line("h", "s", make_status(s), NOW) for s in (OK, CRITICAL)]
    assert send_passive(str(path), lines) == 2
    assert send_passive(str(path), lines[:1]) == 1
    assert path.read_text() == "existing\n" + lines[0] + lines[1] + lines[0]
    assert send_passive(str(path), []) == 0


def test_send_passive_skips_malformed_lines_and_survives_a_directory(tmp_path, caplog):
    path = tmp_path / "cmd.log"
    path.write_text("")
    with caplog.at_level(logging.WARNING):
        assert send_passive(str(path), ["no newline", "two\nlines\n", "x" * PIPE_BUF + "\n", "ok\n"]) == 1
        assert send_passive(str(tmp_path), ["ok\n"]) == 0
    assert path.read_text() == "ok\n"
    assert "malformed" in caplog.text and "cannot open" in caplog.text


# ---- Icinga 2 API -----------------------------------------------------------------------------------------------
# The client is tested against a real Icinga 2 in tests/test_icinga2.py: what lands in Icinga, 401, 404, missing
# permission, wrong/missing CA, timeout (a SIGSTOPped Icinga), connection refused, and the daemon's recovery.
# What stays here needs no server (no request may be made) or a fake.

PASSWORD = "pa55-w0rd;secret"  # distinctive, so any leak into a message is caught
PASSWORD_ENV = "SCALD_TEST_ICINGA_PASSWORD"


class FakeIcinga(http.server.ThreadingHTTPServer):
    """Only for answers a real Icinga 2 (2.13) cannot be made to give on request, but which its API defines and a
    proxy in front of it can produce: a per-object failure inside ``results`` (Icinga's answer when processing
    a result fails internally), with HTTP 500 or with a 200 overall, and a reverse proxy's HTML error page."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeIcingaHandler)
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeIcingaHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def reply(self, code: int, body: dict | str) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self.server.requests.append(body)
        name = body.get("service", "")
        if name.endswith("!broken"):
            return self.reply(500, {"results": [{"code": 500, "status": "Attribute 'exit_status' is invalid."}]})
        if name.endswith("!partial"):
            return self.reply(200, {"results": [{"code": 409, "status": "Object is being deleted."}]})
        if name.endswith("!proxied"):
            return self.reply(502, "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>\n")
        self.reply(200, {"results": [{"code": 200, "status": f"Successfully processed check result for object "
                                                            f"'{name}'."}]})


@pytest.fixture
def fake_icinga(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = FakeIcinga()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def conf_for(url: str, **kw) -> dict:
    return {"url": url + "/", "user": "scald", "password_env": PASSWORD_ENV, "ca": None, "ttl": None, **kw}


def closed_port_url() -> str:
    """A URL nothing listens on: a request made by mistake fails as 'cannot connect', not as the tested error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def check_error(excinfo, *needles):
    message = str(excinfo.value)
    assert PASSWORD not in message and "pa55" not in message
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_icinga_per_object_failures_are_errors(fake_icinga):
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(fake_icinga.url), "ldas-grid", "broken", make_status(OK), ttl=60)
    check_error(excinfo, "HTTP 500", "ldas-grid!broken", "Attribute 'exit_status' is invalid.")
    with pytest.raises(OutputError) as excinfo:  # a 200 overall can still carry a failed object
        icinga2.post_result(conf_for(fake_icinga.url), "ldas-grid", "partial", make_status(OK), ttl=60)
    check_error(excinfo, "did not process the result for ldas-grid!partial: Object is being deleted.")
    icinga2.post_result(conf_for(fake_icinga.url), "ldas-grid", "latency", make_status(OK), ttl=60)  # accepted
    assert len(fake_icinga.requests) == 3


def test_icinga_proxy_error_page_is_one_line(fake_icinga):
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(fake_icinga.url), "ldas-grid", "proxied", make_status(OK), ttl=60)
    assert str(excinfo.value) == (f"HTTP 502 from {fake_icinga.url}/v1/actions/process-check-result for "
                                  "ldas-grid!proxied: 502 Bad Gateway")


def test_icinga_password_in_the_url_is_never_shown(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    url = closed_port_url()
    conf = {"url": url.replace("http://", f"http://scald:{PASSWORD}@"), "user": "scald",
            "password_env": PASSWORD_ENV}
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf, "ldas-grid", "latency", make_status(OK), ttl=60, timeout=2)
    check_error(excinfo, f"cannot connect to {url}/v1/actions/process-check-result: Connection refused")


def test_icinga_missing_password_variable_sends_nothing(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(OutputError) as excinfo:
        icinga2.post_result(conf_for(closed_port_url()), "ldas-grid", "latency", make_status(OK), ttl=60)
    check_error(excinfo, PASSWORD_ENV, "not set")
    with pytest.raises(OutputError, match="password_env"):
        icinga2.post_result(conf_for(closed_port_url(), password_env=None), "ldas-grid", "latency", make_status(OK),
                            ttl=60)


def test_icinga_refuses_bang_in_names(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for host, service in (("a!b", "latency"), ("ldas-grid", "x!y"), ("", "latency")):
        with pytest.raises(OutputError, match="must be non-empty and without '!'"):
            icinga2.post_result(conf_for(closed_port_url()), host, service, make_status(OK), ttl=60)
