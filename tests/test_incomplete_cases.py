"""Every public URL answers, whatever a case lacks: department, request type, location, closed
time, address, description or areas.

Real data has such cases (a remote Open311 server with no `agency_responsible`, a crime file with
no addresses, a case that arrived closed with no closed time), and one of them must never take a
page down. The walk below enumerates the URL resolver itself, so a page added later is walked too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from django.utils.regex_helper import normalize

from civicstat.alerts import tokens
from civicstat.alerts.models import SubscriptionKind
from civicstat.alerts.services import subscription_confirm, subscription_create
from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Case, Department, Layer
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import (
    case_add_note,
    case_upsert,
    department_resolve,
    layer_ensure,
    service_get_or_create,
)
from civicstat.performance.services import measure_refresh
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db

STATUSES = {"OPEN": ("open", "Received"), "RESOL": ("closed", "Resolved")}
DOWNTOWN = (39.0997, -94.5786)  # inside Kansas City's council districts
FAR_OFF = (39.45, -94.2)  # inside no district or neighborhood: a case with no areas

# What each incomplete case lacks; "bare" lacks all of it at once.
STRAY = "Animals / Pets-Bite"
LACKS = ("department", "service", "location", "closed_time", "address", "description", "areas")


@dataclass
class City:
    layer: Layer
    department: Department
    cases: dict[str, Case] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    measure: str = ""


def _record(name: str, lacks: set[str], *, service_id: int | None, department_id: int | None,
            days_ago: int) -> CaseRecord:  # fmt: skip
    opened = timezone.now() - timedelta(days=days_ago)
    closed = "closed_time" in lacks or name == "complete-closed"
    lat, lon = FAR_OFF if "areas" in lacks else DOWNTOWN
    located = "location" not in lacks
    return CaseRecord(
        external_id=f"{name}-1",
        status="RESOL" if closed else "OPEN",
        status_group="closed" if closed else "open",
        requested_at=opened,
        updated_at=opened + timedelta(hours=2),
        # Closed with no closed time: as a source that reports only the status sends it.
        closed_at=opened + timedelta(days=1) if closed and "closed_time" not in lacks else None,
        service_id=None if "service" in lacks else service_id,
        department_id=None if "department" in lacks else department_id,
        address="" if "address" in lacks else "414 E 12th St",
        description="" if "description" in lacks else f"What the resident said about {name}",
        lat=lat if located else None,
        lon=lon if located else None,
    )


@pytest.fixture
def city(kc_areas: None) -> City:
    """Kansas City's areas, a department with one request type, one complete case (open and
    closed) and one case lacking each field, and one lacking them all."""
    layer = layer_ensure(slug="311-requests", name="311 requests", noun="request",
                         statuses=STATUSES)  # fmt: skip
    works = department_resolve(name="Public Works")
    assert works is not None
    pothole = service_get_or_create(layer=layer, code="POT", name="Pothole", department=works)
    # A request type no department answers for: its cases have no department either. Its code
    # has slashes, as 336 of Kansas City's 812 have.
    stray = service_get_or_create(layer=layer, code=STRAY, name="Stray animal")
    # Newest first: the bare case and the id with a slash (as some sources write ids) are among
    # the ten newest that the overview and the embed list show.
    wanted: dict[str, set[str]] = {
        "bare": set(LACKS), "2024/00123": set(), "complete": set(), "complete-closed": set(),
        **{f"no-{lack.replace('_', '-')}": {lack} for lack in LACKS},
    }  # fmt: skip
    records = []
    for days_ago, (name, lacks) in enumerate(wanted.items(), start=1):
        service = stray if "department" in lacks else pothole
        records.append(_record(name, lacks, service_id=service.id,
                               department_id=service.department_id, days_ago=days_ago))  # fmt: skip
    case_upsert(layer=layer, records=records)
    found = City(layer=layer, department=works)
    for case in Case.objects.filter(layer=layer):
        found.cases[case.external_id.removesuffix("-1")] = case
    case_add_note(case=found.cases["bare"], note="", at=timezone.now())
    # Alerts that name the bare case, and a place: their links walk too.
    follow = subscription_create(email="bob@example.org", kind=SubscriptionKind.CASE,
                                 case=found.cases["bare"])  # fmt: skip
    subscription_confirm(subscription=follow)
    found.tokens = {
        "confirm": tokens.confirm_token(follow.id),
        "unsubscribe": tokens.unsubscribe_token(follow.id),
        "manage": tokens.manage_token(follow.subscriber_id),
    }
    measure = a_measure("requests-opened", title="Requests opened", calculation="count",
                        unit="count")  # fmt: skip
    measure_refresh(measure=measure)
    found.measure = measure.slug
    return found


# Query strings each page is walked with (none, unless listed): the variants that take other
# paths (clusters and points, every period, extensions, a watched circle…).
QUERIES: dict[str, list[str]] = {
    "map": ["", "department=public-works", "status=closed"],
    "map-list": ["", "sort=opened", "sort=-closed", "status=closed"],
    "map-view": ["bbox=-180,-85,180,85", "bbox=-94.60,39.08,-94.56,39.12",
                 "bbox=-94.25,39.40,-94.15,39.50"],
    "map-places": ["q=414 E"],
    "embed-map": ["", "list=1"],
    "departments": ["", "period=week", "period=month", "period=all"],
    "department": ["", "period=all"],
    "alerts-feed": ["", "lat=39.0997&lon=-94.5786&radius=500"],
    "alerts-feed-rss": ["", "lat=39.0997&lon=-94.5786&radius=500"],
    "open311-requests": ["", "extensions=true", f"service_code={quote(STRAY)}", "status=closed"],
    "soda-resource": ["", quote("$select=:*,*", safe="=&"),
                      quote("$select=request_type,department,count(*)&$group=request_type,"
                            "department", safe="=&"),
                      quote("$where=address is null or location is null", safe="=&")],
    "open311-request": ["", "extensions=true"],
    "api-cases": ["", "facet=department&facet=service&facet=status", "_sort=closed_at",
                  "q=What&facet=service", "_fields=id,lat,lon"],
    "api-cases-geojson": ["", "q=What"],
    "api-facets": ["", "q=What&facet=layer&facet=service_group"],
    "api-aggregates": ["by=department,month", "by=service", "by=area", "by=layer,year"],
}  # fmt: skip
# What a walk answers other than 200, and why.
NOT_200 = {
    "alerts-follow": 405,  # POST only
    "open311-token": 404,  # no batch service has answered a POST with this token
    "not_found:": 404,  # Open311's catch-all for any other path
    # The town has no resident survey (a survey reads no cases; tests/test_hostile_input.py and
    # performance/tests/test_survey.py cover its page).
    "performance-survey": 404,
    "performance-survey-csv": 404,
    "map-basemap": 404,  # no base map is built for the town (civicstat/maps/tests/test_basemap.py)
}


def public_patterns(patterns: list[Any] | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """Every URL pattern but the admin's: (its name, or its view's and regex, its full regex)."""
    found = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        regex = prefix + p.pattern.regex.pattern.lstrip("^")
        if isinstance(p, URLResolver):
            if p.app_name != "admin":
                found.extend(public_patterns(p.url_patterns, regex))
        else:
            name = p.name or f"{p.lookup_str.rsplit('.', 1)[1]}:{regex}"
            found.append((name, regex))
    return found


def _fill(city: City, name: str) -> dict[str, list[str]]:
    """Values for each path parameter a pattern may take, from the city's own objects. A pattern
    with a parameter not named here fails the walk (KeyError): give the new parameter values."""
    ids = [c.external_id for c in city.cases.values()]
    measure = city.measure
    return {
        "layer": [city.layer.slug], "external_id": ids, "request_id": ids,
        "case_id": [str(city.cases["bare"].id)],
        "slug": [measure] if name.startswith(("performance", "api-measure"))
        else [city.department.slug],
        "area": ["infrastructure"], "goal": ["fix-water"],
        "code": ["POT", STRAY], "fmt": ["json", "xml"], "path": ["nothing-here"],
        "_0": [".xml"],  # the catch-all's optional suffix
        "token": [city.tokens.get(name.removeprefix("alerts-"), "no-such-token")],
        "dataset_id": [default_identifier(city.layer.slug)],
        "data_format": ["json", "csv", "geojson"],
        "version": ["0123abcd"], "name": ["labels.json"],  # the base map's files
    }  # fmt: skip


def walk(city: City) -> list[tuple[str, str]]:
    """(pattern name, URL) for every public pattern, with each set of path values it takes."""
    urls = []
    for name, regex in public_patterns():
        values = _fill(city, name)
        for template, params in normalize(regex):
            for combination in product(*(values[p] for p in params)):
                kwargs = {p: quote(v, safe="") for p, v in zip(params, combination, strict=True)}
                path = "/" + template % kwargs
                for query in QUERIES.get(name, [""]):
                    urls.append((name, path + (f"?{query}" if query else "")))
    return urls


def test_every_public_url_answers_without_a_server_error(city: City) -> None:
    """Each page, feed, embed and API answer renders with cases lacking each field."""
    # Every failure at once, not only the first: a server error is a status here, not a raise.
    client = Client(raise_request_exception=False)
    failures = []
    walked = walk(city)
    names = {name for name, _ in walked}
    assert {"departments", "department", "case-detail", "open311-requests"} <= names
    for name, url in walked:
        response = client.get(url)
        expected = next((code for key, code in NOT_200.items() if name.startswith(key)), 200)
        if response.status_code != expected:
            failures.append(f"{url} ({name}): {response.status_code}")
    assert not failures, "\n".join(failures)


def _text(html: bytes) -> str:
    """A page's text with its whitespace collapsed, scripts and head left out."""
    page = re.sub(r"<(script|head)\b.*?</\1>", "", html.decode(), flags=re.S)
    return re.sub(r"\s+", " ", page)


