"""The per-check, per-tag state machine (scald_monitor.rules.state) and its persistence, against hand-worked
Nagios Core sequences, a hand computation of the flap percentages, and real files killed mid-write."""
from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.config import ConfigError, make_check
from scald_monitor.rules.ranges import parse_range
from scald_monitor.rules.result import CRITICAL, OK, UNKNOWN, WARNING, Result, TagResult, worst
from scald_monitor.rules.state import CHANGES_LENGTH, HARD, SOFT, Policy, StateStore, percent_state_change

REPO = Path(__file__).resolve().parent.parent
O, W, C, U = OK, WARNING, CRITICAL, UNKNOWN


def one_tag(state: int, t: float, value: float | None = None, label: str = "job=1") -> Result:
    return Result("lat", state, "summary", t, tags=[TagResult(label, state, value, f"{label} text")])


def tagged(states: dict[str, int], t: float) -> Result:
    tags = [TagResult(label, state, None, f"{label} text") for label, state in states.items()]
    return Result("lat", worst(states.values()), "summary", t, tags=tags)


def no_tags(state: int, t: float) -> Result:
    return Result("lat", state, "backend down", t)


# ------------------------------------------------------------------------------------------- soft / hard

# (raw, reported state, state type, attempt, change as (old, new, type) or None)
SEQUENCE_3 = [
    (O, O, HARD, 1, None),
    (C, C, SOFT, 1, (O, C, SOFT)),  # problem starts soft
    (C, C, SOFT, 2, None),
    (O, O, HARD, 1, (C, O, HARD)),  # soft recovery
    (W, W, SOFT, 1, (O, W, SOFT)),
    (C, C, SOFT, 2, (W, C, SOFT)),  # any non-OK counts an attempt
    (C, C, HARD, 3, (C, C, HARD)),  # max_attempts reached: hard
    (C, C, HARD, 3, None),
    (W, W, HARD, 3, (C, W, HARD)),  # hard change, no soft phase
    (C, C, HARD, 3, (W, C, HARD)),  # hard WARNING -> CRITICAL
    (O, O, HARD, 1, (C, O, HARD)),  # hard recovery
    (U, U, SOFT, 1, (O, U, SOFT)),
    (O, O, HARD, 1, (U, O, HARD)),
]
SEQUENCE_1 = [
    (O, O, HARD, 1, None),
    (C, C, HARD, 1, (O, C, HARD)),
    (C, C, HARD, 1, None),
    (W, W, HARD, 1, (C, W, HARD)),
    (C, C, HARD, 1, (W, C, HARD)),
    (O, O, HARD, 1, (C, O, HARD)),
    (O, O, HARD, 1, None),
]


@pytest.mark.parametrize("max_attempts,sequence", [(3, SEQUENCE_3), (1, SEQUENCE_1)], ids=["max3", "max1"])
def test_soft_hard_sequence(max_attempts, sequence):
    store = StateStore(None)
    policy = Policy(max_attempts=max_attempts)
    for step, (raw, state, state_type, attempt, change) in enumerate(sequence):
        t = 1000.0 + 60 * step
        status = store.apply("lat", one_tag(raw, t), policy)
        where = f"step {step}"
        assert (status.result.state, status.state_type, status.attempt) == (state, state_type, attempt), where
        assert status.raw_state == raw and status.max_attempts == max_attempts
        tag = store.snapshot("lat")["tags"]["job=1"]
        assert (tag["state"], tag["state_type"], tag["attempt"]) == (state, state_type, attempt), where
        assert status.result.tags[0].state == state
        expected = [] if change is None else [("job=1", *change, t), ("", *change, t)]
        got = [(c.label, c.old, c.new, c.state_type, c.time) for c in status.changes]
        assert got == expected, where


