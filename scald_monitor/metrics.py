"""The daemon's and the dashboard's own health, in Prometheus' exposition format (``prometheus_client``).

Why: a monitoring daemon is watched from outside by the tools every site already runs (Prometheus, Grafana,
Alertmanager); its status files only say something once they are stale. The series are the ones an operator alerts
on (``examples/prometheus/alerts.yml``): a check not evaluated for three intervals, backend errors, outputs that fail,
a config reload refused, a scheduler falling behind.

Labels are bounded: check names come from the config; ``tag`` is one of the check's expected tag values (or ``""``
for the check as a whole; a check without expected tags has only that series, since stray tag values in the data
must not mint series); sinks, backends and routes are names from the config and the app's URL rules.

:class:`NullMetrics` is the default of everything that reports here, so ``prometheus_client`` is imported only
when exposition is asked for (``run --metrics-port``, ``scald serve``'s ``/metrics``), never by ``check_scald``.
"""
from __future__ import annotations

import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    from .rules.result import CheckStatus

#: Seconds; evaluations of checks take from about a millisecond (SQLite) to their timeout (a slow backend).
EVALUATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: Seconds; a scheduler that keeps up starts a job within milliseconds of its time.
LAG_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)
#: Seconds; the dashboard's answers.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class NullMetrics:
    """Reports nowhere: what the Runner and the Daemon use when nothing is exposed."""

    def evaluated(self, status: CheckStatus, seconds: float, interval: float, tag_key: str | None,
                  expected_tags: Iterable[str] | None, failed_backend: str | None) -> None:
        pass

    def output(self, sink: str, ok: bool) -> None:
        pass

    def scheduled(self, lag: float) -> None:
        pass

    def reloaded(self, ok: bool) -> None:
        pass

    def queue_depth(self, queue: str, depth: int) -> None:
        pass

    def forget(self, checks: Iterable[str]) -> None:
        pass


class DaemonMetrics(NullMetrics):
    """The daemon's series in a registry of its own (not the process-global one: two Runners in one process, as
    in tests, do not mix)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry() if registry is None else registry
        r = self.registry
        self.state = Gauge("scald_check_state", "Reported state of a check (tag=\"\") and of each expected tag "
                           "value: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN", ["check", "tag"], registry=r)
        self.last = Gauge("scald_check_last_evaluation_timestamp_seconds", "Unix time of the check's last "
                          "evaluation", ["check"], registry=r)
        self.interval = Gauge("scald_check_interval_seconds", "The check's configured interval (for alerts on "
                              "checks not evaluated for several intervals)", ["check"], registry=r)
        self.duration = Histogram("scald_check_evaluation_duration_seconds", "Time to evaluate a check (read, rule, "
                                  "state machine)", ["check"], buckets=EVALUATION_BUCKETS, registry=r)
        self.backend_errors = Counter("scald_backend_errors", "Evaluations that could not read their backend "
                                      "(unreachable, failing or timed out)", ["backend"], registry=r)
        self.outputs = Counter("scald_outputs", "Results handed to a sink", ["sink", "result"], registry=r)
        self.lag = Histogram("scald_scheduler_lag_seconds", "How late a check's run started after its scheduled "
                             "time", buckets=LAG_BUCKETS, registry=r)
        self.reload_ok = Gauge("scald_config_last_reload_successful", "1 when the last configuration (re)load "
                               "succeeded, 0 when it was refused and the previous one still runs", registry=r)
        self.reload_time = Gauge("scald_config_last_reload_success_timestamp_seconds", "Unix time of the last "
                                 "successful configuration (re)load", registry=r)
        self.queue = Gauge("scald_queue_depth", "Items waiting in a delivery queue", ["queue"], registry=r)
        self._since = _SecondsSince(self.last)
        r.register(self._since)
        self._tags: dict[str, dict[str, list]] = {}  # check -> expected tag value -> [its state gauge, value]
        self._own: dict[str, tuple] = {}  # check -> its duration, last, interval and state children
        self._seen: dict[str, tuple] = {}  # check -> (tag labels, tag states) of the result last published
        self._lock = threading.Lock()
        self.reloaded(True)

    def evaluated(self, status: CheckStatus, seconds: float, interval: float, tag_key: str | None,
                  expected_tags: Iterable[str] | None, failed_backend: str | None) -> None:
        result = status.result
        name = result.check
        with self._lock:
            own = self._own.get(name)
            if own is None:  # labels() takes the metric's lock and builds a key: once per check
                own = self._own[name] = (self.duration.labels(name), self.last.labels(name),
                                         self.interval.labels(name), self.state.labels(name, ""))
        own[0].observe(seconds)
        own[1].set(result.time)
        own[2].set(interval)
        own[3].set(int(result.state))
        tags = result.tags
        seen = ([t.label for t in tags], [t.state for t in tags])
        if self._seen.get(name) == seen:  # the per-tag states as last published: the gauges hold them already
            return self._count_failure(failed_backend)
        self._seen[name] = seen
        worst = _worst_by_value(tags, tag_key, expected_tags)
        with self._lock:
            children = self._tags.setdefault(name, {})
            for gone in [v for v in children if v not in worst]:
                del children[gone]
                self.state.remove(name, gone)
            for value, state in worst.items():
                held = children.get(value)
                if held is None:  # labels() takes the metric's lock and builds a key: once per series
                    held = children[value] = [self.state.labels(name, value), None]
                if held[1] != state:  # states rarely change: most evaluations set nothing
                    held[0].set(state)
                    held[1] = state
        self._count_failure(failed_backend)

    def _count_failure(self, failed_backend: str | None) -> None:
        if failed_backend is not None:
            self.backend_errors.labels(failed_backend).inc()

    def output(self, sink: str, ok: bool) -> None:
        self.outputs.labels(sink, "sent" if ok else "failed").inc()

    def scheduled(self, lag: float) -> None:
        self.lag.observe(max(lag, 0.0))

    def reloaded(self, ok: bool) -> None:
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(time.time())

    def queue_depth(self, queue: str, depth: int) -> None:
        self.queue.labels(queue).set(depth)

    def forget(self, checks: Iterable[str]) -> None:
        """Drops the series of checks no longer configured (after a reload), so they do not linger as stale."""
        keep = set(checks)
        with self._lock:
            for name in [n for n in self._own if n not in keep]:
                self._own.pop(name)
                self._seen.pop(name, None)
                for value in self._tags.pop(name, {}):
                    self.state.remove(name, value)
                for metric, labels in ((self.state, (name, "")), (self.last, (name,)), (self.interval, (name,)),
                                       (self.duration, (name,))):
                    try:
                        metric.remove(*labels)
                    except KeyError:
                        pass

    def serve(self, port: int, address: str = "127.0.0.1") -> Any:
        """Exposes the registry over HTTP on ``address:port`` (a daemon thread); returns the server."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server


