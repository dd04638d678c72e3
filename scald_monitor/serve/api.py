"""The JSON API (blueprint ``api``, under ``/api``): ligo-scald's routes with its answers, plus checks and metadata.

Rules every route follows (DESIGN §7): JSON bodies only; a known check with no data is a 200 UNKNOWN document; an
unknown check or measurement is a 404 ``{"error": ...}``; any other bad parameter a 400; a backend that cannot be
read a 503 (ligo-scald answered 200 with empty data, which a dashboard shows as "all quiet"); never a 500 for
anything a client sends. The routes are thin: parsing lives in :mod:`.params`, reads and shapes in :mod:`.data`,
check results in :mod:`.checks`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from flask import Blueprint, current_app, request

from ..config import Config
from ..io.schema import NAME_RE
from . import checks, compress, data, params
from .cache import BlockCache, ResponseCache
from .errors import DATA_CACHE, NO_CACHE, ApiError, json_response, raw_json_response
from .openapi import openapi_document
from .readers import Readers, resolve

bp = Blueprint("api", __name__, url_prefix="/api")
bp.after_request(compress.compress_response)  # gzip, when the client takes it (:mod:`.compress`)


class ServeState:
    """What the API keeps per app: the config, the thread-local readers, the shared on-the-spot evaluator, the
    caches of blocks (:class:`.cache.BlockCache`) and of whole answers (:class:`.cache.ResponseCache`)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.readers = Readers(cfg)
        self.cache = ResponseCache()
        self.blocks = BlockCache(cfg.backends, max_bytes=cfg.serve["cache_bytes"], ttl=self.cache.ttl)
        self.evaluator = checks.Evaluator(cfg, blocks=self.blocks)
        self.lifecycle, self.tokens = _lifecycle(cfg)


def _lifecycle(cfg: Config) -> tuple[Any, Any]:
    """The acknowledgements/downtimes file beside the daemon's state file (None without one) and, with
    ``serve.tokens_file``, its tokens, read now: a broken file stops start-up (TokenFileError), not a request."""
    from ..lifecycle.store import LifecycleStore
    from ..lifecycle.tokens import TokenFile

    state_file = cfg.outputs.get("state_file")
    store = LifecycleStore(LifecycleStore.beside(state_file)) if state_file else None
    tokens = None
    if cfg.serve.get("tokens_file"):
        tokens = TokenFile(cfg.serve["tokens_file"])
        tokens.load()
    return store, tokens


def state() -> ServeState:
    return current_app.extensions["scald_monitor"]


# ---------------------------------------------------------------------------------------------------- data routes


#: The response header naming the stored level(s) a data answer was read from (:class:`.data.Sources`).
SOURCE_HEADER = "X-Scald-Source"


#: The parameters the data routes read (:func:`.params.parse`, plus the tag parameters ``tag`` names): an answer
#: depends on nothing else, so the answer cache's key is made of these alone. ligo-scald's client sends its whole
#: schema dict along, and a poller may add a parameter of its own to every request.
QUERY_KEYS = ("column", "tag", "tag_key", "aggregate", "dt", "fill", "scale", "far", "datetime", "backend",
              "transform", "default")
#: Below this GPS time a float's step is under 2 ns, and InfluxDB, which compares bounds rounded to nanoseconds,
#: may take a bucket start just outside a bound as inside it: windows there are keyed as given.
_EXACT_FROM = 2.0 ** 23


def _buckets(start: float, end: float, dt: int) -> tuple[int, int]:
    """``(first, last)`` index k of the bucket starts ``k * dt`` in [start, end] (exactly: k * dt is a float)."""
    first = math.ceil(start / dt)
    while first * dt < start:
        first += 1
    while (first - 1) * dt >= start:
        first -= 1
    last = math.floor(end / dt)
    while last * dt > end:
        last -= 1
    while (last + 1) * dt <= end:
        last += 1
    return first, last


def answer_key(kind: str, measurement: str, start: str, end: str, args: Any, token: str) -> str:
    """What identifies a data answer: route, measurement, window, the parameters read, the backend's change count.

    Why not the URL: every poll of a live page is a distinct URL (its window ends at the browser's own now), yet a
    read of a named aggregate level returns exactly the buckets whose starts (``k * dt``, DESIGN §7) are in the
    window. So a timeseries or segment answer with ``dt`` naming a level is keyed by those buckets (and by the
    window's length in buckets, which the value budget counts): all the dashboards on one page share one answer
    until a bucket enters or leaves their windows. ``/api/latest`` does not read its window at all. Other windows
    (raw points, a level picked by width, heatmap bins that start at ``start``) are keyed as given. Bad times
    raise the route's 400 here, so that no error request is answered from the cache.
    """
    s, e = params.time_range(start, end)
    dt = params.named_level(args) if kind in ("timeseries", "segment") else None
    if kind == "latest":
        window = "-"
    elif dt is not None and s >= _EXACT_FROM:
        first, last = _buckets(s, e, dt)
        window = f"{first}:{last}:{math.floor((e - s) / dt)}*{dt}"
    else:
        window = f"{s!r}:{e!r}"
    names = list(QUERY_KEYS) + [n for n in args.getlist("tag") if n not in QUERY_KEYS]
    query = "&".join(f"{n}={v}" for n in names for v in args.getlist(n))
    return "\n".join((kind, measurement, window, query, token))


