"""GeoReport v2 discovery, service list, service definitions and tokens."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from civicstat.cases.query import CaseFilter, cases
from civicstat.open311.decorators import open311
from civicstat.open311.documents import (
    attribute_doc,
    served_layers,
    served_services,
    service_doc,
)
from civicstat.open311.formats import Open311Error, error_response, respond
from civicstat.open311.models import RequestToken, ServiceAttribute, ServiceKind
from civicstat.web import cached_by_data_version

# When this endpoint's behaviour last changed: discovery tells clients to re-read it after that.
API_CHANGESET = "2026-11-23T00:00:00Z"


@require_GET
@open311
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri(reverse("open311-discovery", args=["json"]))
    base = base.rsplit("/", 1)[0] + "/"
    doc = {
        "changeset": API_CHANGESET,
        "contact": settings.OPEN311_CONTACT,
        "key_service": settings.OPEN311_KEY_SERVICE,
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": API_CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, doc, root="discovery")


@require_GET
@cached_by_data_version
@open311
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    has = ServiceAttribute.objects.filter(service=OuterRef("pk"))
    services = served_services().annotate(
        has_attributes=Exists(has),
        kind=Coalesce(F("open311_type__type"), Value(ServiceKind.REALTIME.value)),
    ).order_by("code", "layer")  # fmt: skip
    docs = [{**service_doc(s, s.has_attributes), "type": s.kind} for s in services]
    return respond(fmt, docs, root="services")


@require_GET
@cached_by_data_version
@open311
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    service = served_services().filter(code=code).first()
    if service is None:
        raise Open311Error(404, f"unknown service_code {code!r}; see services.{fmt} for the list")
    attributes = [attribute_doc(a) for a in ServiceAttribute.objects.filter(service=service)]
    return respond(fmt, {"service_code": service.code, "attributes": attributes},
                   root="service_definition")  # fmt: skip


@require_GET
@open311
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    """The request a POST to a batch service created, found by the token the POST answered."""
    case_id = RequestToken.objects.filter(token=token).values_list("case_id", flat=True).first()
    request_id = None
    if case_id is not None:
        # Through the query builder: a token must not reveal a request the server does not publish.
        published = cases(CaseFilter(layers=served_layers())).filter(id=case_id)
        request_id = published.values_list("external_id", flat=True).first()
    if request_id is None:
        raise Open311Error(404, f"unknown token {token[:64]!r}; a token comes in the answer to "
                                f"a POST to requests.{fmt}")  # fmt: skip
    return respond(fmt, [{"service_request_id": request_id, "token": token}],
                   root="service_requests")  # fmt: skip


def not_found(request: HttpRequest, path: str, fmt: str | None = None) -> HttpResponse:
    return error_response(fmt or "json", 404, f"no Open311 resource at {path!r}; see discovery.json"
                          " (formats: .json or .xml)")  # fmt: skip
