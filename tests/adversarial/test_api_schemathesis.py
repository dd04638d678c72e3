"""The standing fuzz suite for ``scald serve``'s JSON API: schemathesis against ``/api/openapi.json``.

schemathesis reads the document the app serves and sends what it describes (and what it rules out) to the Flask
app, on SQLite and on a real influxd, both holding data (``tests/test_api.py``'s data set, so plenty of requests
reach real series): every phase that needs no links (coverage: boundary values and undeclared methods; fuzzing:
random valid and invalid requests), every default check (no 5xx; status code, content type, headers and body as
documented; invalid input refused, valid input accepted; 405 with ``Allow``). The run is bounded and reproducible
(a fixed seed, deterministic generation, :data:`MAX_EXAMPLES` per operation, no example database).

One tuning, and it is narrow: a 400 for a schema-valid request is forgiven only when the request really breaks a
rule across parameters that the document states and OpenAPI 3.0 cannot express (``x-parameter-rules``: end before
start, a column the measurement lacks, ...). :func:`broken_rule` decides that from the request alone, from the
config and the stored schema; any other 400 for valid input stays a failure.

The session ends with one line, ``adversarial: N requests, M operations, F failures (T s)``, for the record.
"""
from __future__ import annotations

import collections
import json
import math
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

import test_api as base
from scald_monitor.config import load
from scald_monitor.daemon import Runner
from scald_monitor.io import connect
from scald_monitor.serve import create_app
from scald_monitor.serve.errors import ApiError
from scald_monitor.lifecycle.tokens import TokenFile
from scald_monitor.serve.openapi import PARAMETER_RULES
from scald_monitor.serve.openapi_writes import WRITE_RULES
from scald_monitor.serve.params import MAX_FILTER_SERIES, MAX_RAW_SPAN, MAX_TAG_VALUE, MAX_VALUES
from scald_monitor.serve.readers import resolve

#: Examples per operation in the fuzzing phase; with the coverage phase, ~100 requests per operation.
MAX_EXAMPLES = 50
SEED = 20261202
DATA_KINDS = ("timeseries", "segment", "heatmap", "latest", "table")
#: Two names for one store: ``backend`` is an enum in the document, and both of its values must work.
CONFIG = base.CONFIG.replace("  default: BACKEND\n", "  default: BACKEND\n  mirror: BACKEND\n")
assert CONFIG != base.CONFIG


# ===================================================================================================== the tally


@dataclass
class Tally:
    """What the suite tried, over every run of the session (printed once at the end)."""

    requests: int = 0
    operations: set = field(default_factory=set)
    failures: int = 0
    seconds: float = 0.0
    forgiven: collections.Counter = field(default_factory=collections.Counter)

    def line(self) -> str:
        rules = ", ".join(f"{k}: {v}" for k, v in sorted(self.forgiven.items())) or "none"
        return (f"adversarial: {self.requests} requests, {len(self.operations)} operations, {self.failures} failures "
                f"({self.seconds:.1f} s; 400s for documented cross-parameter rules: {rules})")


@pytest.fixture(scope="session")
def adversarial_tally(request):
    """The session's :class:`Tally`; its line goes to the terminal at the end (past pytest's output capture)."""
    tally = Tally()
    yield tally
    if tally.operations:
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if capture is not None and reporter is not None:
            with capture.global_and_fixture_disabled():  # this runs inside the last test's (captured) teardown
                reporter.write_line("")
                reporter.write_line(tally.line())
        else:  # pragma: no cover - pytest without its terminal or capture plugin
            print(tally.line())


# ===================================================================================================== the apps


def make_app(directory, backend_yaml: str, sqlite: bool):
    """An app on ``tests/test_api.py``'s data, with checks run once (status files, state file with history)."""
    (directory / "scald.yml").write_text(CONFIG.replace("BACKEND", backend_yaml) + "serve: {tokens_file: tokens}\n")
    token = TokenFile(str(directory / "tokens")).add("fuzz")  # the write routes are fuzzed too, authorised
    cfg = load(str(directory / "scald.yml"))
    agg = connect(cfg.backend(), schemas=cfg.schemas.values())
    try:
        base.feed(agg, sqlite)
    finally:
        agg.close()
    Runner(cfg).run_all()
    app = create_app(cfg)
    app.config["FUZZ_TOKEN"] = token
    return app


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("fuzz-sqlite"), "{backend: sqlite, path: store.sqlite}", True)


