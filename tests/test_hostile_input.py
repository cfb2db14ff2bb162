"""Hostile input never gets a 5xx: every public URL, with every parameter its view reads.

Each public URL pattern (from the URL resolver; the admin aside) is listed in ROUTES with the query
parameters and form fields its view reads, and path parameters filled from a small town. Every
parameter, one at a time, gets every value of KNOWN_BAD (Unicode digits, NUL and other controls,
huge and negative numbers, bad dates, very long text, invalid UTF-8…) and then what Hypothesis
makes up; the answer must be below 500. Open311 failures must be the spec's error list, not a web
page. A new public URL pattern fails `test_every_public_url_is_fuzzed` until it is listed here.
"""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import defusedxml.ElementTree as DET
import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicstat.alerts import services as alert_services
from civicstat.alerts import tokens
from civicstat.alerts.models import SubscriptionKind
from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Area, Case, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, department_resolve, layer_ensure
from civicstat.open311.models import RequestToken, ServiceAttribute
from civicstat.open311.services import api_key_issue
from civicstat.performance.surveys import survey_import
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db

CENTRE = (39.1, -94.58)  # downtown Kansas City, inside the town's one district

# What an adversary sends: strings Python reads as digits but int() refuses or misreads, NUL
# (PostgreSQL refuses it in text), other C0 and C1 controls, numbers past every range, empty
# values, very long text, paths, SQL and HTML, dates that do not exist, and lists of the wrong
# shape. Each is sent percent-encoded, as a browser would.
KNOWN_BAD = (
    "²", "١٢", "-1", "0", "99999999999999999999999", "1e999", "nan", "", "\x00", "a\x00b",
    "\t", "\x1b[31m", "\x85", "..", "'; DROP TABLE cases_case; --", "<script>", "x" * 5000,
    "2024-02-30", "0001-01-01", "1,2,3", "a,b,c,d", "council-district:",
)  # fmt: skip
# Sent as they are, not encoded: percent-escapes that are not UTF-8, and a raw NUL escape.
RAW_BAD = ("%ff", "%c0%80", "%00", "%")

FILTERS = ("layer", "service", "service_group", "department", "status", "local_status", "since",
           "until", "closed_since", "closed_until", "area", "bbox", "q", "days")  # fmt: skip
WATCH = ("email", "place", "lat", "lon", "area", "radius_m", "layers", "services",
         "service_groups", "frequency", "include_closed")  # fmt: skip
API_LIST = ("_fields", "_sort", "_sort_desc", "_size", "_next", "facet")
OPEN311_LIST = ("service_request_id", "service_code", "start_date", "end_date", "updated_after",
                "updated_before", "status", "bbox", "q", "agency_responsible", "page",
                "page_size", "extensions", "jurisdiction_id")  # fmt: skip
OPEN311_POST = ("api_key", "service_code", "lat", "long", "address_string", "address_id",
                "email", "device_id", "account_id", "first_name", "last_name", "phone",
                "description", "media_url", "attribute[SIZE]", "attribute[DEPTH]",
                "attribute[SEEN]", "jurisdiction_id")  # fmt: skip

SODA = ("$select", "$where", "$order", "$group", "$having", "$limit", "$offset", "$q", "$query",
        "$$app_token", "case_id", "latitude", "requested_datetime")  # fmt: skip


@dataclass(frozen=True)
class Route:
    """One URL pattern as a URL template ({name}: a path parameter filled from the town), the
    query parameters and form fields its view reads, and valid values sent alongside."""

    url: str
    get: tuple[str, ...] = ()
    post: tuple[str, ...] | None = None  # None: the view takes no POST
    base_get: dict[str, str] = field(default_factory=dict)
    base_post: dict[str, str] = field(default_factory=dict)


