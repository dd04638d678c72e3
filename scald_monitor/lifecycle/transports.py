"""Where notifications go: Prometheus Alertmanager (API v2), a webhook (JSON POST), e-mail (SMTP).

Each configured ``notifications:`` entry becomes one or more :class:`Transport` targets (an Alertmanager entry
with a list of URLs is one target per URL, as Prometheus sends to every Alertmanager of a cluster). A transport
turns queued payloads into requests; the :class:`~scald_monitor.lifecycle.notifier.Notifier` owns queueing,
retries and backoff. ``send`` raises :class:`DeliveryError`: ``permanent`` when retrying cannot help (HTTP 4xx
other than 408/429, SMTP 5xx), so that one bad notification does not hold up a target for ever.

Credentials come from the environment (``headers_env: {Authorization: HOOK_TOKEN}``, ``username_env`` /
``password_env``) when a notification is sent, so they are in no file; messages name the variable, never its value.

Alertmanager, the Prometheus way: labels ``alertname`` (the check), the tag labels, ``severity`` (warning,
critical, unknown), ``instance`` (the spec's ``instance``, default ``scald-monitor``; it is *not* the host name, so
that two daemons of an HA pair send identical label sets and Alertmanager keeps one alert) and the spec's static
``labels``; annotations ``summary`` and ``description``; ``generatorURL`` the board. A firing alert carries a
bounded ``endsAt`` (now + 4 × ``resend_interval``) and is re-posted every ``resend_interval`` while it fires, so an
Alertmanager that restarted (it keeps alerts in memory) learns it again, and an alert whose daemons all died
resolves by itself. A recovery posts ``endsAt`` = the recovery time. A change of severity resolves the alert of
the old severity (its label set differs) in the same request.

Entry points::

    parse_notifications(entries: list) -> list[dict]     (normalized specs; ValueError naming notifications[i].key)
    make_transports(specs, board_url=None) -> list[Transport]
    Transport.name, .batch, .track(event_dict, firing) -> (payload | None, firing'), .send(payloads), .refresh(firing)
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
from typing import Any, Mapping

from ..timeutil import gps_to_unix

__all__ = ["DeliveryError", "Transport", "AlertmanagerTransport", "WebhookTransport", "EmailTransport",
           "make_transports", "parse_notifications"]

log = logging.getLogger("scald_monitor.lifecycle")

TYPES = ("alertmanager", "webhook", "email")
_COMMON = {"type", "name"}
_KEYS = {
    "alertmanager": _COMMON | {"url", "instance", "labels", "headers_env", "timeout", "resend_interval"},
    "webhook": _COMMON | {"url", "headers", "headers_env", "timeout"},
    "email": _COMMON | {"smtp", "to", "from", "starttls", "ssl", "username_env", "password_env", "timeout",
                        "subject_prefix"},
}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_RESERVED = {"alertname", "severity", "instance"}
_RETRY_4XX = (401, 403, 404, 407, 408, 409, 421, 425, 429)


class DeliveryError(Exception):
    """A notification could not be delivered; ``permanent`` if retrying the same request cannot succeed.
    ``delivered``: how many payloads of the batch went out before this one failed (they are not sent again)."""

    def __init__(self, message: str, permanent: bool = False, delivered: int = 0) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.delivered = delivered


# --------------------------------------------------------------------------------------------------- specs
def parse_notifications(entries: Any) -> list[dict[str, Any]]:
    """The config's ``notifications:`` list (already loaded) → normalized specs with defaults applied, one per
    target. Raises ValueError ``notifications[i].key: problem``. Environment variables are *not* looked up here:
    they need to exist only where the daemon runs."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValueError("notifications: must be a list of {type: alertmanager|webhook|email, ...}")
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        out.extend(_parse_one(entry, f"notifications[{i}]"))
    names = [s["name"] for s in out]
    dup = [n for n in names if names.count(n) > 1]
    if dup:
        raise ValueError(f"notifications: two entries deliver to {dup[0]!r}; give them different name: keys")
    return out


