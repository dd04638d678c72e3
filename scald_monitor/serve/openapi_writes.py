"""The OpenAPI description of the write routes (:mod:`.writes`) and of the acknowledgement/downtime marks.

Kept apart from :mod:`.openapi` because these operations have a body and a security scheme the read routes have
not. Rules that join a body key with the check or the clock (a tag of the check's measurement, an expiry in the
future, end or duration) are in each operation's ``x-parameter-rules``, as for the data routes.
"""
from __future__ import annotations

from typing import Any

from ..lifecycle.windows import MAX_GPS
from .openapi_answers import error_answer as _error, json_answer as _json
from .writes import MAX_AUTHOR, MAX_BODY, MAX_COMMENT

#: No control characters but tab; at least one character that is not white space (a comment says why).
_TEXT_PATTERN = r"^[^\u0000-\u0008\u000a-\u001f]*$"
_COMMENT = {"type": "string", "minLength": 1, "maxLength": MAX_COMMENT,
            "pattern": r"^[^\u0000-\u0008\u000a-\u001f]*[^\s\u0000-\u001f][^\u0000-\u0008\u000a-\u001f]*$",
            "description": "Why (required, as Nagios asks): not only white space, no control characters."}
_AUTHOR = {"type": "string", "maxLength": MAX_AUTHOR, "pattern": _TEXT_PATTERN,
           "description": "Who; default: the token's name."}
_TIME = {"oneOf": [{"type": "number", "minimum": 0, "maximum": MAX_GPS},
                   {"type": "string", "minLength": 1}],
         "description": "GPS seconds, or text: GPS seconds or ISO 8601 UTC (2026-12-08T16:00:00Z); other text is a "
                        "400 (x-parameter-rules: ISO 8601)."}
_TAG_VALUE = {"type": "string", "minLength": 1, "pattern": r"^[^,\u0000-\u001f]+$"}
#: A downtime's tag values are matched as text, whatever they are (a number is its text).
_DOWN_VALUE = {"oneOf": [{"type": "string"}, {"type": "number"}]}

WRITE_RULES: tuple[tuple[str, str], ...] = (
    ("not a tag of", "every name in tags must be a tag of the check's measurement (GET /api/measurements)"),
    ("must be in the future", "expire must be later than now"),
    ("end or duration", "a downtime needs end or duration, one of them"),
    ("must be after start", "a downtime's end must be after its start"),
    ("unknown check", "every name in checks without *, ? or [ must be a configured check (else 404)"),
    ("ISO 8601", "a time given as text must be a valid UTC date and time"),
    ("is outside GPS 0", f"times (and start + duration) within GPS 0 to {MAX_GPS:g}"),
    ("duration", "duration: seconds (> 0) or text such as 90m, 2h, 1h30m, 1d"),
)

SCHEMAS: dict[str, dict] = {
    "Acknowledgement": {"type": "object", "required": ["check", "label", "comment", "author", "sticky", "time"],
                        "properties": {
        "check": {"type": "string"},
        "label": {"type": "string", "description": "The tag label acknowledged (job=0003); '' for the check."},
        "comment": {"type": "string"}, "author": {"type": "string"},
        "sticky": {"type": "boolean", "description": "Until the check is OK (else until its next state change)."},
        "expire": {"type": "number", "nullable": True, "description": "GPS seconds; null: no expiry."},
        "time": {"type": "number", "description": "When it was made, GPS seconds."},
        "state": {"type": "integer", "nullable": True, "description": "The state acknowledged, when known."}}},
    "AckRequest": {"type": "object", "required": ["comment"], "additionalProperties": False, "properties": {
        "comment": _COMMENT, "author": _AUTHOR,
        "tags": {"type": "object", "additionalProperties": _TAG_VALUE,
                 "description": "One tag value to acknowledge ({\"job\": \"0003\"}); without: the whole check."},
        "sticky": {"type": "boolean", "default": False},
        "expire": _TIME}},
    "Downtime": {"type": "object", "required": ["checks", "active", "endless"], "additionalProperties": True,
                 "properties": {
        "source": {"type": "string", "enum": ["config", "ad hoc"]},
        "id": {"type": "string", "description": "Ad hoc downtimes: the id to DELETE."},
        "name": {"type": "string"},
        "checks": {"type": "array", "items": {"type": "string"}, "description": "Names or shell patterns."},
        "tags": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "weekly": {"type": "object", "additionalProperties": True},
        "start": {"type": "number"}, "end": {"type": "number"},
        "comment": {"type": "string"}, "author": {"type": "string"}, "created": {"type": "number"},
        "active": {"type": "boolean", "description": "In effect now."},
        "until": {"type": "number", "nullable": True, "description": "When it ends if in effect now (GPS)."},
        "endless": {"type": "boolean", "description": "A weekly downtime covering the whole week."}}},
    "DowntimeRequest": {"type": "object", "required": ["checks", "comment"], "additionalProperties": False,
                        "oneOf": [{"required": ["end"], "not": {"required": ["duration"]}},
                                  {"required": ["duration"], "not": {"required": ["end"]}}],
                        "description": "end or duration: one of them.",
                        "properties": {
        "checks": {"oneOf": [{"type": "string", "minLength": 1},
                             {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}],
                   "description": "A check name, a shell pattern (range_*, *), or a list of them."},
        "tags": {"type": "object", "additionalProperties": {"oneOf": [
            _DOWN_VALUE, {"type": "array", "minItems": 1, "items": _DOWN_VALUE}]},
                 "description": "Only these tag values ({\"job\": [\"0003\"]}); {} or none: the whole checks."},
        "start": _TIME, "end": _TIME,
        "duration": {"oneOf": [{"type": "number", "exclusiveMinimum": True, "minimum": 0},
                               {"type": "string", "pattern": r"^([0-9]*[1-9][0-9]*[wdhms])+$"}]},
        "comment": _COMMENT, "author": _AUTHOR}},
    "Marks": {"type": "object", "properties": {
        "acknowledgement": {"allOf": [{"$ref": "#/components/schemas/Acknowledgement"}], "nullable": True},
        "downtime": {"type": "object", "nullable": True, "properties": {
            "text": {"type": "string"}, "until": {"type": "number", "nullable": True}}},
        "tags_acknowledged": {"type": "integer", "minimum": 0},
        "tags_in_downtime": {"type": "integer", "minimum": 0}}},
}