def test_last_change_and_hard_state_times():
    store = StateStore(None)
    policy = Policy(max_attempts=3)
    status = store.apply("lat", one_tag(O, 100), policy)
    assert status.last_change is None and status.last_hard_change is None  # a new check is HARD OK from the start
    store.apply("lat", one_tag(C, 160), policy)  # SOFT 1
    store.apply("lat", one_tag(C, 220), policy)  # SOFT 2
    status = store.apply("lat", one_tag(C, 280), policy)  # HARD 3
    assert (status.last_change, status.last_hard_change) == (160, 280)
    snap = store.snapshot("lat")["check"]
    assert snap["hard_state"] == C and snap["last_check"] == 280
    status = store.apply("lat", one_tag(O, 340), policy)
    assert (status.last_change, status.last_hard_change) == (340, 340)
    store.apply("lat", one_tag(W, 400), policy)  # SOFT: the hard state stays OK
    status = store.apply("lat", one_tag(O, 460), policy)  # soft recovery
    assert (status.last_change, status.last_hard_change) == (460, 340)
    assert store.snapshot("lat")["check"]["hard_state"] == O


def test_result_copy_is_not_the_input():
    store = StateStore(None)
    raw = one_tag(C, 100)
    status = store.apply("lat", raw, Policy(max_attempts=1, hold=60))
    assert status.result is not raw and raw.tags[0].state == C and raw.tags[0].text == "job=1 text"
    assert status.result.tags[0].state == O and status.result.state == O and status.raw_state == C


# ----------------------------------------------------------------------------------------------- hold time

# (time, raw, reported, text suffix)
HOLD = [
    (0, O, O, ""),
    (40, C, O, " (pending 0 s of 120 s)"),
    (80, C, O, " (pending 40 s of 120 s)"),
    (120, C, O, " (pending 80 s of 120 s)"),
    (160, C, C, ""),  # held 120 s: reported
    (200, O, O, ""),  # recovery is immediate
    (240, W, O, " (pending 0 s of 120 s)"),
    (280, O, O, ""),  # the state cleared: pending starts over
    (320, W, O, " (pending 0 s of 120 s)"),
    (360, C, O, " (pending 40 s of 120 s)"),  # still in trouble: the clock keeps running
    (400, W, O, " (pending 80 s of 120 s)"),
    (440, W, W, ""),
    (480, C, W, " (pending 0 s of 120 s)"),  # escalation is held too
    (520, W, W, ""),  # back to the reported state: pending cleared
    (560, C, W, " (pending 0 s of 120 s)"),
]


def test_hold_time():
    store = StateStore(None)
    policy = Policy(hold=120)
    for t, raw, reported, suffix in HOLD:
        status = store.apply("lat", one_tag(raw, t), policy)
        tag = status.result.tags[0]
        assert (tag.state, tag.text, status.result.state) == (reported, "job=1 text" + suffix, reported), t
        snap = store.snapshot("lat")["tags"]["job=1"]
        assert (snap["pending_state"] is not None) == bool(suffix), t
    assert store.snapshot("lat")["tags"]["job=1"]["pending_since"] == 560


def test_hold_time_with_soft_states():
    """Hold first, then max_attempts counts checks of the held state."""
    store = StateStore(None)
    policy = Policy(hold=60, max_attempts=2)
    states = [store.apply("lat", one_tag(C, t), policy) for t in (0, 30, 60, 90)]
    assert [(s.result.state, s.state_type) for s in states] == [(O, HARD), (O, HARD), (C, SOFT), (C, HARD)]


# ---------------------------------------------------------------------------------------------- hysteresis


def evaluate(value: float, warning: str | None, critical: str | None) -> int:
    """What the threshold evaluation would say, without hysteresis."""
    if critical is not None and parse_range(critical).alerts(value):
        return C
    if warning is not None and parse_range(warning).alerts(value):
        return W
    return O


def run_values(values, policy, warning=None, critical=None):
    store = StateStore(None)
    reported = []
    for i, value in enumerate(values):
        status = store.apply("lat", one_tag(evaluate(value, warning, critical), 60.0 * i, value), policy)
        reported.append(status.result.tags[0].state)
    return store, reported


def test_critical_reset_keeps_critical_while_bouncing():
    policy = Policy.from_check(threshold(critical="60:", critical_reset="70:"))
    values = [80, 59, 65, 59, 65, 59, 65, 71, 65]
    store, reported = run_values(values, policy, critical="60:")
    assert reported == [O, C, C, C, C, C, C, O, O]
    snap = store.snapshot("lat")["tags"]["job=1"]
    assert snap["history"] == [O, C, C, C, C, C, C, O, O]  # history is after hysteresis: no flapping
    assert not snap["flapping"]
    _, plain = run_values(values, Policy(), critical="60:")
    assert plain == [O, C, O, C, O, C, O, O, O]


