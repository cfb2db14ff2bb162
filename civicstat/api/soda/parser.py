"""SoQL, Socrata's query language, parsed into a small tree: never into SQL.

The grammar follows Socrata's own parser (socrata-platform/soql-reference,
`RecursiveDescentParser.scala`): the same operator precedence (OR, AND, NOT, then IS NULL / LIKE /
BETWEEN / IN, then comparisons, then `+ - ||`, then `* / %`, then unary signs), the same literals
(single- or double-quoted strings with doubled quotes, numbers, true/false/null), identifiers
plain, `backticked` or system (`:id`), and the clause order of a full `$query`
(SELECT … WHERE … GROUP BY … HAVING … ORDER BY … SEARCH … LIMIT … OFFSET). Joins, window
functions, casts and subqueries are not part of it: a city's 311 scripts do not use them, and a
query that does is told where it went wrong.

The tree is made of frozen dataclasses that compare without their positions, so
`date_trunc_ym(requested_datetime)` in `$select` and in `$group` are the same expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput, v_args
from lark.exceptions import VisitError

GRAMMAR = r"""
?start: expr

select_list: select_item ("," select_item)*
?select_item: expr (_AS alias)?  -> selected
            | "*"               -> select_star
            | ":*"              -> select_system_star
alias: NAME | QUOTED_NAME

order_list: order_item ("," order_item)*
order_item: expr DIRECTION? nulls?
nulls: _NULL_WORD NULLS_PLACE
group_list: expr ("," expr)*

query: _SELECT select_list where? group? having? (order search? | search order?)? limit_offset?
where: _WHERE expr
group: _GROUP _BY group_list
having: _HAVING expr
order: _ORDER _BY order_list
search: _SEARCH STRING
limit_offset: _LIMIT INT (_OFFSET INT)?   -> limit_first
            | _OFFSET INT (_LIMIT INT)?   -> offset_first

?expr: or_expr
?or_expr: and_expr | or_expr _OR and_expr            -> or_
?and_expr: not_expr | and_expr _AND not_expr         -> and_
?not_expr: pred | _NOT not_expr                      -> not_
?pred: cmp
     | pred _IS _NULL                                -> is_null
     | pred _IS _NOT _NULL                           -> is_not_null
     | pred _LIKE cmp                                -> like
     | pred _NOT _LIKE cmp                           -> not_like
     | pred _BETWEEN cmp _AND cmp                    -> between
     | pred _NOT _BETWEEN cmp _AND cmp               -> not_between
     | pred _IN "(" args ")"                         -> in_
     | pred _NOT _IN "(" args ")"                    -> not_in
?cmp: sum | cmp CMP_OP sum                           -> binary
?sum: product | sum ADD_OP product                   -> binary
?product: unary | product MUL_OP unary               -> binary
?unary: atom | SIGN unary                            -> sign
?atom: literal
     | column
     | NAME "(" "*" ")"                              -> call_star
     | NAME "(" [args] ")"                           -> call
     | "(" expr ")"
args: expr ("," expr)*
?literal: STRING -> string
        | NUMBER -> number
        | INT    -> number
        | _TRUE  -> true
        | _FALSE -> false
        | _NULL  -> null
column: NAME | QUOTED_NAME | SYSTEM_NAME

_SELECT: "select"i
_WHERE: "where"i
_GROUP: "group"i
_HAVING: "having"i
_ORDER: "order"i
_BY: "by"i
_SEARCH: "search"i
_LIMIT: "limit"i
_OFFSET: "offset"i
_AS: "as"i
_OR: "or"i
_AND: "and"i
_NOT: "not"i
_IS: "is"i
_NULL: "null"i
_NULL_WORD: "null"i | "nulls"i
_LIKE: "like"i
_BETWEEN: "between"i
_IN: "in"i
_TRUE: "true"i
_FALSE: "false"i
DIRECTION: "asc"i | "desc"i
NULLS_PLACE: "first"i | "last"i

CMP_OP: "<=" | ">=" | "<>" | "!=" | "==" | "=" | "<" | ">"
ADD_OP: "+" | "-" | "||"
MUL_OP: "*" | "/" | "%"
SIGN: "+" | "-"
NAME: /[a-z_][a-z0-9_]*/i
QUOTED_NAME: /`[a-z_:@-][a-z0-9_:@-]*`/i
SYSTEM_NAME: /:@?[a-z0-9_]+/i
INT.2: /[0-9]+(?![0-9.e])/i
NUMBER: /[0-9]+(\.[0-9]*)?(e[+-]?[0-9]+)?/i | /\.[0-9]+(e[+-]?[0-9]+)?/i
STRING: /'([^']|'')*'/ | /"([^"]|"")*"/
COMMENT: /--[^\n]*/

