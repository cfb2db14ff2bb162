"""A SoQL tree (`parser`) to Django ORM expressions over one dataset's whitelisted columns.

No text of the query ever becomes SQL: a column is one of `datasets.COLUMNS` (its Case field
path), a function one of `FUNCTIONS` (a Django expression), and every literal a bound parameter.
Each expression is typed as Socrata types it (text, number, floating_timestamp, point…), so a
comparison of a date with a word is a 400 that says so, not a database error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg as _Avg
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Expression,
    F,
    Field,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Concat,
    ExtractDay,
    ExtractHour,
    ExtractMonth,
    ExtractWeekDay,
    ExtractYear,
    Lower,
    Trunc,
    Upper,
)
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Lookup,
    StartsWith,
)

from civicstat.api.soda import geo
from civicstat.api.soda.datasets import SYSTEM_KINDS, ColumnSpec, Dataset
from civicstat.api.soda.parser import Call, Column, Expr, Literal, SoqlError, Star


@dataclass(frozen=True)
class Typed:
    """A translated expression: `expr` a Django expression (a Q for a condition); a point
    carries its two coordinate expressions instead."""

    expr: Any
    kind: str  # text, number, boolean, floating_timestamp, fixed_timestamp, point, null
    aggregate: bool = False
    spec: ColumnSpec | None = None  # when it is a bare column
    point: tuple[Any, Any] | None = None  # (lat, lon) of a point
    # A truncated timestamp: the database holds it as the city's wall-clock time without a zone
    # (both engines truncate in the city's zone), so it compares with wall-clock text.
    wall_clock: bool = False


def _at(node: Expr) -> str:
    return f" at line 1 character {node.position}" if node.position else ""


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?Z?"
)


def timestamp(text: str, node: Expr) -> datetime:
    """A floating timestamp as Socrata writes one ("2014-10-13", "2014-10-13T08:30:00.000"),
    in city time."""
    m = _TIMESTAMP.fullmatch(text.strip())
    if m is None:
        raise SoqlError(f"'{text[:40]}' is not a timestamp like 2014-10-13T08:30:00{_at(node)}",
                        code="query.soql.type-mismatch")  # fmt: skip
    y, mo, d, h, mi, s, frac = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    zone = ZoneInfo("UTC") if text.strip().endswith("Z") else city_zone()
    try:
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro,
                        tzinfo=zone)  # fmt: skip
    except ValueError as error:
        raise SoqlError(f"'{text[:40]}' is not a date that exists{_at(node)}",
                        code="query.soql.type-mismatch") from error  # fmt: skip


class Translator:
    def __init__(self, dataset: Dataset, aliases: dict[str, Typed] | None = None) -> None:
        self.dataset = dataset
        self.lat, self.lon = geo.coordinate_fields(dataset.layer)
        self.aliases = aliases or {}

    # ---- leaves ----
    def column(self, node: Column) -> Typed:
        spec = self.dataset.columns.get(node.name)
        if spec is None:
            if node.name in self.aliases:
                return self.aliases[node.name]
            raise SoqlError(f"No such column: {node.name}{_at(node)}",
                            code="query.soql.no-such-column")  # fmt: skip
        if spec.kind == "point":
            lat, lon = F(self.lat), F(self.lon)
            return Typed(None, "point", spec=spec, point=(lat, lon))
        path = {"lat": self.lat, "lon": self.lon}.get(spec.path, spec.path)
        kind = SYSTEM_KINDS.get(spec.name, spec.kind)
        return Typed(F(path), kind, spec=spec)

    def literal(self, node: Literal) -> Typed:
        if node.kind == "number":
            assert isinstance(node.value, Decimal)
            if node.value == node.value.to_integral_value() and abs(node.value) < 2**62:
                return Typed(Value(int(node.value), output_field=IntegerField()), "number")
            return Typed(Value(float(node.value), output_field=FloatField()), "number")
        if node.kind == "text":
            return Typed(Value(node.value, output_field=CharField()), "text")
        if node.kind == "boolean":
            return Typed(Q(pk__isnull=False) if node.value else Q(pk__isnull=True), "boolean")
        return Typed(Value(None, output_field=CharField()), "null")

    def expr(self, node: Expr) -> Typed:
        if isinstance(node, Column):
            return self.column(node)
        if isinstance(node, Literal):
            return self.literal(node)
        if isinstance(node, Star):
            raise SoqlError(f"* is only allowed in count(*){_at(node)}")
        handler = FUNCTIONS.get(node.name)
        if handler is None:
            raise SoqlError(f"Unknown function {node.name}/{len(node.args)}{_at(node)}",
                            code="query.soql.no-such-function")  # fmt: skip
        return handler(self, node)

    def condition(self, node: Expr) -> Q:
        typed = self.expr(node)
        if typed.kind != "boolean":
            raise SoqlError(f"Expected a true/false condition, found {typed.kind}{_at(node)}",
                            code="query.soql.type-mismatch")  # fmt: skip
        return typed.expr if isinstance(typed.expr, Q) else Q(typed.expr)

    # ---- helpers for the functions ----
    def args(self, node: Call, count: int | tuple[int, ...]) -> list[Typed]:
        counts = (count,) if isinstance(count, int) else count
        if len(node.args) not in counts:
            raise SoqlError(f"{node.name} takes {' or '.join(map(str, counts))} argument(s), "
                            f"not {len(node.args)}{_at(node)}",
                            code="query.soql.no-such-function")  # fmt: skip
        return [self.expr(a) for a in node.args]

    def value_of(self, typed: Typed, node: Expr, *kinds: str) -> Any:
        if typed.kind == "point":
            raise SoqlError(
                f"A location can only be used in within_circle, within_box, "
                f"is null or $select{_at(node)}",
                code="query.soql.type-mismatch",
            )
        if kinds and typed.kind not in kinds and typed.kind != "null":
            raise SoqlError(f"Expected {' or '.join(kinds)}, found {typed.kind}{_at(node)}",
                            code="query.soql.type-mismatch")  # fmt: skip
        if typed.kind == "boolean":
            return Case(When(typed.expr, then=Value(True)), default=Value(False),
                        output_field=BooleanField())  # fmt: skip
        return typed.expr

    def comparable(self, left: Typed, right: Typed, node: Call) -> tuple[Any, Any]:
        """Two sides of a comparison, a timestamp's text literal read as a timestamp."""
        pairs = ((left, right, node.args[1]), (right, left, node.args[0]))
        for a, b, b_node in pairs:
            if "timestamp" in a.kind and b.kind == "text" and isinstance(b_node, Literal):
                stamp = timestamp(str(b_node.value), b_node)
                value = Value(stamp, output_field=DateTimeField())
                if a.wall_clock:
                    local = stamp.astimezone(city_zone()).strftime("%Y-%m-%d %H:%M:%S")
                    value = Value(local, output_field=CharField())
                return (a.expr, value) if a is left else (value, a.expr)
        kinds = {left.kind, right.kind} - {"null"}
        norm = {"floating_timestamp": "t", "fixed_timestamp": "t"}
        if len({norm.get(k, k) for k in kinds}) > 1:
            raise SoqlError(f"Type mismatch: cannot compare {left.kind} with {right.kind}"
                            f"{_at(node)}", code="query.soql.type-mismatch")  # fmt: skip
        return self.value_of(left, node.args[0]), self.value_of(right, node.args[1])

    def text_is_null(self, typed: Typed) -> Q:
        """A text column the source left blank is as null as one it left out."""
        q = Q(IsNull(typed.expr, True))
        if typed.kind == "text" and typed.spec is not None:
            q |= Q(Exact(typed.expr, ""))
        return q

    def number_literal(self, node: Expr) -> float:
        if isinstance(node, Literal) and isinstance(node.value, Decimal):
            return float(node.value)
        raise SoqlError(f"Expected a number here{_at(node)}", code="query.soql.type-mismatch")

    def point_arg(self, node: Call) -> tuple[Any, Any]:
        typed = self.expr(node.args[0])
        if typed.point is None:
            raise SoqlError(f"{node.name} needs a location column first{_at(node)}",
                            code="query.soql.type-mismatch")  # fmt: skip
        return typed.point


