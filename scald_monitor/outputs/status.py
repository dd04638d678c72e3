"""Status JSON per check: the LIGO "shib scraper" document, in the superset IGWN's ``check_json`` validates, and
the one reading of such a document that every consumer shares.

Writing: one file per check, ``<status_dir>/<check>.json``, replaced atomically so a reader (``check_json`` through
a web server, ``check_scald --status-file``, the dashboard) never sees half a document.  The document says how long
it stays valid: a second status interval starting at EXPIRY seconds after ``created_unix`` reports the check as not
updating, so a dead daemon turns the service UNKNOWN (CRITICAL for a heartbeat) without anyone having to notice.

Reading: :func:`judge` decides what a document (ours or any IGWN producer's) says at a given time: which status
interval applies at its age (IGWN ``check_json``'s rule), when it expires and whether it is stale.  The plugin, the
web API, the status board and the Nagios configuration all use it, so a document never means two things.

Stdlib only (plus ``timeutil`` and ``rules``, themselves stdlib only), and what only the writer needs (``logging``,
``tempfile``, the ranges) or only other producers' documents need (``timeutil`` for ``created_gps``) is imported
where it is used: ``check_scald --status-file`` imports this module on every start-up.
"""
from __future__ import annotations

import json
import math
import os
import time

from ..records import FrozenRecord
from ..rules.result import UNKNOWN, CheckStatus, Perf, Result, State, state_name

TYPE_CHECKING = False  # not ``from typing import ...``: the plugin imports this module
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..config import Check

__all__ = [
    "AUTHOR",
    "DocumentError",
    "Judgement",
    "MAX_BYTES",
    "expiry_seconds",
    "judge",
    "load",
    "status_document",
    "status_text",
    "sync_status_dir",
    "unknown_document",
    "write_status",
]

#: What ``check_json`` shows as "Author:"; the IGWN schema requires ``name`` when ``author`` is an object.
AUTHOR = {"name": "scald-monitor"}
#: Literal backslash-n: ``check_json`` (and the old LIGO scraper) turn it into a line break in ``txt_status``.
LINE_BREAK = "\\n"
#: A status document larger than this is not one (ours are a few kB even with thousands of tags): readers stop there.
MAX_BYTES = 16 * 1024 * 1024
#: Leftover temp files from a writer killed mid-write are removed by ``sync_status_dir`` once this old (seconds).
STALE_TEMP_AGE = 3600


def expiry_seconds(check: Check) -> int:
    """Seconds after creation at which a document stops being valid: the check's ``expiry`` in whole seconds,
    rounded up, because the IGWN schema wants integer ``start_sec``/``end_sec``."""
    return max(1, math.ceil(check.expiry - 1e-9))  # 3 × 0.1 is 0.30000000000000004: float noise is not a second more