def _worst_by_value(tags: Iterable[Any], tag_key: str | None, expected: Iterable[str] | None) -> dict[str, int]:
    """The worst reported state of each expected value of ``tag_key`` among a result's per-tag outcomes (labels
    ``key=value[,key=value]``; a schema with several tags has several series per value). Nothing without expected
    values: the tag label is then bounded by nothing but the data."""
    out: dict[str, int] = {}
    if not tag_key or not expected:
        return out
    rank = _ranks()
    unknown = rank[3]  # an invalid state ranks as UNKNOWN, as rules.result.severity says
    wanted, prefix = set(expected), f"{tag_key}="
    for tag in tags:
        label = tag.label
        if "," not in label:  # one tag: "job=0001"
            value = label[len(prefix):] if label.startswith(prefix) else None
        else:
            value = dict(p.split("=", 1) for p in label.split(",") if "=" in p).get(tag_key)
        if value in wanted:
            state = int(tag.state)
            if value not in out or rank.get(state, unknown) > rank.get(out[value], unknown):
                out[value] = state
    return out


def _ranks() -> dict[int, int]:
    """state -> severity rank (rules.result.severity as a plain dict: it is asked once per tag per evaluation)."""
    global _RANKS
    if _RANKS is None:
        from .rules.result import state_table

        _RANKS = {row["state"]: row["severity"] for row in state_table()}
    return _RANKS


_RANKS: dict[int, int] | None = None


class _SecondsSince:
    """``scald_check_seconds_since_evaluation{check}``, computed at scrape time from the last-evaluation gauge, so
    that a check that stopped being evaluated keeps growing (the alert "not evaluated for 3 intervals")."""

    def __init__(self, last: Any) -> None:
        self.last = last

    def describe(self) -> list:
        return []

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("scald_check_seconds_since_evaluation", "Seconds since the check's last "
                                   "evaluation", labels=["check"])
        now = time.time()
        for metric in self.last.collect():
            for sample in metric.samples:
                family.add_metric([sample.labels["check"]], max(now - sample.value, 0.0))
        yield family


class ServeMetrics:
    """``scald serve``'s requests by route (the URL rule, bounded), method and status, and their latency."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("scald_http_requests", "HTTP requests answered", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("scald_http_request_duration_seconds", "Time to answer a request", ["route"],
                                 buckets=REQUEST_BUCKETS, registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The series in the format the scraper's ``Accept`` asks for (text 0.0.4 or OpenMetrics), as
        ``prometheus_client``'s own HTTP server answers."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
