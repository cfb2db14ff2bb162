"""Facets, as Datasette gives them: for each named column, every value among the cases the
filter selects, with its count and the URL that toggles that value in the filter.

Counts come from the rollups (through `cases.query.rollup_parts`) when the filter can be answered
from them, else from the cases (through the query builder): the same figures either way, and
private request types are left out by both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Sum
from django.http import HttpRequest

from civicstat.cases.models import Department, Layer, Service
from civicstat.cases.query import CaseFilter, FilterError, cases, rollup_parts
from civicstat.lib import params
from civicstat.lib.params import ParamError

# facet name (= the filter parameter it toggles) → (rollup column, cases column)
FACETS = {
    "layer": ("layer_id", "layer__slug"),
    "department": ("department_id", "department__slug"),
    "service": ("service_id", "service__code"),
    "service_group": ("service_id", "service__group"),
    "status": ("status_group", "status_group"),
}
MAX_VALUES = 200  # per facet: a facet is for choosing, not a full list (see /services)


def parse_facets(query: Mapping[str, Any]) -> list[str]:
    names = list(dict.fromkeys(params.items(query, "facet")))
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise ParamError(f"cannot facet by {', '.join(repr(n[:40]) for n in unknown)}; "
                         f"facet by {', '.join(FACETS)}")  # fmt: skip
    return names


def _labels(name: str) -> dict[Any, tuple[str, str]]:
    """Rollup ids (or cases values) → (the value the filter takes, its label)."""
    if name == "layer":
        return {i: (s, n) for i, s, n in Layer.objects.values_list("id", "slug", "name")}
    if name == "department":
        return {i: (s, n) for i, s, n in Department.objects.values_list("id", "slug", "name")}
    if name == "service":
        rows = Service.objects.filter(private=False).values_list("id", "code", "name")
        return {i: (c, n) for i, c, n in rows}
    if name == "service_group":
        groups = Service.objects.filter(private=False).values_list("id", "group")
        return {i: (g, g) for i, g in groups if g}
    return {"open": ("open", "Open"), "closed": ("closed", "Closed")}


def _counts_from_rollups(f: CaseFilter, names: list[str]) -> dict[str, dict[Any, int]]:
    found: dict[str, dict[Any, int]] = {n: {} for n in names}
    # Without a request-type facet, the tables summed over request types answer (far fewer rows).
    per_service = "service" in names or "service_group" in names
    parts = rollup_parts(f, service_rows=per_service)
    for name in names:
        column = FACETS[name][0]
        for part in parts:
            for key, n in part.values_list(column).annotate(n=Sum("opened")).order_by():
                found[name][key] = found[name].get(key, 0) + (n or 0)
    return found


def _counts_from_cases(f: CaseFilter, names: list[str]) -> dict[str, dict[Any, int]]:
    found: dict[str, dict[Any, int]] = {}
    # A case inside two of the filter's areas joins twice: count it once.
    count = Count("id", distinct=len(f.areas) > 1)
    for name in names:
        column = FACETS[name][1]
        rows = cases(f).values_list(column).annotate(n=count).order_by()
        found[name] = dict(rows)
    return found


def facet_results(
    request: HttpRequest, f: CaseFilter, names: list[str]
) -> tuple[dict[str, Any], int | None]:
    """{name: [{value, label, count, selected, toggle_url}]}, largest count first; and, when the
    rollups answered, every matching case (each case has one value of a facet, "none" included,
    so a facet's counts add up to it: no second read for the total)."""
    try:
        counts = _counts_from_rollups(f, names)
        from_rollups = True
    except FilterError:  # text, bbox, local status or closed dates: only the cases can say
        counts = _counts_from_cases(f, names)
        from_rollups = False
    total = sum(counts[names[0]].values()) if from_rollups and names else None
    results: dict[str, Any] = {}
    for name in names:
        labels = _labels(name)  # rollup id → (value, label)
        by_value = dict(labels.values())
        merged: dict[str | None, tuple[str, int]] = {}
        for key, n in counts[name].items():
            if from_rollups:
                value, label = labels.get(key, (None, "(none)"))
            else:
                value = key or None
                label = by_value.get(value, value) if value else "(none)"
            # Request types of two layers may share a code: one value, one count.
            merged[value] = (label, merged.get(value, (label, 0))[1] + n)
        chosen = _selected(request, name)
        ordered = sorted(merged.items(), key=lambda kv: (-kv[1][1], kv[0] or ""))
        results[name] = [
            {"value": value, "label": label, "count": n,
             "selected": value is not None and value in chosen,
             "toggle_url": None if value is None else toggle_url(request, name, value)}
            for value, (label, n) in ordered[:MAX_VALUES] if n > 0
        ]  # fmt: skip
    return results, total


def _selected(request: HttpRequest, name: str) -> list[str]:
    return params.items(request.GET, name)


def toggle_url(request: HttpRequest, name: str, value: str) -> str:
    """This request's URL with `value` added to the `name` filter, or taken out if it is in it
    (a new filter starts again at the first page)."""
    pairs: list[tuple[str, str]] = []
    for key, values in request.GET.lists():
        if key in (name, "_next"):
            continue
        pairs.extend((key, v) for v in values)
    chosen = _selected(request, name)
    if name == "status":
        chosen = [] if value in chosen else [value]
    else:
        chosen = [c for c in chosen if c != value] if value in chosen else [*chosen, value]
    if chosen:
        pairs.append((name, ",".join(chosen)))
    query = urlencode(pairs)
    return request.build_absolute_uri(request.path + (f"?{query}" if query else ""))
