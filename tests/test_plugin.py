"""check_scald: argument handling (every bad path is UNKNOWN), status-file mode, store modes, output, timeouts."""
from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.plugin import main as plugin_main
from scald_monitor.plugin import parse_args, run
from scald_monitor.rules.perfdata import format_perf
from scald_monitor.timeutil import gps_now, unix_to_gps

PLUGIN = shutil.which("check_scald")

CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: latency_history, column: data, tag: job}
  rng: {measurement: range_history, columns: [data, err]}
checks:
  lat_max: {type: threshold, schema: lat, warning: "~:10", critical: "~:20", units: s}
  lat_beat: {type: heartbeat, schema: lat, warning: 60, critical: 120}
"""


def plugin(*args: str, timeout: float = 60) -> tuple[int, str]:
    out = subprocess.run([PLUGIN, *args], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in out.stdout + out.stderr
    return out.returncode, out.stdout


@pytest.fixture
def store(tmp_path, make_store):
    t = gps_now() - 200 + np.arange(200.0)
    return make_store(tmp_path, CONFIG, {
        "latency_history": {"0001": {"time": t, "fields": {"data": np.full(200, 3.0)}},
                            "0002": {"time": t, "fields": {"data": np.full(200, 15.0)}},
                            "0003": {"time": t - 300, "fields": {"data": np.full(200, 1.0)}}},
        "range_history": {"time": t, "fields": {"data": np.full(200, 1e-21), "err": np.ones(200)}}})


# -- arguments -----------------------------------------------------------------------------------------------------
BAD_ARGS = [
    ([], "no mode given"),
    (["--bogus"], "unknown argument '--bogus'"),
    (["--status-file"], "needs a value"),
    (["--status-file", "a.json", "--check", "x"], "exactly one of"),
    (["--status-file", "a.json", "--max-age", "soon"], "--max-age must be a number"),
    (["--status-file", "a.json", "--max-age", "-5"], "--max-age must be positive"),
    (["--check", "lat_max"], "no configuration"),
    (["--config", "{cfg}", "--check", "nope"], "no check named 'nope'"),
    (["--config", "/nonexistent/scald.yml", "--check", "x"], "bad configuration"),
    (["--config", "{cfg}", "--measurement", "latency_history"], "give -w/--warning and/or -c/--critical"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-w", "10:5"], "start 10 is greater than end 5"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "abc"], "invalid range 'abc'"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "1", "--aggregate", "mean"], "--aggregate"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "1", "--tag", "job"], "NAME=VALUE"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "1", "--tag", "ifo=H1"], "no tag 'ifo'"),
    (["--config", "{cfg}", "--measurement", "nope", "-c", "1"], "unknown measurement 'nope'"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "1", "--column", "x"], "no column 'x'"),
    (["--config", "{cfg}", "--measurement", "latency_history", "-c", "1", "--backend", "b2"], "no backend"),
    (["--config", "{cfg}", "--measurement", "latency_history", "--heartbeat", "-w", "5"], "needs -c"),
    (["--config", "{cfg}", "--measurement", "latency_history", "--heartbeat", "-c", "x"], "must be a number"),
    (["-t", "zero", "--status-file", "a.json"], "--timeout must be a number"),
]


@pytest.mark.parametrize("args,message", BAD_ARGS)
def test_every_bad_argument_is_unknown_with_a_reason(store, args, message, capsys):
    args = [a.replace("{cfg}", str(store / "scald.yml")) for a in args]
    assert plugin_main(args) == 3
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("SCALD UNKNOWN - ") and message in first, first


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["-w", "-c", "-t", "-v", "-V", "--check", "--tag", "--status-file",
                                           "--max-age", "--heartbeat", "--config", "--measurement", "--", "-"]),
                          st.text(max_size=8)), max_size=6))
def test_no_argument_list_makes_the_plugin_crash(argv):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = plugin_main(argv)
    assert code in (0, 1, 2, 3)
    assert buf.getvalue().startswith(("SCALD ", "Usage:", "check_scald "))


def test_option_spellings():
    opts = parse_args(["-w10", "-c~:20", "-t5", "-vv", "--max-age=30", "--tag", "a=b", "--tag", "c=d"])
    assert (opts["warning"], opts["critical"], opts["timeout"], opts["verbose"], opts["max_age"]) == \
        ("10", "~:20", "5", 2, "30")
    assert opts["tag"] == ["a=b", "c=d"]


def test_help_and_version_exit_0():
    assert run(["--help"])[0] == 0 and "--status-file" in run(["--help"])[1]
    assert run(["-V"]) == (0, "check_scald 0.1.0")


# -- status-file mode ----------------------------------------------------------------------------------------------
def document(created: float, states=((0, 3600, 2, "SCALD LAT CRITICAL - job=1 high"),), stale=3, **extra):
    intervals = [{"start_sec": a, "end_sec": b, "num_status": s, "txt_status": t} for a, b, s, t in states]
    intervals.append({"start_sec": states[-1][1], "num_status": stale, "txt_status": "lat is not updating"})
    return {"created_unix": created, "status_intervals": intervals, "check": "lat", **extra}


def write(tmp_path: Path, doc, name="lat.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def test_status_file_reports_the_interval_matching_its_age(tmp_path):
    now = time.time()
    fresh = write(tmp_path, document(now - 5, performance_metrics={"job 1": ["25s", "~:10", "~:20", None, None]}))
    code, out = plugin("--status-file", fresh)
    assert code == 2
    assert out.splitlines()[0] == "SCALD LAT CRITICAL - job=1 high | 'job 1'=25s;~:10;~:20"
    old = write(tmp_path, document(now - 7200), "old.json")
    assert plugin("--status-file", old) == (3, "SCALD LAT UNKNOWN - lat is not updating\n")
    future = write(tmp_path, document(now + 3600), "future.json")  # clock skew: no interval matches
    code, out = plugin("--status-file", future)
    assert code == 3 and "No status_interval matches elapsed time" in out


def test_max_age_makes_stale_documents_unknown_even_when_they_say_ok(tmp_path):
    now = time.time()
    path = write(tmp_path, document(now - 600, states=((0, 10 ** 6, 0, "all fine"),)))
    assert plugin("--status-file", path)[0] == 0
    code, out = plugin("--status-file", path, "--max-age", "300")
    assert code == 3 and "status is 600 s old (more than 300 s)" in out
    no_time = write(tmp_path, {"status_intervals": [{"num_status": 0, "txt_status": "ok"}]}, "notime.json")
    assert plugin("--status-file", no_time)[0] == 0  # as check_json: no creation time, never stale...
    code, out = plugin("--status-file", no_time, "--max-age", "300")  # ...unless the operator asks
    assert code == 3 and "age is unknown" in out


def test_created_gps_and_multi_line_text(tmp_path):
    doc = {"created_gps": unix_to_gps(time.time()) - 3, "status_intervals": [
        {"start_sec": 0, "end_sec": 60, "num_status": 1, "txt_status": "SCALD X WARNING - two late\\nWARNING: a\\nWARNING: b"}]}
    code, out = plugin("--status-file", write(tmp_path, doc, "x.json"))
    assert code == 1 and out == "SCALD X WARNING - two late\nWARNING: a\nWARNING: b\n"


@pytest.mark.parametrize("text,reason", [
    ("{not json", "is not a status document: not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"status_intervals": []}), "no status_intervals"),
    (json.dumps({"status_intervals": [{"num_status": 7, "txt_status": "?"}]}), "invalid num_status 7"),
    (json.dumps({"status_intervals": [{"num_status": True, "txt_status": "?"}]}), "invalid num_status"),
    ('{"created_unix": NaN, "status_intervals": [{"num_status": 0}]}', "created_unix must be a number"),
    (json.dumps({"created_unix": 1e9, "status_intervals": [{"num_status": 0, "start_sec": True}]}),
     "status_intervals[0]: start_sec must be a number of seconds, got true"),
    (json.dumps({"created_gps": "1e9", "status_intervals": [{"num_status": 0}]}), "created_gps must be a number"),
])
def test_broken_documents_are_unknown(tmp_path, text, reason):
    code, out = plugin("--status-file", write(tmp_path, text, "bad.json"))
    assert code == 3 and reason in out
    assert out.count("\n") == 1 and "Error" not in out, out  # one line, no exception class


class _Slow(http.server.BaseHTTPRequestHandler):
    delay = 0.0
    body = b"{}"
    status = 200
    content_type = "application/json"

    def do_GET(self):  # noqa: N802 - http.server's naming
        time.sleep(self.delay)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_status_url_and_timeout(http_server):
    _Slow.body = json.dumps(document(time.time() - 1, states=((0, 60, 0, "url ok"),))).encode()
    _Slow.delay, _Slow.status, _Slow.content_type = 0.0, 200, "application/json"
    url = f"http://127.0.0.1:{http_server.server_address[1]}/status/lat.json"
    assert plugin("--status-file", url) == (0, "SCALD LAT OK - url ok\n")
    _Slow.delay = 5.0
    start = time.monotonic()
    code, out = plugin("--status-file", url, "-t", "1")
    assert code == 3 and "SCALD" in out and "UNKNOWN" in out
    assert time.monotonic() - start < 4


@pytest.fixture
def scald_serve(store):
    """A real ``scald serve`` (waitress) on 127.0.0.1 over the test store; no status_dir: answers are evaluated."""
    scald = str(Path(sys.executable).parent / "scald")
    proc = subprocess.Popen([scald, "serve", "-c", str(store / "scald.yml"), "--port", "0", "--threads", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


def test_status_url_answering_an_error_says_the_http_status_and_the_servers_reason(scald_serve):
    url = f"{scald_serve}/api/nagios/nope"
    assert plugin("--status-file", url) == (3, f"SCALD NOPE UNKNOWN - HTTP 404 from {url}: unknown check 'nope'\n")
    code, out = plugin("--status-file", f"{scald_serve}/api/nagios/lat_max")  # a known check: evaluated, WARNING
    assert code == 1 and out.startswith("SCALD LAT_MAX WARNING - 1 WARNING of 2 job: job=0002 | "), out


def test_status_url_errors_are_one_plain_line(http_server):
    base = f"http://127.0.0.1:{http_server.server_address[1]}"
    _Slow.delay, _Slow.status = 0.0, 500
    _Slow.content_type, _Slow.body = "text/html", b"<html><body><h1>Oops</h1></body></html>"
    assert plugin("--status-file", f"{base}/a.json") == (3, f"SCALD A UNKNOWN - HTTP 500 from {base}/a.json: "
                                                            "Internal Server Error\n")
    _Slow.status, _Slow.content_type, _Slow.body = 503, "text/plain", b"backend down\nretry later"
    assert plugin("--status-file", f"{base}/b") == (3, f"SCALD B UNKNOWN - HTTP 503 from {base}/b: backend down\n")
    _Slow.status, _Slow.content_type, _Slow.body = 200, "application/json", b"<html>not json</html>"
    code, out = plugin("--status-file", f"{base}/c.json")
    assert code == 3 and out.startswith(f"SCALD C UNKNOWN - {base}/c.json is not a status document: not JSON ("), out
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert plugin("--status-file", f"http://127.0.0.1:{port}/x.json") == \
        (3, f"SCALD X UNKNOWN - cannot reach http://127.0.0.1:{port}/x.json: Connection refused\n")
    _Slow.status = 200


# -- store modes ---------------------------------------------------------------------------------------------------
def test_configured_check_against_the_store(store):
    code, out = plugin("--config", str(store / "scald.yml"), "--check", "lat_max")
    assert code == 1
    assert out.splitlines()[0].startswith("SCALD LAT_MAX WARNING - 1 WARNING of 2 job: job=0002 | ")
    assert "job_0002=15s;~:10;~:20" in out
    code, out = plugin("--config", str(store / "scald.yml"), "--check", "lat_beat")
    assert code == 2 and "CRITICAL: job=0003" in out


def test_scaldrc_path_is_the_default_config(store, monkeypatch):
    monkeypatch.setenv("SCALDRC_PATH", str(store / "scald.yml"))
    assert plugin("--check", "lat_max")[0] == 1


def test_adhoc_thresholds_tags_and_heartbeats(store):
    cfg = str(store / "scald.yml")
    assert plugin("--config", cfg, "--measurement", "latency_history", "-w", "~:2", "-c", "~:20")[0] == 1
    code, out = plugin("--config", cfg, "--measurement", "latency_history", "--tag", "job=0001", "-c", "~:2")
    assert code == 2 and out.startswith("SCALD LATENCY_HISTORY CRITICAL - job=0001 max data=3")
    code, out = plugin("--config", cfg, "--measurement", "range_history", "-c", "~:1e-20", "-w", "~:5e-22")
    assert code == 1 and "data=1e-21" in out
    code, out = plugin("--config", cfg, "--measurement", "latency_history", "--heartbeat", "-w", "30",
                       "-c", "100")
    assert code == 2 and "job=0003" in out
    code, out = plugin("--config", cfg, "--measurement", "latency_history", "--lookback", "1000",
                       "--aggregate", "min", "-c", "2:")
    assert code == 2 and "job=0003 min data=1" in out


def test_missing_store_is_unknown(tmp_path):
    (tmp_path / "scald.yml").write_text(CONFIG)
    code, out = plugin("--config", str(tmp_path / "scald.yml"), "--check", "lat_max")
    assert code == 3 and "no such database" in out
    assert not (tmp_path / "store.sqlite").exists()


# -- output format -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,text", [
    (("load", 1.5), "load=1.5"),
    (("job 1", 3, "s", "10", "~:20", 0), "'job 1'=3s;10;~:20;0"),
    (("it's", 2, "", "", "", None, 100), "'it''s'=2;;;;100"),
    (("a=b|c", 1e-21), "a_b_c=1e-21"),
    (("x", None, "s", "5"), "x=U;5"),
    (("pct", 50, "%", "", "", 0, 100), "pct=50%;;;0;100"),
])
def test_perfdata_quoting_uom_and_fields(args, text):
    assert format_perf(*args) == text


@settings(max_examples=200, deadline=None)
@given(label=st.text(min_size=1, max_size=20), value=st.floats(allow_nan=False, allow_infinity=False))
def test_perfdata_is_always_one_parseable_token(label, value):
    text = format_perf(label, value, "s")
    assert "\n" not in text and "|" not in text
    if text.startswith("'"):
        quoted, rest = text[1:].rsplit("'=", 1)
        plain = re.sub(r"<[^<>]*>|[<>]", "", label)  # markup removed
        assert quoted.replace("''", "'") == re.sub(r"[\x00-\x1f\x7f]", "_", plain.replace("=", "_").replace("|", "_"))
    else:
        assert " " not in text and "'" not in text.split("=")[0]
        rest = text.split("=", 1)[1]
    assert float(rest.split(";")[0].rstrip("s")) == pytest.approx(value, rel=1e-9, abs=1e-300)


# -- start-up weight -----------------------------------------------------------------------------------------------

def test_an_unexpected_failure_is_one_unknown_line_without_a_class_name(tmp_path, monkeypatch, capsys):
    from scald_monitor import plugin as plugin_module

    def broken(opts, now):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(plugin_module, "status_file_mode", broken)
    assert plugin_main(["--status-file", str(tmp_path / "x.json")]) == 3
    assert capsys.readouterr().out == "SCALD UNKNOWN - check_scald failed: int too large to convert to float\n"
