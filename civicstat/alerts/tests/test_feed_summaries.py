"""A feed entry says what the case is without a click: type, status, department, address and
date in the city's time zone, in Atom's summary and RSS's description (both were empty for a case
with no description). A crime's entry gives no address, and no entry names the reporter."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from civicstat.alerts.tests.conftest import HOME, import_cases
from civicstat.cases.models import Case, CaseContact, Department, Layer
from civicstat.cases.services import layer_ensure, service_get_or_create

ATOM = {"a": "http://www.w3.org/2005/Atom"}
REPORTER = {"first_name": "Dolores", "last_name": "Umbridge-Quill", "email": "dq@example.org",
            "phone": "816-555-0199"}  # fmt: skip


@pytest.fixture
def city(layer: Layer, settings) -> dict[str, Layer]:
    settings.TIME_ZONE = "America/Chicago"
    works = Department.objects.create(slug="public-works", name="Public Works")
    pothole = service_get_or_create(layer=layer, code="SW-POT", name="Pothole", group="Streets")
    crime = layer_ensure(slug="crime-incidents", name="Crime incidents", noun="crime report",
                         statuses={"REPORTED": ("closed", "Reported")}, sensitive=True)  # fmt: skip
    # 15:05 UTC on 20 Nov is 09:05 in Kansas City (CST, UTC-6).
    import_cases(layer, {"external_id": "pot", "address": "10 Pothole Rd", "lat": HOME[0],
                         "lon": HOME[1], "service_id": pothole.id, "department_id": works.id,
                         "at": datetime(2026, 11, 20, 15, 5, tzinfo=UTC)})  # fmt: skip
    import_cases(crime, {"external_id": "r1", "address": "1234 Secret St", "lat": HOME[0],
                         "lon": HOME[1], "status": "REPORTED", "group": "closed",
                         "closed_at": datetime(2026, 11, 20, 16, tzinfo=UTC),
                         "description": "Stolen bicycle"})  # fmt: skip
    for case in Case.objects.all():
        CaseContact.objects.create(case=case, **REPORTER)
    return {"311": layer, "crime": crime}


def _summaries(client, url: str) -> dict[str, str]:
    """Each entry's title and its summary as text (the HTML unescaped, tags dropped)."""
    response = client.get(url)
    assert response.status_code == 200
    for value in REPORTER.values():
        assert value.encode() not in response.content
    root = ElementTree.fromstring(response.content)
    if root.tag == "rss":
        pairs = [(i.findtext("title"), i.findtext("description")) for i in root.iter("item")]
    else:
        pairs = [(e.findtext("a:title", namespaces=ATOM), e.findtext("a:summary", namespaces=ATOM))
                 for e in root.findall("a:entry", ATOM)]  # fmt: skip
    return {str(title): _text(summary or "") for title, summary in pairs}


def _text(fragment: str) -> str:
    """The summary's HTML as a reader shows it: one line per list item."""
    return html.unescape(" | ".join(ElementTree.fromstring(f"<div>{fragment}</div>").itertext()))


@pytest.mark.parametrize("url", ["/alerts/feed", "/alerts/feed.rss"])
def test_an_entry_names_type_status_department_address_and_local_date(client, city, url):
    entries = _summaries(client, url)
    pothole = entries["Pothole: 10 Pothole Rd"]
    for fact in ("Type: Pothole", "Status: Open", "Department: Public Works",
                 "Address: 10 Pothole Rd", "Opened: 20 Nov 2026, 09:05 CST"):  # fmt: skip
        assert fact in pothole, (fact, pothole)


@pytest.mark.parametrize("url", ["/alerts/feed", "/alerts/feed.rss"])
def test_a_crime_entry_gives_no_address(client, city, url):
    entries = _summaries(client, url)
    crime = entries["Crime report: no address"]
    assert "Type: Crime report" in crime and "Status: Reported" in crime
    assert "Closed: 20 Nov 2026, 10:00 CST" in crime and "Stolen bicycle" in crime
    assert "Address" not in crime and "Secret St" not in crime