%import common.WS
%ignore WS
%ignore COMMENT
"""


class SoqlError(Exception):
    """A query that cannot be read or run, with a message for the person who wrote it."""

    def __init__(self, message: str, *, code: str = "query.compiler.malformed") -> None:
        super().__init__(message)
        self.code = code
        self.query = ""  # the query text to quote back, when known


# ---- The tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    position: int = field(default=0, compare=False, kw_only=True)  # 1-based character


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Literal(Node):
    value: str | Decimal | bool | None
    kind: str  # "text", "number", "boolean" or "null"


@dataclass(frozen=True)
class Call(Node):
    """A function or an operator: `count(*)` is Call("count", (Star(),)), `a = 1` is
    Call("=", (a, 1)), `a between 1 and 2` is Call("between", (a, 1, 2))."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Star(Node):
    pass


Expr = Column | Literal | Call | Star


@dataclass(frozen=True)
class Selected:
    expr: Expr | None  # None: `*` (every column)
    alias: str | None = None


@dataclass(frozen=True)
class Ordering:
    expr: Expr
    descending: bool = False
    nulls_first: bool | None = None  # None: the engine's default for the direction


@dataclass
class Query:
    """A whole query: from `$query`, or put together from the separate `$` parameters."""

    select: list[Selected] = field(default_factory=list)
    where: Expr | None = None
    group: list[Expr] = field(default_factory=list)
    having: Expr | None = None
    order: list[Ordering] = field(default_factory=list)
    search: str | None = None
    limit: int | None = None
    offset: int | None = None


def _pos(meta_or_token: Any) -> int:
    column = getattr(meta_or_token, "column", None)
    return int(column) if column is not None else 0


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


