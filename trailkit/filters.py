"""CloudWatch Logs metric-filter patterns, tested locally on loaded CloudTrail events.

When a trail sends its events to CloudWatch Logs, a *metric filter* turns matching events
into a metric and a CloudWatch *alarm* on that metric notifies you (SNS e-mail, chat, ...):
CloudTrail stops being a passive record and becomes an alarm. The filters use CloudWatch's
JSON pattern syntax, e.g. ``{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type =
"Root") }``. :func:`filter_pattern` parses that syntax and evaluates it as one vectorised
polars expression over a frame from :func:`trailkit.read_events`, so a pattern can be
tested against real or sample events before it is deployed; :func:`cis_filters` holds the
CIS AWS Foundations Benchmark filters; :func:`trailkit.aws.create_alarm` deploys one.

Semantics (CloudWatch's, as documented in the CloudWatch Logs user guide "Filter and pattern
syntax" and checked against AWS's "test pattern" behaviour where the guide is silent):

* string comparison is exact and case-sensitive; ``*`` at the start and/or end of a value is
  a wildcard (``"*UnauthorizedOperation"``, ``AccessDenied*``, ``123.123.*``); a ``*`` in the
  middle is a literal star; ``= *`` alone means "has a value";
* ``%regex%`` values match when the regular expression is found anywhere in the value;
* a bare number (``= 400``, ``>= 1e3``) compares numerically (``=``/``!=`` also match the same
  text); ``<``, ``>``, ``<=``, ``>=`` need a number;
* the selector must point to a value (string, number, boolean): if the field is missing,
  null, an object or an array, **both** ``=`` and ``!=`` are false. So
  ``$.additionalEventData.MFAUsed != "Yes"`` does *not* match an event without ``MFAUsed``
  (AWS's own test-pattern tool behaves this way; see DataBiosphere/azul#5884);
* ``IS NULL`` (JSON null), ``IS TRUE`` / ``IS FALSE`` (JSON booleans), ``NOT EXISTS`` (absent);
* precedence ``()`` > ``&&`` > ``||``: ``A || B && C`` is ``A || (B && C)``
  (:meth:`FilterPattern.explain` prints the grouping).

How fields are read from a normalised frame (the raw record is not kept whole):
``$.userIdentity…``, ``$.requestParameters…``, ``$.responseElements…``,
``$.additionalEventData…``, ``$.resources…`` (and the other raw blocks) are read from the raw
JSON text columns; top-level scalars from their columns (``$.eventName`` → ``event_name``,
``$.sourceIPAddress`` → ``source_ip``, ``$.eventTime`` → ``event_time`` as
``YYYY-MM-DDTHH:MM:SSZ``, booleans such as ``$.readOnly`` → ``read_only``); any other
top-level field from ``extra_fields``. Differences from CloudWatch that follow from the
normalisation: an empty ``errorCode``/``errorMessage`` counts as absent; a raw block that
was JSON ``null`` counts as absent when the loader stored it as null; boolean columns accept
``"true"``/``"false"`` strings as booleans; and an array element that is a *string holding
JSON* is read as that JSON.

Examples
--------
>>> import trailkit
>>> root = trailkit.filter_pattern('{ $.userIdentity.type = "Root" && $.eventName = ConsoleLogin }')
>>> df = trailkit.normalize_records([{"eventTime": "2026-03-10T14:05:32Z",
...     "eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "eventID": "1",
...     "userIdentity": {"type": "Root", "accountId": "111122223333"}}])
>>> root.matches(df).to_list()
[True]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from trailkit.errors import InputError
from trailkit.schema import COLUMNS, RAW_COLUMNS

__all__ = [
    "FilterPattern",
    "FilterPatternError",
    "cis_filters",
    "cis_summary",
    "filter_pattern",
]

#: CloudWatch's limit on the length of a filter pattern (botocore logs model)
MAX_PATTERN_LENGTH = 1024
#: CloudWatch's limit on regular expressions in one filter pattern
MAX_REGEX_PER_PATTERN = 2


class FilterPatternError(InputError):
    """A pattern that CloudWatch would reject; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, pattern: str, position: int):
        self.pattern = pattern
        self.position = position
        caret = " " * (position + 2) + "^"
        super().__init__(
            f"invalid filter pattern at position {position}: {message}\n  {pattern}\n{caret}"
        )


# --------------------------------------------------------------------------------------------
# syntax tree


@dataclass(frozen=True)
class Selector:
    """``$.a.b[0].c`` → ``("a", "b", 0, "c")``."""

    text: str
    parts: tuple[str | int, ...]
    position: int


