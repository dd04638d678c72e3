"""InfluxQL tokenizer and parser for the subset the mock data source answers.

The mock must understand what ligo-scald (and our own InfluxDB backend) sends, and must refuse everything else with
a message rather than guess. ligo-scald's own mock split queries on substrings (``'LIMIT' in query``), so a tag value
containing ``AND`` or a quote broke it; this is a real tokenizer with InfluxDB's lexical rules:

* identifiers: bare ``[A-Za-z_][A-Za-z0-9_]*`` or double-quoted (``"job id"``); keywords are bare identifiers
  compared case-insensitively, so a quoted identifier is never a keyword;
* strings: single-quoted;
* inside either kind of quotes the escapes are ``\\\\``, ``\\"``, ``\\'`` and ``\\n``; any other escape, a raw newline
  or a missing closing quote is an error (as in ``influxd``);
* numbers (``12``, ``1.5``), durations (``10s``, ``1h30m``; units ns u µ ms s m h d w), ``--`` and ``/* */``
  comments.

The parser builds small frozen dataclasses; ``str()`` of a statement renders it back to InfluxQL, and parsing that
text gives an equal statement (the property the tests check with hypothesis). What the statements *mean* is the
business of :mod:`scald_monitor.mock.answer`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Union

__all__ = [
    "AdminStatement",
    "BinaryExpr",
    "InfluxQLError",
    "Literal",
    "SelectField",
    "SelectStatement",
    "ShowStatement",
    "Source",
    "Token",
    "VarRef",
    "parse_query",
    "quote_ident",
    "quote_string",
    "tokenize",
]

#: Nanoseconds per duration unit.
DURATION_UNITS = {
    "ns": 1, "u": 1_000, "µ": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
    "d": 86400 * 10**9, "w": 7 * 86400 * 10**9,
}
#: Units tried longest first, so ``10ms`` is not ``10m`` followed by ``s``.
_UNITS_BY_LENGTH = sorted(DURATION_UNITS, key=len, reverse=True)

#: Operators and punctuation, longest first.
_OPERATORS = ("!=", "<>", "<=", ">=", "=~", "!~", "::", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", ".",
              ";")
_ESCAPES = {"n": "\n", "\\": "\\", "'": "'", '"': '"'}
COMPARISONS = ("=", "!=", "<>", "<", "<=", ">", ">=")

#: Functions the mock evaluates in a SELECT list (all take one field).
FUNCTIONS = ("count", "first", "last", "max", "mean", "median", "min", "sum")
#: Functions that pick one point, so a lone one keeps that point's time (InfluxDB's "selectors").
SELECTORS = ("first", "last", "max", "min")

#: Bare words that cannot be used unquoted as identifiers (InfluxQL's reserved words).
KEYWORDS = frozenset("""
    ALL ALTER ANALYZE ANY AS ASC BEGIN BY CARDINALITY CREATE CONTINUOUS DATABASE DATABASES DEFAULT DELETE DESC
    DESTINATIONS DIAGNOSTICS DISTINCT DROP DURATION END EVERY EXACT EXPLAIN FIELD FOR FROM GRANT GRANTS GROUP GROUPS
    IN INF INSERT INTO KEY KEYS KILL LIMIT MEASUREMENT MEASUREMENTS NAME OFFSET ON ORDER PASSWORD POLICIES POLICY
    PRIVILEGES QUERIES QUERY READ REPLICATION RESAMPLE RETENTION REVOKE SELECT SERIES SET SHARD SHARDS SLIMIT SOFFSET
    STATS SUBSCRIPTION SUBSCRIPTIONS TAG TO USER USERS VALUES WHERE WITH WRITE AND OR TRUE FALSE
