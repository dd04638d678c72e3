"""The OpenAPI 3 description of ``/api``: every route, parameter, answer shape and error.

Written out by hand (the API is small and its parameters are ligo-scald's, which no decorator library would infer)
and kept next to the routes; ``tests/test_api.py`` validates it and checks that every route of the blueprint is in it,
and ``tests/adversarial/test_api_schemathesis.py`` checks that the answers keep to it.

Built per configuration: ``backend`` is an enum of the configured backends' names. Rules that join several
parameters (``end`` not before ``start``, a column or tag the measurement has, ...) are beyond OpenAPI 3.0's
schemas; they are written out in :data:`PARAMETER_RULES`, in each data operation's 400 answer and in its
``x-parameter-rules`` extension, so that a client or a fuzzer can tell those 400s from a refused valid request.
"""
from __future__ import annotations

from typing import Any

from .. import __version__
from ..io.schema import AGGREGATES, LEVELS
from . import openapi_writes, replays
from .openapi_answers import error_answer as _error, json_answer as _json
from .params import MAX_FILTER_SERIES, MAX_POINTS, MAX_RAW_SPAN, MAX_TAG_VALUE, MAX_VALUES, TRANSFORMS


def _param(name: str, where: str, description: str, schema: dict, required: bool = False, **extra: Any) -> dict:
    """One parameter. Every query parameter has ``allowEmptyValue``: the API reads ``dt=`` as no ``dt`` at all
    (ligo-scald's client sends empty values for null), and the document says so instead of calling it invalid."""
    out = {"name": name, "in": where, "description": description, "required": required or where == "path",
           "schema": schema}
    if where == "query":
        out["allowEmptyValue"] = True
    out.update(extra)
    return out


_STRING = {"type": "string"}
_NUMBER = {"type": "number"}
_NULLABLE_NUMBER = {"type": "number", "nullable": True}
#: A measurement, column or tag name (``io.schema.NAME_RE``), as an ECMA 262 pattern.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]*$"
_NAME = {"type": "string", "pattern": NAME_PATTERN}

#: The 400s of the data routes that no OpenAPI 3.0 schema can express, because each joins several parameters or
#: the measurement's stored schema: ``(key, rule)``. The key is a word of the error message the API sends.
PARAMETER_RULES: tuple[tuple[str, str], ...] = (
    ("before start", "end must not be before start (the window [start, end] is empty otherwise)"),
    ("tag value", f"the values of a parameter named in tag: at most {MAX_TAG_VALUE} characters, no control "
                  "characters"),
    ("unknown column", "every column must be one of the measurement's columns (GET /api/measurements)"),
    ("unknown tag", "every name in tag must be one of the measurement's tags"),
    ("is not one of its tags", "tag_key must be one of the measurement's tags"),
    ("raw points are served", f"raw points (dt=0/raw) only for windows of at most {MAX_RAW_SPAN:g} s"),
    ("values (limit", f"at most {MAX_VALUES:,} values per answer: (end - start) / dt + 1 points per series, "
                      "times the series and columns asked for"),
    ("select more than", f"the tag filters may select at most {MAX_FILTER_SERIES} series"),
    ("heatmap", "heatmap: dt not 0/raw, exactly one column, a measurement with tags"),
    ("FAR column", "table: far only for a measurement with a FAR column (far_key, else far)"),
)