@v_args(meta=True)
class _Tree(Transformer[Token, Any]):
    def string(self, meta: Any, items: list[Token]) -> Literal:
        return Literal(_unquote(str(items[0])), "text", position=_pos(items[0]))

    def number(self, meta: Any, items: list[Token]) -> Literal:
        try:
            value = Decimal(str(items[0]))
        except InvalidOperation as error:  # the grammar's digits always read; here for safety
            raise SoqlError(f"cannot read the number {items[0]}") from error
        if not value.is_finite() or abs(value.adjusted()) > 30:
            raise SoqlError(
                f"the number {items[0]} is out of range at line 1 character {_pos(items[0])}"
            )
        return Literal(value, "number", position=_pos(items[0]))

    def true(self, meta: Any, items: list[Any]) -> Literal:
        return Literal(True, "boolean", position=_pos(meta))

    def false(self, meta: Any, items: list[Any]) -> Literal:
        return Literal(False, "boolean", position=_pos(meta))

    def null(self, meta: Any, items: list[Any]) -> Literal:
        return Literal(None, "null", position=_pos(meta))

    def column(self, meta: Any, items: list[Token]) -> Column:
        token = items[0]
        name = str(token)
        if token.type == "QUOTED_NAME":
            name = name[1:-1]
        return Column(name.lower(), position=_pos(token))

    def call(self, meta: Any, items: list[Any]) -> Call:
        name, args = items[0], items[1]
        return Call(str(name).lower(), tuple(args or ()), position=_pos(name))

    def call_star(self, meta: Any, items: list[Token]) -> Call:
        return Call(
            str(items[0]).lower(), (Star(position=_pos(items[0])),), position=_pos(items[0])
        )

    def args(self, meta: Any, items: list[Expr]) -> list[Expr]:
        return list(items)

    def _op(self, name: str, meta: Any, args: list[Any]) -> Call:
        return Call(name, tuple(args), position=_pos(meta))

    def or_(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("or", meta, items)

    def and_(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("and", meta, items)

    def not_(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("not", meta, items)

    def is_null(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("is null", meta, items)

    def is_not_null(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("is not null", meta, items)

    def like(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("like", meta, items)

    def not_like(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("not", meta, [self._op("like", meta, items)])

    def between(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("between", meta, items)

    def not_between(self, meta: Any, items: list[Expr]) -> Call:
        return self._op("not", meta, [self._op("between", meta, items)])

    def in_(self, meta: Any, items: list[Any]) -> Call:
        return self._op("in", meta, [items[0], *items[1]])

    def not_in(self, meta: Any, items: list[Any]) -> Call:
        return self._op("not", meta, [self._op("in", meta, [items[0], *items[1]])])

    def binary(self, meta: Any, items: list[Any]) -> Call:
        left, op, right = items
        name = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return Call(name, (left, right), position=_pos(op))

    def sign(self, meta: Any, items: list[Any]) -> Expr:
        sign, operand = items
        if str(sign) == "+":
            return operand  # type: ignore[no-any-return]
        if isinstance(operand, Literal) and isinstance(operand.value, Decimal):
            return Literal(-operand.value, "number", position=_pos(sign))
        return Call("neg", (operand,), position=_pos(sign))

    # Clauses
    def selected(self, meta: Any, items: list[Any]) -> Selected:
        return Selected(items[0], items[1] if len(items) > 1 else None)

    def alias(self, meta: Any, items: list[Token]) -> str:
        text = str(items[0])
        return (text[1:-1] if text.startswith("`") else text).lower()

    def select_star(self, meta: Any, items: list[Any]) -> Selected:
        return Selected(None)

    def select_system_star(self, meta: Any, items: list[Any]) -> Selected:
        return Selected(None, ":*")

    def select_list(self, meta: Any, items: list[Selected]) -> list[Selected]:
        return list(items)

    def order_item(self, meta: Any, items: list[Any]) -> Ordering:
        expr, rest = items[0], items[1:]
        descending = False
        nulls_first = None
        for item in rest:
            if isinstance(item, Token) and item.type == "DIRECTION":
                descending = str(item).lower() == "desc"
            elif isinstance(item, bool):
                nulls_first = item
        return Ordering(expr, descending, nulls_first)

    def nulls(self, meta: Any, items: list[Token]) -> bool:
        return str(items[-1]).lower() == "first"

    def order_list(self, meta: Any, items: list[Ordering]) -> list[Ordering]:
        return list(items)

    def group_list(self, meta: Any, items: list[Expr]) -> list[Expr]:
        return list(items)

    def query(self, meta: Any, items: list[Any]) -> Query:
        q = Query(select=items[0])
        for clause in items[1:]:
            kind, value = clause
            setattr(q, kind, value)
            if kind == "limit_offset":
                delattr(q, kind)
                q.limit, q.offset = value
        return q

    def where(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return "where", items[0]

    def group(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return "group", items[0]

    def having(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return "having", items[0]

    def order(self, meta: Any, items: list[Any]) -> tuple[str, Any]:
        return "order", items[0]

    def search(self, meta: Any, items: list[Token]) -> tuple[str, Any]:
        return "search", _unquote(str(items[0]))

    def limit_first(self, meta: Any, items: list[Token]) -> tuple[str, Any]:
        limit = int(items[0])
        return "limit_offset", (limit, int(items[1]) if len(items) > 1 else None)

    def offset_first(self, meta: Any, items: list[Token]) -> tuple[str, Any]:
        offset = int(items[0])
        return "limit_offset", (int(items[1]) if len(items) > 1 else None, offset)


_PARSERS: dict[str, Lark] = {}
MAX_LENGTH = 10_000  # characters of one parameter: longer is not a query a person wrote
MAX_DEPTH = 60  # nesting: Python's recursion, not the grammar, is the limit


def _parser(start: str) -> Lark:
    if start not in _PARSERS:
        _PARSERS[start] = Lark(
            GRAMMAR, parser="lalr", start=start, propagate_positions=True, maybe_placeholders=True
        )
    return _PARSERS[start]


def _depth(text: str) -> int:
    deepest = level = 0
    for char in text:
        level += char == "("
        level -= char == ")"
        deepest = max(deepest, level)
    return deepest


def _parse(text: str, start: str) -> Any:
    if len(text) > MAX_LENGTH:
        raise SoqlError(f"the query is longer than {MAX_LENGTH:,} characters")
    if _depth(text) > MAX_DEPTH:
        raise SoqlError(f"the query nests parentheses more than {MAX_DEPTH} deep")
    try:
        tree = _parser(start).parse(text)
        return _Tree().transform(tree)
    except UnexpectedInput as error:
        column = getattr(error, "column", 0)
        token = getattr(error, "token", None)
        if column in (None, -1, 0) or getattr(token, "type", "") == "$END":  # the end of the text
            column = len(text) + 1
        raise SoqlError(
            f'Could not parse SoQL query "{text}" at line 1 character {column}'
        ) from error
    except VisitError as error:
        if isinstance(error.orig_exc, SoqlError):
            raise error.orig_exc from error
        raise
    except RecursionError as error:
        raise SoqlError("the query nests too deep to read") from error


def parse_expression(text: str) -> Expr:
    return _parse(text, "start")  # type: ignore[no-any-return]


def parse_select(text: str) -> list[Selected]:
    return _parse(text, "select_list")  # type: ignore[no-any-return]


def parse_order(text: str) -> list[Ordering]:
    return _parse(text, "order_list")  # type: ignore[no-any-return]


def parse_group(text: str) -> list[Expr]:
    return _parse(text, "group_list")  # type: ignore[no-any-return]


def parse_query(text: str) -> Query:
    return _parse(text, "query")  # type: ignore[no-any-return]