""".split())


class InfluxQLError(ValueError):
    """A query the mock cannot parse or does not support. The message is what the HTTP client sees."""


# ---------------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    """One lexical token. ``text`` is decoded: a quoted identifier or string without quotes and escapes."""

    kind: str  # ident | qident | string | number | duration | op | eof
    text: str
    pos: int
    value: int | float | None = None  # numbers: their value; durations: nanoseconds

    def describe(self) -> str:
        """How error messages show the token (``found ...``)."""
        if self.kind == "eof":
            return "EOF"
        if self.kind == "string":
            return quote_string(self.text)
        if self.kind == "qident":
            return quote_ident(self.text)
        return self.text


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    char = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, char {char}"


def _scan_quoted(text: str, i: int) -> tuple[str, int]:
    """The decoded contents of the quoted token starting at ``text[i]`` and the index after its closing quote."""
    quote, j, buf = text[i], i + 1, []
    what = "identifier" if quote == '"' else "string"
    while True:
        if j >= len(text):
            raise InfluxQLError(f"error parsing query: unterminated {what} at {_where(text, i)}")
        ch = text[j]
        if ch == quote:
            return "".join(buf), j + 1
        if ch == "\n":
            raise InfluxQLError(f"error parsing query: newline in {what} (write it as \\n) at {_where(text, j)}")
        if ch == "\\":
            escaped = text[j + 1] if j + 1 < len(text) else ""
            if escaped not in _ESCAPES:
                raise InfluxQLError(f"error parsing query: bad escape \\{escaped} in {what} at {_where(text, j)}")
            buf.append(_ESCAPES[escaped])
            j += 2
            continue
        buf.append(ch)
        j += 1


def _is_ident_start(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_ident_char(ch: str) -> bool:
    return _is_ident_start(ch) or ch.isdigit() and ch.isascii()


def _scan_number(text: str, i: int) -> tuple[Token, int]:
    """A number, or a duration when a unit follows an integer (``10s``, ``1h30m``)."""
    j = i
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    is_float = j < len(text) and text[j] == "." and j + 1 < len(text) and text[j + 1].isdigit()
    if is_float:
        j += 1
        while j < len(text) and text[j].isascii() and text[j].isdigit():
            j += 1
        return Token("number", text[i:j], i, float(text[i:j])), j
    unit = next((u for u in _UNITS_BY_LENGTH if text.startswith(u, j)), None)
    if unit is None:
        if j < len(text) and _is_ident_char(text[j]):
            raise InfluxQLError(f"error parsing query: invalid number or duration at {_where(text, i)}")
        return Token("number", text[i:j], i, int(text[i:j])), j
    total = 0
    while True:  # compound durations: 1h30m
        total += int(text[i if total == 0 else start:j]) * DURATION_UNITS[unit]
        j += len(unit)
        start = j
        while j < len(text) and text[j].isascii() and text[j].isdigit():
            j += 1
        if j == start:
            break
        unit = next((u for u in _UNITS_BY_LENGTH if text.startswith(u, j)), None)
        if unit is None:
            raise InfluxQLError(f"error parsing query: invalid duration at {_where(text, i)}")
    if j < len(text) and _is_ident_char(text[j]):
        raise InfluxQLError(f"error parsing query: invalid duration at {_where(text, i)}")
    return Token("duration", text[i:j], i, total), j


def tokenize(text: str) -> list[Token]:
    """Split InfluxQL into tokens (ending with an ``eof`` token); raise :class:`InfluxQLError` on bad input."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise InfluxQLError(f"error parsing query: unterminated comment at {_where(text, i)}")
            i = end + 2
        elif ch in "\"'":
            value, j = _scan_quoted(text, i)
            tokens.append(Token("qident" if ch == '"' else "string", value, i))
            i = j
        elif ch.isascii() and ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isascii()
                                               and text[i + 1].isdigit()):
            if ch == ".":  # ".5"
                j = i + 1
                while j < n and text[j].isascii() and text[j].isdigit():
                    j += 1
                tokens.append(Token("number", text[i:j], i, float(text[i:j])))
                i = j
            else:
                token, i = _scan_number(text, i)
                tokens.append(token)
        elif _is_ident_start(ch):
            j = i + 1
            while j < n and _is_ident_char(text[j]):
                j += 1
            tokens.append(Token("ident", text[i:j], i))
            i = j
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise InfluxQLError(f"error parsing query: unexpected character {ch!r} at {_where(text, i)}")
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("eof", "", n))
    return tokens


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted InfluxQL identifier (always quoted, so keywords and odd characters are safe)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def quote_string(value: str) -> str:
    """``value`` as a single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


# ------------------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class VarRef:
    """A tag, field or ``time`` named in a condition."""

    name: str

    def __str__(self) -> str:
        return quote_ident(self.name)


@dataclass(frozen=True)
class Literal:
    """A constant: ``kind`` is string, number (int or float ``value``), duration (ns), bool or now (``now()``)."""

    kind: str
    value: str | int | float | bool | None = None

    def __str__(self) -> str:
        if self.kind == "string":
            return quote_string(self.value)
        if self.kind == "duration":
            return f"{self.value}ns"
        if self.kind == "now":
            return "now()"
        if self.kind == "bool":
            return "true" if self.value else "false"
        if isinstance(self.value, float):  # InfluxQL has no exponent notation: write 1e-05 as 0.00001
            text = format(Decimal(repr(self.value)), "f")
            return text if "." in text else text + ".0"
        return str(self.value)


@dataclass(frozen=True)
class BinaryExpr:
    """``lhs op rhs`` where op is AND, OR, a comparison, ``+`` or ``-``."""

    op: str
    lhs: "Expr"
    rhs: "Expr"

    def __str__(self) -> str:
        return f"({self.lhs} {self.op} {self.rhs})"


Expr = Union[VarRef, Literal, BinaryExpr]


@dataclass(frozen=True)
class Source:
    """``"db"."rp"."measurement"``; database and retention policy are None when not given (``"db".."m"``)."""

    measurement: str
    database: str | None = None
    retention_policy: str | None = None

    def __str__(self) -> str:
        if self.database is not None:
            rp = quote_ident(self.retention_policy) if self.retention_policy is not None else ""
            return f"{quote_ident(self.database)}.{rp}.{quote_ident(self.measurement)}"
        if self.retention_policy is not None:
            return f"{quote_ident(self.retention_policy)}.{quote_ident(self.measurement)}"
        return quote_ident(self.measurement)


@dataclass(frozen=True)
class SelectField:
    """One column of a SELECT: a field or tag ``name``, optionally inside ``function(...)``; or the ``*`` wildcard
    (``wildcard`` true; a field really called "*" is a quoted name, not a wildcard)."""

    name: str
    function: str | None = None
    alias: str | None = None
    wildcard: bool = False

    @property
    def column(self) -> str:
        """The column name InfluxDB gives it: the alias, else the function's name, else the field's."""
        return self.alias or self.function or self.name

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        text = quote_ident(self.name)
        if self.function:
            text = f"{self.function}({text})"
        return f"{text} AS {quote_ident(self.alias)}" if self.alias else text


@dataclass(frozen=True)
class SelectStatement:
    """``SELECT fields FROM source [WHERE condition] [GROUP BY tags] [ORDER BY time DESC] [LIMIT n] [OFFSET n]``.

    ``group_by`` holds tag names, or ``("*",)`` for every tag.
    """

    fields: tuple[SelectField, ...]
    source: Source
    condition: Expr | None = None
    group_by: tuple[str, ...] = ()
    descending: bool = False
    limit: int | None = None
    offset: int = 0

    def __str__(self) -> str:
        text = f"SELECT {', '.join(map(str, self.fields))} FROM {self.source}"
        if self.condition is not None:
            text += f" WHERE {self.condition}"
        if self.group_by:
            text += " GROUP BY " + ", ".join("*" if g == "*" else quote_ident(g) for g in self.group_by)
        if self.descending:
            text += " ORDER BY time DESC"
        if self.limit is not None:
            text += f" LIMIT {self.limit}"
        if self.offset:
            text += f" OFFSET {self.offset}"
        return text


@dataclass(frozen=True)
class ShowStatement:
    """``SHOW DATABASES|MEASUREMENTS|TAG KEYS|FIELD KEYS|TAG VALUES|RETENTION POLICIES`` with ON/FROM/WITH KEY."""

    what: str  # "DATABASES", "MEASUREMENTS", "TAG KEYS", "FIELD KEYS", "TAG VALUES", "RETENTION POLICIES"
    database: str | None = None
    source: Source | None = None
    keys: tuple[str, ...] = ()  # TAG VALUES: WITH KEY = k / IN (k1, k2)

    def __str__(self) -> str:
        text = f"SHOW {self.what}"
        if self.database is not None:
            text += f" ON {quote_ident(self.database)}"
        if self.source is not None:
            text += f" FROM {self.source}"
        if self.what == "TAG VALUES":
            if len(self.keys) == 1:
                text += f" WITH KEY = {quote_ident(self.keys[0])}"
            else:
                text += " WITH KEY IN (" + ", ".join(map(quote_ident, self.keys)) + ")"
        return text


@dataclass(frozen=True)
class AdminStatement:
    """CREATE/ALTER/DROP of a database or retention policy: accepted and ignored by the stateless mock."""

    action: str  # e.g. "CREATE DATABASE"
    text: str  # the statement as written

    def __str__(self) -> str:
        return self.text


Statement = Union[SelectStatement, ShowStatement, AdminStatement]


# ---------------------------------------------------------------------------------------------------- parser


def _unsupported(what: str) -> InfluxQLError:
    return InfluxQLError(f"not supported by the scald mock: {what}")


class _Parser:
    """Recursive descent over the token list; one instance per query string."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def error(self, expected: str, token: Token | None = None) -> InfluxQLError:
        token = token or self.peek()
        return InfluxQLError(
            f"error parsing query: found {token.describe()}, expected {expected} at {_where(self.text, token.pos)}"
        )

    def is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "ident" and token.text.upper() == word

    def accept_keyword(self, word: str) -> bool:
        if self.is_keyword(word):
            self.advance()
            return True
        return False

    def expect_keyword(self, *words: str) -> None:
        for word in words:
            if not self.accept_keyword(word):
                raise self.error(word)

    def is_op(self, op: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "op" and token.text == op

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.advance()
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error(op)

    def identifier(self, what: str = "identifier") -> str:
        token = self.peek()
        if token.kind == "qident" or token.kind == "ident" and token.text.upper() not in KEYWORDS:
            self.advance()
            return token.text
        raise self.error(what)

    def integer(self, what: str) -> int:
        token = self.peek()
        if token.kind == "number" and isinstance(token.value, int):
            self.advance()
            return token.value
        raise self.error(what)

    # -- statements
    def query(self) -> list[Statement]:
        statements: list[Statement] = []
        while True:
            while self.accept_op(";"):
                pass
            if self.peek().kind == "eof":
                break
            statements.append(self.statement())
            if self.peek().kind != "eof" and not self.is_op(";"):
                raise self.error("; or EOF")
        if not statements:
            raise InfluxQLError("error parsing query: empty query")
        return statements

    def statement(self) -> Statement:
        if self.is_keyword("SELECT"):
            return self.select()
        if self.is_keyword("SHOW"):
            return self.show()
        if self.is_keyword("CREATE") or self.is_keyword("DROP") or self.is_keyword("ALTER"):
            return self.admin()
        token = self.peek()
        if token.kind == "ident" and token.text.upper() in ("DELETE", "EXPLAIN", "GRANT", "REVOKE", "SET", "KILL"):
            raise _unsupported(f"{token.text.upper()} statements (the mock is read-only and stateless)")
        raise self.error("SELECT, SHOW, CREATE, DROP or ALTER")

    def admin(self) -> AdminStatement:
        start = self.peek().pos
        verb = self.advance().text.upper()
        if self.accept_keyword("DATABASE") and verb != "ALTER":
            action = f"{verb} DATABASE"
            self.identifier("database name")
        elif self.accept_keyword("RETENTION"):
            self.expect_keyword("POLICY")
            action = f"{verb} RETENTION POLICY"
            self.identifier("retention policy name")
            self.expect_keyword("ON")
            self.identifier("database name")
        else:
            raise _unsupported(f"{verb} {self.peek().describe()} (only DATABASE and RETENTION POLICY)")
        while self.peek().kind != "eof" and not self.is_op(";"):  # WITH DURATION ..., REPLICATION ..., DEFAULT
            self.advance()
        end = self.peek().pos
        return AdminStatement(action, self.text[start:end].strip())

    def show(self) -> ShowStatement:
        self.expect_keyword("SHOW")
        if self.accept_keyword("DATABASES"):
            return ShowStatement("DATABASES")
        if self.accept_keyword("MEASUREMENTS"):
            what = "MEASUREMENTS"
        elif self.is_keyword("TAG") and (self.is_keyword("KEYS", 1) or self.is_keyword("VALUES", 1)):
            self.advance()
            what = "TAG " + self.advance().text.upper()
        elif self.is_keyword("FIELD") and self.is_keyword("KEYS", 1):
            self.advance()
            self.advance()
            what = "FIELD KEYS"
        elif self.is_keyword("RETENTION") and self.is_keyword("POLICIES", 1):
            self.advance()
            self.advance()
            what = "RETENTION POLICIES"
        else:
            raise _unsupported(f"SHOW {self.peek().describe()} (the mock answers SHOW DATABASES, MEASUREMENTS, "
                               "TAG KEYS, FIELD KEYS, TAG VALUES and RETENTION POLICIES)")
        database = self.identifier("database name") if self.accept_keyword("ON") else None
        source = None
        if what in ("TAG KEYS", "FIELD KEYS", "TAG VALUES") and self.accept_keyword("FROM"):
            source = self.source()
        keys: tuple[str, ...] = ()
        if what == "TAG VALUES":
            self.expect_keyword("WITH", "KEY")
            if self.accept_op("="):
                keys = (self.identifier("tag key"),)
            elif self.accept_keyword("IN"):
                self.expect_op("(")
                names = [self.identifier("tag key")]
                while self.accept_op(","):
                    names.append(self.identifier("tag key"))
                self.expect_op(")")
                keys = tuple(names)
            elif self.is_op("=~") or self.is_op("!=") or self.is_op("!~") or self.is_op("<>"):
                raise _unsupported(f"WITH KEY {self.peek().text} (use = or IN)")
            else:
                raise self.error("= or IN")
        for word in ("WHERE", "WITH", "LIMIT", "OFFSET", "ORDER"):
            if self.is_keyword(word):
                raise _unsupported(f"{word} in SHOW {what}")
        return ShowStatement(what, database, source, keys)

    def select(self) -> SelectStatement:
        self.expect_keyword("SELECT")
        fields = [self.select_field()]
        while self.accept_op(","):
            fields.append(self.select_field())
        if self.is_keyword("INTO"):
            raise _unsupported("SELECT ... INTO (the mock is read-only)")
        self.expect_keyword("FROM")
        source = self.source()
        if self.is_op(","):
            raise _unsupported("more than one measurement in FROM")
        condition = self.expression() if self.accept_keyword("WHERE") else None
        group_by: tuple[str, ...] = ()
        if self.accept_keyword("GROUP"):
            self.expect_keyword("BY")
            group_by = tuple(self.dimensions())
        if self.is_keyword("FILL"):
            raise _unsupported("fill() (it only applies to GROUP BY time())")
        descending = False
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            if not self.is_keyword("TIME"):
                raise self.error("time (only ORDER BY time is supported)")
            self.advance()
            if self.accept_keyword("DESC"):
                descending = True
            else:
                self.accept_keyword("ASC")
        limit = self.integer("LIMIT count") if self.accept_keyword("LIMIT") else None
        offset = self.integer("OFFSET count") if self.accept_keyword("OFFSET") else 0
        for word in ("SLIMIT", "SOFFSET", "TZ"):
            if self.is_keyword(word):
                raise _unsupported(word)
        return SelectStatement(tuple(fields), source, condition, group_by, descending, limit, offset)

    def select_field(self) -> SelectField:
        if self.accept_op("*"):
            return SelectField("*", wildcard=True)
        token = self.peek()
        function = None
        if token.kind == "ident" and self.is_op("(", 1):
            function = token.text.lower()
            if function not in FUNCTIONS:
                raise _unsupported(f"function {token.text}() (supported: {', '.join(FUNCTIONS)})")
            self.advance()
            self.advance()
            if self.is_op("*") or self.is_op("/"):
                raise _unsupported(f"{function}() of a wildcard or regex; name one field")
            name = self.identifier("field name")
            self.expect_op(")")
        else:
            name = self.identifier("field name, function or *")
        if self.is_op("::"):
            raise _unsupported(":: type casts")
        if self.peek().kind == "op" and self.peek().text in "+-*/%":
            raise _unsupported("arithmetic in SELECT")
        alias = self.identifier("alias") if self.accept_keyword("AS") else None
        return SelectField(name, function, alias)

    def source(self) -> Source:
        if self.is_op("/"):
            raise _unsupported("regular expressions in FROM")
        if self.is_op("("):
            raise _unsupported("subqueries")
        parts = [self.identifier("measurement")]
        while self.accept_op("."):
            if self.is_op("."):  # "db".."m": default retention policy
                parts.append(None)
                continue
            parts.append(self.identifier("measurement"))
        if len(parts) > 3 or parts[-1] is None:
            raise self.error("measurement")
        if len(parts) == 1:
            return Source(parts[0])
        if len(parts) == 2:
            if parts[0] is None:
                raise self.error("measurement")
            return Source(parts[1], retention_policy=parts[0])
        return Source(parts[2], database=parts[0], retention_policy=parts[1])

    def dimensions(self) -> list[str]:
        names = []
        while True:
            if self.accept_op("*"):
                names.append("*")
            elif self.is_keyword("TIME") and self.is_op("(", 1):
                raise _unsupported('GROUP BY time() (query a retention policy "<dt>s" for decimated data)')
            elif self.is_op("/"):
                raise _unsupported("regular expressions in GROUP BY")
            else:
                name = self.identifier("tag key or *")
                if name == "*":  # "*" in group_by means every tag; a tag really called "*" cannot be told apart
                    raise _unsupported('GROUP BY a tag named "*"')
                names.append(name)
            if not self.accept_op(","):
                return names

    # -- expressions (WHERE)
    def expression(self) -> Expr:
        expr = self.conjunction()
        while self.accept_keyword("OR"):
            expr = BinaryExpr("OR", expr, self.conjunction())
        return expr

    def conjunction(self) -> Expr:
        expr = self.comparison()
        while self.accept_keyword("AND"):
            expr = BinaryExpr("AND", expr, self.comparison())
        return expr

    def comparison(self) -> Expr:
        lhs = self.additive()
        token = self.peek()
        if token.kind == "op" and token.text in ("=~", "!~"):
            raise _unsupported("regular expression matches (=~, !~)")
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            return BinaryExpr(token.text, lhs, self.additive())
        return lhs

    def additive(self) -> Expr:
        expr = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.advance().text
            expr = BinaryExpr(op, expr, self.unary())
        if self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            raise _unsupported(f"operator {self.peek().text} in WHERE")
        return expr

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind == "op" and token.text == "-" and self.peek(1).kind in ("number", "duration"):
            self.advance()
            inner = self.advance()
            return Literal(inner.kind, -inner.value)
        if self.accept_op("("):
            expr = self.expression()
            self.expect_op(")")
            return expr
        if token.kind == "string":
            self.advance()
            return Literal("string", token.text)
        if token.kind in ("number", "duration"):
            self.advance()
            return Literal(token.kind, token.value)
        if token.kind == "ident" and token.text.lower() == "now" and self.is_op("(", 1):
            self.advance()
            self.advance()
            self.expect_op(")")
            return Literal("now")
        if token.kind == "ident" and token.text.upper() in ("TRUE", "FALSE"):
            self.advance()
            return Literal("bool", token.text.upper() == "TRUE")
        if token.kind == "ident" and self.is_op("(", 1):
            raise _unsupported(f"function {token.text}() in WHERE (only now())")
        if token.kind == "op" and token.text == "/":
            raise _unsupported("regular expressions")
        return VarRef(self.identifier("identifier, string, number, duration or now()"))


def parse_query(text: str) -> list[Statement]:
    """Parse one or more ``;``-separated statements; raise :class:`InfluxQLError` with InfluxDB-style messages."""
    return _Parser(text).query()