def _is_aggregate(*parts: Typed) -> bool:
    return any(p.aggregate for p in parts)


def _logic(t: Translator, node: Call) -> Typed:
    conditions = [t.condition(a) for a in node.args]
    parts = [t.expr(a) for a in node.args]  # for the aggregate flag only
    if node.name == "not":
        return Typed(~conditions[0], "boolean", _is_aggregate(*parts))
    combined = conditions[0]
    for c in conditions[1:]:
        combined = combined & c if node.name == "and" else combined | c
    return Typed(combined, "boolean", _is_aggregate(*parts))


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": Exact, "<": LessThan, "<=": LessThanOrEqual, ">": GreaterThan, ">=": GreaterThanOrEqual,
}  # fmt: skip


def _compare(t: Translator, node: Call) -> Typed:
    left, right = t.args(node, 2)
    lhs, rhs = t.comparable(left, right, node)
    q = ~Q(Exact(lhs, rhs)) if node.name == "!=" else Q(_COMPARE[node.name](lhs, rhs))
    return Typed(q, "boolean", _is_aggregate(left, right))


def _arith(t: Translator, node: Call) -> Typed:
    left, right = t.args(node, 2)
    if node.name == "||":
        a, b = t.value_of(left, node.args[0]), t.value_of(right, node.args[1])
        return Typed(Concat(a, b, output_field=CharField()), "text", _is_aggregate(left, right))
    a = t.value_of(left, node.args[0], "number")
    b = t.value_of(right, node.args[1], "number")
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
        "/": lambda x, y: x / y, "%": lambda x, y: x % y,
    }  # fmt: skip
    if node.name == "/":  # SoQL divides numbers as numbers: 1/2 is 0.5, not 0
        a = a * Value(1.0, output_field=FloatField())
    combined = ops[node.name](a, b)
    combined.output_field = FloatField()
    return Typed(combined, "number", _is_aggregate(left, right))