@pytest.fixture(scope="module")
def influx_app(tmp_path_factory, influxd):
    influxd.start()
    db = f"fuzz_{uuid.uuid4().hex[:10]}"
    yaml = f"{{backend: influxdb, hostname: {influxd.host}, port: {influxd.port}, db: {db}}}"
    yield make_app(tmp_path_factory.mktemp("fuzz-influx"), yaml, False)
    if influxd.running():
        influxd.query(f'DROP DATABASE "{db}"')


# ===================================================================================================== the oracle


def _number(text: str) -> float | None:
    return float(text) if re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text) else None


def _values_claimed(message: str) -> int | None:
    m = re.search(r"would return ([0-9,]+) values", message)
    return int(m.group(1).replace(",", "")) if m else None


def _gps(text: str | None) -> float | None:
    """GPS seconds from a number or ISO UTC text, worked out here (not by the API's parser)."""
    value = _number(text or "")
    if value is not None:
        return value
    try:
        import datetime as dt

        from scald_monitor.timeutil import unix_to_gps

        when = dt.datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
        return unix_to_gps(when.replace(tzinfo=when.tzinfo or dt.timezone.utc).timestamp())
    except (ValueError, OverflowError, OSError):
        return None


def broken_backtest_rule(app, check: str, query: str, message: str) -> str | None:
    """The rule of BACKTEST_RULES a backtest request breaks (its window against the check's interval, a setting
    the config would refuse), or None."""
    from scald_monitor.serve.replays import MAX_STEPS, SETTINGS

    args = {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if v}
    cfg = app.extensions["scald_monitor"].cfg
    if check not in cfg.checks:
        return None
    if "last" in args and "start" in args:
        return "not both"
    if "last" not in args and not ("start" in args and "end" in args):
        return "give start"
    times = {k: _gps(args[k]) for k in ("start", "end") if k in args}
    if any(v is None for v in times.values()):
        return "ISO" if "ISO" in message else "not a time"
    if "last" in args:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*[smhdw]?\s*", args["last"])
        if m is None or float(m.group(1)) <= 0:
            return "not a duration"
    if "start" in times and times["end"] <= times["start"]:
        return "is not after"
    if any(k in args for k in SETTINGS) and message.startswith("setting "):
        return "setting "  # the config's own rules for the values (Nagios ranges, numbers), named in the message
    if "start" in times and (times["end"] - times["start"]) / cfg.checks[check].interval + 1 > MAX_STEPS:
        return "steps of"
    if "last" in args and "steps of" in message:
        return "steps of"
    return None