def _data_route(kind: str, measurement: str, start: str, end: str, build: Callable[..., Any],
                default_raw: bool = False):
    """Parse, resolve the measurement, bind the parameters to its schema, read, answer (or a JSON error).

    ``build(store, schema, q, spec, sources)`` makes the body and notes the levels it read in ``sources``, which
    become the ``X-Scald-Source`` header. Reads go through the block cache (:class:`.cache.CachedStore`), so
    windows that differ only at their ends share what they have in common. Identical requests within the answer
    cache's TTL share one answer, header included (and one backend query, even when they arrive together): a
    dashboard open in many browsers polls the same URLs; on SQLite only while the file has not changed.
    """
    st = state()
    token = st.blocks.token(params.backend_name(request.args, st.cfg.backends))
    key = answer_key(kind, measurement, start, end, request.args, token)
    cached = st.cache.get(key)
    if cached is None and not st.cache.wait_or_lead(key):
        cached = st.cache.get(key)  # the leader's answer, unless it failed (then compute our own)
    if cached is not None:
        source, _, body = cached.partition(b"\n")  # cached as "source\nbody": the header never holds a newline
        response = raw_json_response(body, cache=DATA_CACHE)
        response.headers[SOURCE_HEADER] = source.decode("latin-1")
        return _gzipped(response, key, body)
    try:
        q = params.parse(request.args, start, end, st.cfg.backends)
        schema, spec, _stored = resolve(st.cfg, st.readers, q.backend, measurement)
        params.bind(q, schema, default_raw=default_raw)
        store = st.blocks.wrap(st.readers.get(q.backend), q.backend)
        sources = data.Sources()
        with st.readers.errors(q.backend):
            body = build(store, schema, q, spec, sources)
        response = json_response(body, cache=DATA_CACHE)
        header = sources.header()
        response.headers[SOURCE_HEADER] = header
        st.cache.put(key, header.encode("latin-1") + b"\n" + response.get_data())
        return _gzipped(response, key, response.get_data())
    finally:
        st.cache.done(key)


#: What an answer's key gains for its gzipped bytes in the answer cache (a key never holds a NUL: names can't).
_GZIP_KEY = "\n\x00gzip"


def _gzipped(response, key: str, body: bytes):
    """The data answer gzipped when the client takes it (:mod:`.compress`), from the answer cache when it was
    compressed before: an answer many browsers share is compressed once, not once per request."""
    if not compress.wanted(len(body)):
        return response
    st = state()
    gz = st.cache.get(key + _GZIP_KEY)
    if gz is None:
        gz = compress.gzip_body(body)
        st.cache.put(key + _GZIP_KEY, gz)
    return compress.apply(response, gz)


@bp.get("/timeseries/<measurement>/<start>/<end>")
def timeseries(measurement: str, start: str, end: str):
    """Traces ``[{"x": [...], "y": [...], "name": tag value}]`` (ligo-scald's TimeSeries plots)."""
    return _data_route("timeseries", measurement, start, end,
                       lambda store, schema, q, spec, sources: data.timeseries(store, schema, q, sources=sources))


@bp.get("/segment/<measurement>/<start>/<end>")
def segment(measurement: str, start: str, end: str):
    """Heatmap strips ``[{"x": [...], "y": [0.5], "z": [[...]]}]`` (ligo-scald's TimeSegment plots)."""
    return _data_route("segment", measurement, start, end, lambda store, schema, q, spec, sources:
                       data.timeseries(store, schema, q, segment=True, sources=sources))


@bp.get("/heatmap/<measurement>/<start>/<end>")
def heatmap(measurement: str, start: str, end: str):
    """``[{"x": bins, "y": tag values, "z": rows}]`` (ligo-scald's TimeHeatMap plots)."""
    return _data_route("heatmap", measurement, start, end, data.heatmap)


@bp.get("/latest/<measurement>/<start>/<end>")
def latest(measurement: str, start: str, end: str):
    """``[{"x": tag values, "y": newest values}]`` (ligo-scald's Bar plots)."""
    return _data_route("latest", measurement, start, end, data.latest)


