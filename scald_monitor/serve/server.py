"""Running the app: waitress in production (threaded, no tracebacks to clients), Flask's reloader only to debug.

ligo-scald served with single-threaded wsgiref and ``debug=True``: one slow query blocked every dashboard, and any
error showed its traceback to the world. Waitress is pure Python (nothing to compile on a cluster head node), serves
``threads`` requests at once and is what the API's thread-local readers are built for.
"""
from __future__ import annotations

import logging

from ..config import Config

log = logging.getLogger("scald_monitor.serve")


def run(cfg: Config, hostname: str = "127.0.0.1", port: int = 8080, threads: int = 8, debug: bool = False,
        ready=None) -> None:
    """Serve ``cfg``'s dashboard and API until interrupted. ``ready(url)`` is called once the socket is bound."""
    from . import create_app

    app = create_app(cfg)
    if debug:
        if ready is not None:
            ready(f"http://{_host(hostname)}:{port}/")
        app.run(host=hostname, port=port, debug=True, threaded=True, use_reloader=False)
        return
    from waitress import create_server

    server = create_server(app, host=hostname, port=port, threads=threads, ident="scald-monitor",
                           clear_untrusted_proxy_headers=True)
    bound_port = server.effective_port if hasattr(server, "effective_port") else port
    if ready is not None:
        ready(f"http://{_host(hostname)}:{bound_port}/")
    try:
        server.run()
    finally:
        server.close()


def _host(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname
