"""A whole SoQL query (`parser.Query`) run against one dataset: the rows and their columns.

Every read starts from `cases.query.cases()`, the one query builder, so private request types are
never in the rows, whatever the query says; `$q` is its text search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import FieldError
from django.db import DatabaseError, transaction
from django.db.models import F, QuerySet, Value

from civicstat.api.soda.datasets import Dataset
from civicstat.api.soda.parser import (
    Call,
    Column,
    Expr,
    Literal,
    Ordering,
    Query,
    Selected,
    SoqlError,
    parse_expression,
    parse_group,
    parse_order,
    parse_query,
    parse_select,
)
from civicstat.api.soda.translate import Translator, Typed
from civicstat.cases.query import CaseFilter, cases
from civicstat.lib import params

CLAUSES = ("$select", "$where", "$order", "$group", "$having", "$limit", "$offset", "$q")
# `$$exclude_system_fields` (sodapy sends it): system fields are left out unless selected anyway.
SOQL_PARAMETERS = (*CLAUSES, "$query", "$$app_token", "$$exclude_system_fields")
DEFAULT_LIMIT = 1000


@dataclass
class OutColumn:
    name: str
    kind: str  # Socrata's type name
    keys: tuple[str, ...]  # the values() keys: one, or a point's (lat, lon)


@dataclass
class Plan:
    queryset: QuerySet[Any]
    columns: list[OutColumn] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0


class ParameterError(SoqlError):
    pass


def _values(query: Mapping[str, Any], name: str) -> list[str]:
    """Every value of `name`; a query may span lines, so tabs and line breaks are allowed."""
    raw = query.getlist(name) if hasattr(query, "getlist") else [query.get(name)]
    try:
        return [params.plain(name, str(v), free_text=True) for v in raw if v is not None]
    except params.ParamError as error:
        raise ParameterError(str(error)) from error


def _text(query: Mapping[str, Any], name: str) -> str | None:
    values = _values(query, name)
    if not values:
        return None
    if len(values) > 1:
        raise ParameterError(f"{name} is given more than once")
    return values[0]


def _whole(name: str, text: str, high: int) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ParameterError(f"{name} must be a whole number, not {text[:40]!r}")
    value = int(text)
    if value > high:
        raise ParameterError(f"{name} may be at most {high:,}; page with $offset",
                             code="query.soql.limit-too-high")  # fmt: skip
    return value


def query_from_parameters(query: Mapping[str, Any], *, cap: int) -> tuple[Query, str]:
    """The Query the request's $ parameters make, and the text to quote in an error."""
    unknown = [k for k in query if k.startswith("$") and k not in SOQL_PARAMETERS]
    if unknown:
        raise ParameterError(f"Unrecognized arguments [{', '.join(sorted(unknown))}]",
                             code="query.soql.unrecognized-arguments")  # fmt: skip
    if (text := _text(query, "$query")) is not None:
        others = [k for k in CLAUSES if k in query]
        if others:
            raise ParameterError(f"$query cannot be combined with {', '.join(others)}")
        try:
            q = parse_query(text)
        except SoqlError as error:
            error.query = text
            raise
        if q.limit is not None and q.limit > cap:
            raise ParameterError(f"LIMIT may be at most {cap:,}; page with OFFSET",
                                 code="query.soql.limit-too-high")  # fmt: skip
        return q, text
    q = Query()
    quoted = []
    for name, parse, attr in (("$select", parse_select, "select"), ("$where", parse_expression,
                              "where"), ("$group", parse_group, "group"),
                              ("$having", parse_expression, "having"),
                              ("$order", parse_order, "order")):  # fmt: skip
        if (text := _text(query, name)) is not None and text.strip():
            quoted.append(f"{name}={text}")
            try:
                setattr(q, attr, parse(text))
            except SoqlError as error:
                error.query = "&".join(quoted)
                raise
    if (text := _text(query, "$limit")) is not None:
        q.limit = _whole("$limit", text, cap)
    if (text := _text(query, "$offset")) is not None:
        q.offset = _whole("$offset", text, 10**9)
    if (text := _text(query, "$q")) is not None:
        q.search = text[:200]
    return q, "&".join(quoted)