# Keyed by the pattern as the resolver writes it.
ROUTES: dict[str, Route] = {
    "": Route("/"),
    "cases/<slug:layer>/<path:external_id>": Route("/cases/{layer}/{external_id}"),
    "map": Route("/map", FILTERS),
    "map/list": Route("/map/list", (*FILTERS, "sort", "page")),
    "map/view.json": Route("/map/view.json", FILTERS, base_get={"bbox": "-95,38,-94,40"}),
    "map/places.json": Route("/map/places.json", ("q",)),
    "map/areas.json": Route("/map/areas.json", ("detail",)),
    # No base map is built for these tests: every hostile path is a 404, never a 500.
    "map/basemap/<str:version>/<path:name>": Route("/map/basemap/0123abcd/labels.json"),
    "embed/new": Route("/embed/new", (*FILTERS, "list")),
    "embed/map": Route("/embed/map", (*FILTERS, "list")),
    "departments": Route("/departments", ("period", "show")),
    "departments/<slug:slug>": Route("/departments/{department}", ("period", "show")),
    "alerts": Route("/alerts", ("layer", "service", "service_group", "lat", "lon", "radius"),
                    post=WATCH, base_post={"email": "bob@example.org", "lat": "39.1",
                                           "lon": "-94.58", "radius_m": "500",
                                           "frequency": "daily"}),
    "alerts/follow/<int:case_id>": Route("/alerts/follow/{case_id}", post=("email",),
                                         base_post={"email": "alice@example.org"}),
    "alerts/confirm/<str:token>": Route("/alerts/confirm/{confirm_token}"),
    "alerts/unsubscribe/<str:token>": Route("/alerts/unsubscribe/{unsubscribe_token}", post=()),
    "alerts/manage/<str:token>": Route(
        "/alerts/manage/{manage_token}",
        post=("action", "subscription", "frequency", "radius_m", "include_closed", "layers",
              "services", "service_groups"),
        base_post={"subscription": "{subscription}", "action": "save", "frequency": "weekly"},
    ),
    "alerts/feed": Route("/alerts/feed", (*FILTERS, "lat", "lon", "radius")),
    "alerts/feed.rss": Route("/alerts/feed.rss", (*FILTERS, "lat", "lon", "radius")),
    "performance": Route("/performance"),
    "performance/measures.json": Route("/performance/measures.json"),
    "performance/areas/<slug:area>/": Route("/performance/areas/{priority_area}/"),
    "performance/areas/<slug:area>/<slug:goal>/": Route(
        "/performance/areas/{priority_area}/{goal}/"),
    "performance/surveys/<slug:slug>/": Route("/performance/surveys/{survey}/"),
    "performance/surveys/<slug:slug>.csv": Route("/performance/surveys/{survey}.csv"),
    "performance/measures/<slug:slug>/": Route("/performance/measures/{measure}/"),
    "performance/measures/<slug:slug>.csv": Route("/performance/measures/{measure}.csv"),
    "performance/measures/<slug:slug>.json": Route("/performance/measures/{measure}.json"),
    "performance/measures/<slug:slug>.yaml": Route("/performance/measures/{measure}.yaml"),
    "performance/measures/<slug:slug>/embed/card/": Route(
        "/performance/measures/{measure}/embed/card/"),
    "performance/measures/<slug:slug>/embed/chart/": Route(
        "/performance/measures/{measure}/embed/chart/"),
    r"open311/v2/^discovery\.(?P<fmt>json|xml)$": Route("/open311/v2/discovery.{fmt}",
                                                        ("jurisdiction_id",)),
    r"open311/v2/^services\.(?P<fmt>json|xml)$": Route("/open311/v2/services.{fmt}",
                                                       ("jurisdiction_id",)),
    r"open311/v2/^services/(?P<code>.+?)\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/services/{code}.{fmt}", ("jurisdiction_id",)),
    r"open311/v2/^service/(?P<code>.+?)\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/service/{code}.{fmt}", ("jurisdiction_id",)),
    r"open311/v2/^requests\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/requests.{fmt}", OPEN311_LIST, post=OPEN311_POST,
        base_post={"api_key": "{api_key}", "service_code": "POT", "lat": "39.1",
                   "long": "-94.58", "attribute[SIZE]": "S"}),
    r"open311/v2/^requests/(?P<request_id>.+?)\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/requests/{request_id}.{fmt}", ("extensions", "jurisdiction_id")),
    r"open311/v2/^request/(?P<request_id>.+?)\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/request/{request_id}.{fmt}", ("extensions", "jurisdiction_id")),
    r"open311/v2/^tokens/(?P<token>[^/]+?)\.(?P<fmt>json|xml)$": Route(
        "/open311/v2/tokens/{open311_token}.{fmt}", ("jurisdiction_id",)),
    r"open311/v2/^(?P<path>.*?)(\.(?P<fmt>xml))?$": Route("/open311/v2/{path}.{fmt}"),
    r"^resource/(?P<dataset_id>[a-z0-9]{4}-[a-z0-9]{4})\.(?P<data_format>json|csv|geojson)$": Route(
        "/resource/{dataset_id}.{data_format}", SODA),
    r"^api/views/(?P<dataset_id>[a-z0-9]{4}-[a-z0-9]{4})\.json$": Route(
        "/api/views/{dataset_id}.json"),
    "api/catalog/v1": Route("/api/catalog/v1", ("q", "ids", "only", "limit", "offset",
                                                "domains")),
    "data.json": Route("/data.json"),
    "data": Route("/data"),
    r"^data/(?P<dataset_id>[a-z0-9][a-z0-9-]{0,99})$": Route("/data/{dataset_id}"),
    # The query API (civicstat/api/v1)
    "api/v1/": Route("/api/v1/"),
    "api/v1/openapi.json": Route("/api/v1/openapi.json"),
    "api/v1/docs": Route("/api/v1/docs"),
    "api/v1/cases": Route("/api/v1/cases", (*FILTERS, *API_LIST)),
    "api/v1/cases.csv": Route("/api/v1/cases.csv", (*FILTERS, *API_LIST)),
    "api/v1/cases.geojson": Route("/api/v1/cases.geojson", (*FILTERS, *API_LIST)),
    "api/v1/facets": Route("/api/v1/facets", (*FILTERS, "facet")),
    "api/v1/aggregates": Route("/api/v1/aggregates", (*FILTERS, "by", "area_kind"),
                               base_get={"by": "department,month"}),
    "api/v1/layers": Route("/api/v1/layers"),
    "api/v1/services": Route("/api/v1/services"),
    "api/v1/departments": Route("/api/v1/departments"),
    "api/v1/areas": Route("/api/v1/areas", ("kind",)),
    "api/v1/measures": Route("/api/v1/measures"),
    "api/v1/measures/<slug>": Route("/api/v1/measures/{measure}"),
    "api/v1/layers/<layer>/cases.csv": Route("/api/v1/layers/{layer}/cases.csv",
                                             (*FILTERS, "_fields")),
    "api/v1/layers/<layer>/cases.geojson": Route("/api/v1/layers/{layer}/cases.geojson",
                                                 (*FILTERS, "_fields")),
}  # fmt: skip