PARAMETERS: dict[str, dict] = {
    "measurement": _param("measurement", "path", "Measurement name (or the name of a schema in the config).",
                          dict(_NAME)),
    "start": _param("start", "path", "Start of the window, GPS seconds: ASCII digits, an optional decimal part "
                    "and exponent (1187008882, 1187008882.4, 1.187e9).", {"type": "number", "minimum": 0,
                                                                           "maximum": 1e10}),
    "end": _param("end", "path", "End of the window, GPS seconds, written as start is. Must not be before start "
                  "(end >= start): a rule across two parameters, which OpenAPI 3.0 cannot put in a schema; an end "
                  "before start is a 400 (see x-parameter-rules).", {"type": "number", "minimum": 0,
                                                                      "maximum": 1e10}),
    "column": _param("column", "query", "Column(s) to read (repeatable). Default: the schema's column_key "
                     "(/api/table: every column). Empty values are ignored (ligo-scald's client sends them).",
                     {"type": "array", "items": _NAME}, style="form", explode=True),
    "tag": _param("tag", "query", "Names of the query parameters that hold tag filters (repeatable), as in "
                  "ligo-scald: tag=job&job=0001&job=0002 selects two series, one trace each, named by the value. "
                  "With several tags, every combination of the given values is a series; a tag left out matches "
                  "every value.", {"type": "array", "items": _NAME}, style="form", explode=True),
    # Free-form in the document, because the server is: a query parameter is a tag filter only when `tag` names
    # it (a poller's own parameters are ignored), so the limits on values hold across two parameters
    # (x-parameter-rules), which OpenAPI 3.0 cannot put in a schema.
    "tag_values": _param("tag_values", "query", "The tag filter values themselves: one query parameter per name "
                         f"listed in `tag` (e.g. job=0001&job=0002), each at most {MAX_TAG_VALUE} characters, "
                         "without control characters. Parameters that `tag` does not name are ignored.",
                         {"type": "object", "additionalProperties": {}}, style="form", explode=True),
    "tag_key": _param("tag_key", "query", "The tag that makes heatmap rows / latest bars. Default: the schema's.",
                      _NAME),
    "aggregate": _param("aggregate", "query", "Which bucket aggregate to read. Default: the schema's, else max.",
                        {"type": "string", "enum": list(AGGREGATES)}),
    "dt": _param("dt", "query", f"Resolution in seconds ({', '.join(map(str, LEVELS))}); 0 or raw for raw points "
                 f"(windows of at most {MAX_RAW_SPAN:g} s). A named dt reads exactly that level, as ligo-scald "
                 f"did. Default: the coarsest level with at most {MAX_POINTS} points per series, then — where it "
                 "holds nothing in the window — the coarser levels, then the finer ones down to raw points (raw "
                 f"only for windows of at most {MAX_RAW_SPAN:g} s); X-Scald-Source names the level that answered.",
                 {"oneOf": [{"type": "integer", "enum": [0, *LEVELS]}, {"type": "string", "enum": ["raw"]}]}),
    "fill": _param("fill", "query", "Value for missing/non-finite values: null (default) or a number.",
                   {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["null"]}]}),
    "scale": _param("scale", "query", "Heatmap only: log gives z = ln(value) and the linear values in text.",
                    {"type": "string", "enum": ["log", "linear"]}),
    "far": _param("far", "query", "Table only: keep rows whose FAR column (schema far_key, else far) is at most "
                  "this.", {"type": "number", "exclusiveMinimum": True, "minimum": 0}),
    "datetime": _param("datetime", "query", "Times as ISO 8601 UTC strings instead of GPS seconds.",
                       {"type": "boolean"}),
    "backend": _param("backend", "query", "Key of the config's backends: section. Default: default (or the first "
                      "configured). Any other name is a 400.", _STRING),
    "transform": _param("transform", "query", "Latest only: none (the value) or latency (seconds since the newest "
                        "point). Default: the schema's transform, else none.",
                        {"type": "string", "enum": list(TRANSFORMS)}),
    "default": _param("default", "query", "Latest only: the value shown for a tag without data. Default: the "
                      "schema's default, else null.", _NUMBER),
    "check": _param("check", "path", "Check name (a key of checks:, or a translated nagios: entry).", _STRING),
}

