"""``scald deploy``: install the dashboard into an Apache-style web root (``~/public_html`` on LIGO Data Grid hosts).

What is written into ``PUBLIC_HTML``:

- ``cgi-bin/NAME`` (or ``NAME.cgi``): a Python CGI script. Its shebang is the interpreter running ``scald deploy``
  (the one that has scald-monitor and Flask installed), it sets ``SCALDRC_PATH`` to the configuration's absolute
  path and runs the Flask app with :class:`wsgiref.handlers.CGIHandler`. ``sys.path`` is touched only when that
  interpreter cannot import the package on its own (e.g. a checkout used through ``PYTHONPATH``), since the web
  server's environment has no ``PYTHONPATH``. ligo-scald wrote a bash wrapper exporting ``PYTHONPATH=None:...``
  when it was unset, and crashed when ``cgi-bin/`` did not exist yet.
- ``NAME.wsgi``: the same app as a WSGI ``application`` for mod_wsgi (one process serving many requests, instead of
  a fresh Python per request).
- ``static/``: the dashboard's CSS/JS (with the vendored plotting library), so Apache serves them as plain files.

Static URLs: the app keeps serving ``/static/`` itself (so nothing breaks if Apache does not), but in a deployed
app the pages point at the copy in ``PUBLIC_HTML/static/``, found relative to the script's own URL (its
``SCRIPT_NAME``: ``.../cgi-bin/NAME`` → ``.../static``; ``.../NAME.wsgi`` → ``.../static``), or at ``--static-url``.
This is done here, by :func:`deployed_app` replacing the templates' ``url_for`` for the ``static`` endpoint, so the
app factory stays unaware of deployment.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .atomic import write_atomic

__all__ = ["DeployError", "DeployResult", "deploy", "deployed_app", "render_cgi", "render_wsgi"]

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)
SHEBANG_MAX = 120  # older kernels cut shebangs at 127 bytes; longer or spaced paths go through /bin/sh


class DeployError(Exception):
    """A deployment that cannot work (bad name, an interpreter that cannot import the app); exit 2."""


@dataclass
class DeployResult:
    """What was written, for the command's report."""

    cgi: Path
    wsgi: Path
    static: Path
    static_files: int
    sys_path: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [f"wrote {self.cgi} (CGI: <URL of the web root>/cgi-bin/{self.cgi.name}/)",
                 f"wrote {self.wsgi} (mod_wsgi entry point: application)",
                 f"copied {self.static_files} static file(s) to {self.static}"]
        if self.sys_path:
            lines.append(f"note: {sys.executable} cannot import scald_monitor by itself; the scripts add "
                         f"{self.sys_path} to sys.path")
        return lines + self.notes


# ----------------------------------------------------------------------------------------------- writing

def deploy(cfg, outdir: str | os.PathLike, name: str = "scald", cgi_ext: bool = False,
           static_url: str | None = None, python: str | None = None) -> DeployResult:
    """Write the CGI script, the WSGI file and the static assets for the loaded configuration ``cfg``."""
    from .report import web_dir

    if not NAME.fullmatch(name):
        raise DeployError(f"application name {name!r}: use letters, digits, '_', '.', '-' (it becomes a file name)")
    # A path of this host or an http(s) URL: the page's Content-Security-Policy names the URL's origin, which a
    # protocol-relative //host/... has none of (the scripts would be blocked).
    if static_url is not None and not re.fullmatch(r"(/(?![/\\])|https?://)[^\s\"'<>\\]*", static_url):
        raise DeployError(f"--static-url {static_url!r}: expected an absolute path (/~user/static) or an http(s) "
                          "URL")
    python = python or sys.executable
    config_path = os.path.abspath(cfg.path)
    extra_path = _sys_path_needed(python)

    root = Path(outdir).expanduser().resolve()
    cgi_dir = root / "cgi-bin"
    cgi_dir.mkdir(parents=True, exist_ok=True)  # ligo-scald: FileNotFoundError when cgi-bin/ was missing
    cgi = cgi_dir / (f"{name}.cgi" if cgi_ext else name)
    # Atomic (temp file, fsync, rename): a request arriving mid-deploy runs the old or the new script, whole.
    write_atomic(str(cgi), render_cgi(config_path, python, extra_path, static_url).encode("utf-8"), mode=0o755)
    wsgi = root / f"{name}.wsgi"
    write_atomic(str(wsgi), render_wsgi(config_path, python, extra_path, static_url).encode("utf-8"), mode=0o644)

    static_src = web_dir() / "static"
    static = root / "static"
    notes = []
    if static_src.is_dir():
        shutil.copytree(static_src, static, dirs_exist_ok=True)
        count = sum(1 for p in static_src.rglob("*") if p.is_file())
    else:  # an API-only installation: nothing for Apache to serve
        count = 0
        notes.append(f"note: no static assets in {static_src}; only the JSON API is useful")
    return DeployResult(cgi=cgi, wsgi=wsgi, static=static, static_files=count, sys_path=extra_path, notes=notes)