SECURITY_SCHEMES = {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from "
                               "`scald-monitor token add NAME` (serve.tokens_file)."}}


_REFUSED = {
    "401": _error("No bearer token, or one that is not valid (WWW-Authenticate: Bearer)."),
    "403": _error("Writes are disabled: serve.tokens_file is not set."),
    "503": _error("The acknowledgements file cannot be written."),
}


def _write(summary: str, params: list[dict], ok: dict, body: str | None = None) -> dict:
    op: dict[str, Any] = {
        "summary": summary, "parameters": params, "security": [{"bearer": []}],
        "responses": {**ok, "400": _error("A bad body or parameter (the error names the key); also a rule of "
                                          "x-parameter-rules."),
                      "404": _error("Unknown check (or no such acknowledgement / downtime)."), **_REFUSED},
        "x-parameter-rules": [{"error_contains": key, "rule": rule} for key, rule in WRITE_RULES],
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}},
            "description": f"A JSON object of at most {MAX_BODY} bytes."}
        op["responses"]["413"] = _error(f"A body larger than {MAX_BODY} bytes.")
        op["responses"]["415"] = _error("A body that is not application/json.")
    return op


def schemas(cfg: Any = None) -> dict[str, dict]:
    """:data:`SCHEMAS` for ``cfg``: a downtime's ``checks`` are its checks' names or patterns (any text with
    ``*``, ``?`` or ``[``); any other name is a 404."""
    out = dict(SCHEMAS)
    if cfg is None or not cfg.checks:
        return out
    name = {"oneOf": [{"type": "string", "enum": list(cfg.checks)}, {"type": "string", "pattern": r"[*?\[]"}]}
    request = dict(out["DowntimeRequest"])
    request["properties"] = {**request["properties"], "checks": {
        "oneOf": [name, {"type": "array", "minItems": 1, "items": name}],
        "description": "A check name, a shell pattern (range_*, *), or a list of them."}}
    out["DowntimeRequest"] = request
    return out


def paths(check_ref: dict) -> dict[str, dict]:
    tag = {"name": "tag", "in": "query", "required": False, "style": "form", "explode": True,
           "description": "NAME=VALUE: the tag value whose acknowledgement to remove (repeatable).",
           "schema": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.:-]*=[^,]+$"}}}
    ident = {"name": "ident", "in": "path", "required": True, "description": "The ad hoc downtime's id.",
             "schema": {"type": "string"}}
    return {
        "/api/checks/{check}/ack": {
            "post": _write("Acknowledge a check or one tag value (as scald-monitor ack).", [check_ref],
                           {"201": _json({"type": "object", "properties": {
                               "acknowledgement": {"$ref": "#/components/schemas/Acknowledgement"}}},
                               "Made (replacing one of the same label).")}, body="AckRequest"),
            "delete": _write("Remove an acknowledgement (as scald-monitor unack).", [check_ref, tag],
                             {"200": _json({"type": "object"}, "Removed.")}),
        },
        "/api/downtimes": {
            "get": {"summary": "Every downtime: the config's and the ad hoc ones, with whether each holds now.",
                    "responses": {"200": _json({"type": "array",
                                                "items": {"$ref": "#/components/schemas/Downtime"}},
                                               "The downtimes.")}},
            "post": _write("Put checks in downtime (as scald-monitor downtime add).", [],
                           {"201": _json({"type": "object", "properties": {
                               "downtime": {"$ref": "#/components/schemas/Downtime"}}}, "Made.")},
                           body="DowntimeRequest"),
        },
        "/api/downtimes/{ident}": {
            "delete": _write("Remove an ad hoc downtime (the config's are edited in the file).", [ident],
                             {"200": _json({"type": "object"}, "Removed.")}),
        },
    }