def _row(page: str, name: str) -> list[str]:
    """The values of the figures table's row headed `name`, after its rank."""
    found = re.search(rf'<th scope="row">{re.escape(name)}</th>(.*?)</tr>', page)
    assert found, f"no row {name!r}"
    return re.findall(r'data-value="([^"]*)"', found.group(1))


def test_the_departments_page_lists_the_cases_of_no_department_as_unassigned(
    client: Client, city: City
) -> None:
    page = _text(client.get("/departments?period=all").content)
    # Opened: the case of a request type with no department, and the bare case.
    assert _row(page, "Unassigned")[0] == "2"
    assert ">Unassigned</a>" not in page  # no department page to link to
    assert "“Unassigned” counts the cases" in page
    # None dropped: the rows' opened counts (after the rank) add up to every case.
    rows = re.findall(r'<tr> <td class="num" data-value="\d+">.*?</tr>', page)
    assert sum(int(re.findall(r'data-value="(-?\d+)"', r)[1]) for r in rows) == len(city.cases)


def test_a_department_page_lists_its_cases_of_no_request_type(client: Client, city: City) -> None:
    page = _text(client.get(f"/departments/{city.department.slug}?period=all").content)
    assert _row(page, "No request type")[0] == "1"


def test_a_case_lacking_everything_shows_dashes_not_guesses(client: Client, city: City) -> None:
    page = _text(client.get(city.cases["bare"].get_absolute_url()).content)
    assert "<h1>Request <span" in page
    for fact in ("Department", "Address", "Closed", "Days open"):
        assert f"<dt>{fact}</dt><dd>—</dd>" in page
    # Closed on a day nobody gave: not "closed after N days" counted to today.
    assert "closed after" not in page and "closed, on a day the city's data does not give" in page