_DATA_PARAMS = ["measurement", "start", "end", "column", "tag", "tag_values", "tag_key", "aggregate", "dt", "fill",
                "scale", "far", "datetime", "backend"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


_TIMES = {"type": "array", "items": {"oneOf": [_NUMBER, _STRING]}}
_VALUES = {"type": "array", "items": _NULLABLE_NUMBER}

SCHEMAS: dict[str, dict] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "What was wrong, in words."},
        "status": {"type": "integer"}}},
    "Trace": {"type": "object", "required": ["x", "y"], "properties": {
        "x": _TIMES, "y": _VALUES,
        "name": {"type": "string", "description": "Tag value(s) of the series (only with tag filters); with "
                 "several columns also the column."},
        "column": {"type": "string", "description": "Only when several columns were asked for."}}},
    "SegmentTrace": {"type": "object", "required": ["x", "y", "z"], "properties": {
        "x": _TIMES, "y": {"type": "array", "items": _NUMBER},
        "z": {"type": "array", "items": _VALUES}, "name": _STRING, "column": _STRING}},
    "Heatmap": {"type": "object", "required": ["x", "y", "z"], "properties": {
        "x": {"type": "array", "items": {"oneOf": [_NUMBER, _STRING]}, "description": "Bin starts start + k*dt."},
        "y": {"type": "array", "items": _STRING, "description": "Values of tag_key, sorted."},
        "z": {"type": "array", "items": _VALUES},
        "text": {"type": "array", "items": _VALUES, "description": "With scale=log: the linear values."}}},
    "Latest": {"type": "object", "required": ["x", "y"], "properties": {
        "x": {"type": "array", "items": _STRING}, "y": _VALUES}},
    "Table": {"type": "object", "required": ["fields", "items"], "properties": {
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "key": _STRING, "label": _STRING, "sortable": {"type": "boolean"}}}},
        "items": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}},
    "StatusDocument": {"type": "object", "required": ["nagios_shib_scraper_ver", "status_intervals"],
                       "additionalProperties": True, "properties": {
        "nagios_shib_scraper_ver": _NUMBER,
        "created_unix": _NUMBER, "created_gps": _NUMBER,
        "status_intervals": {"type": "array", "items": {"type": "object", "properties": {
            "start_sec": {"type": "integer"}, "end_sec": {"type": "integer"},
            "num_status": {"type": "integer", "minimum": 0, "maximum": 3}, "txt_status": _STRING}}},
        "check": _STRING, "state": {"type": "integer"}, "state_name": _STRING, "summary": _STRING,
        "tags": {"type": "array", "items": {"type": "object"}},
        "source": {"type": "string", "enum": ["status_file", "evaluated"]}}},
    "CheckSummary": {"type": "object", "required": ["name", "state", "state_name", "summary", "stale"],
                     "properties": {
        "name": _STRING, "type": {"type": "string", "enum": ["threshold", "heartbeat"]}, "schema": _STRING,
        "measurement": {"type": "string", "nullable": True}, "column": {"type": "string", "nullable": True},
        "backend": _STRING, "description": _STRING, "interval": _NUMBER,
        "state": {"type": "integer", "minimum": 0, "maximum": 3,
                  "description": "The state now: the daemon's status file while it is valid, else a result "
                                 "evaluated now by the web server (source 'evaluated')."},
        "state_name": {"type": "string", "enum": ["OK", "WARNING", "CRITICAL", "UNKNOWN"]},
        "result_state": {"type": "integer", "nullable": True, "description": "The last result's state."},
        "summary": _STRING, "last_change": _NULLABLE_NUMBER, "state_type": {"type": "string", "nullable": True},
        "stale": {"type": "boolean", "description": "outputs.status_dir is configured but the check's status "
                  "file is missing or older than its expiry (is scald-monitor run running?)."},
        "created_unix": _NULLABLE_NUMBER, "expires_unix": _NULLABLE_NUMBER,
        "problems": {"type": "integer", "nullable": True, "description": "Tag values not OK."},
        "source": {"type": "string", "enum": ["status_file", "evaluated"]},
        "note": {"type": "string", "description": "Why the status file was not used ('' when it was)."},
        **openapi_writes.SCHEMAS["Marks"]["properties"]}},
    "CheckDetail": {"allOf": [{"$ref": "#/components/schemas/CheckSummary"}, {"type": "object", "properties": {
        "settings": {"type": "object", "additionalProperties": True},
        "document": {"$ref": "#/components/schemas/StatusDocument"},
        "state_machine": {"type": "object", "nullable": True, "additionalProperties": True},
        "tags": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}}]},
    "StateChange": {"type": "object", "required": ["time", "state", "state_type"], "properties": {
        "time": {"type": "number", "description": "Unix seconds of the result that changed the state."},
        "state": {"type": "integer", "minimum": 0, "maximum": 3, "description": "0 OK, 1 WARNING, 2 CRITICAL, "
                  "3 UNKNOWN: the reported state from then on."},
        "state_type": {"type": "string", "enum": ["SOFT", "HARD"]}}},
    "CheckHistory": {"type": "object", "required": ["name", "changes", "now"], "properties": {
        "name": _STRING,
        "changes": {"type": "array", "items": {"$ref": "#/components/schemas/StateChange"},
                    "description": "Changes of the check's reported state or state type, oldest first, starting "
                    "with the first state reported; the newest 500 are kept. Empty if the daemon never ran."},
        "now": {"type": "number", "description": "The server's time, Unix seconds."}}},
    "Measurement": {"type": "object", "required": ["name", "columns", "tags"], "properties": {
        "name": _STRING, "schemas": {"type": "array", "items": _STRING},
        "columns": {"type": "array", "items": _STRING}, "column_key": _STRING,
        "tags": {"type": "array", "items": _STRING}, "tag_key": {"type": "string", "nullable": True},
        "aggregate": {"type": "string", "nullable": True}, "configured": {"type": "boolean"},
        "stored": {"type": "boolean"}}},
    "Stats": {"type": "object", "required": ["blocks", "backend"], "properties": {
        "blocks": {"type": "object", "description": "The block cache (reads split into blocks aligned to a multiple "
                   "of their level, kept in memory; see the README's Dashboard section).", "properties": {
            "hits": {"type": "integer", "description": "Blocks answered from memory."},
            "misses": {"type": "integer", "description": "Blocks not in memory (read, or shared with a read in "
                       "progress)."},
            "shared": {"type": "integer", "description": "Misses answered by another request's read in progress."},
            "hit_ratio": {"type": "number", "nullable": True, "description": "hits / (hits + misses); null before "
                          "the first read."},
            "held": {"type": "integer", "description": "Blocks in memory."},
            "bytes": {"type": "integer", "description": "Estimated bytes the blocks take."},
            "max_bytes": {"type": "integer", "description": "The bound; least recently used blocks go first."},
            "evictions": {"type": "integer"},
            "invalidations": {"type": "integer", "description": "Blocks dropped because the SQLite file said they "
                              "changed."},
            "refused_fills": {"type": "integer", "description": "Blocks read while a write touched them, used "
                              "for nothing and not kept."}}},
        "backend": {"type": "object", "properties": {
            "reads": {"type": "integer", "description": "Reads the cache made from the backends."},
            "block_reads": {"type": "integer", "description": "Of which reads of missing blocks."},
            "uncached_reads": {"type": "integer", "description": "Of which reads spanning too many blocks, made "
                               "directly."}}},
        "settings": {"type": "object", "additionalProperties": True}}},
}


