"""The NinjaAPI behind /api/v1/: its routers, its OpenAPI description and interactive docs, and
how it answers bad input (a 4xx with `{"error": …}`, never a 500)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import ValidationError

from civicstat.api.v1.http import error
from civicstat.api.v1.views_cases import router as cases_router
from civicstat.api.v1.views_reference import router as reference_router
from civicstat.lib.params import ParamError

DESCRIPTION = """Public 311 cases, their facets and aggregates, layers, request types,
departments, areas and performance measures, as JSON, CSV and GeoJSON. Filters use the map's URL
grammar (`?department=water-services&status=open&days=90`). No key is needed; each address may
make a limited number of case queries a minute (429 with `Retry-After` past it). Private request
types and reporters' personal data are never published."""

api = NinjaAPI(
    title="CivicStat query API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    # Served from django-ninja's own static files (it is in INSTALLED_APPS): no CDN, works
    # offline and within the site's CSP. No validator badge: it would call validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None, "deepLinking": False}),
)
api.add_router("", cases_router)
api.add_router("", reference_router)


@api.exception_handler(ParamError)
def _bad_param(request: HttpRequest, exc: ParamError) -> HttpResponse:
    return error(400, str(exc))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', '')}"
        for e in exc.errors
    )
    return error(400, problems or "the request cannot be read")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(404, str(exc) or "nothing here; see /api/v1/docs")