@pytest.mark.parametrize("url", ["/", "/map/list", "/map", "/embed/map?list=1"])
def test_lists_of_cases_show_a_dash_for_what_a_case_lacks(
    client: Client, city: City, url: str
) -> None:
    page = _text(client.get(url).content)
    bare = re.search(
        r'<tr> <td><time[^>]*>[^<]*</time></td> <td><a href="[^"]*bare-1"[^>]*>'
        r"Request\b.*?</a></td> <td>(.*?)</td> <td>(.*?)</td>",
        page,
    )
    assert bare and bare.groups() == ("—", "—"), url


def test_feeds_name_a_case_of_no_type_and_no_address(client: Client, city: City) -> None:
    for url in ("/alerts/feed", "/alerts/feed.rss"):
        assert "<title>Request: no address</title>" in client.get(url).content.decode()


def test_open311_publishes_a_case_lacking_everything(client: Client, city: City) -> None:
    docs = client.get("/open311/v2/requests/bare-1.json?extensions=true").json()
    assert docs[0]["service_request_id"] == "bare-1"
    assert not docs[0]["agency_responsible"] and not docs[0]["service_code"]
    assert docs[0].get("lat") is None and docs[0].get("long") is None
    xml = client.get("/open311/v2/requests.xml?extensions=true").content
    assert ElementTree.fromstring(xml).find("request[service_request_id='bare-1']") is not None
