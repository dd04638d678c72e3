"""Reading status documents (scald_monitor.outputs.status.judge): which interval applies at a document's age, when
it expires, whether it is stale; every malformed field is UNKNOWN with a plain reason; and the plugin and the web
app, given the same file at the same moment, say the same thing.

The interval rule is checked three ways: a table of hand-worked cases, a reference model (IGWN check_json's
``status_interval``, restated below in its own ten lines) on random documents, and (in test_check_json.py) the real
check_json on the same table.
"""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.config import Check, make_check
from scald_monitor.config import load as load_config
from scald_monitor.outputs.status import DocumentError, Judgement, expiry_seconds, judge, load, status_document
from scald_monitor.plugin import status_file_mode
from scald_monitor.rules.result import CRITICAL, OK, UNKNOWN, WARNING, CheckStatus, Result, State
from scald_monitor.serve import checks
from scald_monitor.timeutil import unix_to_gps

NOW = 1_800_000_000.0


def iv(num_status: int, start: float | None = None, end: float | None = None, text: str | None = None) -> dict:
    out: dict = {"num_status": num_status, "txt_status": text if text is not None else f"state {num_status}"}
    if start is not None:
        out["start_sec"] = start
    if end is not None:
        out["end_sec"] = end
    return out


def ours(age: float, state: int = CRITICAL, expiry: int = 60, stale: int = UNKNOWN) -> dict:
    """The shape our daemon writes: the result until EXPIRY, then "not updating"."""
    return {"created_unix": NOW - age, "created_gps": unix_to_gps(NOW - age),
            "status_intervals": [iv(state, 0, expiry, "result"), iv(stale, expiry, None, "not updating")]}


# (id, document, max_age, expected state, expected text (or a part of the reason), stale, expires - created or None)
CASES = [
    ("fresh", ours(5), None, CRITICAL, "result", False, 60),
    ("one second before expiry", ours(59.9), None, CRITICAL, "result", False, 60),
    ("at expiry the later interval wins", ours(60), None, UNKNOWN, "not updating", True, 60),
    ("long expired", ours(86400), None, UNKNOWN, "not updating", True, 60),
    ("heartbeat expired: CRITICAL", ours(100, OK, stale=CRITICAL), None, CRITICAL, "not updating", True, 60),
    ("max_age does not override the producer's own expiry", ours(100, OK, stale=CRITICAL), 30, CRITICAL,
     "not updating", True, 31),
    ("overlap: later start wins", {"created_unix": NOW - 700, "status_intervals": [iv(OK, 0, 3600), iv(WARNING, 600)]},
     None, WARNING, "state 1", True, 600),
    ("overlap: before the later start", {"created_unix": NOW - 100,
                                         "status_intervals": [iv(OK, 0, 3600), iv(WARNING, 600)]},
     None, OK, "state 0", False, 600),
    ("same start: the first listed", {"created_unix": NOW - 50, "status_intervals": [iv(OK, 0, 100), iv(WARNING, 0, 1000)]},
     None, OK, "state 0", False, 101),
    ("same start: the second once the first ended", {"created_unix": NOW - 500,
                                                     "status_intervals": [iv(OK, 0, 100), iv(WARNING, 0, 1000)]},
     None, WARNING, "state 1", True, 101),
    ("listed in any order", {"created_unix": NOW - 700, "status_intervals": [iv(WARNING, 600), iv(OK, 0, 3600)]},
     None, WARNING, "state 1", True, 600),
    ("no end_sec: for ever", {"created_unix": NOW - 10 ** 6, "status_intervals": [iv(OK)]}, None, OK, "state 0", False,
     None),
    ("no end_sec, within max_age", {"created_unix": NOW - 200, "status_intervals": [iv(OK)]}, 300, OK, "state 0", False,
     301),
    ("no end_sec, past max_age", {"created_unix": NOW - 400, "status_intervals": [iv(OK)]}, 300, UNKNOWN,
     "status is 400 s old (more than 300 s)", True, 301),
    ("no created time: age 1 s, never stale", {"status_intervals": [iv(WARNING, 0, 10)]}, None, WARNING, "state 1", False,
     None),
    ("no created time with max_age", {"status_intervals": [iv(OK)]}, 300, UNKNOWN, "its age is unknown", True, None),
    ("created_gps only", {"created_gps": unix_to_gps(NOW - 30), "status_intervals": [iv(WARNING, 0, 60), iv(3, 60)]},
     None, WARNING, "state 1", False, 60),
    ("created_gps only, expired", {"created_gps": unix_to_gps(NOW - 90),
                                   "status_intervals": [iv(WARNING, 0, 60), iv(UNKNOWN, 60)]},
     None, UNKNOWN, "state 3", True, 60),
    ("created_unix wins over created_gps", {"created_unix": NOW - 10, "created_gps": unix_to_gps(NOW - 1000),
                                            "status_intervals": [iv(OK, 0, 60), iv(UNKNOWN, 60)]},
     None, OK, "state 0", False, 60),
    ("future (clock skew)", ours(-3600), None, UNKNOWN, "No status_interval matches elapsed time [-3600]", False, 60),
    ("less than a second in the future is age 0", ours(-0.5), None, CRITICAL, "result", False, 60),
    ("a gap between intervals", {"created_unix": NOW - 90, "status_intervals": [iv(OK, 0, 60), iv(UNKNOWN, 120)]},
     None, UNKNOWN, "No status_interval matches elapsed time [90]", True, 61),
    ("past the last end", {"created_unix": NOW - 100, "status_intervals": [iv(OK, 0, 60)]}, None, UNKNOWN,
     "No status_interval matches elapsed time [100]", True, 61),
    ("ligo-scald's shape (no start, no end, no created)", {"nagios_shib_scraper_ver": 0.1,
                                                            "status_intervals": [iv(CRITICAL, text="lagging")]},
     None, CRITICAL, "lagging", False, None),
    ("null start_sec/end_sec are absent", {"created_unix": NOW - 5,
                                           "status_intervals": [{"num_status": 1, "start_sec": None, "end_sec": None}]},
     None, WARNING, "", False, None),
]