def plain_filters(dataset: Dataset, query: Mapping[str, Any]) -> list[Expr]:
    """`?field=value` filters (Socrata's simple filters): an equality each, typed by the column."""
    found: list[Expr] = []
    for key in query:
        if key.startswith("$"):
            continue
        name = key.lower()
        spec = dataset.columns.get(name)
        if spec is None:
            raise SoqlError(f"No such column: {key[:60]}", code="query.soql.no-such-column")
        for value in _values(query, key):
            literal: Expr
            if spec.kind == "number" or spec.name == ":id":
                try:
                    literal = parse_expression(value)
                except SoqlError:
                    literal = Literal(value, "text")
                if not (isinstance(literal, Literal) and literal.kind == "number"):
                    raise SoqlError(f"{key[:60]} takes a number, not {value[:40]!r}",
                                    code="query.soql.type-mismatch")  # fmt: skip
            else:
                literal = Literal(value, "text")
            found.append(Call("=", (Column(name), literal)))
    return found


def named_default(expr: Expr) -> str:
    """Socrata's name for an unaliased selection: the column's, `count` for count(*), or the
    function's with its columns' (`date_trunc_ym_requested_datetime`)."""
    if isinstance(expr, Column):
        return expr.name
    if isinstance(expr, Call):
        if expr.name == "count" and expr.args and not isinstance(expr.args[0], Column):
            return "count"
        parts = [named_default(a).lstrip(":") for a in expr.args if isinstance(a, Column | Call)]
        if expr.name.replace("_", "").isalpha():
            return "_".join([expr.name, *parts])
    return "expr"


def plan(dataset: Dataset, q: Query, filters: list[Expr], *, default_limit: int) -> Plan:
    """The queryset and output columns of `q` over `dataset`; raises SoqlError."""
    base = cases(CaseFilter(layers=[dataset.layer.slug], text=(q.search or "")[:200]))
    t = Translator(dataset)
    where = [*filters, *([q.where] if q.where is not None else [])]
    qs: QuerySet[Any] = base
    for condition in where:
        typed = t.expr(condition)
        if typed.aggregate:
            raise SoqlError(
                "Aggregate functions belong in $select, $having or $order, not "
                f"$where{_at(condition)}",
                code="query.soql.aggregate-in-where",
            )
        qs = qs.filter(t.condition(condition))

    selected = expand_star(dataset, q.select)
    typed_select = [(s, t.expr(s.expr)) for s in selected if s.expr is not None]
    grouped = bool(q.group) or any(ty.aggregate for _, ty in typed_select)
    if q.having is not None and not grouped:
        raise SoqlError("$having needs $group or an aggregate in $select")

    names: list[str] = []
    columns: list[OutColumn] = []
    annotations: dict[str, Any] = {}
    aliases: dict[str, Typed] = {}
    group_keys: dict[Expr, str] = {}
    selected_keys: dict[Expr, str] = {}  # a selected expression's values() key, for $order

    # An alias of $select may stand for its expression in $group and $order (`GROUP BY month`).
    named = {s.alias: s.expr for s in selected if s.alias and s.expr is not None}
    q.group = [_dealias(g, dataset, named) for g in q.group]
    q.order = [replace(o, expr=_dealias(o.expr, dataset, named)) for o in q.order]
    if grouped:
        group_annotations: dict[str, Any] = {}
        for i, g in enumerate(q.group):
            gt = t.expr(g)
            if gt.aggregate:
                raise SoqlError(f"Cannot group by an aggregate{_at(g)}")
            if gt.point is not None:
                raise SoqlError(f"Cannot group by a location{_at(g)}")
            group_annotations[f"_g{i}"] = t.value_of(gt, g)
            group_keys[g] = f"_g{i}"
        if group_annotations:
            qs = qs.annotate(**group_annotations).values(*group_annotations)
        else:  # every row in one group: a constant is never put in GROUP BY
            qs = qs.annotate(_all=Value(1)).values("_all")

    for i, (sel, typed) in enumerate(typed_select):
        assert sel.expr is not None
        name = unique_name(sel.alias or named_default(sel.expr), names)
        names.append(name)
        kind = typed.kind if typed.kind != "boolean" else "checkbox"
        if typed.point is not None:
            if grouped:
                raise SoqlError(f"A location cannot be selected with an aggregate{_at(sel.expr)}")
            keys: tuple[str, ...] = (f"_s{i}_lat", f"_s{i}_lon")
            annotations.update(zip(keys, typed.point, strict=True))
        elif grouped and not typed.aggregate:
            key = group_keys.get(sel.expr)
            if key is None:
                raise SoqlError(
                    f"{name} must be in $group, or inside an aggregate such as "
                    f"count(){_at(sel.expr)}",
                    code="query.soql.not-grouped",
                )
            keys = (key,)
        else:
            keys = (f"_s{i}",)
            annotations[keys[0]] = t.value_of(typed, sel.expr)
        columns.append(OutColumn(name, kind, keys))
        if len(keys) == 1:
            selected_keys.setdefault(sel.expr, keys[0])
        aliases[name] = Typed(F(keys[0]), typed.kind, typed.aggregate) if len(keys) == 1 else typed

    if annotations:
        qs = qs.annotate(**annotations)
    t.aliases = aliases
    if q.having is not None:
        qs = qs.filter(t.condition(q.having))
    order, extra = _orderings(t, q.order, {**selected_keys, **group_keys}, grouped)
    if extra:  # an aggregate ordered by but not selected must be annotated to be ordered by
        qs = qs.annotate(**extra)
    qs = qs.order_by(*order)
    qs = qs.values(*[k for c in columns for k in c.keys])
    limit = default_limit if q.limit is None else q.limit
    return Plan(qs, columns, limit, q.offset or 0)