def _finite(value: float | None) -> float | None:
    """JSON has no NaN/inf; strict parsers (browsers, jq) reject them, so they become null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _g(value: float) -> str:
    return f"{value:g}"


def _condition(range_text, units: str) -> str:
    """What makes a Nagios range alert, in words: ``~:10`` → "above 10", ``@10:20`` → "between 10 and 20"."""
    from ..rules.ranges import RangeError, parse_range  # the writer's only: check_scald never pays for it

    suffix = f" {units}" if units else ""
    try:
        r = parse_range(range_text)
    except RangeError:  # normalized configs never get here; say what we know rather than fail the write
        return f"outside range {range_text}{suffix}"
    lo, hi = r.start, r.end
    if r.inside:
        if math.isinf(lo):
            return f"at most {_g(hi)}{suffix}"
        if math.isinf(hi):
            return f"at least {_g(lo)}{suffix}"
        return f"between {_g(lo)} and {_g(hi)}{suffix}"
    if math.isinf(lo):
        return f"above {_g(hi)}{suffix}"
    if math.isinf(hi):
        return f"below {_g(lo)}{suffix}"
    return f"below {_g(lo)} or above {_g(hi)}{suffix}"


def _legend(check: Check, expiry: int, stale: int) -> dict[str, str]:
    """The ``ok_txt`` … ``unknown_txt`` legend ``check_json`` prints under the status: what each state means here."""
    per_tag = " for any tag value" if check.per_tag else ""
    warn, crit = check.warning, check.critical
    if check.type == "heartbeat":
        what = "newest point" + per_tag
        ok_age = warn if warn is not None else crit
        texts = [
            f"{what} at most {_g(ok_age)} s old" if ok_age is not None else f"{what} recent enough",
            f"{what} older than {_g(warn)} s" if warn is not None else "no warning age set",
            f"{what} older than {_g(crit)} s, or no data at all" if crit is not None else "no data at all",
            "backend error or bad configuration",
        ]
    else:
        units = check.units
        what = f"{check.aggregate} of {check.column} over {_g(check.lookback)} s"
        what += per_tag
        texts = [
            f"{what} within limits",
            f"{what} {_condition(warn, units)}" if warn is not None else "no warning threshold set",
            f"{what} {_condition(crit, units)}" if crit is not None else "no critical threshold set",
            "no data, backend error or bad configuration",
        ]
    texts[stale] += f"; or no new result for {expiry} s"
    return dict(zip(("ok_txt", "warning_txt", "critical_txt", "unknown_txt"), texts))


def _metric(perf: Perf) -> list[str | None]:
    """``[value+UOM, warn, crit, min, max]`` exactly as ``Perf`` prints them (``check_json`` joins them with ';').

    Always five entries (None where absent, which ``check_json`` prints as empty) so JSON readers can index them.
    """
    text = str(perf)
    fields = text[text.rindex("=") + 1:].split(";")  # the label cannot contain '=': Perf replaces it
    fields += [""] * (5 - len(fields))
    return [f or None for f in fields]


def _metric_label(label: str) -> str:
    """``check_json`` prints ``'<label>'=`` verbatim: double single quotes (the perfdata escape), drop '=' and '|'."""
    return label.replace("=", "_").replace("|", "_").replace("'", "''")


def _one_line(text: str) -> str:
    """Text for one ``txt_status`` line: real line breaks would be taken for extra lines; '|' would start perfdata."""
    return " ".join(text.splitlines()).replace("|", "/")


def status_text(result: Result) -> str:
    """The plugin output without perfdata (``performance_metrics`` carries it): first line, then the long text,
    joined by a literal ``\\n`` that ``check_json`` turns into line breaks."""
    return LINE_BREAK.join(_one_line(line) for line in [result.first_line(), *result.long_text])


def status_document(status: CheckStatus, check: Check, now_unix: float, lifecycle: dict | None = None) -> dict:
    """The status JSON for one check's latest result, valid for ``expiry_seconds(check)`` after ``now_unix``;
    ``lifecycle`` (downtime, acknowledgement, tags_in_downtime, tags_acknowledged) joins our own keys."""
    from ..timeutil import unix_to_gps

    result = status.result
    name = result.check
    expiry, stale = expiry_seconds(check), check.stale_state
    doc: dict = {
        "nagios_shib_scraper_ver": 0.1,
        "created_unix": float(now_unix),
        "created_gps": float(unix_to_gps(now_unix)),
        "author": dict(AUTHOR),
        **_legend(check, expiry, stale),
        "status_intervals": [
            {"start_sec": 0, "end_sec": expiry, "num_status": result.state, "txt_status": status_text(result)},
            {
                "start_sec": expiry,
                "num_status": stale,
                "txt_status": f"SCALD {name.upper()} {state_name(stale)} - {name} is not updating "
                              f"(no new result for {expiry} s)",
            },
        ],
        "performance_metrics": {_metric_label(p.label): _metric(p) for p in result.perfdata},
        # Our own keys, for the dashboard and anything that wants structure rather than text.
        "check": name,
        "state": result.state,
        "state_name": result.state_name,
        "state_type": status.state_type,
        "attempt": status.attempt,
        "max_attempts": status.max_attempts,
        "summary": result.summary,
        "last_change": _finite(status.last_change),
        "last_hard_change": _finite(status.last_hard_change),
        "flapping": status.flapping,
        "percent_state_change": _finite(status.percent_state_change),
        "tags": [{"label": t.label, "state": t.state, "value": _finite(t.value), "text": t.text} for t in result.tags],
    }
    if check.description:
        doc["description"] = check.description
    doc.update(lifecycle or {})
    return doc


def unknown_document(name: str, check: Check, reason: str, now_unix: float) -> dict:
    """An UNKNOWN document for a configured check that has no result yet (the web API answers 200 with it)."""
    result = Result(check=name, state=UNKNOWN, summary=reason, time=now_unix)
    status = CheckStatus(result=result, raw_state=UNKNOWN, max_attempts=check.max_attempts)
    return status_document(status, check, now_unix)


# -- reading --------------------------------------------------------------------------------------------------


class DocumentError(ValueError):
    """Bytes that are not a status document at all (not UTF-8, not JSON, not an object); the message is plain."""


def load(raw: bytes | str) -> dict:
    """Parse a status document; :class:`DocumentError` with a one-line reason (no exception class) if it is none.

    Whether its content can be used is :func:`judge`'s business: a document with bad intervals still has a
    ``check`` name a reader can report under.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:  # JSONDecodeError: "Expecting value: line 1 column 1 (char 0)" says where
        raise DocumentError(f"not JSON ({exc})") from None
    except RecursionError:
        raise DocumentError("not JSON (nested too deeply)") from None
    if not isinstance(doc, dict):
        raise DocumentError("not a JSON object")
    return doc


