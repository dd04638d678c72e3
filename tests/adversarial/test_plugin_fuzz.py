"""check_scald under random arguments and hostile status documents: always exit 0-3 with a plain reason.

Monitoring Plugins guidelines: one line, a state, a reason; never a traceback, never an exception's class name
(``OverflowError: ...`` is not a reason). Texts handed to Nagios carry no markup: tag values are user data, and
the safety of Nagios' pages must not rest on its ``escape_html_tags``.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor import plugin

EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Warning)\b|Traceback")
FLAGS = ["-h", "-V", "-v", "-t", "--timeout", "--config", "--check", "--status-file", "--max-age", "--measurement",
         "--column", "--tag", "--aggregate", "--lookback", "--backend", "--units", "--heartbeat", "-w", "-c",
         "--warning", "--critical", "--bogus", "-x", "--"]
VALUES = st.sampled_from(["1e300", "-1", "0", "nan", "inf", "-inf", "1e-300", "10", "٣", "x=y", "=", "job=",
                          "/nonexistent/file.json", "http://127.0.0.1:9/x", "", " ", "\n", "max", "median",
                          "@10:20", "10:5", "~:", ":", "5:", "\x00", "a" * 300])


def run_main(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = plugin.main(argv)
    return code, out.getvalue()


def assert_plain(code: int, text: str, lines: int | None = 1) -> None:
    assert code in (0, 1, 2, 3)
    assert text.endswith("\n") and text.strip()
    if lines is not None:
        assert text.count("\n") == lines, text
    assert not EXCEPTION_NAME.search(text), text
    assert "<" not in text and ">" not in text, text


@given(st.lists(st.one_of(st.sampled_from(FLAGS), VALUES), max_size=8))
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
def test_random_arguments_give_one_plain_line_and_a_nagios_state(argv):
    code, text = run_main(argv)
    if any(a in ("-h", "--help") for a in argv) and text.startswith("Usage"):
        assert code == 0
        return
    assert_plain(code, text, lines=None if text.startswith("check_scald ") else 1)


@pytest.mark.parametrize("argv,starts", [
    (["-t", "1e300", "--status-file", "/nonexistent"], "SCALD UNKNOWN - --timeout must be at most"),
    (["--status-file", "/nonexistent", "--max-age", "1e300"], "SCALD UNKNOWN - --max-age must be at most"),
    (["--bogus"], "SCALD UNKNOWN - unknown argument '--bogus' (see check_scald --help)"),
    ([], "SCALD UNKNOWN - no mode given (see check_scald --help)"),
])
def test_bad_arguments_are_one_line(argv, starts):
    code, text = run_main(argv)
    assert code == 3 and text.startswith(starts) and text.count("\n") == 1, text


def test_version_works_whatever_the_values_of_other_options():
    for argv in (["--version", "-t", "1e300"], ["-V", "--max-age", "0"]):
        code, text = run_main(argv)
        assert code == 0 and text.startswith("check_scald ") and text.count("\n") == 1


def test_help_keeps_the_usage():
    code, text = run_main(["--help"])
    assert code == 0 and text.startswith("Usage: check_scald")


DOCUMENTS = {
    "start_sec a": {"status_intervals": [{"num_status": 0, "txt_status": "ok", "start_sec": "a"}]},
    "created_unix NaN": {"created_unix": float("nan"), "status_intervals": [{"num_status": 0, "txt_status": "ok"}]},
    "txt_status null": {"status_intervals": [{"num_status": 2, "txt_status": None}]},
    "num_status true": {"status_intervals": [{"num_status": True, "txt_status": "x"}]},
    "intervals a string": {"status_intervals": "OK"},
    "markup": {"status_intervals": [{"num_status": 2, "txt_status": 'job="><img src=x onerror=alert(1)>\\nmore <b>'}]},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_hostile_status_documents_give_plain_reasons(tmp_path, name):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOCUMENTS[name]))
    code, text = run_main(["--status-file", str(path)])
    assert_plain(code, text, lines=None)
    assert "None" not in text  # "CRITICAL - None" was the answer to txt_status: null


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=12)
INTERVAL = st.fixed_dictionaries({}, optional={"num_status": JSON | st.integers(-1, 5), "txt_status": JSON,
                                               "start_sec": JSON | st.integers(0, 100), "end_sec": JSON})
DOCUMENT = st.fixed_dictionaries({"status_intervals": st.lists(INTERVAL, max_size=3) | JSON},
                                 optional={"created_unix": JSON, "created_gps": JSON, "check": JSON,
                                           "performance_metrics": JSON})


@given(DOCUMENT)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
def test_random_status_documents_never_crash(tmp_path, doc):
    path = tmp_path / "random.json"
    path.write_text(json.dumps(doc))
    code, text = run_main(["--status-file", str(path)])
    assert_plain(code, text, lines=None)


def test_the_installed_plugin_answers_in_one_line_too():
    out = subprocess.run([sys.executable, "-m", "scald_monitor.plugin", "-t", "1e300"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 3 and out.stdout.count("\n") == 1 and not out.stderr


def test_markup_in_tag_values_never_reaches_nagios(tmp_path):
    import numpy as np

    from scald_monitor.io.sqlite import Aggregator
    from scald_monitor.timeutil import gps_now

    (tmp_path / "scald.yml").write_text(
        "backends: {default: {backend: sqlite, path: s.sqlite}}\n"
        "schemas: {lat: {measurement: lat, column: data, tag: job}}\n"
        "checks: {hot: {type: threshold, schema: lat, critical: '~:5'}}\n")
    agg = Aggregator(path=tmp_path / "s.sqlite")
    agg.register_schema("lat", "data", tags="job")
    t = gps_now() - 100 + np.arange(100.0)
    agg.store_columns("lat", {('"><img src=x onerror=alert(1)>',): {"time": t, "fields": {"data": np.full(100, 9.0)}},
                              ("<script>",): {"time": t, "fields": {"data": np.full(100, 1.0)}}})
    agg.close()
    code, text = run_main(["--config", str(tmp_path / "scald.yml"), "--check", "hot"])
    assert code == 2 and "img src=x" not in text
    assert_plain(code, text, lines=None)