def _parse_one(entry: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be a mapping with a type: key")
    kind = entry.get("type")
    if kind not in TYPES:
        raise ValueError(f"{where}.type: must be one of {', '.join(TYPES)}, not {kind!r}")
    unknown = sorted(str(k) for k in entry if k not in _KEYS[kind])
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key for type {kind} "
                         f"(expected {', '.join(sorted(_KEYS[kind]))})")
    spec: dict[str, Any] = {"type": kind}
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"{where}.name: must be non-empty text")
    spec["timeout"] = _positive(entry.get("timeout", 10), f"{where}.timeout")
    if kind in ("alertmanager", "webhook"):
        spec["headers_env"] = _headers_env(entry.get("headers_env"), f"{where}.headers_env")
    if kind == "alertmanager":
        urls = entry.get("url")
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list) or not urls:
            raise ValueError(f"{where}.url: required (an Alertmanager base URL such as http://127.0.0.1:9093, "
                             "or a list of them)")
        for j, u in enumerate(urls):
            _url(u, f"{where}.url" + (f"[{j}]" if len(urls) > 1 else ""))
        instance = entry.get("instance", "scald-monitor")
        if not isinstance(instance, str) or not instance:
            raise ValueError(f"{where}.instance: must be non-empty text")
        labels = entry.get("labels") or {}
        if not isinstance(labels, Mapping):
            raise ValueError(f"{where}.labels: must be a mapping of label name to text")
        for k, v in labels.items():
            if not isinstance(k, str) or not _LABEL_NAME.fullmatch(k) or k in _RESERVED:
                raise ValueError(f"{where}.labels.{k}: not a usable Prometheus label name")
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise ValueError(f"{where}.labels.{k}: must be text")
        spec.update(instance=instance, labels={k: str(v) for k, v in labels.items()},
                    resend_interval=_positive(entry.get("resend_interval", 60), f"{where}.resend_interval"))
        out = []
        for u in urls:
            s = dict(spec, url=u.rstrip("/"))
            s["name"] = name if name and len(urls) == 1 else (f"{name}:{u}" if name else f"alertmanager:{u}")
            out.append(s)
        return out
    if kind == "webhook":
        spec["url"] = _url(entry.get("url"), f"{where}.url")
        headers = entry.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in headers.items()):
            raise ValueError(f"{where}.headers: must be a mapping of header name to text (secrets: headers_env)")
        spec["headers"] = dict(headers)
        spec["name"] = name or f"webhook:{spec['url']}"
        return [spec]
    # email
    smtp = entry.get("smtp")
    if not isinstance(smtp, str) or not smtp:
        raise ValueError(f"{where}.smtp: required, HOST or HOST:PORT")
    host, _, port = smtp.rpartition(":") if ":" in smtp else (smtp, "", "25")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{where}.smtp: {smtp!r} is not HOST:PORT")
    to = entry.get("to")
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ValueError(f"{where}.to: required, a list of e-mail addresses")
    sender = entry.get("from")
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        raise ValueError(f"{where}.from: must be an e-mail address")
    for key in ("starttls", "ssl"):
        if not isinstance(entry.get(key, False), bool):
            raise ValueError(f"{where}.{key}: must be true or false")
    for key in ("username_env", "password_env"):
        v = entry.get(key)
        if v is not None and (not isinstance(v, str) or not _ENV_NAME.fullmatch(v)):
            raise ValueError(f"{where}.{key}: must name an environment variable")
    if bool(entry.get("username_env")) != bool(entry.get("password_env")):
        raise ValueError(f"{where}.password_env: username_env and password_env go together")
    prefix = entry.get("subject_prefix", "[scald-monitor]")
    if not isinstance(prefix, str):
        raise ValueError(f"{where}.subject_prefix: must be text")
    spec.update(host=host, port=int(port), to=list(to), sender=sender, starttls=entry.get("starttls", False),
                ssl=entry.get("ssl", False), username_env=entry.get("username_env"),
                password_env=entry.get("password_env"), subject_prefix=prefix)
    spec["name"] = name or f"email:{host}:{port}:{','.join(to)}"
    return [spec]


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: must be a positive number of seconds")
    return float(value)


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{where}: must be an http:// or https:// URL")
    return value


