"""Ad hoc downtimes and acknowledgements, kept in one small JSON file next to the daemon's state file.

Three kinds of process share it: the daemon (reads it before every notification and clears acknowledgements when
states change), ``scald-monitor ack`` / ``downtime add|remove`` and ``scald serve``'s write API. So every write is
read-modify-write under an exclusive ``flock`` on ``<file>.lock`` and lands with :func:`~scald_monitor.atomic.
write_atomic` (readers never see half a file, a crash never leaves one); readers take no lock and re-read the file
only when its identity (inode, size, mtime) changed, and look at it at most every ``recheck`` seconds (0.5), so
asking "is this acknowledged?" for every label costs next to nothing.

Acknowledgements follow Nagios: one per check and tag label (``""`` = the check as a whole, which also covers every
tag of the check). A **sticky** acknowledgement lasts until the label is OK again; a non-sticky one until the next
state change (CRITICAL → WARNING clears it). Either may also ``expire`` at a GPS time. Ad hoc downtimes are
:class:`~scald_monitor.lifecycle.windows.Downtime` entries (normally one-off) with an integer id.

Entry points::

    LifecycleStore(path);  LifecycleStore.beside(state_file) -> path of the file next to the state file
    .add_downtime(entry: dict, now=None) -> Downtime;  .downtimes() -> list[Downtime];  .remove_downtime(id) -> bool
    .ack(check, label="", comment=..., author="", sticky=False, expire=None, state=None, now=None) -> Ack
    .unack(check, label="") -> bool;  .acks() -> list[Ack];  .acked(check, label="", gps=None) -> Ack | None
    .on_result(check, label, old_state, new_state) -> list[Ack]   (the acknowledgements it cleared)
    .prune(gps=None) -> int   (drops expired acknowledgements and ended one-off downtimes)
"""
from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, Callable, Mapping

from ..atomic import write_atomic
from ..timeutil import gps_now
from .windows import Downtime, parse_downtime, parse_time

__all__ = ["Ack", "FORMAT", "LifecycleStore"]

log = logging.getLogger("scald_monitor.lifecycle")

FORMAT = 1
OK = 0


class Ack:
    """One acknowledgement (fields as in the file; times in GPS seconds)."""

    __slots__ = ("check", "label", "comment", "author", "sticky", "expire", "time", "state")

    def __init__(self, check: str, label: str = "", comment: str = "", author: str = "", sticky: bool = False,
                 expire: float | None = None, time: float = 0.0, state: int | None = None) -> None:
        self.check, self.label, self.comment, self.author = check, label, comment, author
        self.sticky, self.expire, self.time, self.state = sticky, expire, time, state

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Ack":
        return cls(**{k: d[k] for k in cls.__slots__ if k in d})

    def expired(self, gps: float) -> bool:
        return self.expire is not None and gps >= self.expire

    def __repr__(self) -> str:
        return f"Ack({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ack) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