def _neg(t: Translator, node: Call) -> Typed:
    (operand,) = t.args(node, 1)
    value = t.value_of(operand, node.args[0], "number") * Value(-1)
    return Typed(value, "number", operand.aggregate)


def _is_null(t: Translator, node: Call) -> Typed:
    (operand,) = t.args(node, 1)
    if operand.point is not None:
        q = Q(IsNull(operand.point[0], True)) | Q(IsNull(operand.point[1], True))
    else:
        t.value_of(operand, node.args[0])
        q = t.text_is_null(operand)
    return Typed(q if node.name == "is null" else ~q, "boolean", operand.aggregate)


def _segment(text: str) -> str:
    return "".join(r"[\s\S]" if c == "_" else re.escape(c) for c in text)


def like_regex(pattern: str) -> str:
    """A SoQL LIKE pattern (`%` any run, `_` one character) as a regular expression that cannot
    backtrack its way into minutes: each middle piece is found at its first place and kept there
    (an atomic group), which is where a match of the rest is likeliest to fit, so a pattern such
    as `%a%a%a%b` costs the text's length times the pattern's, not a power of it."""
    pieces = pattern.split("%")
    if len(pieces) == 1:
        return "^" + _segment(pattern) + "$"
    middle = "".join(f"(?>[\\s\\S]*?{_segment(p)})" for p in pieces[1:-1] if p)
    return "^" + _segment(pieces[0]) + middle + "[\\s\\S]*" + _segment(pieces[-1]) + "$"


class SoqlLike(Lookup[Any]):
    """`lhs LIKE pattern`, case-sensitive on both engines: PostgreSQL's own LIKE (whose matcher
    gives up early on a hopeless text), and on SQLite the regular expression above (SQLite's LIKE
    ignores case, and its REGEXP is Python's `re`). The pattern is always a bound parameter."""

    lookup_name = "soql_like"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        pattern = str(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} LIKE %s", (*lhs_params, pattern.replace("\\", "\\\\"))
        return f"{lhs} REGEXP %s", (*lhs_params, like_regex(pattern))


def _like(t: Translator, node: Call) -> Typed:
    value, pattern = t.args(node, 2)
    if not (isinstance(node.args[1], Literal) and node.args[1].kind == "text"):
        raise SoqlError(f"like needs a quoted pattern{_at(node.args[1])}",
                        code="query.soql.type-mismatch")  # fmt: skip
    lhs = t.value_of(value, node.args[0], "text")
    return Typed(Q(SoqlLike(lhs, str(node.args[1].value))), "boolean", value.aggregate)


