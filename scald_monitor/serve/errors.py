"""JSON in, JSON out: the API's response helper, its error type and the app-wide JSON error handlers.

Every answer under ``/api/`` is JSON, errors included (``{"error": "...", "status": N}``), because the callers are
programs (the dashboard's JavaScript, Nagios scrapers, curl in a script): ligo-scald answered errors with an HTML
traceback, which no client can parse and which leaks the server's internals.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Iterable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("scald_monitor.serve")

#: Data changes every second or so; ten seconds of caching is what ligo-scald sent and what a poller can bear.
DATA_CACHE = "max-age=10"
NO_CACHE = "no-cache"


class ApiError(Exception):
    """A request the API refuses: raised anywhere under a route, answered as ``{"error": message}`` with ``status``.

    400 for a bad parameter, 404 for an unknown check/measurement/route, 503 for a backend that cannot be read.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def dumps(data: Any) -> str:
    """Strict JSON (no NaN/Infinity, which browsers reject), ASCII only, with ``<``, ``>`` and ``&`` escaped.

    The escapes keep the text inert if anyone ever pastes it into HTML; it still parses to the same values.
    """
    text = json.dumps(data, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_response(data: Any, status: int = 200, cache: str = DATA_CACHE) -> Response:
    """A JSON response with the headers every API answer carries."""
    return raw_json_response(dumps(data).encode("utf-8"), status, cache)


def raw_json_response(body: bytes, status: int = 200, cache: str = DATA_CACHE) -> Response:
    """The same response as :func:`json_response` from an already serialised body (cached answers)."""
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def error_response(status: int, message: str) -> Response:
    """``{"error": message, "status": status}``, never cached (a backend outage must not stick in a cache)."""
    return json_response({"error": message, "status": status}, status=status, cache="no-store")


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


#: The order methods are listed in ``Allow`` (RFC 9110 sets none; a fixed one keeps answers byte-identical).
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_header(methods: Iterable[str]) -> str:
    """``Allow``'s value for ``methods``: ``GET, HEAD, OPTIONS`` for every API route (each is GET-only)."""
    names = {m.upper() for m in methods}
    ordered = [m for m in _METHOD_ORDER if m in names] + sorted(names - set(_METHOD_ORDER))
    return ", ".join(ordered)


def options_response(methods: Iterable[str]) -> Response:
    """The answer to ``OPTIONS`` on an API route: 200, ``Allow``, and a JSON body saying the same.

    Why not Flask's automatic answer: it is an empty ``text/html`` body, the one non-JSON answer left under /api/
    (a client that parses every answer as JSON fails on it).
    """
    allow = allow_header(methods)
    response = json_response({"allow": allow.split(", "), "openapi": "/api/openapi.json"}, cache="max-age=60")
    response.headers["Allow"] = allow
    return response


def install_error_handlers(app: Flask) -> None:
    """JSON errors for ``/api/...`` (400, 404, 405 with ``Allow``, 500 and any other HTTP error); other paths keep
    the handler registered before (the pages' HTML error pages) or Flask's default.

    Call this after registering the blueprints: it wraps whatever handlers they installed app-wide.
    """
    app.register_error_handler(ApiError, lambda exc: error_response(exc.status, exc.message))
    spec = app.error_handler_spec.setdefault(None, {})
    for code in (400, 404, 405, 500):
        previous = dict(spec.get(code, {}))
        app.register_error_handler(code, _make_handler(previous))
    generic = dict(spec.get(None, {}))
    app.register_error_handler(HTTPException, _make_handler(generic))


def _make_handler(previous: dict):
    def handle(exc: HTTPException) -> Any:
        if is_api_request():
            code = getattr(exc, "code", None) or 500
            if code >= 500:
                original = getattr(exc, "original_exception", None)
                if original is not None:
                    log.error("%s %s: internal error", request.method, request.path, exc_info=original)
                return error_response(500, "internal error (logged on the server)")
            allowed = getattr(exc, "valid_methods", None) if code == 405 else None
            message = {404: f"no such API route: {request.path} (see /api/openapi.json)",
                       405: f"method {request.method} not allowed here (allowed: "
                            f"{allow_header(allowed or ('GET', 'HEAD', 'OPTIONS'))})"}.get(code, exc.description)
            response = error_response(code, message)
            if code == 405:  # RFC 9110 §15.5.6: a 405 MUST list the methods the resource supports
                response.headers["Allow"] = allow_header(allowed or ("GET", "HEAD", "OPTIONS"))
            return response
        for cls in type(exc).__mro__:
            handler = previous.get(cls)
            if handler is not None:
                return handler(exc)
        return exc

    return handle
