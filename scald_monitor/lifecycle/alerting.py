"""What the daemon does after each check's state machine ran: acknowledgements cleared by state changes,
downtimes and acks looked up, notifications decided and queued, and the marks that the outputs show.

Why one object: the Runner must stay one short pipeline (evaluate, state machine, outputs); everything the alert
lifecycle keeps between evaluations (the ack/downtime file, the notification queue, what was flapping) lives here,
and the outputs only get a :class:`Marks` to print ("in downtime until ...", "acknowledged by ...").

Which labels notify: a per-tag check notifies per tag value (label ``job=0003``), as Alertmanager groups them;
its check level (label ``""``) only for what no tag says, i.e. while the check could not be evaluated at all
(backend down: a result without tags). A check without tags notifies at its check level.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from ..timeutil import unix_to_gps
from .events import decide, derive
from .store import Ack, LifecycleStore
from .windows import Downtime, active_downtime

log = logging.getLogger(__name__)

#: (hard state, flapping, last hard change in Unix s) of one label, as StateStore.label_states gives it.
LabelView = tuple


@dataclass
class Marks:
    """What the outputs say about one check's result: its downtime and ack (check level), and the tag labels in
    a downtime or acknowledged (per-tag checks)."""

    downtime: str = ""  # Downtime.describe(): "in downtime until 2026-12-08T20:00:00Z (tuesday: maintenance)"
    downtime_until: float | None = None  # GPS
    ack: Ack | None = None
    tags_in_downtime: dict[str, str] = field(default_factory=dict)  # label -> describe()
    tags_acked: dict[str, Ack] = field(default_factory=dict)

    def note(self) -> str:
        """The words appended to the summary (and so to Nagios' passive result): "" when nothing applies."""
        parts = []
        if self.downtime:
            parts.append(self.downtime)
        if self.ack is not None:
            parts.append(ack_text(self.ack))
        if self.tags_in_downtime and not self.downtime:
            parts.append(f"{len(self.tags_in_downtime)} tag value(s) in downtime")
        if self.tags_acked and self.ack is None:
            parts.append(f"{len(self.tags_acked)} tag value(s) acknowledged")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """For the status document and the API (times in GPS)."""
        out: dict[str, Any] = {}
        if self.downtime:
            out["downtime"] = {"text": self.downtime, "until": self.downtime_until}
        if self.ack is not None:
            out["acknowledgement"] = self.ack.to_dict()
        if self.tags_in_downtime:
            out["tags_in_downtime"] = dict(sorted(self.tags_in_downtime.items()))
        if self.tags_acked:
            out["tags_acknowledged"] = {k: a.to_dict() for k, a in sorted(self.tags_acked.items())}
        return out


def _notifier(cfg: Any, board_url: str | None) -> Any:
    """A started Notifier for the config's targets, its queue beside the state file; None without targets."""
    if not cfg.notifications:
        return None
    from .notifier import Notifier

    return Notifier(cfg.notifications, Notifier.queue_path_beside(cfg.outputs["state_file"]), board_url)


def lookup(acks: list[Ack], downtimes: list[Downtime], check: str, labels: list[str], gps: float
           ) -> tuple[Marks, dict[str, tuple[bool, bool]]]:
    """The marks of ``check`` at ``gps`` for its ``labels`` ("" = the check as a whole), and per label whether it
    is (in downtime, acknowledged): what the daemon, the API and the board all show, from one rule. A label's
    acknowledgement is its own, else the check-wide one (as :meth:`.LifecycleStore.acked`)."""
    marks = Marks()
    covered: dict[str, tuple[bool, bool]] = {}
    mine = [a for a in acks if a.check == check and not a.expired(gps)]
    overall = next((a for a in mine if not a.label), None)
    own = {a.label: a for a in mine if a.label}
    # the downtimes naming this check (most name others); one without tags covers every label alike, so it is
    # looked up once, and only those restricted to tag values are looked up per label
    downtimes = [d for d in downtimes if d.names(check)]
    down = active_downtime(downtimes, check, "", gps) if downtimes else None
    tagged = [d for d in downtimes if d.tags is not None]
    if down is not None:
        marks.downtime, marks.downtime_until = down[0].describe(gps), down[1]
    marks.ack = overall
    for label in dict.fromkeys(["", *labels]):
        if label:
            tag_down = active_downtime(tagged, check, label, gps) if tagged else None
            if down is not None and (tag_down is None or down[1] >= tag_down[1]):
                tag_down = down
            ack = own.get(label) or overall
            if tag_down is not None:
                marks.tags_in_downtime[label] = marks.downtime if tag_down is down else tag_down[0].describe(gps)
            if label in own:
                marks.tags_acked[label] = own[label]
            covered[label] = (tag_down is not None, ack is not None)
        else:
            covered[label] = (down is not None, overall is not None)
    return marks, covered


def ack_text(ack: Ack) -> str:
    who = f" by {ack.author}" if ack.author else ""
    return f"acknowledged{who}" + (f": {ack.comment}" if ack.comment else "")


class Alerting:
    """The alert lifecycle of one daemon (or ``run --once``): see the module docstring."""

    def __init__(self, store: LifecycleStore | None, downtimes: list[Downtime], notifier: Any = None,
                 specs: list[dict] | None = None) -> None:
        self.store = store
        self.downtimes = list(downtimes)
        self.notifier = notifier
        self.specs = list(specs or [])
        self._flapping: dict[tuple[str, str], bool] = {}
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg: Any, board_url: str | None = None) -> "Alerting":
        """The store beside the state file (ad hoc downtimes and acks, shared with the CLI and ``scald serve``)
        and, with ``notifications:``, a started Notifier whose queue is beside it too."""
        state_file = cfg.outputs.get("state_file")
        store = LifecycleStore(LifecycleStore.beside(state_file)) if state_file else None
        return cls(store, cfg.downtimes, _notifier(cfg, board_url), cfg.notifications)

    def reconfigure(self, cfg: Any, board_url: str | None = None) -> None:
        """A reload: the config's downtimes change; changed targets get a new Notifier (what is queued for a
        target that stays configured is kept, for one no longer configured dropped, with a log line)."""
        self.downtimes = list(cfg.downtimes)
        if cfg.notifications != self.specs:
            if self.notifier is not None:
                self.notifier.close()
            self.notifier, self.specs = _notifier(cfg, board_url), list(cfg.notifications)

    def all_downtimes(self) -> list[Downtime]:
        stored = self._guarded(self.store.downtimes) if self.store is not None else None
        return self.downtimes + (stored or [])

    def _guarded(self, call: Any, *args: Any) -> Any:
        """``call(*args)`` on the store, or None when its file cannot be read or written: one log line per
        distinct problem, and the checks and their other outputs go on (as with an unwritable state file)."""
        try:
            return call(*args)
        except (OSError, ValueError) as exc:
            message = f"lifecycle file {self.store.path}: {exc} (acknowledgements and ad hoc downtimes unused)"
            if message not in self._logged:
                self._logged.add(message)
                log.error("%s", message)
            return None

    def after(self, check: Any, status: Any, before: dict[str, LabelView], after: dict[str, LabelView]) -> Marks:
        """Run the lifecycle for one evaluated check; returns what its outputs should say."""
        now = unix_to_gps(status.result.time)
        name = check.name
        downtimes = self.all_downtimes()
        acks = self._guarded(self.store.acks_of, name) if self.store is not None else None
        if acks:  # clears what Nagios clears (and logs it), before the marks are looked up
            for label, (hard, _flapping, _since) in after.items():
                self._guarded(self.store.on_result, name, label, before.get(label, (hard,))[0], hard)
            acks = self._guarded(self.store.acks_of, name)
        marks, covered = lookup(acks or [], downtimes, name, list(after), now)
        if self.notifier is None:
            return marks
        text = "\n".join(status.result.long_text)  # a property that sorts the tags: once per check, not per label
        per_tag = any(label for label in after)
        texts = {t.label: t.text for t in status.result.tags}
        for label, (hard, flapping, since) in after.items():
            down, ack = covered[label]
            state = hard
            if not label and per_tag and status.result.tags:
                state = 0  # the tags carry the problem; the check level only for "could not evaluate"
            key = (name, label)
            with self._lock:
                was = self._flapping.get(key, flapping)
                self._flapping[key] = flapping
            summary = status.result.summary if not label else texts.get(label, status.result.summary)
            for event in derive(name, label, state, flapping, was, time=now, summary=summary,
                                text=text,
                                since=unix_to_gps(since) if since is not None else None):
                if decide(event, down, ack, self.notifier.last_sent(name, label), check.renotify):
                    self.notifier.submit(event)
        return marks

    def drain(self, timeout: float) -> int:
        """Deliver what is queued (``run --once`` before it exits); returns how many are left (logged)."""
        return self.notifier.drain(timeout) if self.notifier is not None else 0

    def queue_depth(self) -> int | None:
        if self.notifier is None:
            return None
        return int(self.notifier.stats().get("queued", 0))

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