def _starts_with(t: Translator, node: Call) -> Typed:
    value, prefix = t.args(node, 2)
    lhs = t.value_of(value, node.args[0], "text")
    rhs = t.value_of(prefix, node.args[1], "text")
    return Typed(Q(StartsWith(lhs, rhs)), "boolean", _is_aggregate(value, prefix))


def _between(t: Translator, node: Call) -> Typed:
    value, low, high = t.args(node, 3)
    first = Call(">=", (node.args[0], node.args[1]), position=node.position)
    second = Call("<=", (node.args[0], node.args[2]), position=node.position)
    q = _compare(t, first).expr & _compare(t, second).expr
    return Typed(q, "boolean", _is_aggregate(value, low, high))


def _in(t: Translator, node: Call) -> Typed:
    if len(node.args) < 2:
        raise SoqlError(f"in needs at least one value{_at(node)}")
    value = t.expr(node.args[0])
    q = Q()
    for item in node.args[1:]:
        q |= _compare(t, Call("=", (node.args[0], item), position=item.position)).expr
    return Typed(q, "boolean", value.aggregate)


def _count(t: Translator, node: Call) -> Typed:
    if len(node.args) == 1 and isinstance(node.args[0], Star):
        return Typed(Count("pk"), "number", True)
    (operand,) = t.args(node, 1)
    if operand.aggregate:
        raise SoqlError(f"count cannot count an aggregate{_at(node)}")
    if operand.point is not None:
        return Typed(Count(operand.point[0]), "number", True)
    return Typed(Count(t.value_of(operand, node.args[0])), "number", True)


def _aggregate(cls: type[Any], kinds: tuple[str, ...]) -> Callable[[Translator, Call], Typed]:
    def translate(t: Translator, node: Call) -> Typed:
        (operand,) = t.args(node, 1)
        if operand.aggregate:
            raise SoqlError(f"{node.name} cannot take an aggregate{_at(node)}")
        value = t.value_of(operand, node.args[0], *kinds)
        out = operand.kind if cls in (Min, Max) else "number"
        field = FloatField() if out == "number" else None
        return Typed(cls(value, output_field=field) if field else cls(value), out, True)

    return translate


_TIMES = ("floating_timestamp", "fixed_timestamp")


def _trunc(kind: str) -> Callable[[Translator, Call], Typed]:
    def translate(t: Translator, node: Call) -> Typed:
        (operand,) = t.args(node, 1)
        value = t.value_of(operand, node.args[0], *_TIMES)
        out = Trunc(value, kind, output_field=DateTimeField(), tzinfo=city_zone())
        return Typed(out, "floating_timestamp", operand.aggregate, wall_clock=True)

    return translate


def _extract(cls: type[Any], shift: int = 0) -> Callable[[Translator, Call], Typed]:
    def translate(t: Translator, node: Call) -> Typed:
        (operand,) = t.args(node, 1)
        value = t.value_of(operand, node.args[0], *_TIMES)
        out: Any = cls(value, tzinfo=city_zone())
        if shift:  # Django counts Sunday as 1; SoQL's date_extract_dow as 0
            out = out - Value(shift)
            out.output_field = IntegerField()
        return Typed(out, "number", operand.aggregate)

    return translate


def _case_fn(case_cls: Callable[[Any], Any]) -> Callable[[Translator, Call], Typed]:
    def translate(t: Translator, node: Call) -> Typed:
        (operand,) = t.args(node, 1)
        return Typed(case_cls(t.value_of(operand, node.args[0], "text")), "text",
                     operand.aggregate)  # fmt: skip

    return translate


def _within_circle(t: Translator, node: Call) -> Typed:
    if len(node.args) != 4:
        raise SoqlError(f"within_circle takes (location, latitude, longitude, metres){_at(node)}")
    lat, lon = t.point_arg(node)
    clat, clon, radius = (t.number_literal(a) for a in node.args[1:])
    if not (-90 <= clat <= 90 and -180 <= clon <= 180 and 0 <= radius <= 1_000_000):
        raise SoqlError(f"within_circle's centre or radius is out of range{_at(node)}")
    per_lat, per_lon = geo.metres_per_degree(clat)
    dlat, dlon = radius / per_lat, radius / per_lon
    box = Q(GreaterThanOrEqual(lat, clat - dlat), LessThanOrEqual(lat, clat + dlat),
            GreaterThanOrEqual(lon, clon - dlon), LessThanOrEqual(lon, clon + dlon))  # fmt: skip
    dy = (lat - Value(clat)) * Value(per_lat)
    dx = (lon - Value(clon)) * Value(per_lon)
    squared = dy * dy + dx * dx
    squared.output_field = FloatField()
    return Typed(box & Q(LessThanOrEqual(squared, Value(radius * radius))), "boolean")