def _sys_path_needed(python: str) -> str | None:
    """The directory to add to ``sys.path`` when ``python``, started as a web server would start it (no
    ``PYTHONPATH``, no user site-packages), cannot import scald_monitor and Flask; else None."""
    probe = "import scald_monitor.serve, scald_monitor.config"
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    for extra in (None, package_parent):
        code = probe if extra is None else f"import sys; sys.path.insert(0, {extra!r}); {probe}"
        try:
            done = subprocess.run([python, "-I", "-c", code], env=env, cwd="/", capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeployError(f"cannot run {python}: {exc}") from None
        if done.returncode == 0:
            return extra
        error = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
    raise DeployError(f"{python} cannot import the dashboard ({error[0]}): install scald-monitor with its "
                      "dependencies into that interpreter, or run scald deploy with one that has them")


def _header(python: str) -> str:
    """The shebang; through /bin/sh when the interpreter path is too long or has spaces for a kernel shebang."""
    if len(python) <= SHEBANG_MAX and not re.search(r"\s", python):
        return f"#!{python}\n"
    quoted = "'" + python.replace("'", "'\\''") + "'"
    return f"#!/bin/sh\n''''exec {quoted} \"$0\" \"$@\" # '''\n"


def _preamble(config_path: str, extra_path: str | None, kind: str, set_env: bool) -> str:
    """``set_env``: a CGI script is its own process and may set ``SCALDRC_PATH`` for it; a WSGI file runs inside a
    server process that may host other apps, so it names its config without touching the environment."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f'"""scald-monitor dashboard, {kind}. Written by `scald deploy` on {stamp}; re-run it rather than edit."""',
        "import os",
        "import sys",
        "",
        f"os.environ[\"SCALDRC_PATH\"] = {config_path!r}" if set_env else f"CONFIG = {config_path!r}",
    ]
    if extra_path:
        lines.append(f"sys.path.insert(0, {extra_path!r})  # this interpreter cannot import scald_monitor alone")
    return "\n".join(lines) + "\n"


def render_cgi(config_path: str, python: str, extra_path: str | None = None, static_url: str | None = None) -> str:
    """The CGI script: one request per process, run by ``wsgiref``'s CGIHandler."""
    return _header(python) + _preamble(config_path, extra_path, "CGI script", set_env=True) + f"""
from wsgiref.handlers import CGIHandler

from scald_monitor.deploy import deployed_app

CGIHandler().run(deployed_app(os.environ["SCALDRC_PATH"], script_depth=2, static_url={static_url!r}))
"""


def render_wsgi(config_path: str, python: str, extra_path: str | None = None, static_url: str | None = None) -> str:
    """The mod_wsgi entry point (``application``); e.g. ``WSGIScriptAlias /scald /home/u/public_html/NAME.wsgi``
    with ``WSGIDaemonProcess scald python-home=<prefix of this Python>``."""
    return _preamble(config_path, extra_path, f"WSGI entry point (interpreter: {python})", set_env=False) + f"""
from scald_monitor.deploy import deployed_app

application = deployed_app(CONFIG, script_depth=1, static_url={static_url!r})
"""


# ----------------------------------------------------------------------------------------------- at request time

def deployed_app(config_path: str, script_depth: int = 2, static_url: str | None = None) -> Callable:
    """``create_app(load(config_path))`` with static URLs pointing at ``PUBLIC_HTML/static``.

    ``script_depth`` is how many trailing components of ``SCRIPT_NAME`` to drop to reach the web root (2 for
    ``cgi-bin/NAME``, 1 for ``NAME.wsgi``). A configuration that no longer loads gives a 503 naming the problem
    count (the problems themselves go to the server's error log), not a traceback.
    """
    from .config import ConfigError, load

    try:
        cfg = load(config_path)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"scald-monitor: {line}", file=sys.stderr)
        return _unavailable(f"scald-monitor: the configuration has {len(exc.problems)} problem(s); "
                            "see the web server's error log")
    from .serve import create_app

    app = create_app(cfg)
    _point_static(app, script_depth, static_url)
    return app


def _point_static(app, script_depth: int, static_url: str | None) -> None:
    """Make the templates' ``url_for('static', filename=...)`` give the Apache-served copy's URL."""
    from urllib.parse import quote

    from flask import request

    original = app.jinja_env.globals["url_for"]

    def url_for(endpoint: str, **values):
        if endpoint != "static" or "filename" not in values or values.get("_external"):
            return original(endpoint, **values)
        base = static_url.rstrip("/") if static_url else static_base(request.environ.get("SCRIPT_NAME", ""),
                                                                     script_depth)
        return f"{base}/{quote(str(values['filename']))}"

    app.jinja_env.globals["url_for"] = url_for


def static_base(script_name: str, depth: int) -> str:
    """``/~u/cgi-bin/scald`` (depth 2) → ``/~u/static``; ``/~u/scald.wsgi`` (depth 1) → ``/~u/static``."""
    parts = script_name.rstrip("/").split("/")
    root = "/".join(parts[: max(1, len(parts) - depth)])
    return f"{root}/static"


def _unavailable(message: str) -> Callable:
    body = message.encode()

    def app(environ, start_response):  # noqa: ARG001 - WSGI signature
        start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8"),
                                                   ("Content-Length", str(len(body)))])
        return [body]

    return app
