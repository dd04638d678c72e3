"""A local webhook receiver (http.server in a thread) on 127.0.0.1, for the webhook notification tests.

Records every POST (headers and JSON body, with the time it arrived). ``fail_next(n, status)`` answers the next
``n`` requests with ``status``; ``stop()``/``start()`` simulate an outage on the same port.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from procs import free_port


class WebhookReceiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[dict] = []  # {"headers", "body", "at"}
        self.attempts = 0
        self._fail: list[int] = []
        self._conns: set = set()  # open keep-alive connections: cut on stop(), as a real outage would
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver._fail.pop(0) if receiver._fail else 200
                    if status == 200:
                        receiver.received.append({"headers": dict(self.headers), "body": json.loads(body),
                                                  "at": time.time(), "path": self.path})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._lock:
                conns, self._conns = self._conns, set()
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None
            self._thread.join(5)

    def bodies(self) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.received]