_ERRORS_DATA = {
    "400": _error(f"A bad parameter (time, column, tag, aggregate, dt, ...), or more than {MAX_VALUES:,} values; "
                  "also a request breaking a rule across parameters (x-parameter-rules): "
                  + "; ".join(rule for _key, rule in PARAMETER_RULES) + "."),
    "404": _error("Unknown measurement."),
    "503": _error("The backend cannot be read (down, missing, locked)."),
}


#: The header that says which stored level answered (ligo-scald's JSON shapes have no room for it).
SOURCE_HEADER = {"X-Scald-Source": {
    "description": "The stored level(s) the answer was read from, in order of first use, comma-separated: e.g. "
                   "\"1 s max buckets\", \"raw points\", \"10 s max buckets of every tag combination\" (the "
                   "reduction across tags built from each combination's buckets), \"triggers from retention policy "
                   "0.001_hz\" (ligo-scald's store_triggers layout), or \"none\" when no level held a point. "
                   "Without dt the level picked for the window is read first, then coarser, then finer ones down to "
                   "raw points, so this is how a client tells which one it got.",
    "schema": {"type": "string"}}}


_QUERY_TEXT = {"type": "string", "minLength": 1}
_BACKTEST_PARAMS = [
    _param("start", "query", "Start of the window: GPS seconds or ISO 8601 UTC (with end).", _QUERY_TEXT),
    _param("end", "query", "End of the window: GPS seconds or ISO 8601 UTC (default with last: now).", _QUERY_TEXT),
    _param("last", "query", "Instead of start: the window's length (90m, 12h, 2d), ending at end or now.",
           _QUERY_TEXT),
    *(_param(key, "query", f"Try this {key} instead of the configured one (as --set {key}=VALUE).", _QUERY_TEXT)
      for key in replays.SETTINGS),
]
#: The replay's 400s that no schema can say: the window against the check's interval, settings as the file's.
BACKTEST_RULES: tuple[tuple[str, str], ...] = (
    ("give start", "a window: start and end, or last (optionally with end)"),
    ("not both", "start or last, not both"),
    ("is not after", "end must be after start"),
    ("steps of", f"at most {replays.MAX_STEPS} steps of the check's interval"),
    ("not a duration", "last: a duration such as 90m, 12h, 2d"),
    ("not a time", "start, end: GPS seconds or ISO 8601 UTC"),
    ("ISO", "start, end: GPS seconds or ISO 8601 UTC"),
    ("is empty", "a window of positive length"),
    ("setting ", "every setting must be valid as in the config file (warning/critical: Nagios ranges; for, "
                 "max_attempts: numbers), the error names it"),
)