def _dealias(expr: Expr, dataset: Dataset, named: dict[str, Expr]) -> Expr:
    if isinstance(expr, Column) and expr.name not in dataset.columns and expr.name in named:
        return named[expr.name]
    return expr


def _at(node: Expr) -> str:
    return f" at line 1 character {node.position}" if node.position else ""


def unique_name(name: str, taken: list[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        candidate = f"{name}_{n}"
        n += 1
    return candidate


def expand_star(dataset: Dataset, selected: list[Selected]) -> list[Selected]:
    """`*` as the dataset's columns (none selected: the same), `:*` as the system columns."""
    if not selected:
        selected = [Selected(None)]
    out: list[Selected] = []
    for s in selected:
        if s.expr is not None:
            out.append(s)
            continue
        system = s.alias == ":*"  # `:*` the system columns, `*` the dataset's own
        for name, spec in dataset.columns.items():
            if spec.name.startswith(":") == system:
                out.append(Selected(Column(name), name))
    return out


def _orderings(
    t: Translator, order: list[Ordering], keys: dict[Expr, str], grouped: bool
) -> tuple[list[Any], dict[str, Any]]:
    """The order_by() terms, and the annotations they need (an aggregate not selected)."""
    result: list[Any] = []
    extra: dict[str, Any] = {}
    for i, o in enumerate(order):
        key = keys.get(o.expr)
        if key is not None:
            expr: Any = F(key)
        else:
            typed = t.expr(o.expr)
            if typed.point is not None:
                raise SoqlError(f"Cannot order by a location{_at(o.expr)}")
            if grouped and not typed.aggregate and not isinstance(typed.expr, F):
                raise SoqlError(f"$order in a grouped query takes grouped columns or aggregates"
                                f"{_at(o.expr)}", code="query.soql.not-grouped")  # fmt: skip
            expr = t.value_of(typed, o.expr)
            if typed.aggregate:
                extra[f"_o{i}"] = expr
                expr = F(f"_o{i}")
        extra_args = {"nulls_first": True} if o.nulls_first else {}
        if o.nulls_first is False:
            extra_args = {"nulls_last": True}
        result.append(expr.desc(**extra_args) if o.descending else expr.asc(**extra_args))
    if grouped:
        result.extend(F(k).asc() for k in keys.values() if k.startswith("_g"))  # stable paging
    else:
        result.append(F("pk").asc())  # Socrata pages in :id order; ties keep their places
    return result, extra


def run(p: Plan) -> list[dict[str, Any]]:
    """The plan's rows. A query the types let through but the database refuses (a number
    divided by zero, an overflow, a mix only the engine rejects) is a SoqlError, not a 500; a
    statement stopped by the time limit is not caught here (`readlimits` answers it)."""
    if not p.limit:
        return []
    try:
        with transaction.atomic():  # a savepoint: the refused statement leaves nothing behind
            return list(p.queryset[p.offset : p.offset + p.limit])
    except FieldError as error:
        raise SoqlError(f"The query mixes types that cannot be combined: {error}",
                        code="query.soql.type-mismatch") from error  # fmt: skip
    except DatabaseError as error:
        cause = error.__cause__
        if getattr(cause, "sqlstate", None) == "57014" or "interrupted" in str(error):
            raise  # the time limit stopped it
        raise SoqlError(f"The database could not run the query: {str(error).splitlines()[0]}",
                        code="query.execution.failed") from error  # fmt: skip
