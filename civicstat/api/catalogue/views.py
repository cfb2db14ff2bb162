"""The data catalogue: the page residents browse (/data, /data/<id>), Socrata's catalogue API
(/api/catalog/v1) and the DCAT-US 1.1 catalogue (/data.json) that data.gov and CKAN harvest."""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from civicstat.api.catalogue.entries import Entry, as_json_safe, entries, soql_example
from civicstat.api.soda.render import CONTENT_TYPES
from civicstat.lib import params
from civicstat.web import cached_by_data_version


def _json(body: Any) -> HttpResponse:
    response = HttpResponse(json.dumps(body, indent=1, ensure_ascii=False, default=as_json_safe),
                            content_type=CONTENT_TYPES["json"])  # fmt: skip
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _resource(request: HttpRequest, e: Entry) -> dict[str, Any]:
    """One result of /api/catalog/v1, in Socrata's Discovery API shape."""
    return {
        "resource": {
            "name": e.title, "id": e.identifier, "description": e.description,
            "attribution": settings.CITY_NAME, "type": "dataset" if e.dataset else "file",
            "updatedAt": as_json_safe(e.updated), "data_updated_at": as_json_safe(e.updated),
            "columns_name": [c[2] for c in e.columns],
            "columns_field_name": [c[0] for c in e.columns],
            "columns_datatype": [c[1] for c in e.columns],
            "columns_description": [c[3] for c in e.columns],
            "download_count": None, "row_count": e.rows,
        },
        "classification": {"categories": [], "tags": [], "domain_tags": e.keywords},
        "metadata": {"domain": request.get_host(), "license": settings.OPEN_DATA_LICENSE_NAME},
        "permalink": request.build_absolute_uri(e.page),
        "link": request.build_absolute_uri(e.page),
    }  # fmt: skip


@require_safe
@cached_by_data_version
def catalog_v1(request: HttpRequest) -> HttpResponse:
    """Socrata's Discovery API: `results` and `resultSetSize`; `q` searches the titles and
    descriptions, `ids` picks datasets, `only=dataset` leaves out the files; `limit`/`offset`."""
    found = entries()
    if q := params.text(request.GET, "q").lower():
        found = [e for e in found if q in e.title.lower() or q in e.description.lower()]
    if ids := params.items(request.GET, "ids"):
        found = [e for e in found if e.identifier in ids]
    if params.text(request.GET, "only") in ("dataset", "datasets"):
        found = [e for e in found if e.dataset is not None]
    limit = params.integer(request.GET, "limit", low=0, high=10_000, default=100)
    offset = params.integer(request.GET, "offset", low=0, high=10**6, default=0)
    page = found[offset : offset + limit]
    return _json({"results": [_resource(request, e) for e in page],
                  "resultSetSize": len(found), "timings": {}})  # fmt: skip


def _dcat_dataset(request: HttpRequest, e: Entry) -> dict[str, Any]:
    absolute = request.build_absolute_uri
    item: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "identifier": absolute(e.page),
        "title": e.title,
        "description": e.description,
        "keyword": e.keywords,
        "modified": as_json_safe(e.updated.date()) if e.updated else None,
        "publisher": {"@type": "org:Organization", "name": settings.CITY_NAME},
        "contactPoint": {"@type": "vcard:Contact", "fn": f"{settings.CITY_NAME} open data",
                         "hasEmail": f"mailto:{settings.OPEN_DATA_CONTACT_EMAIL}"},
        "accessLevel": "public",
        "license": settings.OPEN_DATA_LICENSE_URL,
        "landingPage": absolute(e.page),
        "distribution": [
            {"@type": "dcat:Distribution", "title": d.label, "downloadURL": absolute(d.url),
             "mediaType": d.media_type}
            for d in e.downloads
        ],
    }  # fmt: skip
    if e.first and e.last:
        item["temporal"] = f"{e.first.isoformat()}/{e.last.isoformat()}"
    if e.dataset is not None:
        item["describedBy"] = absolute(f"/api/views/{e.identifier}.json")
        item["describedByType"] = "application/json"
    return {k: v for k, v in item.items() if v is not None}


@require_safe
@cached_by_data_version
def dcat(request: HttpRequest) -> HttpResponse:
    """The DCAT-US 1.1 (Project Open Data) catalogue."""
    return _json({
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@id": request.build_absolute_uri("/data.json"),
        "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
        "dataset": [_dcat_dataset(request, e) for e in entries()],
    })  # fmt: skip


@require_safe
@cached_by_data_version
def index(request: HttpRequest) -> HttpResponse:
    context = {"entries": entries(), "license": settings.OPEN_DATA_LICENSE_NAME,
               "license_url": settings.OPEN_DATA_LICENSE_URL}  # fmt: skip
    return render(request, "catalogue/index.html", context)


@require_safe
@cached_by_data_version
def dataset_page(request: HttpRequest, dataset_id: str) -> HttpResponse:
    entry = next((e for e in entries() if e.identifier == dataset_id), None)
    if entry is None:
        raise Http404("No dataset with that id")
    context: dict[str, Any] = {
        "entry": entry,
        "license": settings.OPEN_DATA_LICENSE_NAME,
        "license_url": settings.OPEN_DATA_LICENSE_URL,
    }
    if entry.dataset is not None:
        soql = soql_example(entry)
        resource = request.build_absolute_uri(f"/resource/{entry.identifier}.json")
        context |= {
            "soql": soql,
            # `$` stays as it is (the single quotes keep the shell off it): easier to read and edit.
            "curl": f"curl {shlex.quote(resource + '?$limit=5')}",
            "curl_soql": f"curl {shlex.quote(resource + '?$query=' + quote(soql, safe='(),*'))}",
            "metadata_url": f"/api/views/{entry.identifier}.json",
        }
    elif entry.downloads:
        first = entry.downloads[0]
        context["curl"] = f"curl -O {shlex.quote(request.build_absolute_uri(first.url))}"
    return render(request, "catalogue/dataset.html", context)