class Judgement(FrozenRecord):
    """What a status document says at one moment, as IGWN's ``check_json`` reads it (see :func:`judge`)."""

    _fields = ("state", "text", "interval", "age", "created", "expires", "stale", "reason")
    state: State  # the state to report now
    text: str  # the applying interval's txt_status (literal "\\n" kept), else the reason
    interval: dict | None  # the status interval that applies, None when the state is the judge's own UNKNOWN
    age: int | None  # whole seconds since creation, as check_json counts them; None when it cannot be known
    created: float | None  # creation time, Unix seconds (from created_unix, else created_gps)
    expires: float | None  # Unix time at which the producer's current result stops applying; None: never
    stale: bool  # the current result no longer applies: the producer stopped updating the document
    reason: str  # why the state is the judge's own UNKNOWN ("" when an interval applies)

    def __init__(self, state: State, text: str, interval: dict | None, age: int | None, created: float | None,
                 expires: float | None, stale: bool, reason: str) -> None:
        self._init(state=state, text=text, interval=interval, age=age, created=created, expires=expires,
                   stale=stale, reason=reason)


def _seconds_field(doc: dict, key: str, what: str) -> float | None:
    """A finite number of seconds, None when absent (or null); :class:`DocumentError` naming the key otherwise."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer with hundreds of digits
            number = math.inf
        if math.isfinite(number):
            return number
    raise DocumentError(f"{key} must be {what}, got {_show(value)}")


def _show(value: object) -> str:
    """A field's value as the document spells it (JSON), shortened: what a reason quotes."""
    try:
        text = repr(value) if isinstance(value, float) else json.dumps(value, default=repr)
    except (TypeError, ValueError, RecursionError):  # a caller's dict holding a circular or odd object
        text = repr(type(value).__name__)
    return text if len(text) <= 40 else text[:37] + "..."