@pytest.mark.parametrize("doc,max_age,state,text,stale,expires", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_interval_rule(doc, max_age, state, text, stale, expires):
    j = judge(json.loads(json.dumps(doc)), NOW, max_age)
    assert isinstance(j, Judgement) and isinstance(j.state, State)
    assert j.state == state, j
    assert text in j.text, j
    assert j.stale is stale, j
    if expires is None:
        assert j.expires is None, j
    else:
        assert j.expires == pytest.approx(j.created + expires, abs=1e-6), j
    if j.interval is None:  # the judge's own UNKNOWN always says why
        assert j.state == UNKNOWN and j.reason and j.text == j.reason
    else:
        assert j.reason == "" and j.state == j.interval["num_status"]


def test_created_gps_gives_the_creation_time_in_unix_seconds():
    j = judge({"created_gps": unix_to_gps(NOW - 30), "status_intervals": [iv(OK)]}, NOW)
    assert j.created == pytest.approx(NOW - 30) and j.age == 30


BAD = [
    ({"created_unix": "yesterday"}, 'created_unix must be a number (Unix seconds), got "yesterday"'),
    ({"created_unix": math.nan}, "created_unix must be a number (Unix seconds), got nan"),
    ({"created_unix": math.inf}, "created_unix must be a number (Unix seconds), got inf"),
    ({"created_unix": True}, "created_unix must be a number (Unix seconds), got true"),
    ({"created_unix": 10 ** 400}, "created_unix must be a number (Unix seconds)"),
    ({"created_unix": [NOW]}, "created_unix must be a number"),
    ({"created_unix": None, "created_gps": "now"}, 'created_gps must be a number (GPS seconds), got "now"'),
    ({"created_unix": None, "created_gps": False}, "created_gps must be a number (GPS seconds), got false"),
    ({"status_intervals": [iv(OK) | {"num_status": True}]}, "status_intervals[0]: invalid num_status true"),
    ({"status_intervals": [iv(OK), iv(OK) | {"num_status": 7}]}, "status_intervals[1]: invalid num_status 7"),
    ({"status_intervals": [iv(OK) | {"num_status": "2"}]}, 'invalid num_status "2"'),
    ({"status_intervals": [iv(OK) | {"num_status": 2.0}]}, "invalid num_status 2.0"),
    ({"status_intervals": [{"txt_status": "x"}]}, "status_intervals[0]: invalid num_status null"),
    ({"status_intervals": [iv(OK) | {"start_sec": "0"}]}, 'status_intervals[0]: start_sec must be a number of seconds, got "0"'),
    ({"status_intervals": [iv(OK) | {"start_sec": math.nan}]}, "status_intervals[0]: start_sec must be a number of seconds, got nan"),
    ({"status_intervals": [iv(OK) | {"end_sec": True}]}, "status_intervals[0]: end_sec must be a number of seconds, got true"),
    ({"status_intervals": [iv(OK) | {"end_sec": -math.inf}]}, "end_sec must be a number of seconds, got -inf"),
    ({"status_intervals": [iv(OK) | {"end_sec": {"s": 1}}]}, 'end_sec must be a number of seconds, got {"s": 1}'),
    ({"status_intervals": [iv(OK) | {"start_sec": -5}]}, "status_intervals[0]: start_sec and end_sec must not be negative"),
    ({"status_intervals": [iv(OK) | {"txt_status": 5}]}, "status_intervals[0]: txt_status must be a string, got 5"),
    ({"status_intervals": []}, "no status_intervals"),
    ({"status_intervals": "all good"}, "no status_intervals"),
    ({"status_intervals": None}, "no status_intervals"),
    ({"status_intervals": [1]}, "status_intervals[0] is not an object"),
    ({"status_intervals": [iv(OK), [0, "x"]]}, "status_intervals[1] is not an object"),
]


@pytest.mark.parametrize("change,reason", BAD, ids=[b[1][:50] for b in BAD])
def test_malformed_fields_are_unknown_with_a_plain_reason(change, reason):
    doc = {"created_unix": NOW - 5, "status_intervals": [iv(OK, 0, 60)], **change}
    for max_age in (None, 300):
        j = judge(doc, NOW, max_age)
        assert j.state == UNKNOWN and j.interval is None, j
        assert reason in j.reason, j.reason
        assert "\n" not in j.reason and "Error" not in j.reason and "Traceback" not in j.reason


@pytest.mark.parametrize("raw,reason", [
    (b"{not json", "not JSON (Expecting property name"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"[1, 2]", "not a JSON object"),
    (b'"text"', "not a JSON object"),
    (b"[" * 100_000, "not JSON"),
])
def test_load_refuses_what_is_not_a_document(raw, reason):
    with pytest.raises(DocumentError) as info:
        load(raw)
    assert reason in str(info.value) and "\n" not in str(info.value)


def check_json_interval(doc: dict, now: float) -> int:
    """IGWN check_json's ``elapsed_time`` + ``status_interval`` (igwn_monitor/plugins/check_json.py), restated:
    the reference the judge must agree with on every valid document."""
    created = doc.get("created_unix", now - 1)
    elapsed = int(now - created)
    for interval in sorted(doc["status_intervals"], key=lambda x: x.get("start_sec", 0), reverse=True):
        if float(interval.get("start_sec", 0)) <= elapsed and float(interval.get("end_sec", math.inf)) >= elapsed:
            return interval["num_status"]
    return UNKNOWN


SECONDS = st.integers(min_value=0, max_value=400)
INTERVALS = st.lists(st.builds(
    lambda state, start, length, has_start, has_end: {
        "num_status": state, "txt_status": f"s{state}",
        **({"start_sec": start} if has_start else {}), **({"end_sec": start + length} if has_end else {})},
    st.integers(0, 3), SECONDS, SECONDS, st.booleans(), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=400, deadline=None)
@given(intervals=INTERVALS, age=st.integers(min_value=-50, max_value=900), has_created=st.booleans())
def test_agrees_with_check_jsons_rule_on_random_documents(intervals, age, has_created):
    now = 1_700_000_000
    doc = {"status_intervals": intervals, **({"created_unix": now - age} if has_created else {})}
    j = judge(doc, now)
    assert j.state == check_json_interval(doc, now)
    if has_created and age >= 0:  # stale exactly from the moment the document says it expires
        assert j.stale == (j.expires is not None and now >= j.expires), j


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
FIELD = st.sampled_from(["created_unix", "created_gps", "status_intervals", "num_status", "start_sec", "end_sec",
                         "txt_status", "check"])


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(doc=st.dictionaries(FIELD, JSON | st.lists(st.dictionaries(FIELD, JSON, max_size=4), max_size=3), max_size=5),
       now=st.floats(min_value=0, max_value=4e9), max_age=st.none() | st.floats(min_value=1, max_value=1e6))
def test_never_raises(doc, now, max_age):
    j = judge(doc, now, max_age)
    assert j.state in (OK, WARNING, CRITICAL, UNKNOWN)
    assert isinstance(j.text, str) and isinstance(j.stale, bool)
    assert j.interval is not None or (j.state == UNKNOWN and j.reason)


# ---- the plugin and the web app read a file the same way ---------------------------------------------------------

CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: latency_history, column: data}
checks:
  lat_max: {type: threshold, schema: lat, critical: "~:25", interval: 20}
  lat_beat: {type: heartbeat, schema: lat, critical: 600, interval: 20}
outputs:
  status_dir: status
"""


class FakeEvaluator:
    """Stands for the on-the-spot evaluation: only asked when the file cannot be used."""

    def __init__(self):
        self.asked: list[str] = []

    def document(self, name: str) -> dict:
        self.asked.append(name)
        result = Result(name, OK, "evaluated", NOW)
        check = make_check(name, {"type": "threshold", "schema": "s", "critical": "~:1", "column": "x", "interval": 20})
        doc = status_document(CheckStatus(result, OK), check, NOW)
        doc["source"] = "evaluated"
        return doc


def written(check: Check, name: str, state: int, age: float) -> dict:
    return status_document(CheckStatus(Result(name, state, f"{name} says {state}", NOW - age), state), check, NOW - age)


def test_plugin_and_serve_judge_a_file_alike(tmp_path):
    (tmp_path / "scald.yml").write_text(CONFIG)
    cfg = load_config(str(tmp_path / "scald.yml"))
    status_dir = tmp_path / "status"
    status_dir.mkdir()
    beat, thresh = cfg.checks["lat_beat"], cfg.checks["lat_max"]
    assert expiry_seconds(thresh) == 60
    gps_only = {"created_gps": unix_to_gps(NOW - 10), "status_intervals": [iv(WARNING, 0, 60, "from gwdetchar"),
                                                                          iv(UNKNOWN, 60, None, "timed out")]}
    docs = {  # name: (document, what both must conclude: the state, and whether the file is still current)
        "fresh": (written(thresh, "lat_max", CRITICAL, 5), CRITICAL, True),
        "expired heartbeat": (written(beat, "lat_beat", OK, 90), CRITICAL, False),
        "expired threshold": (written(thresh, "lat_max", OK, 90), UNKNOWN, False),
        "created_gps only": (gps_only, WARNING, True),
        "no end, older than expiry": ({"created_unix": NOW - 70, "status_intervals": [iv(OK)]}, UNKNOWN, False),
        "future": (written(thresh, "lat_max", OK, -600), UNKNOWN, False),
        "bad field": ({"created_unix": "x", "status_intervals": [iv(OK)]}, UNKNOWN, False),
    }
    for what, (doc, state, current) in docs.items():
        path = status_dir / "lat_max.json"
        path.write_text(json.dumps(doc))
        # what nagios-config makes Nagios run: check_scald --status-file FILE --max-age <expiry>
        code, out = status_file_mode({"status_file": str(path), "max_age": str(expiry_seconds(thresh)),
                                      "timeout": "10", "verbose": 1}, NOW)
        evaluator = FakeEvaluator()
        ans = checks.answer(cfg, evaluator, "lat_max", NOW)
        assert code == state, (what, out)
        own_unknown = out.startswith(f"SCALD LAT_MAX UNKNOWN - {path}: ")  # the judge's reason, not an interval
        assert (", stale" not in out and not own_unknown) == current, (what, out)
        if current:  # serve uses the file, with the plugin's state
            assert ans.source == "status_file" and ans.verdict.state == code and not evaluator.asked, what
        else:  # serve evaluates instead, and says why
            assert ans.source == "evaluated" and evaluator.asked == ["lat_max"], what
            assert ans.stale and str(path) in ans.note, (what, ans.note)
