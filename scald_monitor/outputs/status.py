"""Status JSON per check: the LIGO "shib scraper" document, in the superset IGWN's ``check_json`` validates.

One file per check, ``<status_dir>/<check>.json``, replaced atomically so a reader (``check_json`` through a web
server, ``check_scald --status-file``, the dashboard) never sees half a document.  The document says how long it
stays valid: a second status interval starting at EXPIRY seconds after ``created_unix`` reports the check as not
updating, so a dead daemon turns the service UNKNOWN (CRITICAL for a heartbeat) without anyone having to notice.

Stdlib only (plus ``timeutil`` and ``rules.result``, themselves stdlib only): the plugin and the web app read these
documents and must not pay for anything heavy.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterable

from ..atomic import write_atomic
from ..rules.ranges import RangeError, parse_range
from ..rules.result import CRITICAL, UNKNOWN, CheckStatus, Perf, Result, state_name
from ..timeutil import unix_to_gps

__all__ = [
    "AUTHOR",
    "expiry_seconds",
    "stale_state",
    "status_document",
    "status_text",
    "sync_status_dir",
    "unknown_document",
    "write_status",
]

log = logging.getLogger(__name__)

#: What ``check_json`` shows as "Author:"; the IGWN schema requires ``name`` when ``author`` is an object.
AUTHOR = {"name": "scald-monitor"}
#: Literal backslash-n: ``check_json`` (and the old LIGO scraper) turn it into a line break in ``txt_status``.
LINE_BREAK = "\\n"
#: Leftover temp files from a writer killed mid-write are removed by ``sync_status_dir`` once this old (seconds).
STALE_TEMP_AGE = 3600


def expiry_seconds(check: dict) -> int:
    """Seconds after creation at which a document stops being valid: ``expiry``, else 3 × ``interval``.

    Three intervals tolerate a slow or skipped run without flapping to "not updating". Whole seconds, rounded up,
    because the IGWN schema wants integer ``start_sec``/``end_sec``.
    """
    expiry = check.get("expiry") or 3 * (check.get("interval") or 60)
    return max(1, math.ceil(expiry))


def stale_state(check: dict) -> int:
    """State reported once the document has expired: ``stale_state``, else CRITICAL for a heartbeat (a silent
    monitor of liveness must not look merely "unknown") and UNKNOWN for everything else."""
    if check.get("stale_state") is not None:
        return int(check["stale_state"])
    return CRITICAL if check.get("type") == "heartbeat" else UNKNOWN


def _finite(value: float | None) -> float | None:
    """JSON has no NaN/inf; strict parsers (browsers, jq) reject them, so they become null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _g(value: float) -> str:
    return f"{value:g}"


def _condition(range_text, units: str) -> str:
    """What makes a Nagios range alert, in words: ``~:10`` → "above 10", ``@10:20`` → "between 10 and 20"."""
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


def _legend(check: dict, expiry: int, stale: int) -> dict[str, str]:
    """The ``ok_txt`` … ``unknown_txt`` legend ``check_json`` prints under the status: what each state means here."""
    per_tag = " for any tag value" if check.get("per_tag") else ""
    warn, crit = check.get("warning"), check.get("critical")
    if check.get("type") == "heartbeat":
        what = "newest point" + per_tag
        ok_age = warn if warn is not None else crit
        texts = [
            f"{what} at most {_g(ok_age)} s old" if ok_age is not None else f"{what} recent enough",
            f"{what} older than {_g(warn)} s" if warn is not None else "no warning age set",
            f"{what} older than {_g(crit)} s, or no data at all" if crit is not None else "no data at all",
            "backend error or bad configuration",
        ]
    else:
        units = check.get("units") or ""
        what = f"{check.get('aggregate') or 'max'} of {check.get('column') or 'data'}"
        if check.get("lookback"):
            what += f" over {_g(check['lookback'])} s"
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


def status_document(status: CheckStatus, check: dict, now_unix: float) -> dict:
    """The status JSON for one check's latest result, valid for ``expiry_seconds(check)`` after ``now_unix``."""
    result = status.result
    name = result.check
    expiry = expiry_seconds(check)
    stale = stale_state(check)
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
    if check.get("description"):
        doc["description"] = check["description"]
    return doc


def unknown_document(name: str, check: dict, reason: str, now_unix: float) -> dict:
    """An UNKNOWN document for a configured check that has no result yet (the web API answers 200 with it)."""
    result = Result(check=name, state=UNKNOWN, summary=reason, time=now_unix)
    status = CheckStatus(result=result, raw_state=UNKNOWN, max_attempts=int(check.get("max_attempts") or 1))
    return status_document(status, check, now_unix)


def _check_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\0" in name or (os.altsep and os.altsep in name):
        raise ValueError(f"invalid check name for a status file: {name!r} (no path separators, no leading dot)")


def _temp_dir(status_dir: str) -> str:
    """Where temp files go: a hidden sibling of status_dir, so status_dir only ever holds finished documents and
    ``os.replace`` stays a rename within one filesystem (unless status_dir itself is a mount point)."""
    head, tail = os.path.split(os.path.abspath(status_dir))
    return os.path.join(head, f".{tail}.tmp")


def write_status(status_dir: str, name: str, doc: dict) -> str:
    """Write ``doc`` to ``<status_dir>/<name>.json`` atomically and durably; return the path.

    Readers see the old document or the new one, never a mix, even if this process is killed at any moment: the
    temp file is fsynced before the rename and the directory after it, so a crash cannot leave an empty file.
    """
    _check_name(name)
    data = json.dumps(doc, indent=1, allow_nan=False).encode("utf-8") + b"\n"  # strict JSON, before touching disk
    status_dir = os.path.abspath(status_dir)
    tmp_dir = _temp_dir(status_dir)
    target = os.path.join(status_dir, f"{name}.json")
    write_atomic(target, data, tmp_dir=tmp_dir, mode=0o644)
    return target


def sync_status_dir(status_dir: str, names: Iterable[str]) -> list[str]:
    """Delete ``<x>.json`` of checks no longer configured; return their names (sorted).

    Only regular ``*.json`` files are touched, whatever else a user put there. Also clears temp files left in the
    hidden sibling directory by writers killed mid-write (only old ones: a live writer may be using a new one).
    """
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
    _clear_old_temps(_temp_dir(status_dir))
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