def broken_rule(app, url: str, message: str) -> str | None:
    """The documented cross-parameter rule (a key of :data:`PARAMETER_RULES`) this request breaks, or None.

    Worked out from the request itself (path, query) and the measurement's schema, independently of the API's own
    checks, so that a 400 the API gives a valid request by mistake is not forgiven because its message looks right.
    """
    parts = urllib.parse.urlsplit(url)
    segments = [urllib.parse.unquote(s) for s in parts.path.split("/")]
    if len(segments) == 5 and segments[4] == "backtest":
        return broken_backtest_rule(app, segments[3], parts.query, message)
    if len(segments) != 6 or segments[1] != "api" or segments[2] not in DATA_KINDS:
        return None
    kind, measurement, start_text, end_text = segments[2:]
    start, end = _number(start_text), _number(end_text)
    if start is None or end is None:
        return None
    if end < start:
        return "before start"
    args: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        args.setdefault(key, []).append(value)
    for name in dict.fromkeys(t.strip() for t in args.get("tag", []) if t.strip()):
        if any(len(v) > MAX_TAG_VALUE or re.search(r"[\x00-\x1f\x7f]", v) for v in args.get(name, [])):
            return "tag value"  # checked before the measurement is looked up: any measurement, known or not

    def one(name: str) -> str | None:
        values = [v.strip() for v in args.get(name, [])[:1] if v.strip()]
        return values[0] if values else None

    cfg = app.extensions["scald_monitor"].cfg
    backend = one("backend") or "default"
    with app.app_context():
        try:
            schema, spec, _stored = resolve(cfg, app.extensions["scald_monitor"].readers, backend, measurement)
        except ApiError:
            return None
    columns = list(dict.fromkeys(c.strip() for c in args.get("column", []) if c.strip()))
    if any(c not in schema.columns for c in columns):
        return "unknown column"
    tag_names = list(dict.fromkeys(t.strip() for t in args.get("tag", []) if t.strip()))
    if any(t not in schema.tags for t in tag_names):
        return "unknown tag"
    tag_key = one("tag_key")
    if tag_key is not None and tag_key not in schema.tags:
        return "is not one of its tags"
    filters = {t: set(v for v in args.get(t, []) if v) for t in tag_names}
    series = math.prod(len(v) for v in filters.values() if v) if any(filters.values()) else 1
    if series > MAX_FILTER_SERIES:
        return "select more than"
    dt = (one("dt") or "").lower()
    raw = dt in ("0", "raw")
    span = end - start
    if raw and span > MAX_RAW_SPAN:
        return "raw points are served"
    if kind == "heatmap" and (raw or len(columns) > 1 or not schema.tags):
        return "heatmap"
    if kind == "table" and one("far") is not None:
        far_key = (spec.extra.get("far_key") if spec is not None else None) or "far"
        if far_key not in schema.columns:
            return "FAR column"
    claimed = _values_claimed(message)
    if claimed is not None and dt and not raw and _number(dt):
        bins = math.floor(span / float(dt)) + 1
        # counted before reading: bins x series x columns (heatmap: bins, or bins x rows), so a multiple of the
        # window's bins at that dt, and beyond the limit
        if claimed > MAX_VALUES and claimed % bins == 0:
            return "values (limit"
    return None


# ===================================================================================================== the run