def test_warning_reset():
    policy = Policy.from_check(threshold(critical="~:80", warning_reset="~:45", critical_reset="~:75"))
    values = [40, 55, 48, 44, 85, 78, 70, 50, 46, 40, 85, 48, 30]
    store, reported = run_values(values, policy, warning="~:50", critical="~:80")
    # 48: raw OK but above warning_reset; 78: raw WARNING but above critical_reset; 48 after CRITICAL: raw OK,
    # below critical_reset but above warning_reset -> WARNING.
    assert reported == [O, W, W, O, C, C, W, W, W, O, C, W, O]


def test_hysteresis_ignores_missing_values_and_unknown():
    policy = Policy(critical_reset=parse_range("70:"))
    store = StateStore(None)
    store.apply("lat", one_tag(C, 0, 50), policy)
    assert store.apply("lat", one_tag(O, 60, None), policy).result.state == O  # no value: raw state stands
    store.apply("lat", one_tag(C, 120, 50), policy)
    assert store.apply("lat", one_tag(U, 180, 50), policy).result.state == U  # UNKNOWN is never masked
    store.apply("lat", one_tag(C, 240, 50), policy)
    assert store.apply("lat", one_tag(O, 300, float("nan")), policy).result.state == O


def threshold(**settings):
    """A configured threshold check, through the loader's own path (validation and defaults)."""
    return make_check("lat", {"type": "threshold", "schema": "latency", **settings})


def test_policy_from_check():
    policy = Policy.from_check(threshold(critical="~:50", max_attempts=3, warning_reset="~:45", critical_reset=None,
                                         **{"for": 120}))
    assert (policy.max_attempts, policy.hold) == (3, 120.0)
    assert (policy.warning_reset.text, policy.critical_reset) == ("~:45", None)
    assert (policy.flap_low, policy.flap_high) == (5.0, 20.0)  # Nagios's thresholds: not configurable
    assert Policy.from_check(threshold(critical="~:50")) == Policy()
    assert Policy.from_check(threshold(critical="~:50", max_attempts=None, **{"for": None})) == Policy()
    with pytest.raises(ConfigError, match="flap_low: unknown key"):  # what from_check never reads, config refuses
        threshold(critical="~:50", flap_low=10)


# ------------------------------------------------------------------------------------------------ flapping

# Nagios weights the 20 transitions 0.8 (oldest) .. 1.2 (newest): w(x) = 0.8 + (x - 1) * 0.4 / 19, and the
# percentage is sum(w of changed transitions) / 20 * 100.  Computed by hand for an alternating OK/CRITICAL run:
#   2 states: w(20) = 1.2                                    ->  6.0 %
#   3 states: 1.2 + 1.178947 = 2.378947                      -> 11.894737 %
#   4 states: + 1.157895 = 3.536842                          -> 17.684211 %
#   5 states: + 1.136842 = 4.673684                          -> 23.368421 %  (>= 20: starts flapping)
#  21 states: all 20 transitions, sum = 20                   -> 100 %
# Then a stable run of m states leaves the 20 - m oldest transitions:
#  m = 18: w(1) + w(2) = 0.8 + 0.821053 = 1.621053           ->  8.105263 %  (between 5 and 20: still flapping)
#  m = 19: w(1) = 0.8                                        ->  4.0 %       (< 5: stops)
#  m = 20: nothing                                           ->  0 %
ALTERNATING = {1: 0.0, 2: 6.0, 3: 11.894737, 4: 17.684211, 5: 23.368421, 21: 100.0}
STABLE = {18: 8.105263, 19: 4.0, 20: 0.0}


def test_flapping_alternating_then_stable(caplog):
    caplog.set_level(logging.INFO, logger="scald_monitor.rules.state")
    store = StateStore(None)
    policy = Policy()
    t = 0.0
    for n in range(1, 22):
        status = store.apply("lat", one_tag(C if n % 2 == 0 else O, t), policy)
        t += 60
        if n in ALTERNATING:
            assert status.percent_state_change == pytest.approx(ALTERNATING[n], abs=1e-6), n
        assert status.flapping is (n >= 5), n
        assert status.result.state == (C if n % 2 == 0 else O)  # flapping never changes the reported state
    assert store.snapshot("lat")["tags"]["job=1"]["flapping"]
    assert "lat started flapping" in caplog.text
    last = O  # the 21st state
    for m in range(1, 21):
        status = store.apply("lat", one_tag(last, t), policy)
        t += 60
        if m in STABLE:
            assert status.percent_state_change == pytest.approx(STABLE[m], abs=1e-6), m
        assert status.flapping is (m < 19), m
        assert status.changes == []
    assert "lat stopped flapping" in caplog.text
    assert not store.snapshot("lat")["tags"]["job=1"]["flapping"]


