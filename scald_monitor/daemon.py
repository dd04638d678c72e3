"""``scald-monitor run``: evaluate every check on its schedule and publish the results.

The Runner does one check end to end (evaluate → state machine → outputs → state file) and is shared by
``run --once``, the daemon and the web side. The daemon adds APScheduler (each check at its interval, with jitter,
never two runs of one check at once), signals (TERM/INT: finish in-flight checks and exit 0; HUP: reload the
config, keeping the old one when the new one is broken) and systemd's sd_notify.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import random
import signal
import socket
import threading
import time
from typing import Any, Iterable

from .config import Check, Config, ConfigError, load
from .lifecycle.alerting import Alerting, Marks
from .metrics import NullMetrics
from .outputs import OutputError, nagios_cmd, status as status_out
from .rules.evaluate import TagScope
from .rules.result import CheckStatus, Result
from .rules.run import evaluate_check, failed_to_look
from .rules.state import Policy, StateStore

log = logging.getLogger("scald_monitor.daemon")


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) about readiness/reload/stop; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("sd_notify(%s) failed: %s", message, exc)


class Runner:
    """Runs checks of one configuration and publishes their results; thread-safe."""

    def __init__(self, cfg: Config, metrics: NullMetrics | None = None, alerting: Alerting | None = None):
        self.cfg = cfg
        self.metrics = NullMetrics() if metrics is None else metrics
        self.alerting = Alerting.from_config(cfg, board_url(cfg)) if alerting is None else alerting
        self._lock = threading.Lock()  # the state store and its file
        self._busy: dict[str, threading.Thread] = {}
        self.state = StateStore(cfg.outputs.get("state_file"))
        self.state.load()

    def evaluate(self, name: str, now: float | None = None) -> Result:
        return evaluate_check(self.cfg, name, now, self._busy)

    def run_check(self, name: str, now: float | None = None) -> CheckStatus:
        """Evaluate, apply the state machine, publish, persist. Never raises for a check's own problems."""
        cfg = self.cfg
        check = cfg.checks[name]
        started = time.perf_counter()
        result = self.evaluate(name, now)
        with self._lock:
            before = self.state.label_states(name)
            status = self.state.apply(name, result, Policy.from_check(check))
            after = self.state.label_states(name)
            for change in status.changes:
                log.info("state change: %s", change)
            self._save_state()
        marks = self.alerting.after(check, status, before, after)
        scope = TagScope.of(check, cfg.schemas[check.schema])
        self.metrics.evaluated(status, time.perf_counter() - started, float(check.interval), scope.key,
                               scope.expected, check.backend if failed_to_look(result) else None)
        depth = self.alerting.queue_depth()
        if depth is not None:
            self.metrics.queue_depth("notifications", depth)
        note = marks.note()
        if note:  # the same words in the status document, the board and Nagios' passive result
            status = status.replace(result=status.result.replace(summary=f"{status.result.summary} ({note})"))
        # outside the lock: a slow sink (Icinga 2 answering late) must not hold up the other checks
        self._publish(name, check, status, marks)
        return status

    def _save_state(self) -> None:
        """Persist the state machine; a state file that cannot be written is one line in the log per attempt, and
        evaluation and the other outputs go on (as for an unwritable status directory)."""
        try:
            self.state.save()
        except OSError as exc:
            log.error("cannot write the state file %s: %s", self.state.path, exc)

    def _publish(self, name: str, check: Check, status: CheckStatus, marks: Marks) -> None:
        outputs = self.cfg.outputs
        now = status.result.time
        if outputs.get("status_dir"):
            try:
                doc = status_out.status_document(status, check, now, marks.to_dict())
                status_out.write_status(outputs["status_dir"], name, doc)
                self.metrics.output("status_dir", True)
            except OSError as exc:
                log.error("%s: cannot write status file: %s", name, exc)
                self.metrics.output("status_dir", False)
        host = outputs["host"]
        if outputs.get("nagios_command_file"):
            try:
                line = nagios_cmd.passive_line(host, name, status, now)
            except ValueError as exc:  # a host or service name Nagios cannot take
                log.error("%s: cannot send a passive result: %s", name, exc)
                self.metrics.output("nagios_command_file", False)
            else:
                sent = nagios_cmd.send_passive(outputs["nagios_command_file"], [line])
                self.metrics.output("nagios_command_file", sent == 1)
        if outputs.get("icinga2"):
            from .outputs import icinga2

            ttl = float(status_out.expiry_seconds(check))
            try:
                icinga2.post_result(outputs["icinga2"], host, name, status, ttl)
                self.metrics.output("icinga2", True)
            except OutputError as exc:
                log.error("%s: Icinga 2: %s", name, exc)
                self.metrics.output("icinga2", False)

    def run_all(self, names: Iterable[str] | None = None) -> list[CheckStatus]:
        """Every check once (``run --once``), then tidy the status directory."""
        names = list(self.cfg.checks) if names is None else list(names)
        statuses = [self.run_check(n) for n in names]
        self.tidy()
        return statuses

    def tidy(self) -> None:
        """Forget state, status files and metrics of checks that are no longer configured."""
        self.metrics.forget(self.cfg.checks)
        with self._lock:
            self.state.forget(self.cfg.checks)
            self._save_state()
            if self.cfg.outputs.get("status_dir"):
                try:
                    removed = status_out.sync_status_dir(self.cfg.outputs["status_dir"], self.cfg.checks)
                except OSError as exc:
                    log.error("cannot tidy the status directory %s: %s", self.cfg.outputs["status_dir"], exc)
                    removed = []
                for name in removed:
                    log.info("removed the status file of %s (no longer configured)", name)

    def reconfigure(self, cfg: Config) -> None:
        with self._lock:
            if cfg.outputs.get("state_file") != self.cfg.outputs.get("state_file"):
                self._save_state()
                self.state = StateStore(cfg.outputs.get("state_file"))
                self.state.load()
            self.cfg = cfg
            self.alerting.reconfigure(cfg, board_url(cfg))
        self.tidy()

    def close(self, drain: float = 0.0) -> None:
        """Save the state; with ``drain``, first deliver queued notifications for up to that many seconds
        (``run --once``: what is left stays queued for the next run, logged)."""
        if drain:
            self.alerting.drain(drain)
        self.alerting.close()
        with self._lock:
            self._save_state()