@dataclass(frozen=True)
class Value:
    """The right-hand side of a comparison."""

    text: str  # as written (without quotes or %)
    kind: str  # "string", "number", "regex", "any"
    position: int
    quoted: bool = False
    number: float | None = None


@dataclass(frozen=True)
class Comparison:
    selector: Selector
    op: str  # = != < > <= >=
    value: Value

    def render(self) -> str:
        v = self.value
        text = (
            f"%{v.text}%" if v.kind == "regex" else (f'"{_escape(v.text)}"' if v.quoted else v.text)
        )
        return f"{self.selector.text} {self.op} {text}"


@dataclass(frozen=True)
class Predicate:
    selector: Selector
    test: str  # "IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"

    def render(self) -> str:
        return f"{self.selector.text} {self.test}"


@dataclass(frozen=True)
class BoolOp:
    op: str  # "&&" or "||"
    items: tuple[Any, ...]

    def render(self) -> str:
        return "(" + f" {self.op} ".join(i.render() for i in self.items) + ")"


@dataclass(frozen=True)
class MatchAll:
    def render(self) -> str:
        return "<every event>"


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


# --------------------------------------------------------------------------------------------
# tokenizer and parser

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BARE_STOP = set(' \t\r\n(){}&|=!<>"%')
_REGEX_OK = re.compile(r"[A-Za-z0-9:_#=@/;,\-^$?\[\]{}|\\*+. ]*")
_KEYWORDS = {"IS", "NOT", "NULL", "TRUE", "FALSE", "EXISTS"}


@dataclass
class _Tok:
    kind: str  # { } ( ) && || op sel str regex word end
    text: str
    pos: int
    extra: Any = None


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if c in "{}()":
            toks.append(_Tok(c, c, i))
            i += 1
        elif src.startswith("&&", i) or src.startswith("||", i):
            toks.append(_Tok(src[i : i + 2], src[i : i + 2], i))
            i += 2
        elif c in "&|":
            raise FilterPatternError(f"'{c}' alone is not an operator; use '{c * 2}'", src, i)
        elif src.startswith(("!=", "<=", ">="), i):
            toks.append(_Tok("op", src[i : i + 2], i))
            i += 2
        elif c in "=<>":
            toks.append(_Tok("op", c, i))
            i += 1
        elif c == "!":
            raise FilterPatternError(
                "'!' must be followed by '=' (CloudWatch has no '!' for NOT)", src, i
            )
        elif c == "$":
            j = i + 1
            parts: list[str | int] = []
            while j < n and src[j] in ".[":
                if src[j] == ".":
                    m = _NAME.match(src, j + 1)
                    if not m:
                        raise FilterPatternError(
                            "expected a property name after '.' (letters, digits, '-' or '_')",
                            src,
                            j + 1,
                        )
                    parts.append(m.group())
                    j = m.end()
                else:
                    m = re.compile(r"\[(\d+)\]").match(src, j)
                    if not m:
                        raise FilterPatternError("expected an array index like [0]", src, j)
                    if not parts:
                        raise FilterPatternError(
                            "an array index must follow a property, e.g. $.items[0]", src, j
                        )
                    parts.append(int(m.group(1)))
                    j = m.end()
            if not parts:
                raise FilterPatternError(
                    "a selector starts with '$.' followed by a property name, e.g. $.eventName",
                    src,
                    i,
                )
            if j < n and not (src[j].isspace() or src[j] in "=!<>)&|}"):
                raise FilterPatternError(
                    f"unexpected character {src[j]!r} in the selector (property names "
                    "use letters, digits, '-' and '_')",
                    src,
                    j,
                )
            toks.append(_Tok("sel", src[i:j], i, tuple(parts)))
            i = j
        elif c == '"':
            j = i + 1
            buf = []
            while j < n and src[j] != '"':
                if src[j] == "\\" and j + 1 < n:
                    buf.append(src[j + 1])
                    j += 2
                else:
                    buf.append(src[j])
                    j += 1
            if j >= n:
                raise FilterPatternError(
                    "this quoted string is never closed; add the closing '\"'", src, i
                )
            toks.append(_Tok("str", "".join(buf), i))
            i = j + 1
        elif c == "%":
            j = src.find("%", i + 1)
            if j < 0:
                raise FilterPatternError(
                    "this regular expression is never closed; add the closing '%'", src, i
                )
            body = src[i + 1 : j]
            bad = next((k for k, ch in enumerate(body) if not _REGEX_OK.fullmatch(ch)), None)
            if bad is not None:
                why = (
                    "CloudWatch regexes cannot use ( ) groups"
                    if body[bad] in "()"
                    else f"{body[bad]!r} is not allowed in a CloudWatch regex"
                )
                raise FilterPatternError(why, src, i + 1 + bad)
            try:
                re.compile(body)
            except re.error as exc:
                raise FilterPatternError(
                    f"not a valid regular expression ({exc})", src, i + 1
                ) from exc
            toks.append(_Tok("regex", body, i))
            i = j + 1
        else:
            j = i
            while j < n and src[j] not in _BARE_STOP:
                j += 1
            word = src[i:j]
            toks.append(_Tok("word", word, i))
            i = j
    toks.append(_Tok("end", "", n))
    return toks