def test_percent_state_change_weights():
    assert percent_state_change([O] * 21) == 0
    assert percent_state_change([O] * 20 + [C]) == pytest.approx(6.0)  # newest transition: 1.2
    assert percent_state_change([C] + [O] * 20) == pytest.approx(4.0)  # oldest transition: 0.8
    assert percent_state_change([O, C] * 11) == pytest.approx(100.0)  # only the last 21 count


# ------------------------------------------------------------------------------------ tags coming and going


def test_unknown_without_tags_keeps_tag_states():
    store = StateStore(None)
    policy = Policy(max_attempts=2)
    for t in (0, 60):
        store.apply("lat", tagged({"a": C, "b": O, "c": W}, t), policy)
    before = store.snapshot("lat")["tags"]
    assert before["a"]["state_type"] == HARD and before["c"]["state_type"] == HARD
    status = store.apply("lat", no_tags(U, 120), policy)
    assert store.snapshot("lat")["tags"] == before  # untouched, not even last_check
    assert (status.result.state, status.state_type, status.raw_state) == (U, HARD, U)  # a hard change
    assert [(c.label, c.old, c.new) for c in status.changes] == [("", C, U)]
    assert status.result.tags == []
    status = store.apply("lat", tagged({"a": C, "b": O, "c": W}, 180), policy)
    assert [(c.label, c.old, c.new, c.state_type) for c in status.changes] == [("", U, C, HARD)]  # no tag re-alerts


def test_absent_tags_are_dropped_and_new_tags_start_ok():
    store = StateStore(None)
    policy = Policy()
    store.apply("lat", tagged({"a": C, "b": C}, 0), policy)
    status = store.apply("lat", tagged({"a": C, "d": O}, 60), policy)
    assert sorted(store.snapshot("lat")["tags"]) == ["a", "d"]
    assert status.changes == []
    status = store.apply("lat", tagged({"a": C, "b": C}, 120), policy)  # b is new again: alerts again
    assert [(c.label, c.old, c.new) for c in status.changes] == [("b", O, C)]
    assert store.snapshot("lat")["tags"]["b"]["last_change"] == 120


def test_untagged_check_lists_each_change_once():
    store = StateStore(None)
    status = store.apply("lat", one_tag(C, 0, label=""), Policy())
    assert [(c.label, c.new) for c in status.changes] == [("", C)]
    assert str(status.changes[0]) == "lat: OK -> CRITICAL (HARD)"


def test_invalid_raw_state_is_unknown():
    store = StateStore(None)
    status = store.apply("lat", one_tag(7, 0), Policy())
    assert status.result.state == U and status.result.tags[0].state == U


def test_bad_result_time_does_not_break_saving(tmp_path):
    store = StateStore(str(tmp_path / "state.json"))
    status = store.apply("lat", one_tag(C, float("nan")), Policy())
    assert abs(status.last_change - time.time()) < 60
    store.save()


def test_forget_and_snapshot():
    store = StateStore(None)
    for name in ("a", "b", "c"):
        store.apply(name, one_tag(C, 0), Policy())
    store.forget(["a", "c", "zzz"])
    assert store.checks() == ["a", "c"] and store.snapshot("b") is None
    snap = store.snapshot("a")
    snap["check"]["state"] = O  # a copy: the caller cannot corrupt the store
    assert store.snapshot("a")["check"]["state"] == C


# ------------------------------------------------------------------------------------------- change log