def _data_op(summary: str, schema: dict, extra_params: tuple[str, ...] = ()) -> dict:
    ok = _json(schema, "The data (Cache-Control: max-age=10).")
    ok["headers"] = SOURCE_HEADER
    return {"get": {
        "summary": summary,
        "parameters": [_ref(n) for n in (*_DATA_PARAMS, *extra_params)],
        "responses": {"200": ok, **_ERRORS_DATA},
        "x-parameter-rules": [{"error_contains": key, "rule": rule} for key, rule in PARAMETER_RULES],
    }}


def _array(ref: str) -> dict:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}


def parameters(cfg: Any = None) -> dict[str, dict]:
    """:data:`PARAMETERS` for ``cfg``: ``backend`` an enum of its backends (any other name is a 400), ``check`` an
    enum of its checks (any other is a 404), the configured measurements as examples of ``measurement`` (not an
    enum: a measurement stored but not configured is served too)."""
    out = dict(PARAMETERS)
    if cfg is None:
        return out
    backends = sorted(cfg.backends or ())
    if backends:
        out["backend"] = {**PARAMETERS["backend"], "schema": {"type": "string", "enum": backends}}
    checks = list(cfg.checks or ())
    if checks:
        out["check"] = {**PARAMETERS["check"], "schema": {"type": "string", "enum": checks}}
    measurements = sorted({s.measurement for s in cfg.schemas.values()})
    if measurements:
        out["measurement"] = {**PARAMETERS["measurement"],
                              "examples": {name: {"value": name} for name in measurements}}
    return out