def board_url(cfg: Config) -> str | None:
    """The board's address for links in notifications (``serve.url``), None when not configured."""
    url = cfg.serve.get("url")
    return f"{url.rstrip('/')}/status" if url else None


def unwritable_outputs(cfg: Config) -> tuple[list[str], bool]:
    """(one line per configured local output that cannot be written, whether anything at all can be).

    Probed by creating (and removing) a file where each output writes. The Nagios command file and Icinga 2 are
    counted as usable: a FIFO without a reader and a server that is down are normal at start-up, and both are
    retried every interval.
    """
    from .atomic import check_writable

    problems, usable = [], False
    outputs = cfg.outputs
    for key in ("state_file", "status_dir"):
        if not outputs.get(key):
            continue
        where = os.path.dirname(os.path.abspath(outputs[key])) if key == "state_file" else outputs[key]
        try:
            check_writable(where, status_out.temp_dir(where) if key == "status_dir" else None)
            usable = True
        except OSError as exc:
            problems.append(f"outputs.{key} {outputs[key]}: cannot write in {where}: "
                            f"{exc.strerror or exc}")
    usable |= bool(outputs.get("nagios_command_file") or outputs.get("icinga2"))
    if not any(outputs.get(k) for k in ("state_file", "status_dir", "nagios_command_file", "icinga2")):
        usable = True  # nothing configured: results go to the log (and run --once prints them)
    return problems, usable


class Daemon:
    """The long-running service: a scheduler, signal handling and config reloads."""

    def __init__(self, config_path: str, cfg: Config | None = None, max_workers: int = 8,
                 metrics: NullMetrics | None = None):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.config_path = config_path
        self.metrics = NullMetrics() if metrics is None else metrics
        self.runner = Runner(cfg if cfg is not None else load(config_path), self.metrics)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=_dt.timezone.utc,
        )
        self._wake = threading.Event()
        self._stop = False
        self._reload = False

    def _schedule(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.remove_all_jobs()
        now = _dt.datetime.now(_dt.timezone.utc)
        for name, check in self.runner.cfg.checks.items():
            interval = float(check.interval)
            first = now + _dt.timedelta(seconds=random.uniform(0, min(2.0, interval / 10)))
            self.scheduler.add_job(self._job, IntervalTrigger(seconds=interval, jitter=min(interval / 10, 5.0),
                                                              timezone=_dt.timezone.utc),
                                   args=[name], id=name, name=name, next_run_time=first)

    def _started(self, event: Any) -> None:
        """APScheduler's job-submitted event: how late the run starts after its (jittered) scheduled time."""
        for scheduled in event.scheduled_run_times:
            self.metrics.scheduled((_dt.datetime.now(_dt.timezone.utc) - scheduled).total_seconds())

    def _job(self, name: str) -> None:
        try:
            if name in self.runner.cfg.checks:
                self.runner.run_check(name)
        except Exception:  # noqa: BLE001 - one check's failure must never stop the daemon
            log.exception("%s: unexpected failure", name)

    def _signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop = True
        self._wake.set()

    def reload(self) -> bool:
        """Load the config again; on errors log them and keep running the old one."""
        sd_notify("RELOADING=1")
        try:
            cfg = load(self.config_path)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                log.error("reload refused: %s", line)
            log.error("reload refused: %d problem(s); still running the previous configuration",
                      len(exc.problems))
            self.metrics.reloaded(False)
            sd_notify("READY=1")
            return False
        self.runner.reconfigure(cfg)
        self._schedule()
        self.metrics.reloaded(True)
        log.info("configuration reloaded: %s", cfg.summary())
        sd_notify("READY=1")
        return True

    def serve(self, duration: float | None = None) -> int:
        """Run until SIGTERM/SIGINT (or for ``duration`` seconds); returns the exit code (0)."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._signal)
        from apscheduler.events import EVENT_JOB_SUBMITTED

        self.runner.tidy()
        self._schedule()
        self.scheduler.add_listener(self._started, EVENT_JOB_SUBMITTED)
        self.scheduler.start()
        log.info("running %d check(s) from %s", len(self.runner.cfg.checks), self.config_path)
        sd_notify("READY=1")
        deadline = None if duration is None else time.monotonic() + duration
        while not self._stop:
            self._wake.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
            if deadline is not None and time.monotonic() >= deadline:
                self._stop = True
            self._wake.clear()
            if self._reload and not self._stop:
                self._reload = False
                self.reload()
        sd_notify("STOPPING=1")
        log.info("stopping: waiting for running checks")
        self.scheduler.shutdown(wait=True)
        self.runner.close()
        log.info("stopped")
        return 0
