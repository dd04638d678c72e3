"""The API's write routes: acknowledgements and ad hoc downtimes, for operators' scripts and chat bots.

``POST``/``DELETE /api/checks/<check>/ack`` and ``GET``/``POST /api/downtimes``, ``DELETE /api/downtimes/<id>``
write the same file as ``scald-monitor ack``/``downtime`` (:class:`.lifecycle.store.LifecycleStore`, beside the
daemon's state file), so the daemon sees a write within a second and the board at its next poll.

Why bearer tokens and nothing else: a token in the ``Authorization`` header is never sent by a browser on its own,
so there is no cookie and no CSRF surface; tokens live hashed in ``serve.tokens_file``
(:mod:`.lifecycle.tokens`). Without that file every write is a 403: a dashboard someone put on the internet
cannot be written to by accident. 401 is a missing or unknown token (with ``WWW-Authenticate: Bearer``). Every
write is logged with the token's name and the author. Bodies are JSON objects (``Content-Type:
application/json``), at most :data:`MAX_BODY` bytes, every key checked (an unknown key is a 400 naming it).
"""
from __future__ import annotations

import json
import logging
import math
from typing import Any, Callable

from flask import Blueprint, request

from ..lifecycle.windows import tag_label, tag_pairs
from ..timeutil import gps_now
from .errors import NO_CACHE, ApiError, error_response, json_response

log = logging.getLogger("scald_monitor.serve.writes")

bp = Blueprint("writes", __name__, url_prefix="/api")

#: A write's body is a few short strings: anything larger is a mistake or an attack.
MAX_BODY = 16384
MAX_COMMENT = 2000
MAX_AUTHOR = 200
REALM = 'Bearer realm="scald-monitor"'


def _state():
    """The app's ServeState (:func:`.api.state`; imported here, when asked: api -> openapi -> openapi_writes ->
    this module would be a cycle at import time)."""
    from .api import state as serve_state

    return serve_state()


def _unauthorized(message: str, error: str | None = None):
    response = error_response(401, message)
    response.headers["WWW-Authenticate"] = REALM + (f', error="{error}"' if error else "")
    return response


