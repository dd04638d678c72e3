"""``scald serve``: the dashboard and its JSON API, as a Flask app built from an already loaded configuration.

``create_app(cfg)`` registers the ``api`` blueprint (``/api/...``, :mod:`.api`) and the ``pages`` blueprint (HTML,
:mod:`.pages`), with templates and static files from the ``scald_monitor.web`` package data (the repository's
top-level ``web/`` directory). Flask is imported only here, never by ``scald_monitor.cli`` at start-up.
"""
from __future__ import annotations

from importlib import resources, util

from flask import Flask

from ..config import Config

__all__ = ["create_app", "web_root"]


def web_root() -> str:
    """The directory holding ``templates/`` and ``static/`` (``web/`` in a checkout, package data when installed)."""
    return str(resources.files("scald_monitor.web"))


def create_app(cfg: Config) -> Flask:
    """The WSGI app for ``cfg``; safe to serve from many threads (readers are per thread, state is read-only)."""
    from . import api
    from .errors import install_error_handlers

    root = web_root()
    app = Flask(
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
    if util.find_spec(f"{__name__}.pages") is not None:  # the HTML side is optional: the API stands alone
        from . import pages

        app.register_blueprint(pages.bp)
    install_error_handlers(app)  # after the blueprints: JSON for /api/..., their handlers for the rest
    return app