class _Parser:
    def __init__(self, src: str):
        self.src = src
        self.toks = _tokenize(src)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, message: str, tok: _Tok | None = None) -> FilterPatternError:
        return FilterPatternError(message, self.src, (tok or self.tok).pos)

    def parse(self) -> Any:
        if self.tok.kind == "end":
            return MatchAll()
        if self.tok.kind != "{":
            raise self.fail(
                "only JSON filter patterns are supported here: wrap the pattern in { }, e.g. "
                '{ $.eventName = "ConsoleLogin" }'
            )
        self.take()
        if self.tok.kind == "}":
            raise self.fail(
                "the pattern is empty; put a condition such as $.eventName = ConsoleLogin "
                "inside the braces"
            )
        tree = self.parse_or()
        if self.tok.kind != "}":
            raise self.fail(f"expected '&&', '||' or the closing '}}', found {self._found()}")
        self.take()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self._found()} after the closing '}}'")
        return tree

    def _found(self) -> str:
        t = self.tok
        return "the end of the pattern" if t.kind == "end" else repr(t.text)

    def parse_or(self) -> Any:
        items = [self.parse_and()]
        while self.tok.kind == "||":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("||", tuple(items))

    def parse_and(self) -> Any:
        items = [self.parse_primary()]
        while self.tok.kind == "&&":
            self.take()
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else BoolOp("&&", tuple(items))

    def parse_primary(self) -> Any:
        if self.tok.kind == "(":
            open_tok = self.take()
            inner = self.parse_or()
            if self.tok.kind != ")":
                raise self.fail(
                    f"expected ')' to close the '(' at position {open_tok.pos}, found {self._found()}"
                )
            self.take()
            return inner
        if self.tok.kind != "sel":
            raise self.fail(
                f"expected a selector such as $.eventName or '(', found {self._found()}"
            )
        t = self.take()
        sel = Selector(t.text, t.extra, t.pos)
        nxt = self.tok
        if nxt.kind == "op":
            self.take()
            return Comparison(sel, nxt.text, self.parse_value(nxt.text, nxt))
        word = nxt.text.upper() if nxt.kind == "word" else ""
        if word == "IS":
            self.take()
            what = self.tok.text.upper() if self.tok.kind == "word" else ""
            if what in ("NULL", "TRUE", "FALSE"):
                self.take()
                return Predicate(sel, f"IS {what}")
            if what == "NOT":
                raise self.fail("'IS NOT' is not supported by CloudWatch; use != or NOT EXISTS")
            raise self.fail(f"expected NULL, TRUE or FALSE after IS, found {self._found()}")
        if word == "NOT":
            self.take()
            if self.tok.kind == "word" and self.tok.text.upper() == "EXISTS":
                self.take()
                return Predicate(sel, "NOT EXISTS")
            raise self.fail(f"expected EXISTS after NOT, found {self._found()}")
        if word == "EXISTS":
            raise self.fail(
                "'EXISTS' is not supported by CloudWatch; use '= *' for \"has a value\""
            )
        raise self.fail(
            f"expected an operator (=, !=, <, >, <=, >=), IS NULL/TRUE/FALSE or NOT EXISTS after "
            f"{sel.text}, found {self._found()}"
        )

    def parse_value(self, op: str, op_tok: _Tok) -> Value:
        t = self.tok
        if t.kind == "str":
            self.take()
            return self._check(
                op, Value(t.text, "any" if t.text == "*" else "string", t.pos, quoted=True), t
            )
        if t.kind == "regex":
            self.take()
            if op not in ("=", "!="):
                raise self.fail("a %regex% can only be compared with = or !=", t)
            return Value(t.text, "regex", t.pos)
        if t.kind == "word" and t.text:
            self.take()
            if _NUMBER.fullmatch(t.text):
                return Value(t.text, "number", t.pos, number=float(t.text))
            if t.text.strip("*") == "" or t.text == "*":
                return self._check(op, Value("*", "any", t.pos), t)
            return self._check(op, Value(t.text, "string", t.pos), t)
        raise self.fail(f"expected a value after '{op_tok.text}', found {self._found()}")

    def _check(self, op: str, v: Value, t: _Tok) -> Value:
        if op not in ("=", "!="):
            raise self.fail(f"'{op}' compares numbers; {t.text!r} is not a number", t)
        return v


