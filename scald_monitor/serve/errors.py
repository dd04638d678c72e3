"""JSON in, JSON out: the API's response helper, its error type and the app-wide JSON error handlers.

Every answer under ``/api/`` is JSON, errors included (``{"error": "...", "status": N}``), because the callers are
programs (the dashboard's JavaScript, Nagios scrapers, curl in a script): ligo-scald answered errors with an HTML
traceback, which no client can parse and which leaks the server's internals.
"""
from __future__ import annotations

import json
import logging
from typing import Any

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


def install_error_handlers(app: Flask) -> None:
    """JSON errors for ``/api/...`` (400, 404, 405, 500 and any other HTTP error); other paths keep the handler
    registered before (the pages' HTML error pages) or Flask's default.

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
            message = {404: f"no such API route: {request.path} (see /api/openapi.json)",
                       405: f"method {request.method} not allowed here (only GET)"}.get(code, exc.description)
            return error_response(code, message)
        for cls in type(exc).__mro__:
            handler = previous.get(cls)
            if handler is not None:
                return handler(exc)
        return exc

    return handle