def _within_box(t: Translator, node: Call) -> Typed:
    if len(node.args) != 5:
        raise SoqlError(f"within_box takes (location, north-west latitude, north-west longitude, "
                        f"south-east latitude, south-east longitude){_at(node)}")  # fmt: skip
    lat, lon = t.point_arg(node)
    north, west, south, east = (t.number_literal(a) for a in node.args[1:])
    q = Q(
        GreaterThanOrEqual(lat, min(north, south)),
        LessThanOrEqual(lat, max(north, south)),
        GreaterThanOrEqual(lon, min(west, east)),
        LessThanOrEqual(lon, max(west, east)),
    )
    return Typed(q, "boolean")


def _case(t: Translator, node: Call) -> Typed:
    """case(condition, value, condition, value, …): the first true condition's value."""
    if len(node.args) < 2 or len(node.args) % 2:
        raise SoqlError(f"case takes pairs of condition and value{_at(node)}")
    whens, kinds, aggregate = [], set(), False
    for cond_node, value_node in zip(node.args[::2], node.args[1::2], strict=True):
        value = t.expr(value_node)
        aggregate = aggregate or value.aggregate or t.expr(cond_node).aggregate
        kinds.add(value.kind)
        whens.append(When(t.condition(cond_node), then=t.value_of(value, value_node)))
    kinds.discard("null")
    if len(kinds) > 1:
        raise SoqlError(f"case's values must be of one type, not {', '.join(sorted(kinds))}"
                        f"{_at(node)}", code="query.soql.type-mismatch")  # fmt: skip
    kind = kinds.pop() if kinds else "null"
    field: Field[Any, Any] = DateTimeField()
    if kind in ("number", "text", "boolean"):
        field = {"number": FloatField, "text": CharField, "boolean": BooleanField}[kind]()
    return Typed(Case(*whens, output_field=field), kind, aggregate)


FUNCTIONS: dict[str, Callable[[Translator, Call], Typed]] = {
    "and": _logic, "or": _logic, "not": _logic,
    "=": _compare, "!=": _compare, "<": _compare, "<=": _compare, ">": _compare, ">=": _compare,
    "+": _arith, "-": _arith, "*": _arith, "/": _arith, "%": _arith, "||": _arith, "neg": _neg,
    "is null": _is_null, "is not null": _is_null,
    "like": _like, "starts_with": _starts_with, "between": _between, "in": _in,
    "count": _count,
    "sum": _aggregate(Sum, ("number",)), "avg": _aggregate(_Avg, ("number",)),
    "min": _aggregate(Min, ()), "max": _aggregate(Max, ()),
    "date_trunc_y": _trunc("year"), "date_trunc_ym": _trunc("month"),
    "date_trunc_ymd": _trunc("day"),
    "date_extract_y": _extract(ExtractYear), "date_extract_m": _extract(ExtractMonth),
    "date_extract_d": _extract(ExtractDay), "date_extract_hh": _extract(ExtractHour),
    "date_extract_dow": _extract(ExtractWeekDay, 1),
    "upper": _case_fn(Upper), "lower": _case_fn(Lower),
    "within_circle": _within_circle, "within_box": _within_box, "case": _case,
}  # fmt: skip

# What the issue promises, by name; `FUNCTIONS` holds the operators too.
FUNCTION_NAMES = sorted(k for k in FUNCTIONS if k.replace("_", "").isalpha() and " " not in k)


def expression_for(t: Translator, node: Expr) -> Expression:
    """The expression itself (a condition made a true/false value), for $select and $order."""
    typed = t.expr(node)
    return t.value_of(typed, node)  # type: ignore[no-any-return]
