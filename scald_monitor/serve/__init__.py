"""``scald serve``: the dashboard and its JSON API, as a Flask app built from an already loaded configuration.

``create_app(cfg)`` registers the ``api`` blueprint (``/api/...``, :mod:`.api`) and the ``pages`` blueprint (HTML,
:mod:`.pages`), with templates and static files from the ``scald_monitor.web`` package data (the repository's
top-level ``web/`` directory). Flask is imported only here, never by ``scald_monitor.cli`` at start-up.

HTTP details every answer shares: ``X-Content-Type-Options: nosniff`` on every response (static files included: a
browser must not run an uploaded-looking file as script because its bytes resemble one); ``OPTIONS`` on an API
route is answered in JSON with ``Allow`` (:func:`.errors.options_response`), a 405 carries ``Allow`` too.
``GET /metrics`` is the app's own health for Prometheus (requests by route and status, latency by route;
:mod:`scald_monitor.metrics`): routes are the URL rules, so the series stay bounded whatever clients ask for.
"""
from __future__ import annotations

import time
from importlib import resources, util

from flask import Flask, Response, g, request

from ..config import Config

__all__ = ["create_app", "web_root"]


def web_root() -> str:
    """The directory holding ``templates/`` and ``static/`` (``web/`` in a checkout, package data when installed)."""
    return str(resources.files("scald_monitor.web"))


class ScaldFlask(Flask):
    """Flask, with the automatic ``OPTIONS`` answer of API routes in JSON like every other API answer."""

    def make_default_options_response(self) -> Response:
        from .errors import is_api_request, options_response

        default = super().make_default_options_response()
        if is_api_request():
            return options_response(default.allow)
        return default


def _nosniff(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def create_app(cfg: Config) -> Flask:
    """The WSGI app for ``cfg``; safe to serve from many threads (readers are per thread, state is read-only)."""
    from . import api, writes
    from .errors import install_error_handlers

    root = web_root()
    app = ScaldFlask(
        __name__,
        template_folder=f"{root}/templates",
        static_folder=f"{root}/static",
        static_url_path="/static",
    )
    app.json.sort_keys = False  # keep documents in the order they are built (status documents, traces)
    app.url_map.merge_slashes = False  # '/api//x' is a 404 JSON error, not an HTML redirect a client won't follow
    app.config["SCALD_CONFIG"] = cfg
    app.extensions["scald_monitor"] = api.ServeState(cfg)
    app.register_blueprint(api.bp)
    app.register_blueprint(writes.bp)
    if util.find_spec(f"{__name__}.pages") is not None:  # the HTML side is optional: the API stands alone
        from . import pages

        app.register_blueprint(pages.bp)
    install_error_handlers(app)  # after the blueprints: JSON for /api/..., their handlers for the rest
    app.after_request(_nosniff)
    _expose_metrics(app)
    return app


def _expose_metrics(app: Flask) -> None:
    """Times every request and serves the counts at ``/metrics``."""
    from ..metrics import ServeMetrics

    metrics = app.extensions["scald_monitor_metrics"] = ServeMetrics()

    @app.before_request
    def _start() -> None:
        g.scald_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("scald_started", None)
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
            metrics.observe(rule, request.method, response.status_code, time.perf_counter() - started)
        return response

    def exposition() -> Response:
        body, content_type = metrics.exposition(request.headers.get("Accept"))
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-cache"})

    app.add_url_rule("/metrics", "metrics", exposition, methods=["GET"])
