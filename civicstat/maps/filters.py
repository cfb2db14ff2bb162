"""The map's filter form: the choices it offers, and the query strings that carry filters.

Filters live in the URL (`?department=water-services&status=open&days=90`), read by the shared
`parse_filters`, so a map, a list and an embed with the same query string show the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Sum
from django.http import QueryDict

from civicstat.cases.models import Area, Department, Layer, Service
from civicstat.cases.query import PARAMETERS, CaseFilter, FilterError, cases, rollup_parts

DAY_CHOICES = (7, 30, 90, 365)
SORTS = {
    "-opened": ("-requested_at", "-id"),
    "opened": ("requested_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "-closed": ("-closed_at", "-id"),
    "type": ("service__name", "-requested_at"),
    "status": ("status_group", "-requested_at"),
}
SORT_LABELS = {
    "-opened": "Newest first", "opened": "Oldest first", "-updated": "Recently updated",
    "-closed": "Recently closed", "type": "Type (A–Z)", "status": "Status (open first)",
}  # fmt: skip


def filter_query(query: QueryDict, *, drop: tuple[str, ...] = ("bbox",), **extra: str) -> str:
    """The filter parameters of `query` (blank ones left out) as a query string."""
    pairs = [
        (name, value)
        for name in PARAMETERS
        if name not in drop
        for value in query.getlist(name)
        if value.strip()
    ]
    pairs.extend((k, v) for k, v in extra.items() if v)
    return urlencode(pairs)


@dataclass
class Choices:
    layers: list[Layer]
    departments: list[Department]
    service_groups: list[str]
    services: list[Service]
    # The request types under their service group (KC has 800: one flat list could not be read);
    # those of no group come last, under OTHER_TYPES.
    service_tree: list[tuple[str, list[Service]]]
    districts: list[Area]
    neighborhoods: list[Area]


OTHER_TYPES = "Other request types"


def _grouped(services: list[Service]) -> list[tuple[str, list[Service]]]:
    tree: dict[str, list[Service]] = {}
    for s in sorted(services, key=lambda s: (not s.group, s.group.casefold(), s.name.casefold())):
        tree.setdefault(s.group or OTHER_TYPES, []).append(s)
    return list(tree.items())


def choices() -> Choices:
    public = Service.objects.filter(private=False)
    services = list(public.order_by("name").only("code", "name", "group"))
    return Choices(
        layers=list(Layer.objects.all()),
        departments=list(Department.objects.all()),
        service_groups=sorted({g for g in public.values_list("group", flat=True) if g}),
        services=services,
        service_tree=_grouped(services),
        districts=list(Area.objects.filter(kind="council-district").only("name", "slug", "kind")),
        neighborhoods=list(Area.objects.filter(kind="neighborhood").only("name", "slug", "kind")),
    )


def selected(query: QueryDict) -> dict[str, Any]:
    """The form's current values, for re-rendering it as it was submitted."""
    return {
        "layer": set(query.getlist("layer")),
        "department": query.get("department", ""),
        "service_group": query.get("service_group", ""),
        "service": query.get("service", ""),
        "status": query.get("status", "") or "all",
        "days": query.get("days", ""),
        "since": query.get("since", ""),
        "until": query.get("until", ""),
        "area": query.get("area", ""),
        "q": query.get("q", ""),
    }


def match_count(f: CaseFilter) -> int:
    """How many cases `f` selects: from the rollups when they can say, else from the cases."""
    try:
        return sum(p.aggregate(n=Sum("opened"))["n"] or 0 for p in rollup_parts(f))
    except FilterError:
        return cases(f).count()
