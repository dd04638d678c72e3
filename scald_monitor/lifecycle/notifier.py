"""The Notifier: fans events out to the configured targets through the on-disk queue, delivers in the background.

``submit`` never blocks evaluation on the network: it writes the event's items (one per target) to the queue in
one short SQLite transaction and wakes the delivery thread. That thread sends each target's items oldest first;
a target that fails is retried with exponential backoff (``backoff`` doubling up to ``max_backoff`` seconds) while
the others go on, and its items stay queued, across restarts too, until it answers. An item the target rejects
for good (HTTP 4xx, SMTP 5xx) is logged and dropped rather than retried for ever. Alertmanager targets also get
their firing alerts re-posted every ``resend_interval`` (see :mod:`.transports`).

Entry points::

    Notifier(specs, queue_path, board_url=None, *, max_items=10000, backoff=1.0, max_backoff=300.0)
        specs: the config's ``notifications:`` list as loaded (or Transport objects)
    .submit(event: Event | dict) -> None      non-blocking (no network, no disk: a writer thread commits)
    .flush()                                  commit what was submitted now
    .last_sent(check, label) -> Sent | None   for events.decide; persisted with the queue
    .drain(timeout) -> int                    deliver what is queued (``run --once``); returns what is left
    .stats() -> dict                          counters for /api/stats and /metrics
    .close(timeout=5.0)
    Notifier.queue_path_beside(state_file) -> "<state>.notify.sqlite"
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Mapping, Sequence

from .events import PROBLEM, RECOVERY, Event, Sent
from .queue import DiskQueue
from .transports import DeliveryError, Transport, make_transports, parse_notifications

__all__ = ["Notifier"]

log = logging.getLogger("scald_monitor.lifecycle")


class _Target:
    __slots__ = ("transport", "retry_at", "fails", "next_refresh", "last_error", "failing_since", "delivered")

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.retry_at = 0.0
        self.fails = 0
        self.next_refresh = 0.0  # refresh what survived a restart at once
        self.last_error = ""
        self.failing_since: float | None = None
        self.delivered = 0


class Notifier:
    """See the module docstring."""

    def __init__(self, specs: Sequence[Mapping[str, Any] | Transport], queue_path: str,
                 board_url: str | None = None, *, max_items: int = 10000, backoff: float = 1.0,
                 max_backoff: float = 300.0, start: bool = True) -> None:
        if specs and all(isinstance(s, Transport) for s in specs):
            transports = list(specs)  # type: ignore[arg-type]
        else:
            transports = make_transports(parse_notifications(list(specs)), board_url)
        names = [t.name for t in transports]
        if len(set(names)) != len(names):
            raise ValueError("notifications: two targets have the same name")
        self.board_url = board_url
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.queue = DiskQueue(queue_path, max_items)
        self._targets = [_Target(t) for t in transports]
        gone = self.queue.purge_targets(names)
        if gone:
            log.warning("notification queue %s: %d queued notification(s) for targets no longer configured "
                        "were dropped", self.queue.path, gone)
        self._sent = {tuple(json.loads(k)): Sent(**v) for k, v in self.queue.kv_all("sent").items()}
        self._firing = {t.name: self.queue.kv_all("firing:" + t.name) for t in transports}
        self._lock = threading.Lock()  # submit vs the delivery thread's view of the caches
        self._cond = threading.Condition()
        self._stop = self._closed = False
        self._pending = False  # set when items were written: the delivery thread must look before it sleeps
        self._buffer: list[tuple[list, list]] = []  # submitted, not yet written
        self._flush_lock = threading.Lock()  # one writer at a time keeps the order of the queue
        self._wcond = threading.Condition()
        self._writer: threading.Thread | None = None
        self._draining = 0
        self.undeliverable = 0
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    @staticmethod
    def queue_path_beside(state_file: str) -> str:
        """Where the daemon keeps its queue: ``state.json`` → ``state.notify.sqlite`` in the same directory."""
        root, _ = os.path.splitext(os.path.abspath(state_file))
        return f"{root}.notify.sqlite"

    # --------------------------------------------------------------------------------------------- submit
    def submit(self, event: Event | Mapping[str, Any]) -> None:
        """Accept ``event`` for every target and return at once: no network, no disk. A writer thread commits
        what was submitted to the queue within milliseconds, many events per transaction, so a slow disk or a
        busy queue never holds up evaluation. What was sent last (:meth:`last_sent`) is committed in the same
        transaction as the items: should the process die in those milliseconds, the next evaluation finds the
        label not notified and notifies again (``events`` is level-triggered), so nothing is lost."""
        ev = event.to_dict() if isinstance(event, Event) else dict(event)
        key = json.dumps([ev["check"], ev["label"]])
        with self._lock:
            items, kv = [], []
            for target in self._targets:
                t = target.transport
                registry = self._firing.setdefault(t.name, {})
                firing = registry.get(key)
                payload, new = t.track(ev, firing)
                if payload is not None:
                    items.append((t.name, payload))
                if new != firing:
                    kv.append(("firing:" + t.name, key, new))
                    if new is None:
                        registry.pop(key, None)
                    else:
                        registry[key] = new
            if ev["kind"] in (PROBLEM, RECOVERY):
                sent = Sent(ev["kind"], ev["state"], ev["time"])
                kv.append(("sent", key, {"kind": sent.kind, "state": sent.state, "time": sent.time}))
                self._sent[(ev["check"], ev["label"])] = sent
            self._buffer.append((items, kv))
        with self._wcond:
            self._wcond.notify()

    def flush(self) -> None:
        """Commit what was submitted to the queue now (drain and close do; the daemon may before it writes its
        state file, for a strict order on disk)."""
        with self._flush_lock:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if not batch:
                return
            self.queue.put([i for items, _ in batch for i in items], [k for _, kv in batch for k in kv])
        with self._cond:
            self._pending = True
            self._cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._wcond:
                while not self._buffer and not self._stop:
                    self._wcond.wait(1.0)
                if self._stop:
                    return
            try:
                self.flush()
            except Exception:  # a full disk, say: keep what is buffered, say so, try again
                log.exception("notification queue %s: could not write", self.queue.path)
                time.sleep(1.0)

    def last_sent(self, check: str, label: str = "") -> Sent | None:
        """What was last submitted (problem or recovery) for this label, across restarts."""
        return self._sent.get((check, label))

    # ------------------------------------------------------------------------------------------- delivery
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scald-notify", daemon=True)
            self._thread.start()
            self._writer = threading.Thread(target=self._write_loop, name="scald-notify-write", daemon=True)
            self._writer.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                self._pending = False
            busy = False
            for target in self._targets:
                try:
                    busy |= self._deliver(target)
                    self._maybe_refresh(target)
                except Exception:  # a bug in a transport must not kill delivery for the others
                    log.exception("notification target %s: unexpected error", target.transport.name)
                    target.retry_at = time.monotonic() + self._delay(target)
            self.queue.flush_log(force=False)
            if not busy:
                now = time.monotonic()
                wake = [1.0]
                for t in self._targets:
                    if t.retry_at > now:
                        wake.append(t.retry_at - now)
                    if t.transport.resend_interval:
                        wake.append(max(0.0, t.next_refresh - now))
                with self._cond:
                    if not self._stop and not self._pending:
                        self._cond.wait(max(0.005, min(wake)))

    def _delay(self, target: _Target) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** max(0, target.fails - 1))
        return min(delay, 0.25) if self._draining else delay

    def _deliver(self, target: _Target) -> bool:
        """Send one batch of ``target``; True if something was delivered or dropped (look again at once)."""
        now = time.monotonic()
        if target.retry_at > now:
            return False
        t = target.transport
        batch = self.queue.peek(t.name, t.batch, claim=True)
        if not batch:
            return False
        ids = [i for i, _ in batch]
        try:
            try:
                t.send([p for _, p in batch])
            except DeliveryError as exc:
                return self._failed(target, batch, exc)
        finally:
            self.queue.release(ids)
        self.queue.remove(ids)
        self._delivered(target, len(ids))
        return True

    def _delivered(self, target: _Target, n: int) -> None:
        if not n:
            return
        target.delivered += n
        if target.fails:
            log.info("notification target %s answers again after %d failed attempt(s); delivering the queue",
                     target.transport.name, target.fails)
        target.fails, target.failing_since, target.last_error = 0, None, ""
        with self._cond:
            self._cond.notify_all()  # drain() waits on this

    def _failed(self, target: _Target, batch: list[tuple[int, dict]], exc: DeliveryError) -> bool:
        t = target.transport
        done = [i for i, _ in batch[:exc.delivered]]
        if done:
            self.queue.remove(done)
            self._delivered(target, len(done))
        rest = batch[exc.delivered:]
        if exc.permanent:
            if t.one_request and len(rest) > 1:
                return self._deliver_one_by_one(target, rest)
            self.queue.remove([rest[0][0]])  # the item at fault; the others go next round
            self.undeliverable += 1
            log.error("%s (rejected for good: 1 notification dropped)", exc)
            return True
        target.fails += 1
        target.last_error = str(exc)
        if target.failing_since is None:
            target.failing_since = time.time()
        self.queue.failed([i for i, _ in rest[:1]])
        delay = self._delay(target)
        target.retry_at = time.monotonic() + delay
        log.warning("%s; %d notification(s) queued for it, retry %d in %.1f s", exc, self.queue.count(t.name),
                    target.fails, delay)
        return bool(done)

    def _deliver_one_by_one(self, target: _Target, batch: list[tuple[int, dict]]) -> bool:
        """A batch was refused for good: find the item(s) at fault, so that one bad item does not take the
        others with it. Stops at the first transient failure (the rest stay queued, in order)."""
        t = target.transport
        for item_id, payload in batch:
            try:
                t.send([payload])
            except DeliveryError as exc:
                if not exc.permanent:
                    return False  # the next round backs off as usual
                self.queue.remove([item_id])
                self.undeliverable += 1
                log.error("%s (rejected for good: 1 notification dropped)", exc)
                continue
            self.queue.remove([item_id])
            self._delivered(target, 1)
        return True

    def _maybe_refresh(self, target: _Target) -> None:
        t = target.transport
        now = time.monotonic()
        if not t.resend_interval or now < target.next_refresh or target.retry_at > now:
            return
        target.next_refresh = now + t.resend_interval
        with self._lock:
            firing = list(self._firing.get(t.name, {}).values())
        if not firing:
            return
        try:
            t.refresh(firing)
        except DeliveryError as exc:
            target.fails += 1
            target.last_error = str(exc)
            target.retry_at = time.monotonic() + self._delay(target)
            log.warning("%s (re-posting %d firing alert(s); retrying)", exc, len(firing))
            target.next_refresh = target.retry_at

    # ------------------------------------------------------------------------------------------- control
    def drain(self, timeout: float) -> int:
        """Deliver what is queued, waiting at most ``timeout`` seconds (``run --once``): backoff is cut short
        meanwhile. Returns how many notifications are still queued (they stay for the next run; logged)."""
        deadline = time.monotonic() + timeout
        self.flush()
        self._draining += 1
        try:
            for target in self._targets:
                target.retry_at = min(target.retry_at, time.monotonic())
            with self._cond:
                self._pending = True
                self._cond.notify_all()
            while self.queue.count() and time.monotonic() < deadline:
                with self._cond:
                    self._cond.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        finally:
            self._draining -= 1
        left = self.queue.count()
        if left:
            failing = ", ".join(f"{t.transport.name} ({t.last_error or 'pending'})"
                                for t in self._targets if self.queue.count(t.transport.name))
            log.warning("%d notification(s) not delivered within %g s; they stay queued in %s for the next run: %s",
                        left, timeout, self.queue.path, failing)
        return left

    def stats(self) -> dict[str, Any]:
        """Counters for /api/stats and /metrics."""
        return {
            "queued": self.queue.count(),
            "buffered": len(self._buffer),  # submitted, not yet written (milliseconds)
            "dropped": self.queue.dropped_total,
            "undeliverable": self.undeliverable,
            "targets": {t.transport.name: {"type": t.transport.kind, "queued": self.queue.count(t.transport.name),
                                           "delivered": t.delivered, "failed_attempts": t.fails,
                                           "failing_since": t.failing_since, "last_error": t.last_error,
                                           "firing": len(self._firing.get(t.transport.name, {}))}
                        for t in self._targets},
        }

    def close(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread (what is queued stays queued) and close the queue. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        with self._wcond:
            self._wcond.notify_all()
        for thread in (self._thread, self._writer):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._writer = None
        try:
            self.flush()  # what was submitted is on disk before we go
        except Exception:
            log.exception("notification queue %s: could not write", self.queue.path)
        for t in self._targets:
            t.transport.close()
        self.queue.close()

    def __enter__(self) -> "Notifier":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
