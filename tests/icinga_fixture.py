"""A real Icinga 2 (Debian's ``icinga2``) in a temporary directory, for tests (the ``icinga`` fixture, conftest.py).

Everything lives under one directory: its own CA and server certificate (openssl, RSA-2048, with
``DNS:localhost, IP:127.0.0.1``), the main config, the API listener on a free 127.0.0.1 port, state, cache, logs.
Every ``Configuration.*`` path is overridden with ``-D`` (``ZonesDir`` too: it does not follow ``ConfigDir``), so
nothing under /etc/icinga2 or /var/lib/icinga2 is read or written (servers.md §1). Started as root, icinga2 drops
privileges to ``RunAsUser``; we keep it root so that it can write the root-owned temp dir.

The config is what docs/icinga2.md tells a site to write: an ApiUser ``scald`` with the one permission the daemon
needs, a host, and the service template ``scald-passive`` whose ``ttl`` handling turns a silent service UNKNOWN
(``enable_active_checks = true`` with ``check_command = "passive"``; with active checks off Icinga never notices).
An admin ApiUser (``*``) is there for the tests themselves: they create one service per test at run time
(``PUT /v1/objects/services``), so tests sharing the session's Icinga never see each other's results.

Stop with SIGTERM to the PID we started (the "umbrella"), which stops the daemon and its spawn helper; SIGKILL of
the umbrella alone would leave the daemon running and listening, so the fallback kills our whole process group.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

HOST = "scald-e2e"
ADMIN = ("test-admin", "admin-secret-7f3e")
#: The daemon's user; the password is distinctive so that a leak into any message is caught.
SCALD_USER = "scald"
SCALD_PASSWORD = "icinga-pa55;w0rd"

ICINGA_CONF = """\
// Test instance: every path is under {root} (given as -DConfiguration.* constants).
const NodeName = "localhost"          // = the certificate's file name in DataDir/certs
const ZoneName = NodeName
include <itl>                          // the "passive" and "dummy" CheckCommands

object Endpoint NodeName {{ }}
object Zone ZoneName {{ endpoints = [ NodeName ] }}

object ApiListener "api" {{
  bind_host = "127.0.0.1"
  bind_port = ApiPort
}}

object CheckerComponent "checker" {{ }}   // runs "passive" when a result's ttl has passed

// for the tests themselves: query and create objects
object ApiUser "{admin}" {{
  password = "{admin_password}"
  permissions = [ "*" ]
}}

include "scald.conf"
"""

#: What docs/icinga2.md tells a site to add (keep the two in step).
SCALD_CONF = """\
// scald-monitor posts passive results as this user: it needs nothing but this one permission.
object ApiUser "{user}" {{
  password = "{password}"
  permissions = [ "actions/process-check-result" ]
}}

object Host "{host}" {{
  check_command = "dummy"              // always UP: the host only carries the services
  enable_active_checks = false
  vars.scald_checks = [ {checks} ]
  vars.scald_heartbeats = [ {heartbeats} ]
}}

// One service per scald-monitor check, named like the check. The daemon sends a result every interval with
// ttl = the check's expiry; when none arrived within it, Icinga runs check_command itself: "passive" is UNKNOWN.
template Service "scald-passive" {{
  check_command = "passive"
  enable_active_checks = true          // needed: with active checks off, an expired ttl changes nothing
  check_interval = 1d                  // only the ttl schedules a run of "passive"
  retry_interval = 1d
  max_check_attempts = 1               // scald-monitor does the soft/hard counting (max_attempts) itself
  vars.dummy_text = "No passive result from scald-monitor within its ttl"
}}

// A heartbeat check that falls silent is CRITICAL, as in the Nagios objects and the status JSON.
template Service "scald-passive-heartbeat" {{
  import "scald-passive"
  vars.dummy_state = 2
}}

