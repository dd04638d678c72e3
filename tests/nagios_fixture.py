"""A real Nagios 4 core in a temporary directory, for tests (see the ``nagios`` fixture in conftest.py).

Everything lives under one directory: main config, objects (``objects/``, included with ``cfg_dir=``), status.dat,
the external command FIFO, the query socket and the log, so parallel instances never meet and nothing touches
/var/lib/nagios4. As root, Nagios drops privileges to ``nagios_user``: by default we set it to root so that it can
still write the root-owned temp dir; ``user="nagios"`` runs it (and so every plugin) as Debian's ``nagios`` user, as a
real site does, after handing it the directory (which must then lie where that user can reach it, not under
pytest's 0700 ``tmp_path``). ``interval_length=1`` makes check intervals seconds, and the reaper/freshness
settings make results show in status.dat within about a second (recipes.md §1).

Nagios runs in the foreground as our child (``nagios4 <cfg>``, no ``-d``), so it is stopped by its own PID.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

PLUGIN_DIR = "/usr/lib/nagios/plugins"
STATE_NAMES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}

MAIN_CONFIG = """\
# Minimal self-contained Nagios 4 main config for tests; every path is under {d}.
log_file={d}/nagios.log
cfg_file={d}/site.cfg
cfg_dir={d}/objects
resource_file={d}/resource.cfg
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
status_file={d}/status.dat
status_update_interval=1
temp_file={d}/nagios.tmp
temp_path={d}
lock_file={d}/nagios.lock
nagios_user={user}
nagios_group={group}
query_socket={d}/nagios.qh
check_external_commands=1
command_file={d}/nagios.cmd
check_result_path={d}/checkresults
check_result_reaper_frequency=1
max_check_result_reaper_time=5
state_retention_file={d}/retention.dat
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
interval_length=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
max_service_check_spread=1
max_host_check_spread=1
service_interleave_factor=1
max_concurrent_checks=0
check_service_freshness=1
service_freshness_check_interval=1
additional_freshness_latency=1
check_host_freshness=0
accept_passive_service_checks=1
execute_service_checks=1
execute_host_checks=1
enable_notifications=0
enable_event_handlers=0
enable_flap_detection=0
process_performance_data=0
check_for_updates=0
bare_update_check=0
use_syslog=0
log_passive_checks=1
log_external_commands=1
log_initial_states=1
event_broker_options=0
date_format=iso8601
illegal_object_name_chars=`~!$%^&*|'"<>?,()=
illegal_macro_output_chars=`~$&|'"<>
"""


#: What every real site already has and generated objects rely on: a contact (Nagios refuses to start without one)
#: and the usual 24x7 time period (which the generated scald-24x7 must not collide with).
SITE_CONFIG = """\
define command {
    command_name    site_notify
    command_line    /bin/true
}
define timeperiod {
    timeperiod_name 24x7
    alias           24x7
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define contact {
    contact_name                  site-admin
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    site_notify
    service_notification_commands site_notify
}
"""


def nagios_binary() -> str | None:
    """``nagios4`` (Debian's name) or ``nagios``, also looked up in /usr/sbin, which a user's PATH may lack."""
    for name in ("nagios4", "nagios"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/nagios/bin")
        if found:
            return found
    return None


def parse_status_dat(path: Path) -> list[dict[str, str]]:
    """One dict per block of status.dat; ``_type`` is the block name (info, hoststatus, servicestatus, ...)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.endswith("{"):
                current = {"_type": line[:-1].strip()}
            elif line == "}":
                if current is not None:
                    blocks.append(current)
                current = None
            elif current is not None and "=" in line:
                key, value = line.split("=", 1)  # perfdata holds '=': split once
                current[key] = value
    return blocks


class NagiosCore:
    """One Nagios 4 instance under ``root``: write objects into ``objects_dir``, then ``start()``.

    The main config also reads ``site.cfg``, standing for a site's own objects (a contact, a 24x7 period).
    ``user``: the account Nagios drops to (``nagios_user``/``nagios_group``, the user's primary group) and runs
    its plugins as.
    """

    def __init__(self, root: Path, binary: str, user: str = "root"):
        self.root = Path(root)
        self.binary = binary
        self.user = user
        entry = pwd.getpwnam(user)  # KeyError for a missing user: the caller says which package creates it
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.objects_dir = self.root / "objects"
        self.main_config = self.root / "nagios.cfg"
        self.command_file = self.root / "nagios.cmd"
        self.status_file = self.root / "status.dat"
        self.log_file = self.root / "nagios.log"
        self.proc: subprocess.Popen | None = None
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "checkresults").mkdir(exist_ok=True)
        self.main_config.write_text(MAIN_CONFIG.format(d=self.root, user=user, group=grp.getgrgid(self.gid).gr_name))
        (self.root / "site.cfg").write_text(SITE_CONFIG)
        (self.root / "resource.cfg").write_text(f"$USER1$={PLUGIN_DIR}\n")

    def _hand_over(self) -> None:
        """Give the directory to Nagios's user, who writes its FIFO, status, log and check results there."""
        if self.uid != os.getuid():
            for path in [self.root, *self.root.rglob("*")]:
                os.lchown(path, self.uid, self.gid)

    def verify(self) -> subprocess.CompletedProcess:
        """``nagios4 -v``: Nagios's own check of the main config and every object file."""
        self._hand_over()  # -v drops privileges too, and checks that it can write there
        return subprocess.run([self.binary, "-v", str(self.main_config)], capture_output=True, text=True,
                              timeout=30)

    def start(self, timeout: float = 10) -> None:
        """Run Nagios in the foreground as our child; return once status.dat and the command FIFO exist."""
        self._hand_over()
        out = open(self.root / "stdout.log", "w")
        self.proc = subprocess.Popen([self.binary, str(self.main_config)], stdout=out, stderr=subprocess.STDOUT,
                                     cwd=self.root)
        out.close()
        deadline = time.monotonic() + timeout
        while not (self.status_file.exists() and self.command_file.exists()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nagios exited with {self.proc.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nagios did not write {self.status_file} within {timeout} s: {self.output()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to our Nagios (it stops its workers), SIGKILL if it is still there after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def process_uids(self) -> set[int]:
        """Real and effective uids of the main Nagios process (from /proc)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as fh:
            line = next(line for line in fh if line.startswith("Uid:"))
        return {int(x) for x in line.split()[1:3]}

    def output(self) -> str:
        path = self.root / "stdout.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def services(self) -> dict[str, dict[str, str]]:
        """servicestatus blocks keyed by service_description (current_state, plugin_output, ... as strings)."""
        try:
            blocks = parse_status_dat(self.status_file)
        except FileNotFoundError:  # replaced by rename, so only before the first write or after shutdown
            return {}
        return {b["service_description"]: b for b in blocks if b["_type"] == "servicestatus"}

    def wait_for(self, service: str, state: int | str, timeout: float = 15, output_contains: str | None = None
                 ) -> dict[str, str]:
        """Wait until ``service`` has been checked and is in ``state`` (0..3 or a name); return its status.

        ``output_contains`` also requires that text in plugin_output (to tell one UNKNOWN from another).
        """
        want = STATE_NAMES[state] if isinstance(state, str) else int(state)
        deadline = time.monotonic() + timeout
        last: dict[str, str] = {}
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"nagios exited with {self.proc.returncode}: {self.output()}")
            last = self.services().get(service, {})
            if (last.get("has_been_checked") == "1" and last.get("current_state") == str(want)
                    and (output_contains is None or output_contains in last.get("plugin_output", ""))):
                return last
            time.sleep(0.1)
        summary = {k: last.get(k) for k in ("current_state", "plugin_output", "has_been_checked", "last_check")}
        tail = "\n".join(self.log().splitlines()[-15:])
        raise AssertionError(f"{service} did not reach state {want} within {timeout} s: {summary}\n"
                             f"nagios.log tail:\n{tail}")
