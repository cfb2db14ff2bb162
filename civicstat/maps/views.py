"""The public map, its list view, the cluster/points endpoint, place search and embeds."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from civicstat.cases.freshness import quiet_window
from civicstat.cases.models import Area, Case, Layer
from civicstat.cases.query import (
    CaseFilter,
    FilterError,
    attach_status_labels,
    cases,
    parse_filters,
)
from civicstat.lib import params
from civicstat.maps import basemap, clusters
from civicstat.maps.filters import (
    DAY_CHOICES,
    SORT_LABELS,
    SORTS,
    choices,
    filter_query,
    match_count,
    selected,
)
from civicstat.maps.outlines import simplified
from civicstat.maps.start import filter_start, map_start
from civicstat.places.geocoder import places_find
from civicstat.readlimits import throttled, time_limited
from civicstat.web import cached_by_data_version, embeddable

PAGE_SIZE = 50
# The files `build_basemap` writes: nothing else in its folder is served.
BASEMAP_FILE = re.compile(
    r"(roads|areas)-\d{1,2}\.json|labels\.json|parcels/\d{1,2}/\d{1,7}/\d{1,7}\.json"
)
View = Callable[..., HttpResponse]


def tile_origin(template: str) -> str:
    """The origin a tile URL template loads from, as a CSP source ("{s}." subdomains as "*.")."""
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc
    if host.startswith("{s}."):
        host = "*." + host[4:]
    return f"{parts.scheme}://{host}"


def with_tiles(view: View) -> View:
    """Let the page load base-map tiles from the configured tile server, and nothing else new."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if origin := tile_origin(settings.MAP_TILE_URL):
            policy: dict[str, Any] = getattr(response, "_csp_config", None) or settings.SECURE_CSP
            images = [*policy.get("img-src", []), origin]
            response._csp_config = {**policy, "img-src": images}  # type: ignore[attr-defined]
        return response

    return wrapped


# The query-string filters the rollups cannot answer (`clusters.rollup_can_answer`): with any of
# them the map, its count and its list read the cases themselves, which the throttle counts.
_CASE_FILTERS = ("since", "until", "days", "closed_since", "closed_until", "area", "q",
                 "local_status")  # fmt: skip


def reads_cases(request: HttpRequest) -> bool:
    """Whether the request's filters need the cases table (read from the query string alone: the
    throttle asks before the view parses anything)."""
    return any(v.strip() for name in _CASE_FILTERS for v in request.GET.getlist(name))


def bad_request(request: HttpRequest, error: FilterError) -> HttpResponse:
    if request.path.endswith(".json"):
        return JsonResponse({"error": str(error)}, status=400)
    return render(request, "maps/bad_request.html", {"message": str(error)}, status=400)


def basemap_config() -> dict[str, Any] | None:
    """What basemap.js needs to draw the offline base map; None with a tile server (it takes
    precedence) or when `build_basemap` has not been run."""
    if settings.MAP_TILE_URL:
        return None
    built = basemap.manifest(Path(settings.BASEMAP_DIR))
    if built is None:
        return None
    return {**built, "url": reverse("map-basemap", args=[built["version"], "x"])[:-1]}


def _map_config(
    request: HttpRequest, *, embed: bool = False, f: CaseFilter | None = None
) -> dict[str, Any]:
    query = filter_query(request.GET)
    return {
        "basemap": basemap_config(),
        "view_url": reverse("map-view"),
        "places_url": reverse("map-places"),
        "query": query,
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "areas_url": reverse("map-areas"),
        # An embed opens on its own filter's cases; the full map keeps the city's view (and its
        # shared links' places).
        "start": filter_start(f, query) if embed and f is not None else map_start(),
        "embed": embed,
        "list_url": reverse("map-list"),
    }