def _intervals(doc: dict) -> list[tuple[float, float | None, State, str, dict]]:
    """Every interval as (start, end, state, text, the interval), validated: one bad field makes the whole
    document unusable, as ``check_json`` validates against its schema before choosing."""
    intervals = doc.get("status_intervals")
    if not isinstance(intervals, list) or not intervals:
        raise DocumentError("no status_intervals")
    out = []
    for i, iv in enumerate(intervals):
        where = f"status_intervals[{i}]"
        if not isinstance(iv, dict):
            raise DocumentError(f"{where} is not an object")
        state = iv.get("num_status")
        if not isinstance(state, int) or isinstance(state, bool) or not 0 <= state <= 3:
            raise DocumentError(f"{where}: invalid num_status {_show(state)} (must be 0, 1, 2 or 3)")
        try:
            start = _seconds_field(iv, "start_sec", "a number of seconds")
            end = _seconds_field(iv, "end_sec", "a number of seconds")
        except DocumentError as exc:
            raise DocumentError(f"{where}: {exc}") from None
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise DocumentError(f"{where}: start_sec and end_sec must not be negative")
        text = iv.get("txt_status", "")
        if not isinstance(text, str):
            raise DocumentError(f"{where}: txt_status must be a string, got {_show(text)}")
        out.append((start or 0.0, end, State(state), text, iv))
    # check_json's order: latest start first; among equal starts the one listed first (a stable sort)
    out.sort(key=lambda entry: entry[0], reverse=True)
    return out


def _pick(intervals: list, age: int) -> int | None:
    """Index (in check_json's order) of the first interval with start <= age <= end, both ends inclusive."""
    for i, (start, end, _state, _text, _iv) in enumerate(intervals):
        if start <= age and (end is None or age <= end):
            return i
    return None


def _created(doc: dict) -> float | None:
    """Creation time in Unix seconds: ``created_unix``, else ``created_gps`` (other IGWN producers write only that)."""
    unix = _seconds_field(doc, "created_unix", "a number (Unix seconds)")
    if unix is not None:
        return unix
    gps = _seconds_field(doc, "created_gps", "a number (GPS seconds)")
    if gps is None:
        return None
    from ..timeutil import gps_to_unix  # only for documents without created_unix: ours always carry it

    return float(gps_to_unix(gps))


def _end_age(intervals: list, current: int, max_age: float | None) -> int | None:
    """The first whole age at which the interval that applied at creation no longer does: past its end, taken
    over by a later-starting interval, or past ``max_age``. None when it applies for ever."""
    ages = []
    end = intervals[current][1]
    if end is not None:
        ages.append(math.floor(end) + 1)  # ages are whole seconds and the end is inclusive
    for start, later_end, _state, _text, _iv in intervals[:current]:  # they win wherever they match
        first = math.ceil(start)
        if later_end is None or first <= later_end:
            ages.append(first)
    if max_age is not None:
        ages.append(math.floor(max_age) + 1)
    return min(ages) if ages else None


