"""Rollup-shaped SoQL answered from the rollups, through the readers in `cases.query`.

`SELECT date_trunc_ym(requested_datetime), department, count(*) GROUP BY …` over a layer's whole
history reads every case by the SQL path; the month tables hold the same counts in a few thousand
rows. A query is answered here when all of it is one the rollups know:

- `$select`: `count(*)` and the grouped columns only; `$group` by `date_trunc_ym` or
  `date_trunc_y` of `requested_datetime`, `department`, `request_type`, `request_type_code`,
  `category` and `status_group`;
- `$where` (and plain filters): `=` or `in` on those columns, `requested_datetime >= 'day'` and
  `< 'day'`, joined by `and`; no `$having`, no `$q`;
- `$order` by selected items.

Anything else returns None and runs as SQL. The rollups count a case by its local day opened and
its current status group and department, as the SQL path does, and leave private request types
out: the answers are the same (a test compares the two paths).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Sum

from civicstat.api.soda.datasets import Dataset
from civicstat.api.soda.parser import Call, Column, Expr, Literal, Query, Star
from civicstat.api.soda.query import OutColumn, expand_star, named_default, unique_name
from civicstat.api.soda.translate import city_zone
from civicstat.cases.models import DataVersion, Department, Service
from civicstat.cases.query import CaseFilter, grouped_rows, rollup_parts

# CivicStat column → the rollup row's field it is read from
DIMENSIONS = {"department": "department_id", "request_type": "service_id",
              "request_type_code": "service_id", "category": "service_id",
              "status_group": "status_group"}  # fmt: skip
PERIODS = {"date_trunc_ym": "month", "date_trunc_y": "year"}


class _NotRollup(Exception):
    """The query asks something the rollups cannot answer."""


class _Nothing(Exception):
    """The filter names a department or request type with no cases: no rows, nothing to read."""


def _column(dataset: Dataset, expr: Expr) -> str:
    if not isinstance(expr, Column) or expr.name not in dataset.columns:
        raise _NotRollup
    return dataset.columns[expr.name].name


def _group_key(dataset: Dataset, expr: Expr) -> str:
    """ "department", "status_group"… or "month"/"year" for a truncated requested time."""
    if isinstance(expr, Call) and expr.name in PERIODS and len(expr.args) == 1:
        if _column(dataset, expr.args[0]) == "requested_datetime":
            return PERIODS[expr.name]
        raise _NotRollup
    name = _column(dataset, expr)
    if name not in DIMENSIONS:
        raise _NotRollup
    return name


def _conjuncts(expr: Expr) -> list[Expr]:
    if isinstance(expr, Call) and expr.name == "and":
        return [part for arg in expr.args for part in _conjuncts(arg)]
    return [expr]


def _texts(args: tuple[Expr, ...]) -> list[str]:
    if not all(isinstance(a, Literal) and a.kind == "text" for a in args):
        raise _NotRollup
    return [str(a.value) for a in args if isinstance(a, Literal)]


def _day(expr: Expr) -> date:
    texts = _texts((expr,))
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", texts[0]):
        raise _NotRollup  # a time of day, or a form the SQL path reads (or refuses) itself
    try:
        return date.fromisoformat(texts[0])
    except ValueError as error:
        raise _NotRollup from error


def _filter(dataset: Dataset, conditions: list[Expr]) -> CaseFilter:
    f = CaseFilter(layers=[dataset.layer.slug])
    seen: set[str] = set()
    empty = False
    for cond in conditions:
        if not isinstance(cond, Call) or cond.name not in ("=", "in", ">=", "<"):
            raise _NotRollup
        name = _column(dataset, cond.args[0])
        if name == "requested_datetime" and cond.name in (">=", "<") and len(cond.args) == 2:
            if cond.name in seen:
                raise _NotRollup
            seen.add(cond.name)
            day = _day(cond.args[1])
            if cond.name == ">=":
                f.requested_from = day
            else:
                f.requested_to = day - timedelta(days=1)
            continue
        if cond.name not in ("=", "in") or name not in DIMENSIONS or name in seen:
            raise _NotRollup
        seen.add(name)
        try:
            _narrow(f, dataset, name, _texts(cond.args[1:]))
        except _Nothing:
            empty = True  # after every condition is read: a later one may not be a rollup's
    if empty:
        raise _Nothing
    return f


def _some(found: list[str]) -> list[str]:
    if not found:
        raise _Nothing
    return found


def _narrow(f: CaseFilter, dataset: Dataset, name: str, values: list[str]) -> None:
    services = Service.objects.filter(layer=dataset.layer)
    if name in ("request_type", "request_type_code") and f.services:
        raise _NotRollup  # both name and code: left to SQL rather than intersected here
    if name == "department":
        slugs = list(Department.objects.filter(name__in=values).values_list("slug", flat=True))
        f.departments = _some(slugs)
    elif name == "request_type":
        f.services = _some(list(services.filter(name__in=values).values_list("code", flat=True)))
    elif name == "request_type_code":
        f.services = _some(list(services.filter(code__in=values).values_list("code", flat=True)))
    elif name == "category":
        f.service_groups = values
    else:  # status_group
        wanted = set(values) & {"open", "closed"}
        if not wanted:
            raise _Nothing
        if len(wanted) == 1:
            f.status_group = wanted.pop()


def answer(
    dataset: Dataset, q: Query, filters: list[Expr]
) -> tuple[list[OutColumn], list[Any]] | None:
    """The columns and rows of `q`, from the rollups; None when they cannot answer it."""
    if q.search or q.having is not None or not q.group:
        return None
    if DataVersion.objects.filter(rollups_stale=True).exists():
        return None  # a bulk load has written cases its rollups do not count yet
    try:
        return _answer(dataset, q, filters)
    except _NotRollup:
        return None


def _answer(dataset: Dataset, q: Query, filters: list[Expr]) -> tuple[list[OutColumn], list[Any]]:
    selected = expand_star(dataset, q.select)
    named = {s.alias: s.expr for s in selected if s.alias and s.expr is not None}
    group = [named.get(g.name, g) if isinstance(g, Column) and g.name not in dataset.columns
             else g for g in q.group]  # fmt: skip
    group_keys = {g: _group_key(dataset, g) for g in group}
    conditions = [
        c for expr in [*filters, *([q.where] if q.where else [])] for c in _conjuncts(expr)
    ]
    try:
        f: CaseFilter | None = _filter(dataset, conditions)
    except _Nothing:
        f = None

    columns: list[OutColumn] = []
    picks: list[str] = []  # per column: a group key, or "count"
    names: list[str] = []
    for i, s in enumerate(selected):
        if s.expr is None:
            raise _NotRollup
        if isinstance(s.expr, Call) and s.expr.name == "count" and s.expr.args == (Star(),):
            pick, kind = "count", "number"
        elif s.expr in group_keys:
            pick = group_keys[s.expr]
            kind = "floating_timestamp" if pick in ("month", "year") else "text"
        else:
            raise _NotRollup
        name = unique_name(s.alias or named_default(s.expr), names)
        names.append(name)
        columns.append(OutColumn(name, kind, (f"_r{i}",)))
        picks.append(pick)

    counts = _counts(f, set(group_keys.values()), dataset) if f is not None else {}
    rows = []
    for key, n in counts.items():
        values = dict(key)
        rows.append({c.keys[0]: (n if p == "count" else values[p])
                     for c, p in zip(columns, picks, strict=True)})  # fmt: skip
    _sort(rows, q, columns, picks, selected, named, group_keys)
    limit = 1000 if q.limit is None else q.limit
    offset = q.offset or 0
    return columns, rows[offset : offset + limit]


def _counts(f: CaseFilter, keys: set[str], dataset: Dataset) -> dict[tuple[Any, ...], int]:
    """Cases opened, by the group keys' values (names, not ids; a month as its local start)."""
    fields = sorted({DIMENSIONS[k] for k in keys if k in DIMENSIONS})
    by_period = "month" in keys or "year" in keys
    services = {s.id: s for s in Service.objects.filter(layer=dataset.layer)}
    departments = dict(Department.objects.values_list("id", "name"))
    zone = city_zone()
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    starts: dict[tuple[str, date], datetime] = {}
    group = [*fields, "day"] if by_period else fields
    order = sorted(keys)
    for part in rollup_parts(f, service_rows="service_id" in fields):
        # The driver's own rows: the ORM's per-value conversion cost more than the grouping.
        for *values, n in grouped_rows(part.values_list(*group).annotate(n=Sum("opened"))):
            if not n:
                continue
            row = dict(zip(group, values, strict=True))
            key: list[tuple[str, Any]] = []
            for k in order:
                if k in ("month", "year"):
                    day = row["day"]
                    day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
                    if (k, day) not in starts:
                        first = day.replace(day=1) if k == "month" else day.replace(month=1, day=1)
                        starts[(k, day)] = datetime.combine(first, time.min, tzinfo=zone)
                    key.append((k, starts[(k, day)]))
                elif k == "department":
                    key.append((k, departments.get(row["department_id"])))
                elif k == "status_group":
                    key.append((k, row["status_group"]))
                else:
                    service = services.get(row["service_id"])
                    attr = {"request_type": "name", "request_type_code": "code"}.get(k, "group")
                    key.append((k, getattr(service, attr) if service else None))
            totals[tuple(key)] += n
    return dict(totals)


def _sort(
    rows: list[dict[str, Any]],
    q: Query,
    columns: list[OutColumn],
    picks: list[str],
    selected: list[Any],
    named: dict[str, Expr],
    group_keys: dict[Expr, str],
) -> None:
    """In $order's order (selected items only), then by the grouped values, as the SQL path."""
    by_expr = {s.expr: c.keys[0] for s, c in zip(selected, columns, strict=True)}
    terms: list[tuple[str, bool]] = []
    for o in q.order:
        expr = named.get(o.expr.name, o.expr) if isinstance(o.expr, Column) else o.expr
        if expr not in by_expr or o.nulls_first is not None:
            raise _NotRollup
        terms.append((by_expr[expr], o.descending))
    terms.extend((c.keys[0], False) for c, p in zip(columns, picks, strict=True) if p != "count")
    for key, descending in reversed(terms):  # stable sorts, the last term first
        present = [r for r in rows if r[key] is not None]
        missing = [r for r in rows if r[key] is None]
        present.sort(key=lambda r, k=key: r[k], reverse=descending)  # type: ignore[misc]
        rows[:] = present + missing