def test_history_records_changes_only():
    store = StateStore(None)
    policy = Policy(max_attempts=2)
    assert store.history("lat") == []
    for t, raw in [(0, O), (60, O), (120, C), (180, C), (240, C), (300, O), (360, O), (420, W)]:
        store.apply("lat", one_tag(raw, t), policy)
    assert store.history("lat") == [
        {"time": 0, "state": O, "state_type": HARD},  # the first state ever reported, although not a change
        {"time": 120, "state": C, "state_type": SOFT},
        {"time": 180, "state": C, "state_type": HARD},  # soft -> hard is a change of the reported state type
        {"time": 300, "state": O, "state_type": HARD},
        {"time": 420, "state": W, "state_type": SOFT},
    ]
    history = store.history("lat")
    history.clear()  # a copy: the caller cannot corrupt the store
    assert len(store.history("lat")) == 5
    assert "changes" not in store.snapshot("lat")  # the snapshot stays small; the log has its own accessor


def test_history_first_state_can_be_a_problem_and_untagged_results_count():
    store = StateStore(None)
    store.apply("lat", no_tags(U, 10), Policy())
    store.apply("lat", no_tags(U, 20), Policy())
    store.apply("lat", tagged({"a": O, "b": C}, 30), Policy())
    assert [(c["time"], c["state"]) for c in store.history("lat")] == [(10, U), (30, C)]


def test_history_is_bounded_to_the_newest():
    store = StateStore(None)
    n = CHANGES_LENGTH + 37
    for i in range(n):
        store.apply("lat", one_tag(C if i % 2 else O, float(i)), Policy())
    history = store.history("lat")
    assert len(history) == CHANGES_LENGTH
    assert history[0]["time"] == n - CHANGES_LENGTH and history[-1]["time"] == n - 1


def test_history_survives_save_and_load(tmp_path):
    path = tmp_path / "state.json"
    store = StateStore(str(path))
    for t, raw in [(0, O), (60, C), (120, O)]:
        store.apply("lat", one_tag(raw, t), Policy())
    store.save()
    assert json.loads(path.read_text())["checks"]["lat"]["changes"] == store.history("lat")
    again = StateStore(str(path))
    again.load()
    assert again.history("lat") == store.history("lat")
    again.apply("lat", one_tag(O, 180), Policy())  # no change: nothing logged
    again.apply("lat", one_tag(W, 240), Policy())
    assert [c["time"] for c in again.history("lat")] == [0, 60, 120, 240]


def test_file_without_change_log_loads(tmp_path):
    """State files written before the log existed (same format version) load; the log starts at the next result."""
    path = tmp_path / "state.json"
    store = StateStore(str(path))
    store.apply("lat", one_tag(C, 0), Policy())
    store.save()
    data = json.loads(path.read_text())
    del data["checks"]["lat"]["changes"]
    path.write_text(json.dumps(data))
    old = StateStore(str(path))
    old.load()
    assert old.checks() == ["lat"] and old.history("lat") == [] and path.exists()
    assert old.snapshot("lat") == store.snapshot("lat")
    status = old.apply("lat", one_tag(C, 60), Policy())
    assert status.changes == []  # the state machine carried on: no re-alert
    assert old.history("lat") == [{"time": 60, "state": C, "state_type": HARD}]


# --------------------------------------------------------------------------------------------- persistence


def test_restart_continues_without_realerting(tmp_path):
    path = tmp_path / "state.json"
    policy = Policy(max_attempts=3)
    store = StateStore(str(path))
    store.load()
    for t in (0, 60, 120):
        status = store.apply("hard", one_tag(C, t), policy)
    assert status.state_type == HARD
    store.apply("soft", one_tag(W, 0), policy)
    store.apply("held", one_tag(C, 0), Policy(hold=300))
    store.save()
    data = json.loads(path.read_text())
    assert data["version"] == 1 and set(data["checks"]) == {"hard", "soft", "held"}
    assert set(data["checks"]["hard"]) == {"check", "tags", "changes"}

    again = StateStore(str(path))
    again.load()
    for name in ("hard", "soft", "held"):
        assert again.snapshot(name) == store.snapshot(name)
    status = again.apply("hard", one_tag(C, 180), policy)
    assert status.changes == [] and (status.result.state, status.state_type) == (C, HARD)
    assert (status.last_change, status.last_hard_change) == (0, 120)
    status = again.apply("soft", one_tag(W, 60), policy)
    assert (status.state_type, status.attempt) == (SOFT, 2)  # attempts continue
    status = again.apply("held", one_tag(C, 200), Policy(hold=300))
    assert status.result.tags[0].text.endswith("(pending 200 s of 300 s)")  # the hold clock survived too


