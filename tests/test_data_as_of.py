"""Every public page and embed says how current its data is: "Data as of" the time the cases last
changed, and the day the latest case was opened.

The walk is `tests/test_incomplete_cases.py`'s (the URL resolver's own patterns, each with the
values it takes), so a page added later is checked too.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from civicstat.cases.models import Case, DataVersion
from tests import test_incomplete_cases as incomplete
from tests.test_incomplete_cases import City, walk

pytestmark = pytest.mark.django_db
city = incomplete.city  # the walk's city: a case lacking each field, an alert, a measure


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html.decode())))


def test_every_public_page_and_embed_says_data_as_of_and_the_latest_case(city: City) -> None:
    """Every HTML page of the walk: pages, embeds, alert pages, case pages."""
    client = Client(raise_request_exception=False)
    stamp = DataVersion.objects.get(pk=1).cases_changed_at
    assert stamp is not None
    changed = f"Data as of {timezone.localtime(stamp):%-d %b %Y, %H:%M}"
    newest = Case.objects.public().order_by("-requested_at").first()
    assert newest is not None
    opened = f"Latest case opened {newest.requested_day:%-d %b %Y}."
    pages, failures = [], []
    for name, url in walk(city):
        response = client.get(url)
        if (
            response.status_code != 200
            or "text/html" not in response["Content-Type"]
            or name.startswith("admin")  # staff sign-in: not a page of the city's data
            or name == "openapi-view"  # the query API's reference (Swagger UI), not its data
        ):
            continue
        pages.append(name)
        text = _text(response.content)
        if changed not in text or opened not in text:
            failures.append(f"{url} ({name})")
    assert {"home", "map", "map-list", "embed-map", "departments", "case-detail"} <= set(pages)
    assert any(name.startswith("performance") for name in pages)
    assert not failures, "no data as of on:\n" + "\n".join(failures)


def test_a_page_not_found_says_it_too(city: City) -> None:
    response = Client().get("/cases/311-requests/no-such-case")
    assert response.status_code == 404
    assert "Data as of" in _text(response.content)