def public_patterns() -> set[str]:
    """Every URL pattern the site answers, as the resolver writes it, the admin left out."""
    found: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.add(prefix + str(p.pattern))

    for p in get_resolver().url_patterns:
        if str(p.pattern).startswith("admin/"):  # staff only (the admin, its sign-in)
            continue
        walk([p], "")
    return found


def test_every_public_url_is_fuzzed():
    """A new public URL pattern must be added to ROUTES (with the parameters its view reads)."""
    assert public_patterns() == set(ROUTES)


@pytest.fixture(autouse=True)
def _quiet_bad_requests(caplog: pytest.LogCaptureFixture) -> None:
    """Thousands of 400s, each a warning from Django: only errors (a 500's) are kept."""
    caplog.set_level(logging.ERROR, logger="django.request")


# ---- A small town ------------------------------------------------------------------------------


def _square(lat: float, lon: float, half: float) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def _town(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """The town, built once for the module (tests roll back on top of it): built per test, it
    took a new layer id each time, and PostgreSQL never gives ids back."""
    with django_db_blocker.unblock():
        yield town_build()
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def town(_town: dict[str, str], db: None, settings: Any) -> dict[str, str]:
    settings.RATELIMIT_ENABLE = False  # a limit's 429 would hide what a value does to the view
    return _town


def town_build() -> dict[str, str]:
    """One layer, two public request types and a private one, a district with a neighborhood,
    four cases, an Open311 key and token, Bob's confirmed alert and a published measure. Returns
    the values that fill the routes' path parameters."""
    statuses = {"OPEN": ("open", "Received"), "RESOL": ("closed", "Resolved")}
    layer = layer_ensure(slug="requests", name="311 requests", noun="request", statuses=statuses)
    works = department_resolve(name="Public Works")
    assert works is not None
    pothole = Service.objects.create(layer=layer, code="POT", name="Potholes", group="Streets",
                                     department=works, target_days=3)  # fmt: skip
    graffiti = Service.objects.create(layer=layer, code="GRAF", name="Graffiti",
                                      group="Streets", department=works)  # fmt: skip
    abuse = Service.objects.create(layer=layer, code="ABUSE", name="Elder abuse",
                                   group="Social", department=works, private=True)  # fmt: skip
    ServiceAttribute.objects.bulk_create([
        ServiceAttribute(service=pothole, code="SIZE", datatype="singlevaluelist", required=True,
                         order=1, description="How big?",
                         values=[{"key": "S", "name": "Small"}, {"key": "L", "name": "Large"}]),
        ServiceAttribute(service=pothole, code="DEPTH", datatype="number", order=2,
                         description="Depth in cm"),
        ServiceAttribute(service=pothole, code="SEEN", datatype="datetime", order=3,
                         description="When?"),
    ])  # fmt: skip
    Area.objects.create(kind="council-district", slug="district-1", name="District 1",
                        geometry=_square(*CENTRE, 0.2))  # fmt: skip
    Area.objects.create(kind="neighborhood", slug="downtown", name="Downtown",
                        geometry=_square(*CENTRE, 0.05))  # fmt: skip
    now = timezone.now()

    def record(external_id: str, service: Service, days_ago: int, closed: bool) -> CaseRecord:
        at = now - timedelta(days=days_ago)
        return CaseRecord(external_id=external_id, status="RESOL" if closed else "OPEN",
                          status_group="closed" if closed else "open", requested_at=at,
                          updated_at=at, closed_at=at + timedelta(hours=5) if closed else None,
                          service_id=service.id, department_id=works.id,
                          description=f"case {external_id}", address="414 E 12th St",
                          lat=CENTRE[0], lon=CENTRE[1])  # fmt: skip

    case_upsert(layer=layer, records=[
        record("1001", pothole, 1, False), record("1002", pothole, 40, True),
        record("1003", graffiti, 3, False), record("9001", abuse, 1, False),
    ])  # fmt: skip
    case = Case.objects.get(external_id="1001")
    RequestToken.objects.create(token="tok-1001", case=case)
    sub = alert_services.subscription_create(
        email="bob@example.org", kind=SubscriptionKind.RADIUS, lat=CENTRE[0], lon=CENTRE[1],
        radius_m=500)  # fmt: skip
    alert_services.subscription_confirm(subscription=sub)
    measure = a_measure("open-potholes")
    survey_import(
        text="category,item,measure,survey_period,period_end_year,value\n"
        "Streets,Potholes filled,pct_satisfied,2023-24,2024,61.5\n",
        slug="residents", name="Residents survey", conducted_by="A survey firm",
        report="its report", areas={}, default_area=measure.goal.area.slug,
    )  # fmt: skip
    return {
        "layer": layer.slug, "external_id": "1001", "department": works.slug,
        "case_id": str(case.id), "confirm_token": tokens.confirm_token(sub.id),
        "unsubscribe_token": tokens.unsubscribe_token(sub.id),
        "manage_token": tokens.manage_token(sub.subscriber_id), "subscription": str(sub.id),
        "priority_area": measure.goal.area.slug, "goal": measure.goal.slug,
        "measure": measure.slug, "survey": "residents", "code": "POT", "request_id": "1001",
        "open311_token": "tok-1001", "api_key": api_key_issue(name="FixIt")[1],
        "path": "nothing-here", "fmt": "json",
        "dataset_id": default_identifier(layer.slug), "data_format": "json",
    }  # fmt: skip


# ---- Sending one hostile value -----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """Where a hostile value goes: a query parameter, a path parameter or a form field."""

    method: str  # GET or POST
    name: str
    place: str  # "query", "path" or "form"


def slots(route: Route) -> list[Slot]:
    """Every parameter of the route's view, path parameters included."""
    path = [f for _, f, _, _ in string.Formatter().parse(route.url) if f]
    methods = ("GET", "POST") if route.post is not None else ("GET",)
    return [
        *(Slot("GET", n, "query") for n in route.get),
        *(Slot(method, n, "path") for n in path for method in methods),
        *(Slot("POST", n, "form") for n in route.post or ()),
    ]


def _encoded(value: str) -> str:
    return quote(value, safe="")


def _pairs(base: dict[str, str], town: dict[str, str]) -> dict[str, str]:
    return {k: _encoded(v.format(**town)) for k, v in base.items()}


def _joined(pairs: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='[]')}={v}" for k, v in pairs.items())


