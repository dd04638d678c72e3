"""A small shared cache of data answers, so that many browsers showing the same dashboard cost one query.

Data routes already tell clients ``Cache-Control: max-age=10``: an answer up to that old is acceptable. Within
one server process the first request for a URL queries the backend and every identical request in the next
``ttl`` seconds (default 5) gets the same bytes. Errors are never cached. Bounded in entries (LRU).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict


class ResponseCache:
    def __init__(self, ttl: float = 5.0, size: int = 512):
        self.ttl, self.size = float(ttl), int(size)
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}

    def get(self, key: str) -> bytes | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            stamp, body = item
            if time.monotonic() - stamp > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items[key] = (time.monotonic(), body)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def wait_or_lead(self, key: str, timeout: float = 30.0) -> bool:
        """Collapse a burst of identical misses: True for the one request that should compute the answer; the
        others wait (up to ``timeout``) for it and then read the cache."""
        with self._lock:
            event = self._inflight.get(key)
            if event is None:
                self._inflight[key] = threading.Event()
                return True
        event.wait(timeout)
        return False

    def done(self, key: str) -> None:
        with self._lock:
            event = self._inflight.pop(key, None)
        if event is not None:
            event.set()
