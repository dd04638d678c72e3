"""Apply one of the shipped JSON Schema documents (``scald_monitor/schema/*.schema.json``) to data read from YAML.

The configuration's shape is data: ``config.schema.json`` (and ``report.schema.json`` for ``scald report``) say
which keys exist, their types, bounds, defaults and messages; editors validate against the same documents.  This
module walks a document over the data and collects every problem as ``(key path, message, at)``, ``at`` being
``"key"`` or ``"value"`` (which YAML line to point at).  It is not ``jsonschema``: check_scald loads the
configuration on every run, and importing jsonschema alone costs more than the whole plugin; and the messages here
are the project's own ("expected a number of seconds > 0, got a string ('soon')", "did you mean ...").

The subset of JSON Schema 2020-12 walked (:data:`KEYWORDS`) has the standard meaning: a document valid here is
valid for any validator, and the reverse (``tests/test_config_schema.py`` checks both on generated configs).
Two deliberate differences: NaN is not a number here (JSON has no NaN; jsonschema lets it through every bound), and
a ``format`` is asserted when this walker knows it (``formats``; jsonschema asserts one when given a checker).

Annotations (``x-*``, ignored by other validators) shape the messages and the result, never validity:

* ``x-expected``: "expected <this>, got <what>" when the value fails this node (inherited into ``$ref``,
  ``anyOf`` and ``if`` branches); ``x-messages``: a message per failing keyword, formatted with ``value``,
  ``got`` (its description) and ``hint`` (a did-you-mean); ``x-required``: the message for each missing key.
* ``x-report``: report this node's failure at ``path + (x-report,)``, at its key line; ``x-at: key``: at the key.
* ``x-convert``: turn a valid value into what the program uses (numeric strings into numbers, paths made
  absolute, ...); ``x-typos``: in an open mapping, keys that look like misspelt known keys are recorded apart, in
  ``lints`` (the configuration refuses them, but no validator could: the mapping is open).

A required key whose value is null is reported with its ``x-required`` message (where its schema refuses null, so
validity is unchanged), rather than as a type error.

The result of :meth:`Walker.walk` is the data with every value converted and every ``default`` filled in (a
property that is absent or null takes its default), invalid values replaced by :data:`INVALID`, so that the code
after the walk can still check cross-references of everything that was valid.
"""
from __future__ import annotations

import json
import math
import os
import re

TYPE_CHECKING = False  # no ``typing`` at run time: check_scald loads the configuration
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

__all__ = ["INVALID", "KEYWORDS", "Walker", "close_matches", "describe", "format_path", "load_schema", "schema_path"]

#: The JSON Schema keywords this walker implements (annotations and ``x-*`` aside).
KEYWORDS = frozenset({
    "$ref", "type", "enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "properties", "additionalProperties", "propertyNames", "required", "items", "prefixItems", "minItems",
    "maxItems", "uniqueItems", "contains", "allOf", "anyOf", "not", "if", "then", "else", "format",
})
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
_SCHEMAS: dict[str, dict] = {}
_CACHES: dict[int, tuple] = {}  # id(schema document) -> (the document, kept alive; resolved $refs, plans, patterns)


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


