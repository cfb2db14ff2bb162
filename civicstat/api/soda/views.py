"""The SODA 2 endpoints a Socrata client calls: /resource/<id>.<fmt> and /api/views/<id>.json.

Answers are cached until the data changes (`cached_by_data_version`: an ETag and 304s); what
reaches the database is counted per app token and per client address (429 past either rate) and
runs under the statement time limit (503 past it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe
from django_ratelimit.core import get_usage

from civicstat.api.soda import render, rollup
from civicstat.api.soda.datasets import SYSTEM_KINDS, Dataset, dataset_find
from civicstat.api.soda.parser import SoqlError
from civicstat.api.soda.query import plain_filters, plan, query_from_parameters, run
from civicstat.cases.models import DataVersion
from civicstat.readlimits import QueryTimeout, query_time_limit
from civicstat.web import cached_by_data_version

View = Callable[..., HttpResponse]


def _last_changed() -> Any:
    return DataVersion.objects.values_list("changed_at", flat=True).first()


def last_modified(view: View) -> View:
    """`Last-Modified` (when the data last changed) on every answer, and a 304 to a client whose
    `If-Modified-Since` is no older (one sending an ETag is answered by the cache's check)."""

    @wraps(view)
    def dated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        changed = _last_changed()
        since = request.headers.get("If-Modified-Since")
        if changed is not None and since and not request.headers.get("If-None-Match"):
            when = parse_http_date_safe(since)
            if when is not None and int(changed.astimezone(UTC).timestamp()) <= when:
                response = HttpResponse(status=304)
                response["Last-Modified"] = http_date(changed.timestamp())
                response["Access-Control-Allow-Origin"] = "*"
                return response
        response = view(request, *args, **kwargs)
        if changed is not None and response.status_code == 200:
            response["Last-Modified"] = http_date(changed.timestamp())
        return response

    return dated


def app_token(request: HttpRequest) -> str:
    """The client's app token (`$$app_token` or `X-App-Token`), "" without one."""
    token = request.GET.get("$$app_token") or request.headers.get("X-App-Token") or ""
    return token.strip()[:64] if token.isprintable() else ""


def _wait(request: HttpRequest) -> int | None:
    """Seconds to wait when this request is past its app token's rate or its address's."""
    checks: list[tuple[str, Any, str]] = [("soda-ip", "ip", settings.SODA_IP_RATE)]
    if token := app_token(request):
        checks.append(("soda-token", lambda group, req: token, settings.SODA_APP_TOKEN_RATE))
    for group, key, rate in checks:
        if not rate:
            continue
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        if usage and usage["should_limit"] and usage["time_left"] >= 0:
            return max(1, int(usage["time_left"]))
    return None


def soda_limited(view: View) -> View:
    """The rates per app token and address, and the statement time limit, in Socrata's error
    format. Below the cache: a cached answer costs nothing and counts for nothing."""

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (wait := _wait(request)) is not None:
            response = render.error_response(
                429, "query.rate-limited",
                f"Too many requests from this app token or address; wait {wait} s and try "
                "again (an app token of your own gets its own allowance).",
            )  # fmt: skip
            response["Retry-After"] = str(wait)
            return response
        try:
            with query_time_limit(settings.PUBLIC_QUERY_TIMEOUT_MS):
                return view(request, *args, **kwargs)
        except QueryTimeout:
            response = render.error_response(
                503, "query.execution.timeout",
                "The query took too long and was stopped. Narrow it ($where on dates, a "
                "request type or a department; a smaller $limit) or group it by month.",
            )  # fmt: skip
            response["Retry-After"] = "30"
            return response

    return limited


def cors_preflight(view: View) -> View:
    """Answer a browser's CORS preflight (an `X-App-Token` header makes one) for a GET from any
    site; every other method goes on to the view."""

    @wraps(view)
    def preflight(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "OPTIONS":
            return view(request, *args, **kwargs)
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = "X-App-Token, Accept, Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response

    return preflight


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "X-SODA2-Fields, X-SODA2-Types, ETag, Last-Modified"
    return response


def _not_found(identifier: str) -> HttpResponse:
    return render.error_response(404, "not_found", f"No dataset with the id {identifier[:40]!r}")


@cors_preflight
@require_safe
@last_modified
@cached_by_data_version
@soda_limited
def resource(request: HttpRequest, dataset_id: str, data_format: str) -> HttpResponse:
    dataset = dataset_find(dataset_id)
    if dataset is None:
        return _not_found(dataset_id)
    cap = settings.SODA_MAX_LIMIT
    quoted = ""
    try:
        q, quoted = query_from_parameters(request.GET, cap=cap)
        filters = plain_filters(dataset, request.GET)
        answered = rollup.answer(dataset, q, filters)  # counts by month, department…
        if answered is not None:
            columns, rows = answered
        else:
            p = plan(dataset, q, filters, default_limit=min(1000, cap))
            columns, rows = p.columns, run(p)
    except SoqlError as error:
        return render.error_response(400, error.code, str(error), error.query or quoted)
    return _cors(render.rows_response(data_format, rows, columns))


def columns_metadata(dataset: Dataset) -> list[dict[str, Any]]:
    """The dataset's columns as /api/views describes them (`fieldName`, `dataTypeName`…)."""
    out = []
    position = 0
    for name, spec in dataset.columns.items():
        if name.startswith(":"):
            continue
        position += 1
        out.append({
            "id": position, "name": spec.label, "fieldName": name, "position": position,
            "dataTypeName": spec.kind, "renderTypeName": spec.kind, "description": spec.description,
        })  # fmt: skip
    return out


def view_metadata(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    changed = _last_changed()
    stamp = int(changed.timestamp()) if changed else None
    return {
        "id": dataset.identifier,
        "name": dataset.name,
        "description": dataset.description,
        "assetType": "dataset",
        "displayType": "table",
        "viewType": "tabular",
        "category": "311",
        "license": {"name": settings.OPEN_DATA_LICENSE_NAME},
        "rowsUpdatedAt": stamp,
        "viewLastModified": stamp,
        "columns": columns_metadata(dataset),
        "metadata": {"custom_fields": {"CivicStat": {"layer": dataset.layer.slug}}},
        "resourceName": dataset.layer.slug,
        "systemFields": sorted(SYSTEM_KINDS),
        "links": {
            "resource": request.build_absolute_uri(f"/resource/{dataset.identifier}.json"),
            "page": request.build_absolute_uri(f"/data/{dataset.identifier}"),
        },
    }


@require_safe
@last_modified
@cached_by_data_version
def view(request: HttpRequest, dataset_id: str) -> HttpResponse:
    dataset = dataset_find(dataset_id)
    if dataset is None:
        return _not_found(dataset_id)
    body = json.dumps(view_metadata(request, dataset), indent=1, ensure_ascii=False)
    return _cors(HttpResponse(body, content_type=render.CONTENT_TYPES["json"]))