// One service per name listed in the host's vars (or write an object Service per check, importing the template).
apply Service for (check in host.vars.scald_checks) {{
  import "scald-passive"
}}
apply Service for (check in host.vars.scald_heartbeats) {{
  import "scald-passive-heartbeat"
}}
"""

#: Services the config above defines through its apply rules (the other tests create theirs at run time).
STATIC_CHECKS = ("once_ok", "once_warn", "once_crit")
STATIC_HEARTBEATS = ("once_beat",)

STATE_NAMES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def icinga2_binary() -> str | None:
    """``icinga2``, also looked up in /usr/sbin, which a user's PATH may lack."""
    return shutil.which("icinga2") or shutil.which("icinga2", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    for port in random.sample(range(17000, 18000), 1000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 17000-17999")


def make_ca(directory: Path, subject: str = "/CN=scald-monitor test CA") -> tuple[Path, Path]:
    """A self-signed CA (certificate, key) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / "ca.crt", directory / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check=True, capture_output=True)
    return crt, key


def make_server_cert(certs: Path, ca_crt: Path, ca_key: Path, name: str = "localhost") -> None:
    """``<name>.crt``/``<name>.key`` signed by the CA, valid for localhost and 127.0.0.1, plus ``ca.crt``."""
    certs.mkdir(parents=True, exist_ok=True)
    key, csr, crt = certs / f"{name}.key", certs / f"{name}.csr", certs / f"{name}.crt"
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                    "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
    ext = certs / "san.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext)],
                   check=True, capture_output=True)
    shutil.copy(ca_crt, certs / "ca.crt")


class Icinga2:
    """One Icinga 2 instance under ``root``; ``start()``/``stop()`` (a restart keeps port, certs and state).

    ``base`` is ``https://127.0.0.1:<port>``, ``ca`` the CA file a client must trust. ``api()`` talks to it as
    the admin user; ``service()`` reads a service's attributes.
    """

    def __init__(self, root: Path, binary: str, ca: tuple[Path, Path] | None = None):
        self.root = Path(root)
        self.binary = binary
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        for sub in ("etc/zones.d", "data/certs", "cache", "log", "spool", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ca_crt, ca_key = ca if ca is not None else make_ca(self.root / "ca")
        self.ca_key = ca_key
        make_server_cert(self.root / "data" / "certs", ca_crt, ca_key)
        self.ca = self.root / "data" / "certs" / "ca.crt"
        (self.root / "etc" / "icinga2.conf").write_text(ICINGA_CONF.format(
            root=self.root, admin=ADMIN[0], admin_password=ADMIN[1]))
        (self.root / "etc" / "scald.conf").write_text(SCALD_CONF.format(
            user=SCALD_USER, password=SCALD_PASSWORD, host=HOST, checks=", ".join(f'"{c}"' for c in STATIC_CHECKS),
            heartbeats=", ".join(f'"{c}"' for c in STATIC_HEARTBEATS)))
        self.defines = [f"-DConfiguration.{key}={self.root}/{sub}" for key, sub in (
            ("ConfigDir", "etc"), ("DataDir", "data"), ("CacheDir", "cache"), ("LogDir", "log"),
            ("SpoolDir", "spool"), ("InitRunDir", "run"), ("ZonesDir", "etc/zones.d"))]
        self.defines += ["-DConfiguration.RunAsUser=root", "-DConfiguration.RunAsGroup=root",
                         f"-DApiPort={self.port}"]
        self._session = None

    # ---- process ------------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30) -> float:
        """Start (if stopped) and wait until the API answers; return the seconds that took."""
        if self.running():
            return 0.0
        t0 = time.monotonic()
        with open(self.root / "daemon.log", "a") as out:
            self.proc = subprocess.Popen(
                [self.binary, "daemon", "-c", str(self.root / "etc" / "icinga2.conf"), *self.defines],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"icinga2 exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if self.api("GET", f"/v1/objects/hosts/{HOST}", timeout=2).status_code == 200:
                    return time.monotonic() - t0
            except OSError:  # requests' ConnectionError is an OSError: not listening yet
                pass
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise RuntimeError(f"icinga2 API not ready within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the umbrella PID we started (it stops its children), then our process group if need be."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        try:  # a child left in our process group (only ever ours: the group id is the PID we started)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---- API ----------------------------------------------------------------------------------------------------

    @property
    def session(self):
        if self._session is None:
            import requests

            s = requests.Session()
            s.trust_env = False  # REQUESTS_CA_BUNDLE (set on this machine) would override s.verify; no proxies
            s.auth, s.verify = ADMIN, str(self.ca)
            s.headers["Accept"] = "application/json"
            self._session = s
        return self._session

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        return self.session.request(method, self.base + path, json=body, timeout=timeout)

    def add_service(self, name: str, heartbeat: bool = False, **attrs) -> None:
        """Create service ``HOST!name`` from the scald template, as a site's config would define it."""
        template = "scald-passive-heartbeat" if heartbeat else "scald-passive"
        r = self.api("PUT", f"/v1/objects/services/{HOST}!{name}", {"templates": [template], "attrs": attrs})
        assert r.status_code == 200, f"creating service {name}: {r.status_code} {r.text}"

    def add_api_user(self, name: str, password: str, permissions=("actions/process-check-result",)) -> None:
        r = self.api("PUT", f"/v1/objects/apiusers/{name}",
                     {"attrs": {"password": password, "permissions": list(permissions)}})
        assert r.status_code == 200, f"creating ApiUser {name}: {r.status_code} {r.text}"

    def delete(self, kind: str, name: str) -> None:
        self.api("DELETE", f"/v1/objects/{kind}/{urllib.parse.quote(name, safe='!')}?cascade=1")

    def service(self, name: str) -> dict:
        """The attributes of service ``HOST!name`` (state, last_check_result, ...)."""
        r = self.api("GET", f"/v1/objects/services/{urllib.parse.quote(f'{HOST}!{name}', safe='!')}")
        assert r.status_code == 200, f"service {name}: {r.status_code} {r.text}"
        return r.json()["results"][0]["attrs"]

    def result(self, name: str) -> dict | None:
        """``last_check_result`` of service ``HOST!name`` (None before the first result)."""
        return self.service(name)["last_check_result"]

    def wait_for(self, name: str, predicate, timeout: float = 15, what: str = "") -> dict:
        """Poll ``last_check_result`` of ``name`` until ``predicate(result)``; return it, or fail with the last."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"icinga2 is not running:\n{self.log()[-2000:]}")
            last = self.result(name)
            if last is not None and predicate(last):
                return last
            time.sleep(0.1)
        shown = json.dumps({k: (last or {}).get(k) for k in ("state", "output", "active", "ttl", "execution_end")})
        raise AssertionError(f"{HOST}!{name}: {what or 'condition'} not met within {timeout} s; last: {shown}")
