"""The bounded on-disk notification queue (SQLite, one file next to the daemon's state file).

Why SQLite: each submitted event must be on disk before the daemon moves on (a restart or crash loses nothing),
the delivery thread deletes items one batch at a time, and a few thousand queued items during a long outage must
not turn every submit into a rewrite of the whole file, as a JSON file would. WAL mode with ``synchronous=NORMAL``
makes a commit cost tens of microseconds and survives a killed process.

Items are FIFO per target (so an Alertmanager resolve never overtakes its firing alert). The queue holds at most
``max_items``; when it is full the **oldest** items are dropped and that is logged with a count (coalesced to at
most one line a second during a flood, and flushed by :meth:`DiskQueue.flush_log`), never silently. Next to the
items it keeps two small key-value namespaces the Notifier updates in the same transaction as the items: what was
last sent per label (``sent``) and what is firing per Alertmanager target (``firing:<target>``).

One queue file belongs to one daemon: two processes delivering from the same file could send an item twice.

Entry points::

    DiskQueue(path, max_items=10000);  .put([(target, payload)], kv=[(ns, key, value|None)]) -> dropped
    .peek(target, limit) -> [(id, payload)];  .remove(ids);  .failed(ids);  .count(target=None)
    .targets() -> set;  .purge_targets(keep) -> int;  .kv_get(ns, key);  .kv_all(ns) -> {key: value};  .close()
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Iterable

__all__ = ["DiskQueue"]

log = logging.getLogger("scald_monitor.lifecycle")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_target ON items (target, id);
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
);
"""


class DiskQueue:
    """See the module docstring. Thread-safe (one connection behind a lock; every call is short)."""

    def __init__(self, path: str, max_items: int = 10000) -> None:
        import sqlite3

        if max_items < 1:
            raise ValueError("queue max_items must be at least 1")
        self.path, self.max_items = os.path.abspath(path), int(max_items)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._count = self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        self.dropped_total = 0
        self._inflight: set[int] = set()
        self._dropped_unlogged = 0
        self._last_drop_log = 0.0

    # ------------------------------------------------------------------------------------------------ items
    def put(self, items: Iterable[tuple[str, dict]], kv: Iterable[tuple[str, str, Any]] = ()) -> int:
        """Append ``(target, payload)`` items and apply ``kv`` updates (value ``None`` deletes) in one
        transaction; drop the oldest items beyond ``max_items``. Returns how many were dropped."""
        now = time.time()
        rows = [(t, json.dumps(p, separators=(",", ":")), now) for t, p in items]
        kv = list(kv)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if rows:
                    db.executemany("INSERT INTO items (target, payload, created) VALUES (?, ?, ?)", rows)
                for ns, key, value in kv:
                    if value is None:
                        db.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (ns, key))
                    else:
                        db.execute("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)",
                                   (ns, key, json.dumps(value, separators=(",", ":"))))
                excess = self._count + len(rows) - self.max_items
                if excess > 0:  # the oldest that are not being sent right now (those may still arrive)
                    busy = ",".join(str(int(i)) for i in self._inflight)
                    excess = db.execute(
                        f"DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id NOT IN ({busy}) "
                        "ORDER BY id LIMIT ?)", (excess,)).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._count += len(rows) - max(excess, 0)
            if excess > 0:
                self.dropped_total += excess
                self._dropped_unlogged += excess
        if excess > 0:
            self.flush_log(force=False)
        return max(excess, 0)

    def flush_log(self, force: bool = True) -> None:
        """Log the drops not logged yet (at most once a second unless ``force``)."""
        with self._lock:
            n = self._dropped_unlogged
            if not n or (not force and time.monotonic() - self._last_drop_log < 1.0):
                return
            self._dropped_unlogged, self._last_drop_log = 0, time.monotonic()
        log.warning("notification queue %s is full (%d items): dropped the %d oldest notification(s), "
                    "%d dropped since start", self.path, self.max_items, n, self.dropped_total)

    def peek(self, target: str, limit: int = 1, claim: bool = False) -> list[tuple[int, dict]]:
        """The oldest ``limit`` items of ``target``, not removed. ``claim``: they are being sent, so a full
        queue drops others first, until :meth:`remove`, :meth:`failed` or :meth:`release` says how it went."""
        with self._lock:
            rows = self._db.execute("SELECT id, payload FROM items WHERE target = ? ORDER BY id LIMIT ?",
                                    (target, limit)).fetchall()
            if claim:
                self._inflight.update(i for i, _ in rows)
        return [(i, json.loads(p)) for i, p in rows]

    def release(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._inflight.difference_update(ids)

    def oldest(self, target: str) -> float | None:
        """When the oldest item of ``target`` was queued (Unix s), for logs."""
        with self._lock:
            row = self._db.execute("SELECT MIN(created) FROM items WHERE target = ?", (target,)).fetchone()
        return row[0]

    def remove(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            self._inflight.difference_update(ids)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count -= cur.rowcount if cur.rowcount >= 0 else len(ids)

    def failed(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        with self._lock:
            self._inflight.difference_update(ids)
            self._db.executemany("UPDATE items SET attempts = attempts + 1 WHERE id = ?", [(i,) for i in ids])

    def count(self, target: str | None = None) -> int:
        if target is None:
            return self._count
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM items WHERE target = ?", (target,)).fetchone()[0]

    def targets(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT target FROM items")}

    def purge_targets(self, keep: Iterable[str]) -> int:
        """Delete items (and firing registries) of targets no longer configured; returns the items deleted."""
        keep = set(keep)
        gone = 0
        with self._lock:
            for (t,) in self._db.execute("SELECT DISTINCT target FROM items").fetchall():
                if t not in keep:
                    gone += self._db.execute("DELETE FROM items WHERE target = ?", (t,)).rowcount
            for (ns,) in self._db.execute("SELECT DISTINCT ns FROM kv WHERE ns LIKE 'firing:%'").fetchall():
                if ns[len("firing:"):] not in keep:
                    self._db.execute("DELETE FROM kv WHERE ns = ?", (ns,))
            self._count -= gone
        return gone

    # -------------------------------------------------------------------------------------------------- kv
    def kv_get(self, ns: str, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE ns = ? AND key = ?", (ns, key)).fetchone()
        return None if row is None else json.loads(row[0])

    def kv_all(self, ns: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM kv WHERE ns = ?", (ns,)).fetchall()
        return {k: json.loads(v) for k, v in rows}

    def close(self) -> None:
        self.flush_log()
        with self._lock:
            self._db.close()