def test_load_missing_file_and_memory_store(tmp_path):
    store = StateStore(str(tmp_path / "nothing" / "state.json"))
    store.load()
    assert store.checks() == []
    store.apply("a", one_tag(O, 0), Policy())
    store.save()  # creates the directory
    assert json.loads((tmp_path / "nothing" / "state.json").read_text())["checks"]["a"]
    memory = StateStore(None)
    memory.load()
    memory.save()


@pytest.mark.parametrize("content", [
    b"{not json",
    b"",
    b"\xff\xfe garbage",
    b'{"version": 2, "checks": {}}',
    b"[1, 2]",
    b'{"version": 1, "checks": {"a": {"check": {"state": 9}, "tags": {}}}}',
    b'{"version": 1, "checks": {"a": {"check": {"state": 0, "attempt": "x"}, "tags": {}}}}',
    b'{"version": 1, "checks": {"a": {"check": {"state": 0}, "tags": {}, "changes": {}}}}',
    b'{"version": 1, "checks": {"a": {"check": {"state": 0}, "tags": {}, "changes": [{"time": 1, "state": 7, '
    b'"state_type": "HARD"}]}}}',
], ids=["bad-json", "empty", "binary", "version", "list", "bad-state", "bad-attempt", "bad-changes",
        "bad-change-state"])
def test_corrupt_file_is_moved_aside(tmp_path, caplog, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    store = StateStore(str(path))
    with caplog.at_level(logging.WARNING, logger="scald_monitor.rules.state"):
        store.load()
    assert store.checks() == []
    assert not path.exists()
    aside = list(tmp_path.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert "moved it to" in caplog.text and str(aside[0]) in caplog.text
    store.apply("a", one_tag(C, 0), Policy())
    store.save()
    assert set(json.loads(path.read_text())["checks"]) == {"a"}


def test_two_corruptions_in_one_second_keep_both(tmp_path):
    path = tmp_path / "state.json"
    for content in (b"{", b"}"):
        path.write_bytes(content)
        StateStore(str(path)).load()
    assert sorted(p.read_bytes() for p in tmp_path.glob("state.json.corrupt-*")) == [b"{", b"}"]


def test_save_keeps_file_mode(tmp_path):
    path = tmp_path / "state.json"
    store = StateStore(str(path))
    store.save()
    assert path.stat().st_mode & 0o777 == 0o644
    os.chmod(path, 0o600)
    store.save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


SAVER = textwrap.dedent("""
    import sys
    from scald_monitor.rules.result import Result, TagResult
    from scald_monitor.rules.state import Policy, StateStore

    path, checks, tags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = StateStore(path)
    policy = Policy(max_attempts=3)
    for c in range(checks):
        results = [TagResult(f"job={j:04d}", (c + j) % 4, float(j), "x" * 40) for j in range(tags)]
        store.apply(f"check{c:04d}", Result(f"check{c:04d}", 0, "s", 0.0, results), policy)
    i = 0
    while True:
        i += 1
        results = [TagResult(f"job={j:04d}", (i + j) % 4, float(j), "x" * 40) for j in range(tags)]
        store.apply(f"check{i % checks:04d}", Result("c", 0, "s", float(i), results), policy)
        store.save()
""")


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _temporary_files(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.startswith(".state.json.") and name.endswith(".tmp")]


def _kill_in_write(directory: Path, proc: subprocess.Popen, deadline: float) -> None:
    """Return as soon as a temporary file exists, i.e. while the saver is writing or renaming it."""
    known = set(_temporary_files(directory))  # left over by earlier kills
    while not set(_temporary_files(directory)) - known:
        assert proc.poll() is None and time.monotonic() < deadline, "the saver never wrote a temporary file"


@pytest.mark.slow
def test_save_survives_sigkill(tmp_path):
    """Kill a process that saves a ~1.4 MB store in a loop: at random moments, and right while it writes
    the temporary file.  Each time the state file must be whole: valid JSON with every check and tag."""
    path = tmp_path / "state.json"
    checks, tags = 300, 20
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    rng = random.Random(20240521)
    for round_ in range(8):
        before = _inode(path)
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path), str(checks), str(tags)], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 15
            while _inode(path) == before:  # wait for this process's first completed save
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the saver never saved"
                time.sleep(0.005)
            if round_ % 2:
                _kill_in_write(tmp_path, proc, deadline)
            else:
                time.sleep(rng.uniform(0.0, 0.25))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, round_
        data = json.loads(path.read_text())
        assert data["version"] == 1 and len(data["checks"]) == checks, round_
        assert all(len(entry["tags"]) == tags for entry in data["checks"].values()), round_
        store = StateStore(str(path))
        store.load()  # and it loads without being set aside
        assert len(store.checks()) == checks and path.exists(), round_
    assert path.stat().st_size > 1_000_000
    assert not list(tmp_path.glob("state.json.corrupt-*"))
    for name in _temporary_files(tmp_path):  # what a kill mid-write leaves: harmless, and never a whole file
        os.unlink(tmp_path / name)