@bp.get("/table/<measurement>/<start>/<end>")
def table(measurement: str, start: str, end: str):
    """``{"fields": [...], "items": [...]}`` (ligo-scald's tables of triggers)."""
    return _data_route("table", measurement, start, end, data.table, default_raw=True)


@bp.get("/snapshot/<measurement>/<start>/<end>")
def snapshot(measurement: str, start: str, end: str):
    """``[{"x": [...], "y": [...]}]`` of the newest snapshot (ligo-scald's snapshot plots); 404 when none."""
    st = state()
    if not NAME_RE.fullmatch(measurement or ""):
        raise ApiError(404, f"unknown measurement {measurement!r}")
    # the newest snapshot whatever the window, as ligo-scald answers: start/end are ignored, only ?backend= counts
    q = params.parse(request.args, "0", "0", st.cfg.backends)
    store = st.readers.get(q.backend)
    with st.readers.errors(q.backend):
        body, t = data.snapshot(store, measurement)
    response = json_response(body, cache=DATA_CACHE)
    response.headers[SOURCE_HEADER] = f"snapshot at GPS {t!r}"
    return response


@bp.get("/measurements")
def measurements():
    """Every measurement of the backend (``?backend=``) and of the config, with its columns and tags."""
    st = state()
    backend = params.backend_name(request.args, st.cfg.backends)
    store = st.readers.get(backend)
    with st.readers.errors(backend):
        stored = set(store.measurements())
    out: dict[str, dict] = {}
    for spec in st.cfg.schemas.values():
        entry = out.setdefault(spec.measurement, {
            "name": spec.measurement, "schemas": [], "columns": list(spec.columns), "column_key": spec.column_key,
            "tags": list(spec.tags), "tag_key": spec.tag_key, "aggregate": spec.aggregate,
            "configured": True, "stored": spec.measurement in stored,
        })
        entry["schemas"].append(spec.name)
    for name in sorted(stored - set(out)):
        try:
            with st.readers.errors(backend):
                schema = store.schema(name)
        except ApiError as exc:
            if exc.status == 503:
                raise
            continue
        out[name] = {"name": name, "schemas": [], "columns": list(schema.columns), "column_key": schema.column_key,
                     "tags": list(schema.tags), "tag_key": schema.tag_key, "aggregate": schema.aggregate,
                     "configured": False, "stored": True}
    return json_response(list(out.values()), cache=DATA_CACHE)


# ---------------------------------------------------------------------------------------------------- checks


def _check_name(name: str) -> str:
    if not checks.known(state().cfg, name):
        raise ApiError(404, f"unknown check {name!r}")
    return name


@bp.get("/nagios/<check>")
def nagios(check: str):
    """The check's status document (IGWN "shib scraper" JSON): the daemon's file while valid, else evaluated now."""
    st = state()
    doc = checks.nagios_document(st.cfg, st.evaluator, _check_name(check))
    return json_response(doc, cache=DATA_CACHE)


@bp.get("/checks")
def check_list():
    """Every check's state now, the same answer as /api/nagios/<check> (status file, else evaluated; cached)."""
    st = state()
    return json_response([checks.summary(st.cfg, st.evaluator, name, store=st.lifecycle) for name in st.cfg.checks],
                         cache=NO_CACHE)


@bp.get("/checks/<check>")
def check_detail(check: str):
    """One check: summary, settings, status document, state-machine snapshot, per-tag results."""
    st = state()
    return json_response(checks.detail(st.cfg, st.evaluator, _check_name(check), store=st.lifecycle),
                         cache=NO_CACHE)


@bp.get("/checks/<check>/history")
def check_history(check: str):
    """The check's reported-state changes (the daemon's state file), oldest first, for the state timeline."""
    return json_response(checks.history(state().cfg, _check_name(check)), cache=NO_CACHE)


@bp.get("/checks/<check>/backtest")
def check_backtest(check: str):
    """The check replayed over a window (``start``/``end`` or ``last``) with other settings if given
    (:mod:`.replays`): the document ``scald-monitor backtest --format json`` prints."""
    from . import replays

    return json_response(replays.answer(state().cfg, _check_name(check), request.args), cache=NO_CACHE)


@bp.get("/stats")
def stats():
    """The block cache's counters (hits, misses, hit ratio, bytes held) and the backend reads it made."""
    return json_response(state().blocks.stats(), cache=NO_CACHE)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return json_response(openapi_document(state().cfg), cache="max-age=60")


@bp.get("/")
@bp.get("")
def index():
    """A pointer to the description, for someone who types /api into a browser."""
    return json_response({"openapi": "/api/openapi.json", "checks": "/api/checks",
                          "measurements": "/api/measurements", "stats": "/api/stats",
                          "downtimes": "/api/downtimes"}, cache="max-age=60")
