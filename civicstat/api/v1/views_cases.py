"""The case endpoints: a page of cases (JSON, CSV, GeoJSON), facets, aggregates and the streamed
export of a whole layer. Every one reads its filters through `cases.query.parse_filters` and its
cases through `cases.query.cases`, so private request types never appear."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from ninja import Router
from ninja.decorators import decorate_view

from civicstat.api.v1 import schemas
from civicstat.api.v1.aggregates import DEFINITIONS, aggregate, parse_area_kind, parse_by
from civicstat.api.v1.facets import facet_results, parse_facets
from civicstat.api.v1.http import CASE_READ, ROLLUP_READ, json_refusal, open_cors
from civicstat.api.v1.listing import Listing, page, parse_fields, parse_listing
from civicstat.api.v1.rows import (
    ExportTooSlow,
    RowWriter,
    csv_stream,
    csv_text,
    encoded,
    first_rows,
    geojson_stream,
    gzipped,
    stream_rows,
)
from civicstat.cases.models import DataVersion, Layer
from civicstat.cases.query import (
    CaseFilter,
    FilterError,
    cases,
    parse_filters,
    rollup_parts,
    status_labels,
)
from civicstat.lib.params import ParamError
from civicstat.readlimits import SLOW_RETRY_SECONDS, TOO_SLOW, throttled
from civicstat.web import cached_by_data_version

router = Router(tags=["cases"])
_ERRORS = {400: schemas.Error, 429: schemas.Error, 503: schemas.Error}
_LIST = {"parameters": [*schemas.FILTER_PARAMS, *schemas.LIST_PARAMS, schemas.FACET_PARAM]}


def _selected(f: CaseFilter) -> Any:
    qs = cases(f)
    return qs.distinct() if len(f.areas) > 1 else qs  # a case in two of the areas: once


def _count(f: CaseFilter) -> int:
    """Every case `f` selects: from the rollups when they can say, else counted (each case once)."""
    try:
        parts = rollup_parts(f, service_rows=False)  # summed over request types: fewer rows
        return sum(p.aggregate(n=Sum("opened"))["n"] or 0 for p in parts)
    except FilterError:
        return int(_selected(f).count())


def _writer(request: HttpRequest, fields: tuple[str, ...]) -> RowWriter:
    return RowWriter(fields=fields, labels=status_labels(), site=request.build_absolute_uri("/"))


def _page(request: HttpRequest) -> tuple[CaseFilter, Listing, list[dict[str, Any]], str | None]:
    f = parse_filters(request.GET)
    listing = parse_listing(request.GET)
    rows, cursor = page(_selected(f), listing)
    return f, listing, rows, cursor


def _next_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    pairs = [(k, v) for k, values in request.GET.lists() if k != "_next" for v in values]
    pairs.append(("_next", cursor))
    return request.build_absolute_uri(f"{request.path}?{urlencode(pairs)}")


def _linked(response: HttpResponse, next_url: str | None) -> HttpResponse:
    if next_url:
        response["Link"] = f'<{next_url}>; rel="next"'
    return response


@router.get(
    "/cases",
    url_name="api-cases",
    response={200: schemas.CasesPage, **_ERRORS},
    openapi_extra=_LIST,
    summary="Cases, a page at a time",
)
@decorate_view(*CASE_READ)
def cases_json(request: HttpRequest) -> HttpResponse:
    """Cases matching the filters (the map's grammar), newest first unless sorted otherwise,
    `_size` at a time; `next_url` (and the `Link` header) gives the next page. `count` is every
    matching case; `facet=` adds facet counts."""
    names = parse_facets(request.GET)
    f, listing, rows, cursor = _page(request)
    writer = _writer(request, listing.fields)
    next_url = _next_url(request, cursor)
    found, total = facet_results(request, f, names) if names else ({}, None)
    body: dict[str, Any] = {"count": _count(f) if total is None else total,
                            "rows": [writer.row(r) for r in rows], "next": cursor,
                            "next_url": next_url}  # fmt: skip
    if names:
        body["facets"] = found
    return _linked(JsonResponse(body, json_dumps_params={"ensure_ascii": False}), next_url)


@router.get(
    "/cases.csv",
    url_name="api-cases-csv",
    openapi_extra={
        **_LIST,
        "responses": schemas.responses("text/csv", "A page of cases as CSV, a header row first"),
    },
    summary="Cases as CSV",
)
@decorate_view(*CASE_READ)
def cases_csv(request: HttpRequest) -> HttpResponse:
    """The same page as `/cases`, as CSV; the `Link` header gives the next page."""
    _, listing, rows, cursor = _page(request)
    writer = _writer(request, listing.fields)
    text = csv_text(listing.fields, (writer.csv_line(r) for r in rows))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    return _linked(response, _next_url(request, cursor))


@router.get(
    "/cases.geojson",
    url_name="api-cases-geojson",
    openapi_extra={
        **_LIST,
        "responses": schemas.responses(
            "application/geo+json", "A page of cases as a GeoJSON FeatureCollection"
        ),
    },
    summary="Cases as GeoJSON",
)
@decorate_view(*CASE_READ)
def cases_geojson(request: HttpRequest) -> HttpResponse:
    """The same page as `/cases`, as GeoJSON Features (geometry null where a case has no
    published position); the `Link` header gives the next page."""
    _, listing, rows, cursor = _page(request)
    writer = _writer(request, listing.fields)
    next_url = _next_url(request, cursor)
    doc = {"type": "FeatureCollection", "features": [writer.feature(r) for r in rows],
           "next_url": next_url}  # fmt: skip
    response = HttpResponse(json.dumps(doc, ensure_ascii=False),
                            content_type="application/geo+json")  # fmt: skip
    return _linked(response, next_url)


@router.get(
    "/facets",
    url_name="api-facets",
    response={200: schemas.Facets, **_ERRORS},
    openapi_extra={"parameters": [*schemas.FILTER_PARAMS, schemas.FACET_PARAM]},
    summary="Facet counts",
)
@decorate_view(*CASE_READ)
def facets(request: HttpRequest) -> HttpResponse:
    """For each `facet=` (layer, department, service, service_group, status): every value among
    the matching cases with its count and the URL that toggles it; `count` is every matching
    case."""
    names = parse_facets(request.GET) or ["department", "service", "status"]
    f = parse_filters(request.GET)
    found, total = facet_results(request, f, names)
    body = {"count": _count(f) if total is None else total, "facets": found}
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


@router.get(
    "/aggregates",
    url_name="api-aggregates",
    response={200: schemas.Aggregates, **_ERRORS},
    openapi_extra={"parameters": [*schemas.AGGREGATE_PARAMS, *schemas.FILTER_PARAMS]},
    summary="Counts, backlog and median days to close, grouped",
)
@decorate_view(*ROLLUP_READ)
def aggregates(request: HttpRequest) -> HttpResponse:
    """Opened, closed, backlog and median days to close by department, service, layer, area,
    month or year (one or two of them), from the rollups. Filters on text, bbox, local status
    or closed dates cannot be answered from the rollups: use /cases for those."""
    by = parse_by(request.GET)
    if not by:
        raise ParamError("by is required: one or two of layer, department, service, area, "
                         "month, year")  # fmt: skip
    f = parse_filters(request.GET)
    area_kind = parse_area_kind(request.GET) if "area" in by else ""
    changed = DataVersion.objects.values_list("changed_at", flat=True).first()
    period = {"from": f.requested_from.isoformat() if f.requested_from else None,
              "to": f.requested_to.isoformat() if f.requested_to else None,
              "covers": "cases opened (and closed) in these days, city time; null: unbounded",
              "data_as_of": changed.isoformat() if changed else None}  # fmt: skip
    rows = aggregate(f, by, area_kind=area_kind)
    body = {"by": by, "period": period, "definitions": DEFINITIONS, "rows": rows}
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


# ---- Bulk export ------------------------------------------------------------------------------

EXPORT = (throttled(refuse=json_refusal), cached_by_data_version, open_cors)
_EXPORT_PARAMS = {"parameters": [*schemas.FILTER_PARAMS[1:], schemas.FIELDS_PARAM]}


def _export(request: HttpRequest, layer: str, fmt: str) -> HttpResponseBase:
    the_layer = get_object_or_404(Layer, slug=layer)
    f = parse_filters(request.GET)
    f.layers = [the_layer.slug]
    writer = _writer(request, parse_fields(request.GET))
    qs: Any = _selected(f)
    try:
        first = first_rows(qs)
    except ExportTooSlow:
        refused = json_refusal(request, 503, TOO_SLOW)
        refused["Retry-After"] = str(SLOW_RETRY_SECONDS)
        refused["Cache-Control"] = "no-store"
        return refused
    rows = stream_rows(qs, first=first, deadline=time.monotonic() + settings.EXPORT_TIME_LIMIT_S)
    chunks = csv_stream(writer, rows) if fmt == "csv" else geojson_stream(writer, rows)
    gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    body = gzipped(chunks) if gzip else encoded(chunks)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/geo+json"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{the_layer.slug}.{fmt}"'
    if gzip:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@router.get(
    "/layers/{layer}/cases.csv",
    url_name="api-export-csv",
    openapi_extra={
        **_EXPORT_PARAMS,
        "responses": schemas.responses("text/csv", "Every case of the layer, streamed"),
    },
    summary="Export a whole layer as CSV",
)
@decorate_view(*EXPORT)
def export_csv(request: HttpRequest, layer: str) -> HttpResponseBase:
    """Every public case of the layer (filters narrow it), streamed as CSV, gzipped for clients
    that accept it."""
    return _export(request, layer, "csv")


@router.get(
    "/layers/{layer}/cases.geojson",
    url_name="api-export-geojson",
    openapi_extra={
        **_EXPORT_PARAMS,
        "responses": schemas.responses("application/geo+json", "Every case of the layer, streamed"),
    },
    summary="Export a whole layer as GeoJSON",
)
@decorate_view(*EXPORT)
def export_geojson(request: HttpRequest, layer: str) -> HttpResponseBase:
    """Every public case of the layer (filters narrow it), streamed as a GeoJSON
    FeatureCollection, gzipped for clients that accept it."""
    return _export(request, layer, "geojson")