class LifecycleStore:
    """The ad hoc downtimes and acknowledgements file (see the module docstring); thread- and process-safe."""

    def __init__(self, path: str, recheck: float = 0.5) -> None:
        """``recheck``: readers look at the file (one ``stat``) at most this often, in seconds, so the daemon
        asking for each of thousands of labels pays for one look, and sees another process's write within
        ``recheck`` s; this instance's own writes are seen at once. 0: look on every call."""
        self.path = os.path.abspath(path)
        self.recheck = float(recheck)
        self._checked = -1e300
        self._by_check: dict[str, list[dict]] = {}
        self._lock = threading.Lock()
        self._ident: tuple | None = None
        self._data: dict[str, Any] = _empty()
        self._downtimes: list[Downtime] = []
        self._bad_ident: tuple | None = None

    @staticmethod
    def beside(state_file: str) -> str:
        """Where the daemon keeps this file: ``state.json`` → ``state.lifecycle.json`` in the same directory
        (never inside ``status_dir``, which holds only ``<check>.json`` files)."""
        root, ext = os.path.splitext(os.path.abspath(state_file))
        return f"{root}.lifecycle{ext or '.json'}"

    # -------------------------------------------------------------------------------------------- downtimes
    def add_downtime(self, entry: Mapping[str, Any], now: float | None = None) -> Downtime:
        """Validate ``entry`` (a downtime mapping as in the config; ``start`` defaults to now), give it the next
        integer id and ``created`` time, store it and return it. Raises ValueError naming the key."""
        now = gps_now() if now is None else now
        entry = dict(entry)
        entry.pop("id", None)
        if entry.get("weekly") is None and entry.get("start") is None:
            entry["start"] = now
        entry.setdefault("created", now)
        parse_downtime(entry, "downtime")  # validate before taking the lock
        if not entry.get("comment"):
            raise ValueError("downtime.comment: required (say why, as Nagios asks)")

        def change(data: dict) -> Downtime:
            entry["id"] = str(data["next_id"])
            data["next_id"] += 1
            downtime = parse_downtime(entry, "downtime")
            data["downtimes"].append(downtime.to_dict())
            return downtime

        downtime = self._update(change)
        log.info("downtime #%s added by %s: %s", downtime.id, downtime.author or "?", downtime.describe(now)
                 or f"checks {','.join(downtime.checks)}")
        return downtime

    def downtimes(self) -> list[Downtime]:
        """The stored downtimes, ended ones included until :meth:`prune` (ask ``Downtime.active``)."""
        self._refresh()
        return list(self._downtimes)

    def remove_downtime(self, ident: str | int) -> bool:
        """Remove downtime ``ident``; False if there is none."""
        ident = str(ident)

        def change(data: dict) -> bool:
            before = len(data["downtimes"])
            data["downtimes"] = [d for d in data["downtimes"] if str(d.get("id")) != ident]
            return len(data["downtimes"]) != before

        removed = self._update(change)
        if removed:
            log.info("downtime #%s removed", ident)
        return removed

    # ------------------------------------------------------------------------------------- acknowledgements
    def ack(self, check: str, label: str = "", comment: str = "", author: str = "", sticky: bool = False,
            expire: float | str | None = None, state: int | None = None, now: float | None = None) -> Ack:
        """Acknowledge ``check`` (``label`` = one tag label, ``""`` = the whole check), replacing an earlier
        acknowledgement of the same label. ``state`` is the state being acknowledged, when the caller knows it:
        a non-sticky acknowledgement then ends as soon as the label is in another state, even if the daemon saw
        the change before the acknowledgement was written. ``expire``: GPS seconds or ISO UTC."""
        if not isinstance(check, str) or not check:
            raise ValueError("ack.check: required")
        if not comment:
            raise ValueError("ack.comment: required (say what is being done, as Nagios asks)")
        now = gps_now() if now is None else now
        expire_gps = None if expire is None else parse_time(expire, "ack.expire")
        if expire_gps is not None and expire_gps <= now:
            raise ValueError("ack.expire: must be in the future")
        new = Ack(check, label or "", comment, author or "", bool(sticky), expire_gps, now,
                  None if state is None else int(state))

        def change(data: dict) -> None:
            data["acks"] = [a for a in data["acks"] if (a["check"], a["label"]) != (check, new.label)]
            data["acks"].append(new.to_dict())

        self._update(change)
        log.info("acknowledged %s%s by %s (%s)%s", check, f"[{new.label}]" if new.label else "",
                 new.author or "?", "sticky" if new.sticky else "until the next state change",
                 "" if expire_gps is None else " with an expiry")
        return new

    def unack(self, check: str, label: str = "") -> bool:
        """Remove the acknowledgement of ``check``/``label``; False if there was none."""
        def change(data: dict) -> bool:
            before = len(data["acks"])
            data["acks"] = [a for a in data["acks"] if (a["check"], a["label"]) != (check, label or "")]
            return len(data["acks"]) != before

        removed = self._update(change)
        if removed:
            log.info("acknowledgement of %s%s removed", check, f"[{label}]" if label else "")
        return removed

    def acks(self) -> list[Ack]:
        """Every stored acknowledgement (expired ones included until :meth:`prune`)."""
        self._refresh()
        return [Ack.from_dict(a) for a in self._data["acks"]]

    def acks_of(self, check: str) -> list[Ack]:
        """``check``'s stored acknowledgements (its labels' and its own; expired ones included)."""
        self._refresh()
        return [Ack.from_dict(a) for a in self._by_check.get(check, ())]

    def acked(self, check: str, label: str = "", gps: float | None = None) -> Ack | None:
        """The acknowledgement in force for ``check``/``label`` at ``gps`` (default now): the label's own, else
        the check-wide one; ``None`` if neither (or both expired)."""
        self._refresh()
        mine = self._by_check.get(check)
        if not mine:
            return None
        gps = gps_now() if gps is None else gps
        found = None
        for a in mine:
            if a["label"] in (label, ""):
                ack = Ack.from_dict(a)
                if not ack.expired(gps) and (found is None or ack.label):
                    found = ack
        return found

    def on_result(self, check: str, label: str, old_state: int, new_state: int) -> list[Ack]:
        """Tell the store a label's (hard) state went from ``old_state`` to ``new_state``; clears what Nagios
        clears: a sticky acknowledgement on OK, a non-sticky one on any change. Returns the cleared ones.
        Costs next to nothing when nothing is acknowledged for ``check``, so call it for every result."""
        self._refresh()
        if not any(a["label"] == label for a in self._by_check.get(check, ())):
            return []

        def ends(a: dict) -> bool:
            if a["check"] != check or a["label"] != label:
                return False
            if new_state == OK:
                return True
            if a.get("sticky"):
                return False
            acked_state = a.get("state")
            return new_state != (old_state if acked_state is None else acked_state)

        def change(data: dict) -> list[Ack]:
            gone = [Ack.from_dict(a) for a in data["acks"] if ends(a)]
            if gone:
                data["acks"] = [a for a in data["acks"] if not ends(a)]
            return gone

        if not any(ends(a) for a in self._data["acks"]):
            return []
        cleared = self._update(change, only_if=lambda data: any(ends(a) for a in data["acks"]))
        for a in cleared or ():
            log.info("acknowledgement of %s%s ended: state %d -> %d", check, f"[{label}]" if label else "",
                     old_state, new_state)
        return cleared or []

    def prune(self, gps: float | None = None) -> int:
        """Drop expired acknowledgements and one-off downtimes that have ended; returns how many went."""
        gps = gps_now() if gps is None else gps

        def stale(data: dict) -> tuple[list, list]:
            acks = [a for a in data["acks"] if a.get("expire") is not None and gps >= a["expire"]]
            downs = [d for d in data["downtimes"] if "weekly" not in d and gps >= d["end"]]
            return acks, downs

        def change(data: dict) -> int:
            acks, downs = stale(data)
            data["acks"] = [a for a in data["acks"] if a not in acks]
            data["downtimes"] = [d for d in data["downtimes"] if d not in downs]
            return len(acks) + len(downs)

        return self._update(change, only_if=lambda data: any(stale(data))) or 0

    # ----------------------------------------------------------------------------------------------- file
    def _refresh(self) -> None:
        """Re-read the file if it changed since the last read. A broken file is logged once and the last good
        contents are kept, so a bad hand edit cannot make the daemon forget every acknowledgement at once."""
        import time

        now = time.monotonic()
        if self.recheck > 0 and now - self._checked < self.recheck:
            return
        self._checked = now
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            with self._lock:
                self._ident, self._data, self._downtimes, self._by_check = None, _empty(), [], {}
            return
        ident = (st.st_ino, st.st_size, st.st_mtime_ns)
        if ident == self._ident or ident == self._bad_ident:
            return
        with self._lock:
            try:
                data = self._read()
            except ValueError as exc:
                self._bad_ident = ident
                log.error("%s", exc)
                return
            self._set(ident, data)

    def _set(self, ident: tuple, data: dict[str, Any]) -> None:
        by_check: dict[str, list[dict]] = {}
        for a in data["acks"]:
            by_check.setdefault(a["check"], []).append(a)
        self._ident, self._data, self._by_check = ident, data, by_check
        self._downtimes = _downtimes(data, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return _empty()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{self.path}: not a lifecycle file (JSON: {exc})") from None
        if (not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("acks"), list)
                or not isinstance(data.get("downtimes"), list) or not isinstance(data.get("next_id"), int)):
            raise ValueError(f"{self.path}: not a lifecycle file of format {FORMAT}")
        for i, a in enumerate(data["acks"]):
            if not isinstance(a, dict) or not isinstance(a.get("check"), str) or not isinstance(a.get("label"), str):
                raise ValueError(f"{self.path}: acks[{i}]: not an acknowledgement")
        return data

    def _update(self, change: Callable[[dict], Any], only_if: Callable[[dict], bool] | None = None) -> Any:
        """Read the file fresh under the lock, apply ``change``, write it atomically; returns what ``change``
        returned (``None`` without writing when ``only_if`` says there is nothing to do). Raises ValueError on a
        broken file rather than overwrite what someone may want back."""
        import fcntl

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with self._lock, open(self.path + ".lock", "a") as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            try:
                data = self._read()
                if only_if is not None and not only_if(data):
                    return None
                result = change(data)
                blob = json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"
                write_atomic(self.path, blob)
                st = os.stat(self.path)
                self._set((st.st_ino, st.st_size, st.st_mtime_ns), data)
                return result
            finally:
                fcntl.flock(lockf, fcntl.LOCK_UN)


def _empty() -> dict[str, Any]:
    return {"format": FORMAT, "next_id": 1, "downtimes": [], "acks": []}


def _downtimes(data: dict, path: str) -> list[Downtime]:
    out = []
    for i, d in enumerate(data["downtimes"]):
        try:
            out.append(parse_downtime(d, f"{path}: downtimes[{i}]"))
        except ValueError as exc:
            log.error("%s (ignored)", exc)
    return out