def _headers_env(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must map header names to environment variable names")
    for k, v in value.items():
        if not isinstance(k, str) or not k or not isinstance(v, str) or not _ENV_NAME.fullmatch(v):
            raise ValueError(f"{where}.{k}: must name an environment variable, e.g. HOOK_TOKEN")
    return dict(value)


def _env(name: str, where: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise DeliveryError(f"{where}: environment variable {name} is not set")
    return value


# ------------------------------------------------------------------------------------------------ transports
class Transport:
    """One delivery target. ``batch``: how many queued payloads one :meth:`send` takes."""

    kind = ""
    batch = 1
    one_request = False  # True: send() posts the whole batch in one request (refused as a whole)
    resend_interval: float | None = None  # set: the Notifier calls refresh() that often

    def __init__(self, spec: Mapping[str, Any], board_url: str | None = None) -> None:
        self.spec, self.name, self.board_url = dict(spec), spec["name"], board_url
        self.timeout = spec.get("timeout", 10.0)

    def track(self, event: dict[str, Any], firing: dict | None) -> tuple[dict | None, dict | None]:
        """At submit time: the payload to queue for ``event`` (None: this target ignores it) and the new
        firing-registry entry for its label (only Alertmanager keeps one)."""
        return event, firing

    def send(self, payloads: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def refresh(self, firing: list[dict]) -> None:
        """Re-post what is firing (Alertmanager); others have nothing to do."""

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _Http(Transport):
    def __init__(self, spec: Mapping[str, Any], board_url: str | None = None) -> None:
        super().__init__(spec, board_url)
        self._session = None

    def _post(self, url: str, body: Any, extra_headers: Mapping[str, str] | None = None) -> None:
        import requests  # only when something is sent: keeps module import cheap

        if self._session is None:
            self._session = requests.Session()
        headers = {"Content-Type": "application/json", "User-Agent": "scald-monitor"}
        headers.update(extra_headers or {})
        for header, var in self.spec.get("headers_env", {}).items():
            headers[header] = _env(var, f"{self.name}: headers_env.{header}")
        data = json.dumps(body).encode()
        try:
            r = self._session.post(url, data=data, headers=headers, timeout=(min(5.0, self.timeout), self.timeout))
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.name}: {_reason(exc)}") from None
        if 200 <= r.status_code < 300:
            return
        # Only a refusal of this very request is permanent; auth (401/403), a wrong URL (404) or rate limits are
        # the site's to fix, and what is queued meanwhile must then go out.
        permanent = 400 <= r.status_code < 500 and r.status_code not in _RETRY_4XX
        raise DeliveryError(f"{self.name}: HTTP {r.status_code} {r.text.strip()[:200]}", permanent=permanent)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class WebhookTransport(_Http):
    """A JSON POST of the event (:meth:`Event.to_dict`, plus ``board_url`` and ``title``), one request each."""

    kind = "webhook"
    batch = 32  # one request per event, but the queue is read and updated 32 at a time

    def track(self, event: dict[str, Any], firing: dict | None) -> tuple[dict | None, dict | None]:
        return event, None

    def send(self, payloads: list[dict[str, Any]]) -> None:
        from .events import Event

        for i, p in enumerate(payloads):
            body = dict(p, title=Event.from_dict(p).title(), board_url=self.board_url)
            try:
                self._post(self.spec["url"], body, self.spec.get("headers"))
            except DeliveryError as exc:
                exc.delivered = i
                raise


class AlertmanagerTransport(_Http):
    """POST /api/v2/alerts (see the module docstring)."""

    kind = "alertmanager"
    batch = 64
    one_request = True

    def __init__(self, spec: Mapping[str, Any], board_url: str | None = None) -> None:
        super().__init__(spec, board_url)
        self.resend_interval = spec.get("resend_interval", 60.0)
        self.endpoint = spec["url"] + "/api/v2/alerts"

    def labels(self, event: Mapping[str, Any]) -> dict[str, str]:
        """alertname, tag labels (renamed to valid label names; ``tag_`` before a reserved name), severity,
        instance and the static labels."""
        from .windows import parse_label

        labels = dict(self.spec.get("labels", {}))
        for k, v in parse_label(event.get("label", "")).items():
            k = re.sub(r"[^a-zA-Z0-9_]", "_", k)
            if not k or k[0].isdigit():
                k = "_" + k
            labels["tag_" + k if k in _RESERVED or k in labels else k] = v
        labels["alertname"] = event["check"]
        labels["severity"] = ("ok", "warning", "critical", "unknown")[event["state"]] \
            if 0 <= event["state"] < 4 else "unknown"
        labels["instance"] = self.spec.get("instance", "scald-monitor")
        return labels

    def _generator_url(self, check: str) -> str | None:
        if not self.board_url:
            return None
        return self.board_url.replace("{check}", check) if "{check}" in self.board_url else self.board_url

    def track(self, event: dict[str, Any], firing: dict | None) -> tuple[dict | None, dict | None]:
        from .events import PROBLEM, RECOVERY

        if event["kind"] not in (PROBLEM, RECOVERY):
            return None, firing  # Alertmanager has no flapping: the alert just stays firing
        resolve = []
        if event["kind"] == RECOVERY:
            if firing is None:
                return None, None  # nothing of this label is firing here
            return {"resolve": [firing], "at": event["time"]}, None
        labels = self.labels(event)
        starts = event.get("since") or event["time"]
        if firing is not None and firing["labels"] != labels:
            resolve.append(firing)  # severity changed: a different alert in Alertmanager's eyes
        elif firing is not None:
            starts = min(starts, firing["startsAt"])
        alert = {"labels": labels, "annotations": {"summary": event.get("summary") or "",
                                                   "description": event.get("text") or ""},
                 "startsAt": starts}
        url = self._generator_url(event["check"])
        if url:
            alert["generatorURL"] = url
        return {"fire": alert, "resolve": resolve, "at": event["time"]}, alert

    def _alerts(self, payloads: list[dict[str, Any]], now_unix: float) -> list[dict]:
        out = []
        for p in payloads:
            for old in p.get("resolve", ()):
                starts = gps_to_unix(old["startsAt"])
                ends = min(gps_to_unix(p["at"]), now_unix)  # never a future end: that would keep it active
                out.append(_am_alert(old, starts, max(ends, starts + 0.001)))
            if p.get("fire"):
                alert = p["fire"]
                out.append(_am_alert(alert, gps_to_unix(alert["startsAt"]), now_unix + 4 * self.resend_interval))
        return out

    def send(self, payloads: list[dict[str, Any]]) -> None:
        import time

        alerts = self._alerts(payloads, time.time())
        if alerts:
            self._post(self.endpoint, alerts)

    def refresh(self, firing: list[dict]) -> None:
        import time

        if firing:
            now = time.time()
            self._post(self.endpoint, [_am_alert(a, gps_to_unix(a["startsAt"]), now + 4 * self.resend_interval)
                                       for a in firing])


def _am_alert(alert: Mapping[str, Any], starts_unix: float, ends_unix: float) -> dict:
    d = {"labels": alert["labels"], "annotations": alert.get("annotations", {}),
         "startsAt": _rfc3339(starts_unix), "endsAt": _rfc3339(ends_unix)}
    if alert.get("generatorURL"):
        d["generatorURL"] = alert["generatorURL"]
    return d


def _rfc3339(unix: float) -> str:
    return _dt.datetime.fromtimestamp(unix, _dt.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class EmailTransport(Transport):
    """One plain-text mail per event through SMTP (smtplib; STARTTLS/SSL and login optional)."""

    kind = "email"
    batch = 16  # one SMTP session for up to 16 mails

    def track(self, event: dict[str, Any], firing: dict | None) -> tuple[dict | None, dict | None]:
        return event, None

    def message(self, event: Mapping[str, Any]):
        """The mail for one event (an ``email.message.EmailMessage``)."""
        import socket
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        from ..timeutil import gps_to_iso
        from .events import Event

        ev = Event.from_dict(event)
        msg = EmailMessage()
        msg["Subject"] = f"{self.spec.get('subject_prefix', '[scald-monitor]')} {ev.title()}".strip()
        msg["From"] = self.spec.get("sender") or f"scald-monitor@{socket.getfqdn()}"
        msg["To"] = ", ".join(self.spec["to"])
        msg["Date"] = formatdate(gps_to_unix(ev.time), usegmt=True)
        msg["Message-ID"] = make_msgid("scald-monitor")
        lines = [ev.title(), "", ev.summary] + ([""] + ev.text.splitlines() if ev.text else [])
        lines += ["", f"Time: {gps_to_iso(ev.time)[:19]}Z (GPS {ev.time:.0f})"]
        if ev.since is not None:
            lines.append(f"Since: {gps_to_iso(ev.since)[:19]}Z")
        if self.board_url:
            lines.append(f"Board: {self.board_url.replace('{check}', ev.check)}")
        msg.set_content("\n".join(lines) + "\n")
        return msg

    def send(self, payloads: list[dict[str, Any]]) -> None:
        import smtplib
        import ssl

        s = self.spec
        sent = 0
        try:
            cls = smtplib.SMTP_SSL if s.get("ssl") else smtplib.SMTP
            with cls(s["host"], s["port"], timeout=self.timeout) as smtp:
                if s.get("starttls") and not s.get("ssl"):
                    smtp.starttls(context=ssl.create_default_context())
                if s.get("username_env"):
                    smtp.login(_env(s["username_env"], f"{self.name}: username_env"),
                               _env(s["password_env"], f"{self.name}: password_env"))
                for p in payloads:
                    smtp.send_message(self.message(p))
                    sent += 1
        except smtplib.SMTPAuthenticationError as exc:  # a wrong password is fixed without losing mail
            raise DeliveryError(f"{self.name}: login refused (SMTP {exc.smtp_code})", delivered=sent) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 534, 538)
            raise DeliveryError(f"{self.name}: SMTP {exc.smtp_code} {_decode(exc.smtp_error)}",
                                permanent=permanent, delivered=sent) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _ in exc.recipients.values()]
            raise DeliveryError(f"{self.name}: recipients refused ({', '.join(map(str, codes))})",
                                permanent=all(500 <= c < 600 for c in codes), delivered=sent) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{self.name}: {_reason(exc)}", delivered=sent) from None


def _decode(b: Any) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else str(b)


def _reason(exc: BaseException) -> str:
    """A one-line reason without exception class names or URLs with query strings."""
    text = str(exc) or type(exc).__name__
    m = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if m:
        return m.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200]


def make_transports(specs: list[Mapping[str, Any]], board_url: str | None = None) -> list[Transport]:
    """Normalized specs (:func:`parse_notifications`) → transports."""
    classes = {"alertmanager": AlertmanagerTransport, "webhook": WebhookTransport, "email": EmailTransport}
    return [classes[s["type"]](s, board_url) for s in specs]
