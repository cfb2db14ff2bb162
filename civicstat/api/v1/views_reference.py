"""The reference lists: layers (with their open and closed counts and export links), request
types, departments, areas (GeoJSON), and the published measures with their values."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from ninja import Router
from ninja.decorators import decorate_view

from civicstat.api.v1 import schemas
from civicstat.api.v1.http import REFERENCE_READ, error
from civicstat.cases.models import Area, Department, Service
from civicstat.cases.stats import layer_totals
from civicstat.lib import params
from civicstat.performance.models import Measure
from civicstat.performance.portable import measure_definition
from civicstat.performance.summaries import summarise
from civicstat.performance.views import WITHHELD

router = Router(tags=["reference"])


def _json(body: Any) -> JsonResponse:
    return JsonResponse(body, safe=False, json_dumps_params={"ensure_ascii": False})


@router.get("/layers", url_name="api-layers", response=list[schemas.LayerOut], summary="Layers")
@decorate_view(*REFERENCE_READ)
def layers(request: HttpRequest) -> HttpResponse:
    """Each layer with its public cases open and closed now (every date), and its exports."""
    base = request.build_absolute_uri("/api/v1/layers/")
    return _json([
        {"slug": t.layer.slug, "name": t.layer.name, "noun": t.layer.noun,
         "description": t.layer.description, "open": t.open, "closed": t.closed,
         "csv_url": f"{base}{t.layer.slug}/cases.csv",
         "geojson_url": f"{base}{t.layer.slug}/cases.geojson"}
        for t in layer_totals()
    ])  # fmt: skip


@router.get(
    "/services", url_name="api-services", response=list[schemas.ServiceOut], summary="Request types"
)
@decorate_view(*REFERENCE_READ)
def services(request: HttpRequest) -> HttpResponse:
    """The public request types (a private one never appears)."""
    rows = Service.objects.filter(private=False).select_related("layer", "department")
    return _json([
        {"code": s.code, "name": s.name, "group": s.group, "description": s.description,
         "layer": s.layer.slug, "department": s.department.slug if s.department else None,
         "target_days": s.target_days}
        for s in rows.order_by("layer__position", "name", "code")
    ])  # fmt: skip


@router.get(
    "/departments",
    url_name="api-departments",
    response=list[schemas.DepartmentOut],
    summary="Departments",
)
@decorate_view(*REFERENCE_READ)
def departments(request: HttpRequest) -> HttpResponse:
    return _json([{"slug": d.slug, "name": d.name} for d in Department.objects.all()])


_AREAS = {
    "parameters": [schemas.param("kind", "Only areas of this kind (council-district…)")],
    "responses": schemas.responses("application/geo+json", "A FeatureCollection of areas"),
}


@router.get("/areas", url_name="api-areas", summary="Areas as GeoJSON", openapi_extra=_AREAS)
@decorate_view(*REFERENCE_READ)
def areas(request: HttpRequest) -> HttpResponse:
    """Council districts, neighborhoods and other areas as a GeoJSON FeatureCollection; an area's
    `id` and `kind:slug` are what the `area` filter takes."""
    qs = Area.objects.all()
    if kind := params.text(request.GET, "kind"):
        kinds = sorted(set(Area.objects.values_list("kind", flat=True)))
        qs = qs.filter(kind=params.choice("kind", kind, kinds))
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": a.id, "geometry": a.geometry,
         "properties": {"id": a.id, "kind": a.kind, "slug": a.slug, "name": a.name,
                        "code": a.code, "filter": f"{a.kind}:{a.slug}"}}
        for a in qs
    ]}  # fmt: skip
    return HttpResponse(json.dumps(doc, ensure_ascii=False), content_type="application/geo+json")


def _published() -> Any:
    return Measure.objects.published().select_related("goal__area", "department")


@router.get(
    "/measures",
    url_name="api-measures",
    response=list[schemas.MeasureOut],
    summary="Performance measures",
)
@decorate_view(*REFERENCE_READ)
def measures(request: HttpRequest) -> HttpResponse:
    """The published performance measures (drafts never appear)."""
    return _json([
        {"slug": m.slug, "title": m.title, "short_name": m.short_name,
         "description": m.description, "unit": m.unit, "period": m.period,
         "direction": m.direction, "department": m.department.slug if m.department else None,
         "priority_area": m.goal.area.slug, "goal": m.goal.slug,
         "url": request.build_absolute_uri(m.get_absolute_url()),
         "values_url": request.build_absolute_uri(reverse("api-v1:api-measure",
                                                          args=[m.slug]))}
        for m in _published()
    ])  # fmt: skip


@router.get("/measures/{slug}", response={200: schemas.MeasureValues, 404: schemas.Error,
            503: schemas.Error}, url_name="api-measure",
            summary="A measure's definition and values")  # fmt: skip
@decorate_view(*REFERENCE_READ)
def measure_values(request: HttpRequest, slug: str) -> HttpResponse:
    """A published measure's definition and its value, target and status for each period."""
    params.plain("slug", slug)
    measure = _published().filter(slug=slug).first()
    if measure is None:
        raise Http404("No published measure with that slug; see /api/v1/measures")
    s = summarise([measure])[0]
    if s.withheld:
        response = error(503, WITHHELD)
        response["Retry-After"] = "60"
        return response
    return _json({"definition": measure_definition(measure), "values": s.rows()})


@router.get("/", url_name="api-index", summary="What this API offers", include_in_schema=False)
@decorate_view(*REFERENCE_READ)
def index(request: HttpRequest) -> HttpResponse:
    """Where to start: the endpoints, the OpenAPI description and the interactive docs."""
    here = request.build_absolute_uri("/api/v1/")
    names = ("cases", "cases.csv", "cases.geojson", "facets", "aggregates", "layers", "services",
             "departments", "areas", "measures")  # fmt: skip
    return _json({
        "description": "CivicStat query API: public 311 cases, facets, aggregates and reference "
                       "lists as JSON, CSV and GeoJSON.",
        "openapi": f"{here}openapi.json", "docs": f"{here}docs",
        "endpoints": {name: f"{here}{name}" for name in names},
    })  # fmt: skip
