"""One notion of state (scald_monitor.rules.result.State): numbers, names, the one "worst of" order, and that every
consumer, the state machine, the long text, the API and the page, uses that order and no table of its own."""
from __future__ import annotations

import json
import re
from itertools import permutations
from pathlib import Path

import pytest

from scald_monitor.rules import result as result_module
from scald_monitor.rules.result import (
    BY_SEVERITY,
    CRITICAL,
    OK,
    STATE_NAMES,
    UNKNOWN,
    WARNING,
    Result,
    State,
    TagResult,
    severity,
    state_name,
    state_table,
    worst,
)
from scald_monitor.rules.state import Policy, StateStore

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_and_names_are_nagios_exit_codes():
    assert [(int(s), s.name) for s in State] == [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
    assert (OK, WARNING, CRITICAL, UNKNOWN) == (State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN)
    assert STATE_NAMES == ("OK", "WARNING", "CRITICAL", "UNKNOWN")
    assert [state_name(s) for s in (0, 1, 2, 3, 7, -1, True, None, "2")] == \
        ["OK", "WARNING", "CRITICAL", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN"]
    assert [State.of(v) for v in (0, 2, 3, 4, True, 1.0, "1", None)] == \
        [OK, CRITICAL, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]


def test_states_are_written_as_integers_everywhere():
    """Command files, status JSON, messages: a State must read exactly like the integer it replaced."""
    assert json.dumps({"state": CRITICAL, "list": [OK, UNKNOWN]}) == '{"state": 2, "list": [0, 3]}'
    assert (str(WARNING), f"{WARNING}", f"{WARNING:>3}", "%d" % WARNING) == ("1", "1", "  1", "1")
    assert CRITICAL == 2 and isinstance(CRITICAL, int) and {2: "x"}[CRITICAL] == "x"


# CRITICAL > UNKNOWN > WARNING > OK: what the checks below expect, whatever the module says.
EXPECTED_ORDER = [OK, WARNING, UNKNOWN, CRITICAL]


def test_one_worst_of_order():
    assert list(BY_SEVERITY) == EXPECTED_ORDER
    assert [severity(s) for s in EXPECTED_ORDER] == [0, 1, 2, 3]
    assert [s.severity for s in EXPECTED_ORDER] == [0, 1, 2, 3]
    assert severity(9) == severity(UNKNOWN)


@pytest.mark.parametrize("states,expected", [
    ([], OK),
    ([OK, OK], OK),
    ([OK, WARNING], WARNING),
    ([WARNING, UNKNOWN], UNKNOWN),  # not being able to look is worse than a known warning
    ([UNKNOWN, WARNING, OK], UNKNOWN),
    ([UNKNOWN, CRITICAL], CRITICAL),
    ([CRITICAL, WARNING, UNKNOWN, OK], CRITICAL),
    ([0, 1], WARNING),  # plain integers from JSON files
    ([OK, 7], UNKNOWN),  # an invalid state counts as UNKNOWN
])
def test_worst_of(states, expected):
    got = worst(states)
    assert got == expected and isinstance(got, State)


def test_worst_does_not_depend_on_the_order_of_its_input():
    for perm in permutations([OK, WARNING, CRITICAL, UNKNOWN, OK]):
        assert worst(perm) == CRITICAL
    for perm in permutations([OK, WARNING, UNKNOWN]):
        assert worst(perm) == UNKNOWN


def test_state_table_is_what_the_page_gets():
    assert state_table() == [
        {"state": 0, "name": "OK", "severity": 0},
        {"state": 1, "name": "WARNING", "severity": 1},
        {"state": 2, "name": "CRITICAL", "severity": 3},
        {"state": 3, "name": "UNKNOWN", "severity": 2},
    ]


def test_long_text_lists_problems_worst_first():
    tags = [TagResult(label, state, None, f"{label} text")
            for label, state in (("a", WARNING), ("b", UNKNOWN), ("c", CRITICAL), ("d", OK), ("e", WARNING))]
    result = Result("lat", worst(t.state for t in tags), "summary", 0.0, tags=tags)
    assert result.long_text == ["CRITICAL: c text", "UNKNOWN: b text", "WARNING: a text", "WARNING: e text"]


def test_the_state_machine_takes_the_worst_of_its_tags_in_the_same_order():
    store = StateStore(None)
    tags = [TagResult("job=1", WARNING, 12.0, "late"), TagResult("job=2", UNKNOWN, None, "no data")]
    status = store.apply("lat", Result("lat", worst(t.state for t in tags), "summary", 1000.0, tags=tags), Policy())
    assert status.result.state == UNKNOWN and status.changes[-1].new == UNKNOWN


def test_no_other_module_ranks_states():
    """The order lives in rules/result.py only: no other severity table or hand-written state order in Python."""
    table = re.compile(r"\{\s*(OK|0)\s*:\s*\d+\s*,\s*(UNKNOWN|WARNING|1|3)\s*:")
    ordered = re.compile(r"\(\s*(CRITICAL|WARNING|UNKNOWN)\s*,\s*(CRITICAL|WARNING|UNKNOWN)\s*,\s*(CRITICAL|WARNING|UNKNOWN)"
                         r"\s*(,\s*OK\s*)?\)")
    offenders = []
    for path in sorted((ROOT / "scald_monitor").rglob("*.py")):
        if path.name == "result.py" and path.parent.name == "rules":
            continue
        text = path.read_text()
        for pattern in (table, ordered):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == [], offenders


def strip_js_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(^|[\s;{}(),])//[^\n]*", r"\1", text)


def test_the_page_script_keeps_no_state_table():
    """scald.js reads the states and their order from the page context (``ctx.states``), never from a literal."""
    js = strip_js_comments((ROOT / "web" / "static" / "scald.js").read_text())
    assert "ctx.states" in js
    assert not re.search(r"\b(OK|WARNING|CRITICAL|UNKNOWN)\s*:\s*\d", js), "a severity table in scald.js"
    names = r'"(?:OK|WARNING|CRITICAL|UNKNOWN)"'
    assert not re.search(rf"\[\s*{names}\s*,\s*{names}", js), "a list of state names in scald.js"

def test_module_names_are_the_enum_members():
    for name in STATE_NAMES:
        assert getattr(result_module, name) is State[name]