def run_schemathesis(app, tally: Tally, only: str | None = None) -> dict[str, Any]:
    """One full run against ``app`` (``only``: a regex of the paths to test); returns what it saw, with every
    failure described in words (and its schemathesis code first)."""
    config = schemathesis.Config.from_dict({
        # no max-time: with one, schemathesis 4 repeats the fuzzing phase until the time is up; without, each
        # phase runs once, MAX_EXAMPLES per operation, which is what bounds the suite
        "seed": SEED,
        # no shrinking: a failure is reported with the request that failed, and the run stays bounded
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "no-shrink": True},
        # stateful testing follows links between operations; a read-only API without links has none to follow
        "phases": {"stateful": {"enabled": False}},
        # ignored_auth re-sends a request without its token through werkzeug with an argument werkzeug 3 does
        # not take (a schemathesis bug with the WSGI transport); tests/test_write_api.py checks 401s itself
        "checks": {"ignored_auth": {"enabled": False},
                   # a body over the limit is a 413 (documented), which is not among schemathesis' defaults
                   "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415,
                                                                     422, 428, 429]}},
        # the WSGI transport hands the body over as sent: a gzip answer (serve/compress.py, tested in test_api)
        # would reach the checks undecoded, so this run asks for the plain JSON the checks read
        "headers": {"Accept-Encoding": "identity", **({"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
                                                      if app.config.get("FUZZ_TOKEN") else {})},
    })
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)
    if only is not None:
        schema = schema.include(path_regex=only)
    statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    answered: collections.Counter = collections.Counter()  # operation -> GETs answered 200 (OPTIONS is 200 too)
    forgiven: collections.Counter = collections.Counter()
    unforgiven_400: list[str] = []

    @schema.hook
    def after_call(context, case, response):
        statuses[case.operation.label][response.status_code] += 1
        if response.request.method in ("GET", "POST", "DELETE") and 200 <= response.status_code < 300:
            answered[case.operation.label] += 1

    @schema.hook
    def filter_failure(context, failure, case, response):
        if failure.code != "ST202" or response.status_code not in (400, 404):
            return True
        try:
            message = json.loads(response.content)["error"]
        except (ValueError, KeyError, TypeError):
            return True
        if response.request.method in ("POST", "DELETE"):  # a write's body against its check or the clock
            rule = next((key for key, _ in WRITE_RULES if key in message), None)
            if rule is not None:
                forgiven[rule] += 1
                return False
            unforgiven_400.append(f"{response.request.method} {response.request.url} -> {message}")
            return True
        if response.status_code != 400:
            return True
        rule = broken_rule(app, response.request.url, message)
        if rule is not None and rule in message:
            forgiven[rule] += 1
            return False
        unforgiven_400.append(f"{response.request.url} -> {message}")
        return True

    failures: list[str] = []
    started = time.monotonic()
    finished = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    interaction = event.recorder.interactions.get(case_id)
                    request = f"{interaction.request.method} {interaction.request.uri}" if interaction else "?"
                    status = interaction.response.status_code if interaction and interaction.response else None
                    failures.append(f"{failure.code} {failure.operation}: {failure.title}: "
                                    f"{failure.message.strip()[:300]} | {request} -> {status}")
        elif isinstance(event, events.NonFatalError):  # e.g. an exception the Flask app raised (a crash)
            failures.append(f"ERROR {event.label}: {event.info.title}: {event.value!r}"[:500])
        elif isinstance(event, events.FatalError):
            failures.append(f"ERROR fatal: {event.exception!r}"[:500])
        elif isinstance(event, events.EngineFinished):
            finished = event
    seconds = time.monotonic() - started
    requests = sum(sum(c.values()) for c in statuses.values())
    failures = list(dict.fromkeys(failures))  # one line per distinct failure (a failure is recorded once per case)
    tally.requests += requests
    tally.operations.update(f"{id(app)} {label}" for label in statuses)
    tally.failures += len(failures)
    tally.seconds += seconds
    tally.forgiven.update(forgiven)
    return {"requests": requests, "statuses": statuses, "answered": answered, "failures": failures,
            "finished": finished,
            "operations": [op.ok().label for op in schema.get_all_operations()], "forgiven": forgiven,
            "seconds": seconds}


def assert_clean(result: dict[str, Any]) -> None:
    """No failure, a run that completed, no 5xx, and real coverage: every operation that can answer 200 did."""
    assert result["finished"] is not None and result["finished"].stop_reason == "completed", result["finished"]
    assert not result["failures"], "\n".join(result["failures"][:30])
    statuses = result["statuses"]
    assert set(statuses) == set(result["operations"]), set(result["operations"]) ^ set(statuses)
    server_errors = {op: {s: n for s, n in c.items() if s >= 500} for op, c in statuses.items()}
    assert not any(server_errors.values()), server_errors
    answered = result["answered"]
    for label, counter in statuses.items():
        if "{" in label and label.startswith("GET"):  # operations with parameters get many requests; /api and
            assert sum(counter.values()) >= 50, (label, counter)  # /api/checks have none to vary
        elif not label.startswith("GET"):  # the writes: a body (or a check and a tag) to vary
            assert sum(counter.values()) >= 20, (label, counter)
        # snapshots are documented as always 404; a DELETE answers 2xx only for an id or label made before
        # a backtest needs a window over the data, which random windows miss: tests/test_backtest.py reads replays
        if "/snapshot/" not in label and not label.startswith("DELETE") and "/backtest" not in label:
            assert answered[label] > 0, (label, counter)
    # the data routes answered with data, not only refusals: a suite that only ever hit 400/404 would prove little
    data_ok = sum(n for label, n in answered.items() if any(f"/{k}/" in label for k in DATA_KINDS))
    assert data_ok >= 100, {label: dict(c) for label, c in statuses.items()}


@pytest.mark.slow
def test_schemathesis_on_sqlite_finds_nothing(sqlite_app, adversarial_tally):
    result = run_schemathesis(sqlite_app, adversarial_tally)
    assert_clean(result)