# --------------------------------------------------------------------------------------------
# fields: selector -> typed polars expressions over the normalised frame

# top-level CloudTrail field -> column, from the schema (single-name sources only)
_RAW_SOURCES: dict[str, str] = {
    c.source: c.name for c in COLUMNS.values() if c.name in RAW_COLUMNS and c.source
}
_SCALAR_SOURCES: dict[str, str] = {
    c.source: c.name
    for c in COLUMNS.values()
    if c.source and "." not in c.source and c.name not in RAW_COLUMNS
}
_EXTRA = "extra_fields"
# constants tied to the frame's length (a bare pl.lit would be one row in a select or a sum)
_FALSE = pl.first().is_null() & pl.lit(False)
_TRUE = pl.first().is_null() | pl.lit(True)


def _path(parts: tuple[str | int, ...], root: str = "$") -> str:
    return root + "".join(f"[{p}]" if isinstance(p, int) else f'["{p}"]' for p in parts)


def _wrap(text: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('{"v":'), text, pl.lit("}")])


def _found(text: pl.Expr, path: str) -> pl.Expr:
    return text.str.json_path_match(path).is_not_null()


class _Field:
    """Typed views of one selector's value, each a polars expression (built on first use).

    JSON is parsed with ``str.json_path_match``; the type tests CloudWatch needs (is the value
    a string, a boolean, present-but-null?) use jsonpath filter expressions on a wrapped copy,
    and only on the rows where the answer is still open, so most rows are parsed once.
    ``stage`` (a dict) collects the parsed value as a temporary column for two-stage evaluation.
    """

    def __init__(self, parts: tuple[str | int, ...], stage: dict[str, pl.Expr] | None = None):
        self.parts = parts
        head = parts[0]
        if not isinstance(head, str):  # pragma: no cover - the parser guarantees a name first
            raise InputError("a selector starts with a property name")
        self.kind = "json"
        if head in _RAW_SOURCES:
            self.column, self.rest = _RAW_SOURCES[head], parts[1:]
        elif head in _SCALAR_SOURCES:
            self.column, self.rest = _SCALAR_SOURCES[head], parts[1:]
            self.kind = "scalar"
        else:
            self.column, self.rest = _EXTRA, parts
        self.stage = stage

    # -- scalar columns --------------------------------------------------------------------
    @cached_property
    def _dtype(self) -> pl.DataType:
        return COLUMNS[self.column].dtype

    def _scalar_value(self) -> pl.Expr:
        c = pl.col(self.column)
        if isinstance(self._dtype, pl.Datetime):
            return c.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return c.cast(pl.String)

    # -- JSON: split off the part that needs array indexing ----------------------------------
    @cached_property
    def _split(self) -> tuple[pl.Expr, tuple[str, ...], bool]:
        """(JSON text to look in, keys below it, whether the leaf is an array element)."""
        rest = self.rest
        text = pl.col(self.column).cast(pl.String)  # some raw columns are categorical
        idx = [i for i, p in enumerate(rest) if isinstance(p, int)]
        if not idx:
            return text, tuple(rest), False  # type: ignore[arg-type]
        k = idx[-1]
        elem = text.str.json_path_match(_path(rest[: k + 1]))
        if k == len(rest) - 1:
            return elem, (), True
        obj = pl.when(elem.str.starts_with("{")).then(elem)  # only objects have properties
        return obj, tuple(rest[k + 1 :]), False  # type: ignore[arg-type]

    @cached_property
    def value(self) -> pl.Expr:
        """The value as text (strings unquoted, numbers/booleans as JSON text, objects as JSON)."""
        if self.kind == "scalar":
            expr = (
                self._scalar_value()
                if not self.rest
                else pl.when(_FALSE).then(pl.lit("", pl.String))
            )
        else:
            text, keys, leaf_elem = self._split
            expr = text if (leaf_elem or not keys) else text.str.json_path_match(_path(keys))
        if self.stage is None:
            return expr
        name = f"__trailkit_value_{len(self.stage)}"
        self.stage[name] = expr
        return pl.col(name)

    def _filter(self, cond: str, where: pl.Expr, *, parent: bool) -> pl.Expr:
        """True where the jsonpath filter ``cond`` finds the value; parsed only in rows ``where``."""
        text, keys, _ = self._split
        src = pl.when(where).then(text)
        if parent and len(keys) > 1:
            src = src.str.json_path_match(_path(keys[:-1]))
        return src.pipe(_wrap).str.json_path_match(f"$[?({cond})]").is_not_null()

    def _leaf(self, keys: tuple[str, ...], parent: bool) -> str:
        if not keys:
            return "@.v"
        return '@.v["' + keys[-1] + '"]' if parent else _path(keys, "@.v")

    @cached_property
    def exists(self) -> pl.Expr:
        if self.kind == "scalar":
            return pl.col(self.column).is_not_null() if not self.rest else _FALSE
        text, keys, leaf_elem = self._split
        if leaf_elem or not keys:
            return text.is_not_null()
        # present with a value, or present as null: only parse where the value is null and the
        # key's name occurs in the text at all
        v = self.value
        maybe = v.is_null() & text.str.contains(f'"{keys[-1]}"', literal=True).fill_null(False)
        return v.is_not_null() | self._filter(self._leaf(keys, parent=False), maybe, parent=False)

    def _typed(self, cond: str, where: pl.Expr) -> pl.Expr:
        """The value (already known to be present in ``where`` rows) passes the filter ``cond``."""
        text, keys, _ = self._split
        found = self._filter(f"{self._leaf(keys, parent=True)} {cond}", where, parent=True)
        if len(keys) <= 1:
            return found
        # below the first level the parent was re-read from text: check it was a real object
        return found & self._filter(self._leaf(keys, parent=False), where, parent=False)

    @cached_property
    def is_value(self) -> pl.Expr:
        """A string, number or boolean (what CloudWatch compares); not null, object or array."""
        if self.kind == "scalar":
            return self.exists
        v = self.value
        container = (v.str.starts_with("{") | v.str.starts_with("[")).fill_null(False)
        _text, _keys, leaf_elem = self._split
        if leaf_elem:
            return v.is_not_null() & ~container
        # only text that looks like an object or array needs the (parsing) is-a-string test
        return v.is_not_null() & (~container | self._typed('>= ""', container))

    def is_bool(self, which: bool) -> pl.Expr:
        word = "true" if which else "false"
        if self.kind == "scalar":
            if self._dtype == pl.Boolean and not self.rest:
                return (pl.col(self.column) == which).fill_null(False)
            return _FALSE
        v = self.value
        _text, _keys, leaf_elem = self._split
        candidate = (v == word).fill_null(False)
        if leaf_elem:
            return candidate
        return candidate & self._typed(f"== {word}", candidate)

    @cached_property
    def is_null(self) -> pl.Expr:
        if self.kind == "scalar":
            return _FALSE
        _text, keys, leaf_elem = self._split
        if leaf_elem or not keys:
            return _FALSE if leaf_elem else (pl.col(self.column) == "null").fill_null(False)
        return self.exists & self.value.is_null()