def send(client: Any, route: Route, town: dict[str, str], slot: Slot,
         raw: str) -> tuple[str, Any]:  # fmt: skip
    """One request to `route` with `slot` set to `raw` (already percent-encoded, sent as it is)
    and every other value valid; returns what was sent, for messages, and the answer."""
    filled = {**town, slot.name: raw} if slot.place == "path" else town
    url = route.url.format(**filled)
    if slot.method == "GET":
        pairs = _pairs(route.base_get, town)
        if slot.place == "query":
            pairs[slot.name] = raw
        query = _joined(pairs)
        return f"GET {url} {query}", client.get(f"{url}?{query}" if query else url)
    pairs = _pairs(route.base_post, town)
    if slot.place == "form":
        pairs[slot.name] = raw
    body = _joined(pairs)
    return f"POST {url} {body}", client.post(url, body, content_type=FORM)


FORM = "application/x-www-form-urlencoded"


def check(sent: str, response: Any) -> None:
    """Below 500; and an Open311 failure is the spec's error list."""
    assert response.status_code < 500, f"{sent} answered {response.status_code}"
    if response.status_code >= 400 and sent.split()[1].startswith("/open311/v2/"):
        open311_error_check(sent, response)


def open311_error_check(sent: str, response: Any) -> None:
    """The spec's error list: [{"code": …, "description": …}] in JSON, <errors> in XML."""
    if response["Content-Type"].startswith("text/xml"):
        root = DET.fromstring(response.content)
        assert root.tag == "errors", f"{sent}: not an error list"
        assert root.find("error/code") is not None, f"{sent}: no error code"
        assert root.find("error/description") is not None, f"{sent}: no description"
        return
    assert response["Content-Type"].startswith("application/json"), f"{sent}: neither JSON nor XML"
    doc = json.loads(response.content)
    assert isinstance(doc, list) and doc, f"{sent}: not an error list"
    assert {"code", "description"} <= set(doc[0]), f"{sent}: not an error list"