def _page_of(f: CaseFilter, sort: str, page: int) -> list[Case]:
    rows = list(
        cases(f)
        .select_related("layer", "service", "department")
        .order_by(*SORTS[sort])[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )
    attach_status_labels(rows)
    return rows


def _generalised_layers(f: CaseFilter) -> list[str]:
    """The names of the sensitive layers the filters show, for the legend to say that their
    cases are drawn at generalised places (`civicstat.cases.sensitive`)."""
    layers = Layer.objects.filter(sensitive=True)
    if f.layers:
        layers = layers.filter(slug__in=f.layers)
    return list(layers.values_list("name", flat=True))


@require_GET
@cached_by_data_version
@with_tiles
@throttled(when=reads_cases)
@time_limited
def map_page(request: HttpRequest) -> HttpResponse:
    try:
        f = parse_filters(request.GET)
    except FilterError as error:
        return bad_request(request, error)
    f.bbox = None  # the page lists everything the filters select; the map asks per viewport
    count = match_count(f)
    return render(request, "maps/map.html", {
        "choices": choices(), "selected": selected(request.GET), "day_choices": DAY_CHOICES,
        "count": count, "recent": _page_of(f, "-opened", 1)[:20],
        "quiet": quiet_window(request.GET, f, count),
        "config": _map_config(request), "query": filter_query(request.GET),
        "generalised": _generalised_layers(f),
        "hide_closed_query": filter_query(request.GET, drop=("bbox", "status"), status="open"),
        "recent_links": [
            (n, filter_query(request.GET, drop=("bbox", "days", "since"), days=str(n)))
            for n in DAY_CHOICES
        ],
    })  # fmt: skip


@require_GET
@cached_by_data_version
@throttled
@time_limited
def case_list(request: HttpRequest) -> HttpResponse:
    try:
        f = parse_filters(request.GET)
    except FilterError as error:
        return bad_request(request, error)
    try:
        sort = params.choice("sort", params.text(request.GET, "sort") or "-opened", SORTS)
        page = params.integer(request.GET, "page", low=1, high=100_000, default=1)
    except FilterError as error:
        return bad_request(request, error)
    deepest = settings.MAP_LIST_MAX_PAGE
    if page > deepest:
        # Reaching page N means reading and skipping every case before it, on every request.
        return bad_request(request, FilterError(
            f"the list goes {deepest:,} pages deep (the first {deepest * PAGE_SIZE:,} matching "
            "cases): narrow the filters (fewer days, one area or request type) or sort the other "
            "way to see the rest"))  # fmt: skip
    count = match_count(f)
    pages = max(1, -(-count // PAGE_SIZE))
    query = filter_query(request.GET, drop=())
    return render(request, "maps/list.html", {
        "rows": _page_of(f, sort, page), "count": count, "page": page, "pages": pages,
        "sort": sort, "sorts": SORT_LABELS, "query": query,
        "map_query": filter_query(request.GET),
        "previous": f"?{query}&sort={sort}&page={page - 1}" if page > 1 else "",
        "next": f"?{query}&sort={sort}&page={page + 1}" if page < min(pages, deepest) else "",
        "deepest": deepest if pages > deepest else 0,
        "caption": f"Matching cases, page {page:,} of {pages:,}",
        "quiet": quiet_window(request.GET, f, count),
        # The map's own filter form (maps/_filter_panel.html), its keyword search included.
        "choices": choices(), "selected": selected(request.GET), "day_choices": DAY_CHOICES,
    })  # fmt: skip


@require_GET
@cached_by_data_version
@throttled(when=reads_cases)
@time_limited
def map_view(request: HttpRequest) -> HttpResponse:
    """Clusters or points for one viewport: `?bbox=west,south,east,north` plus any filters."""
    try:
        f = parse_filters(request.GET)
        if f.bbox is None:
            raise FilterError("bbox is required: west,south,east,north of the map's viewport")
    except FilterError as error:
        return bad_request(request, error)
    answer = clusters.view(f)
    data = answer.as_json()
    for point in data["points"]:
        point["url"] = reverse("case-detail", args=[point["layer"], point["id"]])
    return JsonResponse(data)


@require_GET
@cached_by_data_version
@throttled
@time_limited
def places(request: HttpRequest) -> HttpResponse:
    """Places matching `q` (civicstat.places.geocoder): a case number, addresses, streets, ZIP
    codes, neighborhoods and districts, the best first."""
    text = " ".join(params.text(request.GET, "q", free_text=True).split())[:100]
    if len(text) < 3:
        return JsonResponse({"error": "type at least 3 letters of an address or place"}, status=400)
    found: list[dict[str, Any]] = []
    for place in places_find(text):
        item: dict[str, Any] = {"name": place.name, "kind": place.kind}
        if place.bbox and place.kind != "address":
            item["bbox"] = list(place.bbox)
        else:
            item.update(lat=place.lat, lon=place.lon)
        if place.address_id:
            # What an Open311 client posts as address_id to locate a request at this address.
            item["address_id"] = place.address_id
        if place.url:
            item["url"] = place.url
        if not place.exact:
            item["approximate"] = True
        found.append(item)
    return JsonResponse({"places": found})


@require_GET
@cached_by_data_version
def areas_geojson(request: HttpRequest) -> HttpResponse:
    """Council district outlines, drawn over every map. Simplified to about a metre (44 kB for
    Kansas City's districts, 208 kB as stored: `civicstat.maps.outlines`); `?detail=full` gives
    them as loaded, for a download."""
    full = params.choice("detail", params.text(request.GET, "detail") or "map", ("map", "full"))
    features = [
        {"type": "Feature", "properties": {"name": a.name},
         "geometry": a.geometry if full == "full" else simplified(a.geometry)}
        for a in Area.objects.filter(kind="council-district")
    ]  # fmt: skip
    return JsonResponse({"type": "FeatureCollection", "features": features})


@require_GET
@cached_by_data_version
def basemap_file(request: HttpRequest, version: str, name: str) -> HttpResponse:
    """One file of the offline base map (`civicstat.maps.basemap`). The version in the path is
    the content's hash, so a browser keeps a file for a year and a rebuild gets new URLs."""
    built = basemap.manifest(Path(settings.BASEMAP_DIR))
    if built is None or version != built["version"] or not BASEMAP_FILE.fullmatch(name):
        raise Http404("no such base map file")
    try:
        body = (Path(settings.BASEMAP_DIR) / name).read_bytes()
    except OSError:
        raise Http404("no such base map file") from None
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_GET
@cached_by_data_version
@with_tiles
def embed_new(request: HttpRequest) -> HttpResponse:
    """The embed builder: pick filters, see the live preview, copy the snippet."""
    try:
        parse_filters(request.GET)
    except FilterError as error:
        return bad_request(request, error)
    query = filter_query(request.GET, drop=("bbox",), list="1" if request.GET.get("list") else "")
    # The address this page was asked for (as the measure pages' snippets do): a snippet copied
    # from a staging or renamed site names that site, not a SITE_URL set for emails.
    base = request.build_absolute_uri(reverse("embed-map"))
    preview = reverse("embed-map") + (f"?{query}" if query else "")
    return render(request, "maps/embed_new.html", {
        "choices": choices(), "selected": selected(request.GET), "day_choices": DAY_CHOICES,
        "src": base + (f"?{query}" if query else ""), "embed_base": base, "preview": preview,
        "with_list": bool(request.GET.get("list")),
    })  # fmt: skip


@require_GET
@cached_by_data_version
@with_tiles
@embeddable
@throttled(when=reads_cases)
@time_limited
def embed_map(request: HttpRequest) -> HttpResponse:
    """The framed map: map, optional list, legend, and a link to the full map on the city site."""
    try:
        f = parse_filters(request.GET)
    except FilterError as error:
        return bad_request(request, error)
    f.bbox = None
    query = filter_query(request.GET)
    count = match_count(f)
    return render(request, "maps/embed.html", {
        "config": _map_config(request, embed=True, f=f), "count": count,
        "quiet": quiet_window(request.GET, f, count),
        "rows": _page_of(f, "-opened", 1)[:10] if request.GET.get("list") else [],
        "full_map": request.build_absolute_uri(reverse("map")) + (f"?{query}" if query else ""),
        "generalised": _generalised_layers(f),
    })  # fmt: skip