#: Stands in the walk's result for a value that failed its schema.
INVALID = _Invalid()
_ABSENT = object()
_OBJECT_KEYS = frozenset({"properties", "additionalProperties", "propertyNames", "required", "x-typos"})
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
_OWN_KEYS = frozenset({"enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                       "not"})
_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
          "integer": "an integer", "boolean": "true or false", "null": "nothing"}


def schema_path(name: str = "config") -> str:
    """Where the shipped schema document ``<name>.schema.json`` is (``config`` or ``report``)."""
    return os.path.join(SCHEMA_DIR, f"{name}.schema.json")


def load_schema(name: str = "config") -> dict:
    """The shipped schema document ``<name>.schema.json``, parsed once per process (check_scald reads a SQLite
    store through modules that import ``json`` anyway)."""
    schema = _SCHEMAS.get(name)
    if schema is None:
        with open(schema_path(name), encoding="utf-8") as fh:
            schema = _SCHEMAS[name] = json.load(fh)
    return schema


def describe(value: Any) -> str:
    """A short description of a value for "expected X, got Y" messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    return f"a {type(value).__name__} ({value!r})"


def close_matches(word: Any, possibilities: Iterable[Any], cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches`` over the string possibilities, imported only when a hint is wanted."""
    import difflib

    return difflib.get_close_matches(str(word), [p for p in possibilities if isinstance(p, str)], n=1, cutoff=cutoff)


def format_path(path: tuple) -> str:
    """``("checks", "lat", "tags", 0)`` → ``checks.lat.tags[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _number(value: Any) -> float | int | None:
    """A finite number from a number or numeric string, for messages ("got -1.0"); else None."""
    if isinstance(value, str):
        if not value.isascii() or "_" in value:  # float() reads '١٢٣' and '1_0'; the schema's patterns do not
            return None
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _to_number(value: Any) -> Any:
    return float(value) if isinstance(value, str) else value


def _to_integer(value: Any) -> Any:
    return int(float(value)) if isinstance(value, (str, float)) else value


def _to_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


CONVERTERS: dict[str, Callable[[Any], Any]] = {"number": _to_number, "integer": _to_integer, "text": _to_text}


def _has_type(value: Any, types: str | list) -> bool:
    for name in (types,) if isinstance(types, str) else types:
        if name == "object" and isinstance(value, dict) or name == "array" and isinstance(value, list) \
                or name == "string" and isinstance(value, str) or name == "null" and value is None \
                or name == "boolean" and isinstance(value, bool):
            return True
        if name in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
            if name == "number" or isinstance(value, int) or value.is_integer():
                return True
    return False


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers."""
    return (isinstance(a, bool) == isinstance(b, bool)) and a == b


class _Plan:
    """What a (resolved) schema node asks, looked up once per node rather than on every value walked."""

    __slots__ = ("node", "expected", "types", "own", "object", "array", "composed", "any_of", "condition", "format",
                 "convert")

    def __init__(self, node: dict) -> None:
        self.node = node
        self.expected = node.get("x-expected")
        self.types = node.get("type")
        self.own = not _OWN_KEYS.isdisjoint(node)
        self.object = not _OBJECT_KEYS.isdisjoint(node)
        self.array = not _ARRAY_KEYS.isdisjoint(node)
        self.composed = node.get("allOf", ())
        self.any_of = "anyOf" in node
        self.condition = node.get("if")
        self.format = node.get("format")
        self.convert = node.get("x-convert")


class Walker:
    """One walk's state: the schema document, the problems found so far, the converters and formats in use."""

    def __init__(self, root: dict, converters: dict[str, Callable[[Any], Any]] | None = None,
                 formats: dict[str, Callable[[Any], Any]] | None = None, limit: int = 200) -> None:
        self.root = root
        self.converters = {**CONVERTERS, **(converters or {})}
        self.formats = formats or {}
        self.limit = limit  # past this many problems, no did-you-mean work (nobody reads that far)
        self.problems: list[tuple[tuple, str, str]] = []
        self.lints: list[tuple[tuple, str, str]] = []  # misspelt keys of open mappings: beyond the schema
        self.failures = 0
        # per schema document, shared by its walkers: what each node asks, looked up once per process
        self._resolved, self._plans, self._patterns = _CACHES.setdefault(id(root), (root, {}, {}, {}))[1:]

    def walk(self, node: dict | bool, value: Any, path: tuple = ()) -> Any:
        """``value`` checked against ``node`` (problems recorded under ``path``): converted, defaults filled."""
        return self._walk(node, value, path, True, None, None)

    def define(self, name: str) -> dict:
        """The document's ``$defs`` entry ``name``."""
        return self.root["$defs"][name]

    def failed_under(self, prefix: tuple) -> bool:
        """Whether a problem was recorded at ``prefix`` or below it."""
        n = len(prefix)
        return any(p[:n] == prefix for p, _, _ in self.problems)

    # ---- the walk ---------------------------------------------------------------------------------------------

    def valid(self, node: Any, value: Any) -> bool:
        """Whether ``value`` satisfies ``node`` (nothing recorded)."""
        before = self.failures
        self._walk(node, value, (), False, None, None)
        valid = self.failures == before
        self.failures = before
        return valid

    def _resolve(self, node: dict) -> dict:
        """``$ref`` (``#/$defs/name``) replaced by its target; siblings of ``$ref`` are annotations, kept."""
        done = self._resolved.get(id(node))
        if done is None:
            target = self.root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part] if part else target
            if isinstance(target, dict) and "$ref" in target:
                target = self._resolve(target)
            done = self._resolved[id(node)] = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return done

    def _plan(self, node: dict) -> _Plan:
        plan = self._plans.get(id(node))
        if plan is None:
            plan = self._plans[id(node)] = _Plan(self._resolve(node) if "$ref" in node else node)
        return plan

    def _walk(self, node: Any, value: Any, path: tuple, loud: bool, expected: str | None,
              changes: dict | None) -> Any:
        if node is True:
            return value
        if node is False:
            return self._fail({}, "not", value, path, loud, expected)
        plan = self._plan(node)
        node = plan.node
        if plan.expected is not None:
            expected = plan.expected
        before = self.failures
        if plan.types is not None and not _has_type(value, plan.types):
            return self._fail(node, "type", value, path, loud, expected)
        if plan.own:
            failed = self._own(node, value)
            if failed:
                return self._fail(node, failed, value, path, loud, expected)
        result = value
        owner = False
        if isinstance(value, dict):
            if changes is None:
                owner, changes = True, {}
            if plan.object:
                self._object(node, value, path, loud, changes)
        elif plan.array and isinstance(value, list):
            result = self._array(node, value, path, loud, expected)
        for sub in plan.composed:
            result = self._pick(result, self._walk(sub, value, path, loud, expected, changes), value)
        if plan.any_of:
            result = self._pick(result, self._any(node, value, path, loud, expected, changes), value)
        if plan.condition is not None:
            branch = node.get("then") if self.valid(plan.condition, value) else node.get("else")
            if branch is not None:
                result = self._pick(result, self._walk(branch, value, path, loud, expected, changes), value)
        if plan.format is not None and plan.format in self.formats and self.failures == before:
            try:
                result = self.formats[plan.format](result)
            except ValueError as exc:
                return self._fail(node, "format", value, path, loud, expected, str(exc))
        if owner:
            return {**value, **changes} if changes else value
        if self.failures != before:
            return result if isinstance(value, (dict, list)) else INVALID
        if plan.convert:
            result = self.converters[plan.convert](result)
        return result

    @staticmethod
    def _pick(result: Any, sub: Any, value: Any) -> Any:
        """A composition's result for a non-mapping: its conversion, unless the value already failed."""
        if result is INVALID or sub is value or isinstance(value, dict):
            return result
        return sub

    def _own(self, node: dict, value: Any) -> str | None:
        """The first of this node's own (non-composite) keywords that ``value`` fails, or None."""
        if "enum" in node and not any(_equal(value, c) for c in node["enum"]):
            return "enum"
        if "const" in node and not _equal(value, node["const"]):
            return "const"
        if isinstance(value, str) and "pattern" in node:
            pattern = self._patterns.get(node["pattern"])
            if pattern is None:
                pattern = self._patterns[node["pattern"]] = re.compile(node["pattern"])
            if not pattern.search(value):
                return "pattern"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value and any(k in node for k in ("minimum", "maximum", "exclusiveMinimum")):
                return "maximum"  # NaN: not within any bound
            if "minimum" in node and value < node["minimum"]:
                return "minimum"
            if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
                return "exclusiveMinimum"
            if "maximum" in node and value > node["maximum"]:
                return "maximum"
            if "exclusiveMaximum" in node and value >= node["exclusiveMaximum"]:
                return "exclusiveMaximum"
        if "not" in node and self.valid(node["not"], value):
            return "not"
        return None

    def _object(self, node: dict, value: dict, path: tuple, loud: bool, changes: dict) -> None:
        props = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        names = node.get("propertyNames")
        missing = set()
        for key in node.get("required", ()):
            if key not in value or value[key] is None and not self.valid(props.get(key, True), None):
                missing.add(key)
                message = node.get("x-required", {}).get(key, "required")
                self._fail(node, "required", value, path + (key,), loud, None, message, at="key")
        if extra is not True or names is not None or "x-typos" in node:
            keys: Iterable = value
        else:
            keys = [k for k in props if k in value]
        for key in keys:
            kpath = path + (key,)
            if names is not None:
                start = len(self.problems)
                self._walk(names, key, kpath, loud, None, None)
                self.problems[start:] = [(p, m, "key") for p, m, _ in self.problems[start:]]
            if key in missing:
                continue
            sub = props.get(key, _ABSENT)
            if sub is _ABSENT:
                if extra is False:
                    self._unknown(props, key, kpath, loud)
                    continue
                if loud and "x-typos" in node and len(self.problems) + len(self.lints) < self.limit:
                    hint = close_matches(key, props, cutoff=0.75)
                    if hint:
                        self.lints.append((kpath, f"unknown key (did you mean {hint[0]!r}?)", "key"))
                if extra is True:
                    continue
                sub = extra
            self._change(changes, value, key, self._walk(sub, value[key], kpath, loud, None, None))
        for key, sub in props.items():
            node = self._plan(sub).node if isinstance(sub, dict) else {}  # a $ref's target may hold the default
            if "default" in node and value.get(key) is None and key not in missing:
                self._change(changes, value, key, self._walk(sub, node["default"], path + (key,), loud, None, None))

    @staticmethod
    def _change(changes: dict, value: dict, key: Any, new: Any) -> None:
        if changes.get(key) is not INVALID and (new is INVALID or new is not value.get(key, _ABSENT)):
            changes[key] = new

    def _unknown(self, props: dict, key: Any, path: tuple, loud: bool) -> None:
        self.failures += 1
        if not loud:
            return
        message = "unknown key"
        if len(self.problems) < self.limit:
            hint = close_matches(key, props)
            if hint:
                message += f" (did you mean {hint[0]!r}?)"
            elif len(props) <= 12:
                message += f" (expected one of: {', '.join(props)})"
        self.problems.append((path, message, "key"))

    def _array(self, node: dict, value: list, path: tuple, loud: bool, expected: str | None) -> Any:
        if len(value) < node.get("minItems", 0):
            return self._fail(node, "minItems", value, path, loud, expected)
        if len(value) > node.get("maxItems", len(value)):
            return self._fail(node, "maxItems", value, path, loud, expected)
        if "contains" in node and not any(self.valid(node["contains"], item) for item in value):
            return self._fail(node, "contains", value, path, loud, expected)
        prefix, items = node.get("prefixItems", ()), node.get("items", True)
        result = [self._walk(prefix[i] if i < len(prefix) else items, item, path + (i,), loud, None, None)
                  for i, item in enumerate(value)]
        if node.get("uniqueItems"):
            for i, item in enumerate(value):
                if any(_equal(item, earlier) for earlier in value[:i]):
                    self._fail(node, "uniqueItems", item, path + (i,), loud and result[i] is not INVALID, None)
        return result

    def _any(self, node: dict, value: Any, path: tuple, loud: bool, expected: str | None,
             changes: dict | None) -> Any:
        start, lints, failures = len(self.problems), len(self.lints), self.failures
        tried = []
        for branch in node["anyOf"]:
            mine = None if changes is None else {}
            result = self._walk(branch, value, path, loud, expected, mine)
            if self.failures == failures:
                if mine:
                    for key, new in mine.items():
                        self._change(changes, value, key, new)
                return result
            tried.append((branch, self.problems[start:], self.lints[lints:]))
            del self.problems[start:], self.lints[lints:]
            self.failures = failures
        candidates = [t for t in tried if self._admits(t[0], value)]
        if "anyOf" not in node.get("x-messages", {}) and len(candidates) == 1:
            self.failures += 1
            self.problems += candidates[0][1]
            self.lints += candidates[0][2]
            return INVALID
        return self._fail(node, "anyOf", value, path, loud, expected)

    def _admits(self, node: Any, value: Any) -> bool:
        """Whether ``value`` has a type ``node`` allows (the branch of an anyOf a failure is explained by)."""
        if not isinstance(node, dict):
            return bool(node)
        if "$ref" in node:
            node = self._resolve(node)
        return "type" not in node or _has_type(value, node["type"])

    # ---- messages ---------------------------------------------------------------------------------------------

    def _fail(self, node: dict, keyword: str, value: Any, path: tuple, loud: bool, expected: str | None,
              message: str | None = None, at: str = "value") -> Any:
        self.failures += 1
        if not loud:
            return INVALID
        if message is None:
            message = self._message(node, keyword, value, expected)
        if "x-report" in node:
            path, at = path + (node["x-report"],), "key"
        elif node.get("x-at") == "key":
            at = "key"
        self.problems.append((path, message, at))
        return INVALID

    def _message(self, node: dict, keyword: str, value: Any, expected: str | None) -> str:
        hint = ""
        if keyword == "enum" and isinstance(value, str) and len(self.problems) < self.limit:
            found = close_matches(value, node["enum"])
            hint = f" (did you mean {found[0]!r}?)" if found else ""
        template = node.get("x-messages", {}).get(keyword)
        if template is not None:
            return template.format(value=value, got=describe(value), hint=hint)
        if keyword == "enum":
            choices = ", ".join(str(c) for c in node["enum"] if c is not None)
            return f"expected one of {choices}; got {describe(value)}{hint}"
        if expected is None:
            branches = [self._resolve(b) if "$ref" in b else b for b in node.get("anyOf", ()) if isinstance(b, dict)]
            expected = next((b["x-expected"] for b in branches if "x-expected" in b), None)
        if expected is None:
            types = node.get("type", ())
            expected = " or ".join(_WORDS[t] for t in ((types,) if isinstance(types, str) else types)) or "a value"
        got = describe(value)
        if node.get("x-convert") == "number" and keyword != "type" and _number(value) is not None:
            got = repr(_number(value))  # in range terms: "expected a number > 0, got -1.0"
        return f"expected {expected}, got {got}"
