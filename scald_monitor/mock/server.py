"""``scald mock``: the generated data served over InfluxDB 1.x's HTTP API.

A stand-in for ``influxd`` where one is not wanted: demos, dashboards under development, tests of anything that
reads InfluxDB (ligo-scald's ``scald serve`` included). It is stateless: ``/write`` validates line protocol and
discards it, ``CREATE``/``DROP`` statements succeed and change nothing, and every database holds the same generated
data (:mod:`scald_monitor.mock.source`: timeseries in ``"<dt>s"``, triggers in ligo-scald's ``"<far>_hz"`` policies,
snapshots as ``data``/``dims`` strings). Endpoints:

* ``GET|HEAD /ping`` → 204 with ``X-Influxdb-Version`` (``?verbose=true``: 200 and a JSON body);
* ``GET|POST /query`` with ``q``, ``db``, ``epoch``, ``pretty`` from the query string or a form body
  (:mod:`scald_monitor.mock.answer` says what is understood);
* ``POST /write`` with ``db``, ``rp``, ``precision`` → 204, or 400 with influxd's message for a malformed line.

Every refusal is a JSON ``{"error": ...}`` with a 4xx status; the threaded server lets a slow query not block others.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from .answer import EPOCHS, QueryError, execute
from .lineprotocol import LineProtocolError, parse_lines
from .source import MockSource

__all__ = ["INFLUXDB_VERSION", "MAX_BODY", "MockInfluxServer", "make_server"]

log = logging.getLogger(__name__)

#: What ``X-Influxdb-Version`` says: the API generation first (clients check for "1."), then who we are.
INFLUXDB_VERSION = f"1.6.7-scald-monitor-mock-{__version__}"
#: Largest request body accepted (influxd's default ``max-body-size``).
MAX_BODY = 25_000_000
#: Write precisions influxd 1.x accepts.
PRECISIONS = ("n", "ns", "u", "µ", "ms", "s", "m", "h")


class _HTTPError(Exception):
    """An error response; ``close`` when the rest of the request could not be read (the connection is unusable)."""

    def __init__(self, status: int, message: str, close: bool = False):
        super().__init__(message)
        self.status = status
        self.close = close


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: ligo-scald and the influxdb client pool their connections
    server_version = "scald-mock"
    server: "MockInfluxServer"

    # ------------------------------------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the base class detects itself (a malformed request line, ...): JSON too, never HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: answer with headers all the same
            self.request_version = "HTTP/1.0"
        self._send(code, {"error": message or explain or self.responses.get(code, ("error",))[0]})

    def _send(self, status: int, body: Any = None, pretty: bool = False) -> None:
        payload = b""
        if body is not None:
            payload = (json.dumps(body, indent=4 if pretty else None) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Influxdb-Version", INFLUXDB_VERSION)
        self.send_header("X-Influxdb-Build", "scald-monitor mock")
        self.send_header("Request-Id", str(uuid.uuid4()))
        if isinstance(body, dict) and "error" in body and status >= 400:
            self.send_header("X-Influxdb-Error", str(body["error"]).splitlines()[0][:500] if body["error"] else "")
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(payload)

    def _body(self) -> bytes:
        """The request body (chunked or sized, gzip or not), at most ``MAX_BODY`` bytes."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size_line = self.rfile.readline(1024).split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _HTTPError(400, "malformed chunked request body", close=True) from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(data) + size > MAX_BODY:
                    raise _HTTPError(413, "Request Entity Too Large", close=True)
                data += self.rfile.read(size)
                self.rfile.readline(1024)
            body = bytes(data)
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise _HTTPError(400, "bad Content-Length", close=True) from None
            if length > MAX_BODY or length < 0:
                raise _HTTPError(413, "Request Entity Too Large", close=True)
            body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = inflater.decompress(body, MAX_BODY + 1)
            except zlib.error:
                raise _HTTPError(400, "body is not valid gzip") from None
            if len(body) > MAX_BODY or inflater.unconsumed_tail:
                raise _HTTPError(413, "Request Entity Too Large")
        return body

    def _params(self, body: bytes | None) -> dict[str, str]:
        """Query-string parameters, overridden by a form-encoded body (as influxd's ``FormValue`` does)."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and content_type == "application/x-www-form-urlencoded":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _HTTPError(400, "form body is not UTF-8") from None
            params.update({k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()})
        return params

    def _dispatch(self) -> None:
        try:
            path = urlsplit(self.path).path.rstrip("/") or "/"
            routes = {"/ping": ("GET", "HEAD", "POST"), "/query": ("GET", "POST"), "/write": ("POST",)}
            if path not in routes:
                self._body()
                raise _HTTPError(404, f"404 page not found: {path}")
            if self.command not in routes[path]:
                self._body()
                raise _HTTPError(405, f"{self.command} not allowed on {path} (allowed: {', '.join(routes[path])})")
            getattr(self, "_" + path[1:])()
        except _HTTPError as exc:
            if exc.close:
                self.close_connection = True
            self._send(exc.status, {"error": str(exc)})
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently or leak a traceback
            log.exception("internal error answering %s %s", self.command, self.path)
            self._send(500, {"error": f"internal error in the scald mock: {type(exc).__name__}"})

    do_GET = do_POST = do_HEAD = _dispatch

    def do_PUT(self) -> None:  # noqa: D102 - everything else is a 405 with a JSON body
        self._dispatch()

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    # ------------------------------------------------------------------------------------------- endpoints

    def _ping(self) -> None:
        self._body()
        params = self._params(None)
        if params.get("verbose", "").lower() in ("true", "1"):
            self._send(200, {"version": INFLUXDB_VERSION})
        else:
            self._send(204)

    def _query(self) -> None:
        body = self._body() if self.command == "POST" else b""
        params = self._params(body)
        query = params.get("q")
        if not query:
            raise _HTTPError(400, 'missing required parameter "q"')
        epoch = params.get("epoch") or None
        if epoch is not None and epoch not in EPOCHS:
            log.debug("unknown epoch %r: answering in ns, as influxd does", epoch)
        try:
            result = execute(self.server.source, query, db=params.get("db") or None, epoch=epoch)
        except QueryError as exc:
            raise _HTTPError(400, str(exc)) from None
        self._send(200, result, pretty=params.get("pretty", "").lower() == "true")

    def _write(self) -> None:
        body = self._body()
        params = self._params(None)
        if not params.get("db"):
            raise _HTTPError(400, "database is required")
        precision = params.get("precision") or "ns"
        if precision not in PRECISIONS:
            raise _HTTPError(400, f"invalid precision {precision!r} (use one of {', '.join(PRECISIONS)})")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _HTTPError(400, f"unable to parse body: not UTF-8 at byte {exc.start}") from None
        try:
            points = parse_lines(text)
        except LineProtocolError as exc:
            raise _HTTPError(400, str(exc)) from None
        log.debug("accepted and discarded %d points for db=%s", len(points), params["db"])
        self._send(204)


class MockInfluxServer(ThreadingHTTPServer):
    """A threaded HTTP server answering InfluxDB 1.x requests from a :class:`MockSource`."""

    daemon_threads = True
    # SO_REUSEADDR where it only lets a restart bind over the last run's TIME_WAIT connections (Linux, BSD: a second
    # listener on a busy port still fails); not on Windows, where it would let a second mock share the port.
    allow_reuse_address = os.name != "nt"

    def __init__(self, address: tuple[str, int], source: MockSource):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.source = source
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """Where clients reach it, e.g. ``http://127.0.0.1:8086``."""
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(source: MockSource, host: str = "127.0.0.1", port: int = 8086) -> MockInfluxServer:
    """Bind (port 0 picks a free port; see ``.url``) without serving yet: call ``serve_forever()``."""
    return MockInfluxServer((host, port), source)