def writer(route: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``route(token_name, ...)`` only for a request with a valid bearer token (see the module docstring)."""
    import functools

    @functools.wraps(route)
    def guarded(*args: Any, **kwargs: Any):
        st = _state()
        if st.tokens is None:
            return error_response(403, "writes are disabled: serve.tokens_file is not set (scald-monitor token "
                                       "add NAME creates a token and the file)")
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("a bearer token is required (Authorization: Bearer TOKEN)")
        name = st.tokens.verify(token.strip())
        if name is None:
            return _unauthorized("the bearer token is not valid", "invalid_token")
        return route(name, *args, **kwargs)

    return guarded


def _body(allowed: dict[str, tuple[type, ...]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, every key one of ``allowed`` with a value of its types (bool is not a number)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    if request.mimetype != "application/json":
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    for key, value in body.items():
        if key not in allowed:
            raise ApiError(400, f"unknown key {key!r} (known: {', '.join(allowed)})")
        types = allowed[key]
        if value is None or isinstance(value, bool) and bool not in types or not isinstance(value, types):
            names = " or ".join(_TYPE_NAMES[t] for t in types)
            raise ApiError(400, f"{key}: must be {names}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ApiError(400, f"{key}: must be a finite number")
    for key in required:
        if key not in body:
            raise ApiError(400, f"{key}: required")
    return body


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_TYPE_NAMES = {str: "a string", bool: "true or false", int: "a number", float: "a number", dict: "an object",
               list: "a list"}


def _text(body: dict, key: str, limit: int, required: bool = False) -> str:
    value = body.get(key, "")
    if required and not value.strip():
        raise ApiError(400, f"{key}: required (say why, as Nagios asks)")
    if len(value) > limit or any(ord(c) < 32 and c not in "\t" for c in value):
        raise ApiError(400, f"{key}: at most {limit} characters, no control characters")
    return value


def _refused(exc: Exception, prefix: str) -> ApiError:
    """A write the store refused: the request's fault (400), or the file's (503: unreadable, not ours, disk)."""
    store = _state().lifecycle
    if isinstance(exc, OSError) or (store is not None and str(exc).startswith(store.path)):
        log.error("lifecycle file: %s", exc)
        return ApiError(503, f"the acknowledgements file cannot be written: {exc}")
    return ApiError(400, str(exc).removeprefix(prefix))


def _store():
    st = _state()
    if st.lifecycle is None:  # the config check makes this unreachable with tokens; kept for a clear answer
        raise ApiError(409, "outputs.state_file is not set: acknowledgements and downtimes are kept beside it")
    return st.lifecycle


def _check(name: str):
    from .api import _check_name  # the read routes' 404 for an unknown check

    return _state().cfg.checks[_check_name(name)]


def _label(check: Any, tags: Any) -> str:
    cfg = _state().cfg
    spec = cfg.schemas.get(check.schema)
    try:
        return tag_label(spec.tags if spec is not None else (), tags)
    except ValueError as exc:
        raise ApiError(400, f"tags: {exc}") from None


def _query_tags() -> dict[str, str]:
    """``?tag=NAME=VALUE`` (repeatable), as the CLI's ``--tag``."""
    try:
        return tag_pairs(request.args.getlist("tag"))
    except ValueError as exc:
        raise ApiError(400, f"tag {exc}") from None


def _logged(token: str, author: str, what: str) -> None:
    log.info("%s %s by token %r (author %r) from %s: %s", request.method, request.path, token, author,
             request.remote_addr, what)


# ---------------------------------------------------------------------------------------- acknowledgements


@bp.post("/checks/<check>/ack")
@writer
def ack(token: str, check: str):
    """Acknowledge a check (or one tag value): as ``scald-monitor ack``."""
    spec = _check(check)
    body = _body({"comment": (str,), "author": (str,), "tags": (dict,), "sticky": (bool,),
                  "expire": (int, float, str)}, required=("comment",))
    comment = _text(body, "comment", MAX_COMMENT, required=True)
    author = _text(body, "author", MAX_AUTHOR) or token
    label = _label(spec, body.get("tags", {}))
    try:
        made = _store().ack(check, label, comment=comment, author=author, sticky=body.get("sticky", False),
                            expire=body.get("expire"))
    except (OSError, ValueError) as exc:
        raise _refused(exc, "ack.") from None
    _logged(token, author, f"acknowledged {check}{f'[{label}]' if label else ''}")
    return json_response({"acknowledgement": made.to_dict()}, status=201, cache=NO_CACHE)


@bp.delete("/checks/<check>/ack")
@writer
def unack(token: str, check: str):
    """Remove an acknowledgement (``?tag=NAME=VALUE`` for a tag value's): as ``scald-monitor unack``."""
    spec = _check(check)
    label = _label(spec, _query_tags())
    try:
        removed = _store().unack(check, label)
    except (OSError, ValueError) as exc:
        raise _refused(exc, "") from None
    if not removed:
        raise ApiError(404, f"{check}{f'[{label}]' if label else ''}: nothing acknowledged")
    _logged(token, token, f"acknowledgement of {check}{f'[{label}]' if label else ''} removed")
    return json_response({"removed": {"check": check, "label": label}}, cache=NO_CACHE)


# ---------------------------------------------------------------------------------------------- downtimes


@bp.get("/downtimes")
def downtimes():
    """Every downtime: the config's and the ad hoc ones (read route: open as the others), as the CLI's
    ``downtime list --format json`` shows them (:meth:`.Downtime.view`)."""
    st = _state()
    now = gps_now()
    rows = [("config", d) for d in st.cfg.downtimes] + [("ad hoc", d) for d in
                                                         (st.lifecycle.downtimes() if st.lifecycle else [])]
    return json_response([{"source": source, **d.view(now)} for source, d in rows], cache=NO_CACHE)


@bp.post("/downtimes")
@writer
def add_downtime(token: str):
    """Put checks (names or patterns, or ``*``) in downtime: as ``scald-monitor downtime add``."""
    body = _body({"checks": (str, list), "tags": (dict,), "start": (int, float, str), "end": (int, float, str),
                  "duration": (int, float, str), "comment": (str,), "author": (str,)},
                 required=("checks", "comment"))
    names = [body["checks"]] if isinstance(body["checks"], str) else body["checks"]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ApiError(400, "checks: a check name or pattern, or a non-empty list of them")
    for name in names:
        if not any(c in name for c in "*?[") and name not in _state().cfg.checks:
            raise ApiError(404, f"unknown check {name!r}")
    if ("end" in body) == ("duration" in body):
        raise ApiError(400, "end or duration: give one of them")
    comment = _text(body, "comment", MAX_COMMENT, required=True)
    author = _text(body, "author", MAX_AUTHOR) or token
    entry = {**body, "checks": names, "comment": comment, "author": author}
    if not entry.get("tags"):
        entry.pop("tags", None)  # {}: no restriction, as without the key
    else:
        entry["tags"] = {k: v if isinstance(v, list) else [v] for k, v in entry["tags"].items()}
    try:
        made = _store().add_downtime(entry)
    except (OSError, ValueError) as exc:
        raise _refused(exc, "downtime.") from None
    _logged(token, author, f"downtime #{made.id} of {', '.join(names)}")
    return json_response({"downtime": {"source": "ad hoc", **made.view(gps_now())}}, status=201,
                         cache=NO_CACHE)


@bp.delete("/downtimes/<ident>")
@writer
def remove_downtime(token: str, ident: str):
    """Remove ad hoc downtime ``ident`` (the config's are edited in the file)."""
    if not ident.isdigit() or not ident.isascii():
        raise ApiError(404, f"no ad hoc downtime {ident!r} (ids are numbers)")
    try:
        removed = _store().remove_downtime(ident)
    except (OSError, ValueError) as exc:
        raise _refused(exc, "") from None
    if not removed:
        raise ApiError(404, f"no ad hoc downtime {ident!r}")
    _logged(token, token, f"downtime #{ident} removed")
    return json_response({"removed": ident}, cache=NO_CACHE)