def judge(doc: dict, now: float, max_age: float | None = None) -> Judgement:
    """What ``doc`` says at Unix time ``now``: the state to report, and whether it is still the producer's result.

    The interval rule is IGWN ``check_json``'s (``igwn_monitor.plugins.check_json.status_interval``): the age is
    ``int(now - created)``, the intervals are tried latest ``start_sec`` first, and the first with ``start_sec <=
    age <= end_sec`` (ends inclusive, no end: for ever) applies; none is UNKNOWN (a creation time in the future,
    i.e. clock skew, matches none). The creation time is ``created_unix``, else ``created_gps``; a document with
    neither is read at age 1 s, as check_json does, so it never goes stale by itself.

    ``max_age`` (seconds) is the reader's own limit (``check_scald --max-age``, or the check's expiry in the web
    app): while the interval that applied at creation still applies, a document older than this, or of unknown
    age, is UNKNOWN. Once the producer's own later interval has taken over (our "is not updating" interval, CRITICAL
    for a heartbeat), that interval's state stands: the producer said what its silence means.

    Never raises for a dict: every field that is missing, of the wrong type, NaN or infinite gives UNKNOWN with a
    plain reason naming the field.
    """
    def unknown(reason: str, age: int | None = None, created: float | None = None, expires: float | None = None,
                stale: bool = False) -> Judgement:
        return Judgement(UNKNOWN, reason, None, age, created, expires, stale, reason)

    try:
        intervals = _intervals(doc)
        created = _created(doc)
    except DocumentError as exc:
        return unknown(str(exc))
    current = _pick(intervals, 0)
    if created is None:
        if max_age is not None:
            return unknown("no created_unix or created_gps: its age is unknown", stale=True)
        chosen = _pick(intervals, 1)
        if chosen is None:
            return unknown("No status_interval matches elapsed time [1] (no created_unix or created_gps)")
        _start, _end, state, text, iv = intervals[chosen]
        return Judgement(state, text, iv, None, None, None, False, "")
    age = int(now - created)  # truncated toward zero, as check_json
    end_age = _end_age(intervals, current, max_age) if current is not None else None
    expires = created + end_age if end_age is not None else None
    if age < 0:
        return unknown(f"No status_interval matches elapsed time [{age}]: the document was created {-age} s "
                       "in the future (clock skew?)", age, created, expires)
    stale = end_age is not None and age >= end_age
    chosen = _pick(intervals, age)
    if chosen is not None and chosen != current:  # the producer's own later interval: "not updating"
        _start, _end, state, text, iv = intervals[chosen]
        return Judgement(state, text, iv, age, created, expires, stale, "")
    if max_age is not None and age > max_age:
        return unknown(f"status is {age} s old (more than {max_age:g} s): its producer is not updating it",
                       age, created, expires, stale)
    if chosen is None:
        return unknown(f"No status_interval matches elapsed time [{age}]", age, created, expires, stale)
    _start, _end, state, text, iv = intervals[chosen]
    return Judgement(state, text, iv, age, created, expires, stale, "")


# -- writing ------------------------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\0" in name or (os.altsep and os.altsep in name):
        raise ValueError(f"invalid check name for a status file: {name!r} (no path separators, no leading dot)")


def temp_dir(status_dir: str) -> str:
    """Where temp files go: a hidden sibling of status_dir, so status_dir only ever holds finished documents and
    ``os.replace`` stays a rename within one filesystem (unless status_dir itself is a mount point)."""
    head, tail = os.path.split(os.path.abspath(status_dir))
    return os.path.join(head, f".{tail}.tmp")


def write_status(status_dir: str, name: str, doc: dict) -> str:
    """Write ``doc`` to ``<status_dir>/<name>.json`` atomically and durably; return the path.

    Readers see the old document or the new one, never a mix, even if this process is killed at any moment: the
    temp file is fsynced before the rename and the directory after it, so a crash cannot leave an empty file.
    """
    from ..atomic import write_atomic

    _check_name(name)
    data = json.dumps(doc, indent=1, allow_nan=False).encode("utf-8") + b"\n"  # strict JSON, before touching disk
    status_dir = os.path.abspath(status_dir)
    tmp_dir = temp_dir(status_dir)
    target = os.path.join(status_dir, f"{name}.json")
    write_atomic(target, data, tmp_dir=tmp_dir, mode=0o644)
    return target


def sync_status_dir(status_dir: str, names: Iterable[str]) -> list[str]:
    """Delete ``<x>.json`` of checks no longer configured; return their names (sorted).

    Only regular ``*.json`` files are touched, whatever else a user put there. Also clears temp files left in the
    hidden sibling directory by writers killed mid-write (only old ones: a live writer may be using a new one).
    """
    import logging

    log = logging.getLogger(__name__)
    keep = set(names)
    removed = []
    try:
        entries = list(os.scandir(status_dir))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        stem, ext = os.path.splitext(entry.name)
        if ext != ".json" or stem in keep or not entry.is_file(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(stem)
        log.info("removed status file of unconfigured check %s: %s", stem, entry.path)
    _clear_old_temps(temp_dir(status_dir))
    return sorted(removed)


def _clear_old_temps(tmp_dir: str) -> None:
    cutoff = time.time() - STALE_TEMP_AGE
    try:
        entries = list(os.scandir(tmp_dir))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            pass
