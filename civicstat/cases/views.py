from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from civicstat.cases.models import Case, StatusMapping
from civicstat.cases.query import CaseFilter, cases
from civicstat.cases.stats import layer_totals
from civicstat.web import public_etag


@require_GET
@public_etag
def home(request: HttpRequest) -> HttpResponse:
    totals = layer_totals()
    recent = list(
        cases(CaseFilter())
        .select_related("layer", "service", "department")
        .order_by("-requested_at")[:10]
    )
    _attach_labels(recent)
    return render(
        request,
        "cases/home.html",
        {"totals": totals, "recent": recent, "grand_total": sum(t.total for t in totals)},
    )


@require_GET
def case_detail(request: HttpRequest, layer: str, external_id: str) -> HttpResponse:
    case = get_object_or_404(
        cases(CaseFilter()).select_related("layer", "service", "department"),
        layer__slug=layer,
        external_id=external_id,
    )
    _attach_labels([case])
    return render(
        request,
        "cases/case_detail.html",
        {"case": case, "events": case.events.all(), "areas": case.areas.all()},
    )


def _attach_labels(items: list[Case]) -> None:
    labels = {(m.layer_id, m.code): m.label for m in StatusMapping.objects.all()}
    for case in items:
        case._status_labels = {case.status: labels.get((case.layer_id, case.status), case.status)}  # type: ignore[attr-defined]