HOSTILE = [_encoded(v) for v in KNOWN_BAD] + list(RAW_BAD)
# More of the same kinds, for Hypothesis to draw from.
MORE_BAD = ("1²", "𝟗", "٣.٥", "1\x00", "\x01", "\x7f", "\r\n", "\ufffe", "1_000", "-inf",
            "0x10", "../../etc/passwd", "%", ":", ",", "-95,38,-94", "2024-01-01T25:00:00Z",
            "9999-12-31", "1" * 400)  # fmt: skip

# One test per route and method, so that xdist shares the slow ones (posts write) out.
_BY_METHOD = sorted({(p, s.method) for p, r in ROUTES.items() for s in slots(r)})


@pytest.mark.parametrize(("pattern", "method"), _BY_METHOD)
def test_known_bad_values_never_cause_a_server_error(client, town, pattern, method):
    """Every parameter of the view, one at a time, with every known-bad value: below 500."""
    route = ROUTES[pattern]
    client.raise_request_exception = False  # a 500 is a failure to list, not to stop at
    failures = []
    for slot in (s for s in slots(route) if s.method == method):
        for value in HOSTILE:
            try:
                check(*send(client, route, town, slot, value))
            except AssertionError as error:
                failures.append(str(error).splitlines()[0][:300])
    assert not failures, "\n".join(failures)


