"""Passive service results for Icinga 2, through its REST API (``POST /v1/actions/process-check-result``).

``ttl`` tells Icinga when to expect the next result: if none arrives by then, Icinga runs the service's own check
command (typically a dummy returning UNKNOWN/CRITICAL "no passive result"), so a dead daemon gets noticed there.

``requests`` is imported inside ``post_result``: importing this module stays cheap for the CLI and the plugin.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
from urllib.parse import urlsplit, urlunsplit

from ..rules.result import CheckStatus
from . import OutputError

__all__ = ["ENDPOINT", "post_result"]

log = logging.getLogger(__name__)

ENDPOINT = "/v1/actions/process-check-result"


@functools.lru_cache(maxsize=1)
def _check_source() -> str:
    """This host's name as Icinga shows it under "check source" (looked up once: getfqdn may query DNS)."""
    return socket.getfqdn()


def _safe_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _password(conf: dict) -> str:
    env = conf.get("password_env")
    if not env:
        raise OutputError("icinga2: 'user' is set but 'password_env' (the environment variable holding the API "
                          "password) is not")
    password = os.environ.get(env)
    if password is None:
        raise OutputError(f"icinga2: environment variable {env} (outputs.icinga2.password_env) is not set")
    return password


def _failed_result(body) -> str:
    """The reason of the first per-object failure in ``{"results": [{"code": 500, "status": "..."}]}``, or ""."""
    results = body.get("results") if isinstance(body, dict) else None
    for item in results if isinstance(results, list) else []:
        code = item.get("code", 200) if isinstance(item, dict) else 200
        if not isinstance(code, (int, float)) or code >= 300:
            return str(item.get("status") or f"code {code}")
    return ""


def _error_text(response) -> str:
    """Icinga's own reason for an HTTP error: ``{"error": N, "status": "..."}``, a failed result, or the body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200]
    if isinstance(body, dict) and body.get("status"):
        return str(body["status"])
    return _failed_result(body)


def post_result(conf: dict, host: str, service: str, status: CheckStatus, ttl: float, timeout: float = 10) -> None:
    """Send one service result to Icinga 2; raise ``OutputError`` (one line, no password) if it was not accepted.

    ``conf`` is the ``outputs.icinga2`` section: ``url``, ``user``, ``password_env`` (the *name* of the environment
    variable holding the password, so the secret never sits in the config file), ``ca`` (CA bundle to verify the
    server with; system CAs when unset).
    """
    try:
        import requests
    except ImportError:
        raise OutputError("icinga2: the Icinga 2 output needs the 'requests' package (pip install requests)") from None

    for kind, value in (("host", host), ("service", service)):
        if not value or "!" in value:
            raise OutputError(f"icinga2: invalid {kind} name {value!r}: must be non-empty and without '!'")
    result = status.result
    url = conf["url"].rstrip("/") + ENDPOINT
    shown_url = _safe_url(url)
    body = {
        "type": "Service",
        "service": f"{host}!{service}",  # the object's full name: no filter expression to quote or inject into
        "exit_status": int(result.state),
        "plugin_output": "\n".join([result.first_line(), *result.long_text]),
        "performance_data": [str(p) for p in result.perfdata],
        "check_source": _check_source(),
        "execution_start": result.time,
        "execution_end": result.time,
        "ttl": ttl,
    }
    password = None
    auth = None
    if conf.get("user"):
        password = _password(conf)
        auth = (conf["user"], password)
    what = f"{host}!{service}"

    def fail(message: str) -> OutputError:
        if password:
            message = message.replace(password, "***")
        return OutputError(" ".join(message.split()))

    try:
        response = requests.post(url, json=body, auth=auth, headers={"Accept": "application/json"},
                                 timeout=timeout, verify=conf.get("ca") or True)
    except requests.Timeout:
        raise fail(f"icinga2: no answer from {shown_url} within {timeout:g} s for {what}") from None
    except requests.exceptions.SSLError as exc:
        raise fail(f"icinga2: TLS error talking to {shown_url} (check outputs.icinga2.ca): {exc}") from None
    except requests.ConnectionError as exc:
        raise fail(f"icinga2: cannot connect to {shown_url}: {exc}") from None
    except requests.RequestException as exc:
        raise fail(f"icinga2: request to {shown_url} failed: {exc}") from None

    if response.status_code == 401:
        raise fail(f"icinga2: HTTP 401 from {shown_url}: user {conf.get('user')!r} was refused "
                   f"(check outputs.icinga2.user and the password in {conf.get('password_env')})")
    if response.status_code >= 300:
        reason = _error_text(response) or response.reason
        raise fail(f"icinga2: HTTP {response.status_code} from {shown_url} for {what}: {reason}")
    try:
        reason = _failed_result(response.json())  # a 200 can still carry a per-object failure
    except ValueError:
        reason = ""
    if reason:
        raise fail(f"icinga2: {shown_url} did not process the result for {what}: {reason}")
    log.debug("icinga2: sent %s %s", what, result.state_name)