# ------------------------------------------------------------------------------------------------ property

steps = st.lists(
    st.tuples(
        st.integers(0, 90),  # seconds since the previous check
        st.one_of(st.none(), st.fixed_dictionaries({"a": st.integers(0, 3), "b": st.integers(0, 3)})),
        st.sampled_from(range(4)),  # state of a result without tags
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(max_attempts=st.integers(1, 5), hold=st.sampled_from([0, 0, 45, 120]), sequence=steps)
def test_invariants(max_attempts, hold, sequence):
    store = StateStore(None)
    policy = Policy(max_attempts=max_attempts, hold=hold)
    seen: dict[str, set[int]] = {"": {OK}, "a": {OK}, "b": {OK}}
    t = 0.0
    for dt, tag_states, untagged_state in sequence:
        t += dt
        if tag_states is None:
            result = no_tags(untagged_state, t)
            seen[""].add(untagged_state)
        else:
            result = tagged(tag_states, t)
            for label, state in tag_states.items():
                seen[label].add(state)
                seen[""].add(state)
        status = store.apply("lat", result, policy)
        snap = store.snapshot("lat")
        for label, entry in [("", snap["check"])] + list(snap["tags"].items()):
            assert 1 <= entry["attempt"] <= max_attempts
            if entry["attempt"] == max_attempts or entry["state"] == OK:
                assert entry["state_type"] == HARD
            if entry["state"] == OK:
                assert entry["attempt"] == 1
            assert entry["state"] in seen[label]
            assert len(entry["history"]) <= 21
            assert 0 <= entry["percent_state_change"] <= 100 + 1e-9
        assert (status.result.state, status.state_type, status.attempt) == (
            snap["check"]["state"], snap["check"]["state_type"], snap["check"]["attempt"])
        for change in status.changes:
            current = snap["check"] if change.label == "" else snap["tags"][change.label]
            assert (change.new, change.state_type) == (current["state"], current["state_type"])
        history = store.history("lat")
        assert (history[-1]["state"], history[-1]["state_type"]) == (snap["check"]["state"], snap["check"]["state_type"])
        pairs = [(c["state"], c["state_type"]) for c in history]
        assert all(a != b for a, b in zip(pairs, pairs[1:]))  # one entry per change, never a repeat
        assert [c["time"] for c in history] == sorted(c["time"] for c in history)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from([O, W, C])), min_size=1, max_size=30))
def test_each_save_writes_every_checks_state_as_it_is_now(tmp_path_factory, steps):
    """A save after each check re-encodes only the check that changed: what it writes must still be the whole,
    current state of every check (a reload gives the same snapshots as the store that saved)."""
    path = tmp_path_factory.mktemp("state") / "state.json"
    store, policy = StateStore(str(path)), Policy(max_attempts=2)
    for i, (check, state) in enumerate(steps):
        store.apply(check, one_tag(state, 100 + 60 * i), policy)
        store.save()
        again = StateStore(str(path))
        again.load()
        assert again.checks() == store.checks()
        for name in store.checks():
            assert again.snapshot(name) == store.snapshot(name), (name, i)
    store.forget(["a"])
    store.save()
    again = StateStore(str(path))
    again.load()
    assert again.checks() == [n for n in ("a",) if n in store.checks()]
    assert set(json.loads(path.read_text())) == {"version", "written", "checks"}