_NUMBERISH = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),  # any script
)
_VALUES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40).map(_encoded),
    _NUMBERISH.map(_encoded),
    st.sampled_from(HOSTILE),
    st.sampled_from(MORE_BAD).map(_encoded),
    st.lists(st.sampled_from(["1", "x", "-95", "40", "²", "\x00", ""]), max_size=5)
    .map(lambda parts: _encoded(",".join(parts))),
    st.binary(max_size=8).map(lambda b: "".join(f"%{c:02x}" for c in b)),  # any bytes
)  # fmt: skip


@pytest.mark.parametrize("pattern", sorted(p for p, r in ROUTES.items() if slots(r)))
def test_generated_values_never_cause_a_server_error(client, town, pattern):
    """Hypothesis picks a parameter and a value (text, numbers in any script, raw bytes)."""
    route = ROUTES[pattern]

    @settings(max_examples=12, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(slot=st.sampled_from(slots(route)), value=_VALUES)
    def one_request(slot, value):
        check(*send(client, route, town, slot, value))

    one_request()


# ---- What the review found, answered as a 400 that says why ---------------------------------

# Unicode digits pass str.isdigit(), and int() refused them with a 500.
UNICODE_DIGITS = [
    ("GET", "/map/list?area=%C2%B2", "unknown area"),
    ("GET", "/map?days=%C2%B2", "days must be a whole number"),
    ("GET", "/map/list?page=%C2%B2", "page must be a whole number"),
    ("GET", "/open311/v2/requests.json?page=%C2%B2", "page must be a whole number"),
    ("GET", "/open311/v2/requests.xml?page_size=%D9%A1%D9%A2", "page_size must be a whole number"),
    ("POST", "/open311/v2/requests.json", "unknown address_id"),
    ("POST", "/alerts/manage/{manage_token}", "radius"),
    ("POST", "/alerts/manage/{manage_token}", "subscription must be a whole number"),
]
# NUL reached PostgreSQL, which refuses it in text: a 500 there.
NUL = [
    "/map?q=a%00b", "/map/list?local_status=%00", "/map/view.json?bbox=-95,38,-94,40&area=1%00",
    "/cases/{layer}/1%00", "/open311/v2/requests/%00.json", "/open311/v2/services/P%00T.xml",
    "/open311/v2/tokens/%00.json", "/alerts/feed?q=%00", "/map/places.json?q=abc%00",
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "says"), UNICODE_DIGITS)
def test_unicode_digits_are_refused_with_a_message(client, town, method, url, says):
    """Unicode digits ("²", "١٢") are no number a request may use: 400, saying what would do."""
    url = url.format(**town)
    if method == "GET":
        response = client.get(url)
    elif "open311" in url:
        response = client.post(url, {"api_key": town["api_key"], "service_code": "POT",
                                     "attribute[SIZE]": "S", "address_id": "²"})  # fmt: skip
    elif "subscription" in says:
        response = client.post(url, {"subscription": "²", "frequency": "daily"})
    else:
        response = client.post(url, {"subscription": town["subscription"], "frequency": "daily",
                                     "radius_m": "١٢"})  # fmt: skip
    assert response.status_code == 400, response.content[:300]
    assert says in response.content.decode()
    if "open311" in url:
        open311_error_check(url, response)


@pytest.mark.parametrize("url", NUL)
def test_nul_and_control_characters_are_refused_before_any_view(client, town, url):
    """In a path or a query string: 400 with a reason (Open311: its error list), never a 500."""
    response = client.get(url.format(**town))
    assert response.status_code == 400, response.content[:300]
    assert "control characters" in response.content.decode()
    if url.startswith("/open311/"):
        open311_error_check(url, response)
        assert url.endswith(".xml") == response["Content-Type"].startswith("text/xml")