def _string_match(value: pl.Expr, lit: str) -> pl.Expr:
    if len(lit) >= 2 and lit.startswith("*") and lit.endswith("*"):
        return value.str.contains(lit[1:-1], literal=True)
    if lit.startswith("*"):
        return value.str.ends_with(lit[1:])
    if lit.endswith("*"):
        return value.str.starts_with(lit[:-1])
    return value == lit


def _compile(node: Any, fields: dict[tuple, _Field], stage: dict[str, pl.Expr] | None) -> pl.Expr:
    if isinstance(node, MatchAll):
        return _TRUE
    if isinstance(node, BoolOp):
        exprs = [_compile(i, fields, stage) for i in node.items]
        return pl.all_horizontal(exprs) if node.op == "&&" else pl.any_horizontal(exprs)
    f = fields.get(node.selector.parts) or fields.setdefault(
        node.selector.parts, _Field(node.selector.parts, stage)
    )
    if isinstance(node, Predicate):
        return {
            "IS NULL": lambda: f.is_null,
            "IS TRUE": lambda: f.is_bool(True),
            "IS FALSE": lambda: f.is_bool(False),
            "NOT EXISTS": lambda: ~f.exists,
        }[node.test]().fill_null(False)
    v = node.value
    op = node.op
    if v.kind == "any":
        hit = pl.lit(True)
    elif v.kind == "regex":
        hit = f.value.str.contains(v.text)
    elif v.kind == "number":
        num = f.value.cast(pl.Float64, strict=False)
        if op in ("=", "!="):
            hit = (f.value == v.text).fill_null(False) | (num == v.number).fill_null(False)
        else:
            cmp = {
                "<": num < v.number,
                ">": num > v.number,
                "<=": num <= v.number,
                ">=": num >= v.number,
            }[op]
            return (f.is_value & cmp).fill_null(False)
    else:
        hit = _string_match(f.value, v.text)
    hit = hit.fill_null(False)
    return (f.is_value & (~hit if op == "!=" else hit)).fill_null(False)