@pytest.mark.slow
def test_schemathesis_on_influxdb_finds_nothing(influx_app, adversarial_tally):
    result = run_schemathesis(influx_app, adversarial_tally)
    assert_clean(result)


# ===================================================================================================== the suite can fail


def _broken(monkeypatch, name: str, replacement) -> None:
    from scald_monitor.serve import data

    monkeypatch.setattr(data, name, replacement)


def _raise(exc: Exception):
    def broken(*args, **kwargs):
        raise exc

    return broken


BREAKAGES = {
    # an answer that is not the documented shape: x must be tag values (strings), y numbers or null
    "wrong shape": ("latest", lambda *a, **k: [{"x": [1], "y": ["high"]}], "/api/latest/", "ST108"),
    # a crash: schemathesis sees the exception itself (Flask's got_request_exception), not only the JSON 500
    "crash": ("table", _raise(RuntimeError("bug")), "/api/table/", "ERROR"),
    # a 5xx without a crash: a backend reported unavailable although it is there
    "server error": ("heatmap", _raise(ApiError(503, "backend 'default' is unavailable")), "/api/heatmap/", "ST101"),
    # a valid request refused for a reason no documented rule covers: the oracle must not forgive it
    "refused valid input": ("timeseries", _raise(ApiError(400, "unknown column, or so I say")), "/api/timeseries/",
                            "ST202"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_suite_finds_a_planted_bug(sqlite_app, monkeypatch, breakage):
    """Each planted bug makes the same run fail with the matching schemathesis finding: the suite can fail."""
    name, replacement, path, code = BREAKAGES[breakage]
    _broken(monkeypatch, name, replacement)
    app = create_app(load(sqlite_app.extensions["scald_monitor"].cfg.path))  # a fresh app: no cached answers
    result = run_schemathesis(app, Tally(), only="^" + re.escape(path))
    codes = {line.split()[0] for line in result["failures"]}
    assert code in codes, result["failures"][:5]


# ===================================================================================================== the oracle's tests


@pytest.mark.parametrize("path,query,rule", [
    ("/api/timeseries/latency_history/20/10", "", "before start"),
    ("/api/timeseries/latency_history/10/20", "column=nope", "unknown column"),
    ("/api/timeseries/latency_history/10/20", "tag=ifo", "unknown tag"),
    ("/api/heatmap/latency_history/10/20", "tag_key=ifo", "is not one of its tags"),
    ("/api/timeseries/latency_history/0/7200", "dt=raw", "raw points are served"),
    ("/api/heatmap/triggers/10/20", "", "heatmap"),
    ("/api/table/strain/10/20", "far=0.1", "FAR column"),
    ("/api/timeseries/latency_history/10/20", "column=data&tag=job&job=0001", None),
    ("/api/timeseries/no_such/20/10", "", "before start"),
    ("/api/timeseries/no_such/10/20", "column=nope", None),  # an unknown measurement is a 404, no rule
    ("/api/timeseries/no_such/10/20", "tag=job&job=%01", "tag value"),  # refused before the lookup
    ("/api/latest/latency_history/0/0", "other=%01", None),  # not named in tag: ignored, no rule
])
def test_the_oracle_names_only_rules_the_request_breaks(sqlite_app, path, query, rule):
    """:func:`broken_rule` must not forgive a 400 for a request that breaks no documented rule."""
    assert broken_rule(sqlite_app, f"http://localhost{path}?{query}", "") == rule


def test_every_forgivable_rule_is_in_the_document(sqlite_app):
    doc = sqlite_app.test_client().get("/api/openapi.json").get_json()
    for kind in DATA_KINDS:
        op = next(v["get"] for k, v in doc["paths"].items() if k.startswith(f"/api/{kind}/"))
        assert [r["error_contains"] for r in op["x-parameter-rules"]] == [k for k, _ in PARAMETER_RULES]
    assert doc["components"]["parameters"]["backend"]["schema"] == {"type": "string", "enum": ["default", "mirror"]}
