"""Passive service results for Icinga 2, through its REST API (``POST /v1/actions/process-check-result``).

``ttl`` tells Icinga when to expect the next result: if none arrives by then, Icinga runs the service's own check
command (``passive``: UNKNOWN "no passive result"), so a dead daemon gets noticed there. That needs the service's
``enable_active_checks = true`` (docs/icinga2.md); with active checks off an expired ttl changes nothing.

Delivery: results are not queued. The daemon sends every check's *current* result at every interval, so after a
failure (Icinga down, wrong password, wrong CA) the present state of each check reaches Icinga at that check's
next run once the fault is fixed, with no restart. Each failed attempt is one line in the log; the first success
after failures says so, once per check (``accepts results for host!check again``). A state that began and ended
inside an outage reaches Icinga only as the state it ended in: Icinga shows the present, as for its own checks.

``requests`` is imported inside ``post_result``: importing this module stays cheap for the CLI and the plugin.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from ..rules.result import CheckStatus
from . import OutputError

__all__ = ["ENDPOINT", "post_result"]

log = logging.getLogger(__name__)

ENDPOINT = "/v1/actions/process-check-result"

#: (URL, host!service) → (failed attempts, time of the first) since its last accepted result: the recovery line.
_failures: dict[tuple[str, str], tuple[int, float]] = {}
_failures_lock = threading.Lock()


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
        raise OutputError("'user' is set but 'password_env' (the environment variable holding the Icinga 2 API "
                          "password) is not")
    password = os.environ.get(env)
    if password is None:
        raise OutputError(f"environment variable {env} (outputs.icinga2.password_env) is not set")
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
    except ValueError:  # e.g. a reverse proxy's HTML error page: its text, without the markup
        return " ".join(re.sub(r"<[^>]*>", " ", response.text or "").split())[:200]
    if isinstance(body, dict) and body.get("status"):
        return str(body["status"])
    return _failed_result(body)


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the wrappers' repr noise.

    ``HTTPSConnectionPool(host=..., port=...): Max retries exceeded with url: ... (Caused by SSLError(
    SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed ...')))``
    becomes ``certificate verify failed: self-signed certificate in certificate chain``; a refused connection
    ``Connection refused``.
    """
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {current.verify_message or current.reason}"
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            args = getattr(current, "args", ())
            inner = next((a for a in args if isinstance(a, BaseException)), None)
        if inner is None:
            inner = current.__cause__ or current.__context__
        if inner is None:
            break
        current = inner
    if isinstance(current, OSError) and current.strerror:
        return current.strerror
    text = str(current)
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip()
    return re.sub(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*", "", text) or type(current).__name__


def _note_failure(base: str, what: str) -> None:
    with _failures_lock:
        count, since = _failures.get((base, what), (0, time.time()))
        _failures[(base, what)] = (count + 1, since)


def _note_success(base: str, what: str) -> None:
    with _failures_lock:
        failed = _failures.pop((base, what), None)
    if failed:
        count, since = failed
        log.info("Icinga 2 at %s accepts results for %s again (%d failed attempt%s since %s)", base, what, count,
                 "" if count == 1 else "s", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)))


def post_result(conf: dict, host: str, service: str, status: CheckStatus, ttl: float, timeout: float = 10) -> None:
    """Send one service result to Icinga 2; raise ``OutputError`` (one line, no password) if it was not accepted.

    ``conf`` is the ``outputs.icinga2`` section: ``url``, ``user``, ``password_env`` (the *name* of the environment
    variable holding the password, so the secret never sits in the config file), ``ca`` (CA bundle to verify the
    server with; system CAs when unset) and ``ttl`` (seconds; when set it replaces the ``ttl`` argument, which
    the daemon makes the check's expiry).
    """
    try:
        import requests
    except ImportError:
        raise OutputError("the Icinga 2 output needs the 'requests' package (pip install requests)") from None

    for kind, value in (("host", host), ("service", service)):
        if not value or "!" in value:
            raise OutputError(f"invalid Icinga 2 {kind} name {value!r}: must be non-empty and without '!'")
    if conf.get("ttl"):
        ttl = float(conf["ttl"])
    result = status.result
    base = _safe_url(conf["url"].rstrip("/"))
    url = conf["url"].rstrip("/") + ENDPOINT
    shown_url = base + ENDPOINT
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
    ca = conf.get("ca")

    def fail(message: str) -> OutputError:
        _note_failure(base, what)
        if password:
            message = message.replace(password, "***")
        return OutputError(" ".join(message.split()))

    try:
        response = requests.post(url, json=body, auth=auth, headers={"Accept": "application/json"},
                                 timeout=timeout, verify=ca or True)
    except requests.Timeout:
        raise fail(f"no answer from {shown_url} within {timeout:g} s for {what}") from None
    except requests.exceptions.SSLError as exc:
        hint = (f"is {ca} (outputs.icinga2.ca) the CA that signed Icinga's certificate?" if ca else
                "outputs.icinga2.ca is not set, so the system CAs were used: set it to Icinga's CA, "
                "e.g. /var/lib/icinga2/certs/ca.crt")
        raise fail(f"TLS error talking to {shown_url}: {_root_cause(exc)} ({hint})") from None
    except requests.ConnectionError as exc:
        raise fail(f"cannot connect to {shown_url}: {_root_cause(exc)}") from None
    except requests.RequestException as exc:
        raise fail(f"request to {shown_url} failed: {_root_cause(exc)}") from None
    except OSError as exc:  # requests checks the CA path itself: "Could not find a suitable TLS CA ..."
        raise fail(f"cannot use the CA file {ca} (outputs.icinga2.ca) for {shown_url}: "
                   f"{exc.strerror or exc}") from None

    if response.status_code == 401:
        raise fail(f"HTTP 401 from {shown_url}: user {conf.get('user')!r} was refused "
                   f"(check outputs.icinga2.user and the password in {conf.get('password_env')})")
    if response.status_code == 404:
        raise fail(f"HTTP 404 from {shown_url} for {what}: {_error_text(response) or response.reason} "
                   f"(Icinga has no service {service!r} on host {host!r}, or user {conf.get('user')!r} lacks "
                   f"the permission actions/process-check-result)")
    if response.status_code >= 300:
        reason = _error_text(response) or response.reason
        raise fail(f"HTTP {response.status_code} from {shown_url} for {what}: {reason}")
    try:
        reason = _failed_result(response.json())  # a 200 can still carry a per-object failure
    except ValueError:
        reason = ""
    if reason:
        raise fail(f"{shown_url} did not process the result for {what}: {reason}")
    _note_success(base, what)
    log.debug("icinga2: sent %s %s", what, result.state_name)