def openapi_document(cfg: Any = None) -> dict:
    """The document; ``cfg`` adds the configured measurements and checks as examples and the backends' names."""
    data_path = "/api/{kind}/{measurement}/{start}/{end}"
    paths = {
        data_path.format(kind="timeseries", measurement="{measurement}", start="{start}", end="{end}"):
            _data_op("One trace per series (ligo-scald TimeSeries).", _array("Trace")),
        data_path.format(kind="segment", measurement="{measurement}", start="{start}", end="{end}"):
            _data_op("Heatmap strips per series (ligo-scald TimeSegment).", _array("SegmentTrace")),
        data_path.format(kind="heatmap", measurement="{measurement}", start="{start}", end="{end}"):
            _data_op("Rows per tag_key value, columns per dt bin (ligo-scald TimeHeatMap).", _array("Heatmap")),
        data_path.format(kind="latest", measurement="{measurement}", start="{start}", end="{end}"):
            _data_op("Newest value per tag_key value; start/end are not used (ligo-scald Bar).", _array("Latest"),
                     ("transform", "default")),
        data_path.format(kind="table", measurement="{measurement}", start="{start}", end="{end}"):
            _data_op(f"Rows of the selected columns, raw for windows up to {MAX_RAW_SPAN:g} s by default; "
                     "for a measurement without tags and without points in any level, the triggers ligo-scald's "
                     "store_triggers keeps in its \"<far>_hz\" retention policies.",
                     {"$ref": "#/components/schemas/Table"}),
        "/api/snapshot/{measurement}/{start}/{end}": {"get": {
            "summary": "The newest snapshot (store_snapshot) as ligo-scald's [{x, y}]; start and end are ignored.",
            "parameters": [_ref("measurement"), _ref("start"), _ref("end"), _ref("backend")],
            "responses": {"200": _json({"type": "array", "items": {"type": "object"}}, "The newest snapshot."),
                          "400": _error("A bad parameter (e.g. an unknown backend)."),
                          "404": _error("No snapshot of that measurement is stored."),
                          "503": _error("The backend cannot be read.")}}},
        "/api/nagios/{check}": {"get": {
            "summary": "Status document of a check (IGWN/LIGO Nagios JSON): the daemon's file while valid, else "
                       "evaluated now (source: evaluated, no state machine). No data yet: 200 UNKNOWN.",
            "parameters": [_ref("check")],
            "responses": {"200": _json({"$ref": "#/components/schemas/StatusDocument"}, "The status document."),
                          "404": _error("Unknown check.")}}},
        "/api/checks": {"get": {
            "summary": "Every configured check with its state now (from the status files; cheap to poll).",
            "responses": {"200": _json(_array("CheckSummary"), "The checks, in config order.")}}},
        "/api/checks/{check}": {"get": {
            "summary": "One check: summary, settings, status document, state-machine snapshot, per-tag results.",
            "parameters": [_ref("check")],
            "responses": {"200": _json({"$ref": "#/components/schemas/CheckDetail"}, "The check."),
                          "404": _error("Unknown check.")}}},
        "/api/checks/{check}/history": {"get": {
            "summary": "One check's reported-state changes (from the daemon's state file), for a state timeline.",
            "parameters": [_ref("check")],
            "responses": {"200": _json({"$ref": "#/components/schemas/CheckHistory"}, "The changes."),
                          "404": _error("Unknown check.")}}},
        "/api/checks/{check}/backtest": {"get": {
            "summary": "The check replayed over a window through the daemon's evaluation and state machine, with "
                       "other settings if given: the document of scald-monitor backtest --format json "
                       f"(at most {replays.MAX_STEPS} steps of the check's interval).",
            "parameters": [_ref("check"), *_BACKTEST_PARAMS],
            "responses": {"200": _json({"type": "object", "required": ["check", "start", "end", "transitions",
                                                                       "summary"],
                                        "additionalProperties": True}, "The replay."),
                          "400": _error("A bad window or setting (the error names it); also x-parameter-rules."),
                          "404": _error("Unknown check, or no data in the window."),
                          "503": _error("The backend cannot be read, or too many replays are running.")},
            "x-parameter-rules": [{"error_contains": key, "rule": rule} for key, rule in BACKTEST_RULES]}},
        "/api/measurements": {"get": {
            "summary": "Measurements of the backend and of the config, with columns and tags.",
            "parameters": [_ref("backend")],
            "responses": {"200": _json(_array("Measurement"), "The measurements."),
                          "400": _error("Unknown backend."), "503": _error("The backend cannot be read.")}}},
        "/api/stats": {"get": {
            "summary": "Counters of the block cache (hit ratio, bytes held) and of the backend reads it made.",
            "responses": {"200": _json({"$ref": "#/components/schemas/Stats"}, "The counters since start-up.")}}},
        "/api": {"get": {
            "summary": "Links to this document, the checks, the measurements and the cache counters (also at "
                       "/api/).",
            "responses": {"200": _json({"type": "object", "additionalProperties": {"type": "string"}},
                                       "Links.")}}},
        "/api/openapi.json": {"get": {
            "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.0 document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    paths.update(openapi_writes.paths(_ref("check")))
    description = ("JSON API of scald serve (scald-monitor), compatible with ligo-scald's /api routes. Every error "
                   "is JSON {\"error\": ...}: 400 bad parameter, 404 unknown measurement/check/route, 405 method, "
                   "503 backend unavailable. Writes (acknowledgements, downtimes) need a bearer token "
                   "(serve.tokens_file): 401 without a valid one, 403 when writes are disabled.")
    if cfg is not None:
        names = sorted({s.measurement for s in cfg.schemas.values()})
        description += f" Configured measurements: {', '.join(names) or 'none'}."
        description += f" Configured checks: {', '.join(cfg.checks) or 'none'}."
    return {
        "openapi": "3.0.3",
        "info": {"title": "scald-monitor API", "version": __version__, "description": description},
        "paths": paths,
        "components": {"parameters": parameters(cfg), "schemas": {**SCHEMAS, **openapi_writes.schemas(cfg)},
                       "securitySchemes": openapi_writes.SECURITY_SCHEMES},
    }
