from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from civicstat.cases.models import Case, StatusGroup, StatusMapping
from civicstat.cases.query import CaseFilter, attach_status_labels, cases
from civicstat.cases.stats import layer_totals
from civicstat.maps.views import with_tiles
from civicstat.web import cached_by_data_version


@require_GET
@cached_by_data_version
def home(request: HttpRequest) -> HttpResponse:
    totals = layer_totals()
    recent = list(
        cases(CaseFilter())
        .select_related("layer", "service", "department")
        .order_by("-requested_at")[:10]
    )
    attach_status_labels(recent)
    return render(
        request,
        "cases/home.html",
        {"totals": totals, "recent": recent, "grand_total": sum(t.total for t in totals)},
    )


def case_map(case: Case) -> dict[str, Any] | None:
    """What the small map on a case's page draws: the public point only (for a sensitive layer,
    the centre of its cell, `civicstat.cases.sensitive`), never the stored exact place."""
    from civicstat.maps.views import basemap_config  # the maps app reads this app's models

    if case.public_lat is None or case.public_lon is None:
        return None
    return {
        "basemap": basemap_config(),
        "lat": case.public_lat,
        "lon": case.public_lon,
        "generalised": case.layer.sensitive,
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "areas_url": reverse("map-areas"),
    }


@require_GET
@cached_by_data_version
@with_tiles
def case_detail(request: HttpRequest, layer: str, external_id: str) -> HttpResponse:
    case = get_object_or_404(
        cases(CaseFilter()).select_related("layer", "service", "department"),
        layer__slug=layer,
        external_id=external_id,
    )
    attach_status_labels([case])
    labels = dict(StatusMapping.objects.filter(layer=case.layer).values_list("code", "label"))
    events = list(case.events.all())
    for event in events:
        event.label_from = labels.get(event.status_from, event.status_from)  # type: ignore[attr-defined]
        event.label_to = labels.get(event.status_to, event.status_to)  # type: ignore[attr-defined]
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "events": events,
            "areas": case.areas.all(),
            "case_map": case_map(case),
            **case_timing(case),
        },
    )


def case_timing(case: Case) -> dict[str, Any]:
    """Days open (to now, or to closing), and the expected date from the source or the target.

    A case closed at a time its source never gave has no days open (None), not days counted to
    today, and is not called late: nobody knows when it closed."""
    closed = case.status_group == StatusGroup.CLOSED
    end = case.closed_at if closed else timezone.now()
    days_open = None if end is None else max(0, (end - case.requested_at).days)
    expected = case.expected_at
    if expected is None and case.service and case.service.target_days:
        expected = case.requested_at + timedelta(days=case.service.target_days)
    overdue = expected is not None and end is not None and end > expected
    return {"days_open": days_open, "expected": expected, "overdue": overdue}