def _walk(node: Any):
    yield node
    if isinstance(node, BoolOp):
        for i in node.items:
            yield from _walk(i)


# --------------------------------------------------------------------------------------------
# public API


@dataclass(frozen=True)
class FilterPattern:
    """A parsed CloudWatch Logs JSON filter pattern.

    Build one with :func:`filter_pattern`. ``expr`` is the polars expression (``True`` where an
    event matches); :meth:`matches`, :meth:`filter` and :meth:`count` apply it to a frame
    from :func:`trailkit.read_events` (or a LazyFrame from ``scan_events``).
    """

    text: str
    tree: Any = field(repr=False)
    name: str | None = None
    title: str | None = None
    reference: str | None = None

    @cached_property
    def expr(self) -> pl.Expr:
        """The pattern as one self-contained boolean polars expression over the normalised columns.

        Use it inside your own ``filter``/``with_columns``. :meth:`filter`, :meth:`count` and
        :meth:`matches` run the same test in two stages (each JSON value parsed once into a
        temporary column), which is several times faster on large frames.

        >>> import polars as pl
        >>> filter_pattern("{ $.eventName = StopLogging }").expr.meta.output_name()
        'matches'
        """
        return _compile(self.tree, {}, None).fill_null(False).alias(self.name or "matches")

    @property
    def selectors(self) -> list[str]:
        """The selectors the pattern reads, in order of appearance, without repeats.

        >>> filter_pattern('{ $.a = 1 || $.b.c NOT EXISTS || $.a = 2 }').selectors
        ['$.a', '$.b.c']
        """
        seen: dict[str, None] = {}
        for n in _walk(self.tree):
            if isinstance(n, Comparison | Predicate):
                seen.setdefault(n.selector.text, None)
        return list(seen)

    @property
    def columns(self) -> list[str]:
        """The normalised columns the pattern reads.

        >>> filter_pattern('{ $.userIdentity.type = Root && $.eventName = X }').columns
        ['event_name', 'user_identity']
        """
        cols = set()
        for n in _walk(self.tree):
            if isinstance(n, Comparison | Predicate):
                cols.add(_Field(n.selector.parts).column)
        return sorted(cols)

    def explain(self) -> str:
        """The pattern with CloudWatch's grouping made explicit (``&&`` binds tighter than ``||``).

        >>> filter_pattern('{ $.a = 1 || $.b = 2 && $.c = 3 }').explain()
        '($.a = 1 || ($.b = 2 && $.c = 3))'
        """
        return self.tree.render()

    def _check_columns(self, frame: pl.DataFrame | pl.LazyFrame) -> None:
        have = set(frame.collect_schema().names())
        missing = [c for c in self.columns if c not in have]
        if missing:
            raise InputError(
                f"the events frame has no column {', '.join(missing)}, which the pattern {self.text!r} reads. "
                f"Load events with trailkit.read_events() (or normalize_records) so every column is present."
            )

    def _staged(
        self, fields: dict | None = None, stage: dict | None = None
    ) -> tuple[dict[str, pl.Expr], pl.Expr]:
        """The same test in two stages: parsed values as temporary columns, then the logic."""
        stage = {} if stage is None else stage
        expr = _compile(self.tree, {} if fields is None else fields, stage).fill_null(False)
        return stage, expr.alias(self.name or "matches")

    def _run(self, events: pl.DataFrame | pl.LazyFrame, how: str) -> Any:
        self._check_columns(events)
        stage, expr = self._staged()
        lf = events.lazy().with_columns(**stage)
        if how == "filter":
            out = lf.filter(expr).drop(list(stage))
            return out if isinstance(events, pl.LazyFrame) else out.collect()
        if how == "count":
            return int(lf.select(expr.sum()).collect().item() or 0)
        return lf.select(expr).collect().to_series()

    def matches(self, events: pl.DataFrame) -> pl.Series:
        """A boolean Series: which events the pattern matches.

        >>> import trailkit
        >>> df = trailkit.normalize_records([{"eventTime": "2026-03-10T14:05:32Z", "eventID": "1",
        ...     "eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com",
        ...     "userIdentity": {"type": "IAMUser"}}])
        >>> filter_pattern("{ ($.eventName = StopLogging) }").matches(df).to_list()
        [True]
        """
        return self._run(events, "matches")

    def filter(self, events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
        """The events the pattern matches (same type as ``events``).

        >>> import trailkit
        >>> trailkit.filter_pattern('{ $.eventName = "X" }').filter(
        ...     trailkit.normalize_records([])).height
        0
        """
        return self._run(events, "filter")

    def count(self, events: pl.DataFrame | pl.LazyFrame) -> int:
        """How many events match: what the metric would have counted.

        >>> import trailkit
        >>> trailkit.filter_pattern('{ $.eventName = "X" }').count(trailkit.normalize_records([]))
        0
        """
        return self._run(events, "count")

    def problems(self) -> list[str]:
        """Why CloudWatch would refuse this pattern as a metric filter (empty when it is fine).

        >>> filter_pattern('{ $.eventName = %^Delete% }').problems()
        []
        """
        out = []
        if len(self.text) > MAX_PATTERN_LENGTH:
            out.append(
                f"the pattern is {len(self.text)} characters long; CloudWatch allows {MAX_PATTERN_LENGTH}"
            )
        n_regex = sum(
            isinstance(n, Comparison) and n.value.kind == "regex" for n in _walk(self.tree)
        )
        if n_regex > MAX_REGEX_PER_PATTERN:
            out.append(
                f"the pattern uses {n_regex} regular expressions; CloudWatch allows {MAX_REGEX_PER_PATTERN}"
            )
        if isinstance(self.tree, MatchAll):
            out.append("the pattern is empty: it would match every event")
        return out

    def __str__(self) -> str:
        return self.text


def filter_pattern(pattern: str | FilterPattern, *, name: str | None = None) -> FilterPattern:
    """Parse a CloudWatch Logs JSON filter pattern, to test it on loaded events.

    Supported: ``=``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, quoted and bare values, ``*``
    wildcards, ``%regex%``, ``IS NULL``, ``IS TRUE``, ``IS FALSE``, ``NOT EXISTS``, ``&&``,
    ``||``, parentheses, nested properties and array indexes (``$.resources[0].ARN``). The
    empty pattern matches every event. See the module docstring for the exact semantics.

    Parameters
    ----------
    pattern
        The pattern text, e.g. ``'{ $.eventName = "ConsoleLogin" }'``, or a parsed pattern, or
        the name of a CIS filter (see :func:`cis_filters`).
    name
        A name for the pattern (used as the column name of :attr:`FilterPattern.expr`).

    Raises
    ------
    FilterPatternError
        For syntax CloudWatch would reject; the message shows the position with a caret.

    Examples
    --------
    >>> p = filter_pattern('{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type = "Root") }')
    >>> p.selectors
    ['$.eventName', '$.userIdentity.type']
    >>> filter_pattern('{ $.eventName = }')
    Traceback (most recent call last):
    ...
    trailkit.filters.FilterPatternError: invalid filter pattern at position 16: expected a value after '=', found '}'
      { $.eventName = }
                      ^
    """
    if isinstance(pattern, FilterPattern):
        return pattern
    if not isinstance(pattern, str):
        raise InputError(f"a filter pattern is text, not {type(pattern).__name__}.")
    cis = _cis_table()
    if pattern in cis:
        return cis[pattern]
    return FilterPattern(pattern, _Parser(pattern).parse(), name=name)


# --------------------------------------------------------------------------------------------
# CIS AWS Foundations Benchmark metric filters

# name, title, reference, pattern. Patterns 1-14 are the AWS-authored strings of Security Hub
# controls CloudWatch.1-14 (CIS v1.2.0 3.x = CIS v1.4.0+ 4.x); Organizations is CIS v1.4.0+ 4.15.
_CIS: tuple[tuple[str, str, str, str], ...] = (
    (
        "root_usage",
        "Usage of the root user",
        "CIS 1.2 3.3 / 1.4 4.3; Security Hub CloudWatch.1",
        '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    ),
    (
        "unauthorized_api_calls",
        "Unauthorized API calls",
        "CIS 1.2 3.1 / 1.4 4.1; Security Hub CloudWatch.2",
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    ),
    (
        "console_signin_without_mfa",
        "Management console sign-in without MFA",
        "CIS 1.2 3.2 / 1.4 4.2; Security Hub CloudWatch.3",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    ),
    (
        "iam_policy_changes",
        "IAM policy changes",
        "CIS 1.2 3.4 / 1.4 4.4; Security Hub CloudWatch.4",
        "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
        "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
        "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
        "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
        "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
        "($.eventName=DetachGroupPolicy)}",
    ),
    (
        "cloudtrail_config_changes",
        "CloudTrail configuration changes",
        "CIS 1.2 3.5 / 1.4 4.5; Security Hub CloudWatch.5",
        "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || "
        "($.eventName=StartLogging) || ($.eventName=StopLogging)}",
    ),
    (
        "console_auth_failures",
        "Management console authentication failures",
        "CIS 1.2 3.6 / 1.4 4.6; Security Hub CloudWatch.6",
        '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    ),
    (
        "cmk_disable_or_deletion",
        "Disabling or scheduled deletion of customer-managed KMS keys",
        "CIS 1.2 3.7 / 1.4 4.7; Security Hub CloudWatch.7",
        "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    ),
    (
        "s3_bucket_policy_changes",
        "S3 bucket policy changes",
        "CIS 1.2 3.8 / 1.4 4.8; Security Hub CloudWatch.8",
        "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || "
        "($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || "
        "($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || "
        "($.eventName=DeleteBucketReplication))}",
    ),
    (
        "aws_config_changes",
        "AWS Config configuration changes",
        "CIS 1.2 3.9 / 1.4 4.9; Security Hub CloudWatch.9",
        "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || "
        "($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || "
        "($.eventName=PutConfigurationRecorder))}",
    ),
    (
        "security_group_changes",
        "Security group changes",
        "CIS 1.2 3.10 / 1.4 4.10; Security Hub CloudWatch.10",
        "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || "
        "($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || "
        "($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
    ),
    (
        "nacl_changes",
        "Network ACL changes",
        "CIS 1.2 3.11 / 1.4 4.11; Security Hub CloudWatch.11",
        "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || "
        "($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || "
        "($.eventName=ReplaceNetworkAclAssociation)}",
    ),
    (
        "network_gateway_changes",
        "Network gateway changes",
        "CIS 1.2 3.12 / 1.4 4.12; Security Hub CloudWatch.12",
        "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || "
        "($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || "
        "($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
    ),
    (
        "route_table_changes",
        "Route table changes",
        "CIS 1.2 3.13 / 1.4 4.13; Security Hub CloudWatch.13",
        "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || "
        "($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || "
        "($.eventName=DisassociateRouteTable)}",
    ),
    (
        "vpc_changes",
        "VPC changes",
        "CIS 1.2 3.14 / 1.4 4.14; Security Hub CloudWatch.14",
        "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || "
        "($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || "
        "($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || "
        "($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || "
        "($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
    ),
    (
        "organizations_changes",
        "AWS Organizations changes",
        "CIS 1.4 4.15",
        '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || '
        '($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || '
        '($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || '
        '($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || '
        '($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || '
        '($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || '
        '($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || '
        '($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }',
    ),
)

_CIS_CACHE: dict[str, FilterPattern] = {}


def _cis_table() -> dict[str, FilterPattern]:
    if not _CIS_CACHE:
        for name, title, ref, text in _CIS:
            _CIS_CACHE[name] = FilterPattern(
                text, _Parser(text).parse(), name=name, title=title, reference=ref
            )
    return _CIS_CACHE


def cis_filters() -> dict[str, FilterPattern]:
    """The CIS AWS Foundations Benchmark metric filters, by name.

    The first fourteen are AWS's own strings for Security Hub controls CloudWatch.1–14 (CIS
    v1.2.0 section 3 = v1.4.0 and later section 4); ``organizations_changes`` is CIS v1.4.0
    4.15. Each value is a :class:`FilterPattern` with ``name``, ``title`` and ``reference``.

    Examples
    --------
    >>> f = cis_filters()
    >>> list(f)[:3]
    ['root_usage', 'unauthorized_api_calls', 'console_signin_without_mfa']
    >>> f["root_usage"].title
    'Usage of the root user'
    """
    return dict(_cis_table())


def cis_summary(events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """How many events each CIS filter matches: which alarms these events would have raised.

    One pass over the events (all filters in one ``select``).

    >>> import trailkit
    >>> cis_summary(trailkit.normalize_records([])).columns
    ['name', 'title', 'matches', 'reference', 'pattern']
    """
    table = _cis_table()
    fields: dict[tuple, _Field] = {}
    stage: dict[str, pl.Expr] = {}
    sums = []
    for n, f in table.items():
        f._check_columns(events)
        sums.append(f._staged(fields, stage)[1].sum().alias(n))
    counts = events.lazy().with_columns(**stage).select(sums).collect()
    row = counts.row(0, named=True) if counts.height else {}
    return pl.DataFrame(
        {
            "name": list(table),
            "title": [f.title for f in table.values()],
            "matches": [int(row.get(n) or 0) for n in table],
            "reference": [f.reference for f in table.values()],
            "pattern": [f.text for f in table.values()],
        },
        schema={
            "name": pl.String,
            "title": pl.String,
            "matches": pl.Int64,
            "reference": pl.String,
            "pattern": pl.String,
        },
    )
