"""Public reads that read the cases themselves are throttled per client and stopped when slow.

Mallory floods the site from 203.0.113.9 with text searches and deep list pages; Bob, a resident
at 198.51.100.7, browses at the same time and must still be served. Most tests need no cases: an
empty city's answers cost the same checks. (On PostgreSQL each layer a test makes takes a new id
from a sequence that rollbacks do not rewind, so tests make as few as they can.)
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from civicstat.cases.models import Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, department_resolve, layer_ensure
from civicstat.maps import views

pytestmark = pytest.mark.django_db

MALLORY = {"REMOTE_ADDR": "203.0.113.9"}
BOB = {"REMOTE_ADDR": "198.51.100.7"}
CITY = "-94.7,39.0,-94.4,39.3"


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    """Throttle counts live in the default cache, which outlives a test."""
    caches["default"].clear()


@pytest.fixture
def city(db: None) -> None:
    """Forty potholes in Kansas City over the last forty days."""
    layer = layer_ensure(slug="requests", name="311 requests", noun="request",
                         statuses={"OPEN": ("open", "Received")})  # fmt: skip
    department = department_resolve(name="Public Works")
    assert department is not None
    pothole = Service.objects.create(layer=layer, code="POT", name="Potholes", group="Streets",
                                     department=department)  # fmt: skip
    now = timezone.now()
    case_upsert(layer=layer, records=[
        CaseRecord(external_id=str(n), status="OPEN", status_group="open",
                   requested_at=now - timedelta(days=n), service_id=pothole.id,
                   department_id=department.id, description=f"pothole number {n}",
                   address=f"{100 + n} Main St", lat=39.1 + n / 1000, lon=-94.58)
        for n in range(40)
    ])  # fmt: skip


def test_a_client_over_the_rate_gets_429_with_retry_after_while_another_is_served(
    client, db, settings
):
    settings.PUBLIC_READ_RATE = "3/m"
    for n in range(3):
        assert (
            client.get(f"/map/list?q=pothole&sort=opened&page={n + 1}", **MALLORY).status_code
            == 200
        )
    refused = client.get("/map/list?q=pothole&page=4", **MALLORY)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Wait" in refused.content.decode() and refused["Content-Type"].startswith("text/html")

    # The map of the same filter answers in JSON, which the map's script shows as it is.
    dated = client.get(f"/map/view.json?days=30&bbox={CITY}", **MALLORY)
    assert dated.status_code == 429 and "Wait" in dated.json()["error"]
    # A map the rollups answer costs little and is not counted.
    assert client.get(f"/map/view.json?bbox={CITY}", **MALLORY).status_code == 200

    assert client.get("/map/list?q=pothole&page=4", **BOB).status_code == 200
    assert client.get(f"/map/view.json?days=30&bbox={CITY}", **BOB).status_code == 200


@pytest.mark.parametrize(
    ("url", "content_type", "words"),
    [
        ("/map/places.json?q=Main+St{n}", "application/json", '"error": "This address has'),
        ("/map?q=pothole{n}", "text/html", "Too many searches"),
        ("/embed/map?q=pothole{n}", "text/html", "Too many searches"),
        ("/alerts/feed?q=pothole{n}", "text/plain", "This address has"),
        ("/alerts/feed.rss?q=pothole{n}", "text/plain", "This address has"),
        ("/open311/v2/requests.json?q=pothole{n}", "application/json", '"code":429'),
        ("/open311/v2/requests.xml?q=pothole{n}", "text/xml", "<code>429</code>"),
    ],
)
def test_each_expensive_read_is_throttled_and_refuses_in_its_own_format(
    client, db, settings, url, content_type, words
):
    settings.PUBLIC_READ_RATE = "1/m"
    assert client.get(url.format(n=1), **MALLORY).status_code == 200
    refused = client.get(url.format(n=2), **MALLORY)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"].startswith(content_type)
    assert words in refused.content.decode()


def test_a_repeat_answered_from_the_cache_or_with_304_is_not_counted(client, db, settings):
    """Open311 keeps whole answers under the data version: a repeat costs nothing and never
    counts, however often it comes; only a new question does."""
    settings.PUBLIC_READ_RATE = "2/m"
    url = "/open311/v2/requests.json?q=pothole"
    first = client.get(url, **MALLORY)
    for _ in range(5):
        assert client.get(url, **MALLORY).status_code == 200  # from the response cache
        again = client.get(url, headers={"If-None-Match": first["ETag"]}, **MALLORY)
        assert again.status_code == 304
    assert client.get(f"{url}+number", **MALLORY).status_code == 200  # the second question
    refused = client.get(f"{url}+number+1", **MALLORY)  # the third, over the rate
    assert refused.status_code == 429
    assert refused.json()[0]["code"] == 429 and refused["Retry-After"]


def slow_statement(seconds: float) -> None:
    """One statement that runs about `seconds` (longer on a busy machine) on either engine."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
        else:
            cursor.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %s)"
                " SELECT COUNT(*) FROM c",
                [int(seconds * 5_000_000)],
            )


def statement_timeout() -> str:
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


def test_a_statement_past_the_time_limit_is_stopped_with_a_503_and_the_connection_is_as_before(
    client, db, settings, monkeypatch
):
    settings.PUBLIC_QUERY_TIMEOUT_MS = 200
    before = statement_timeout()
    monkeypatch.setattr(views, "match_count", lambda f: slow_statement(10) or 0)
    started = time.monotonic()
    stopped = client.get("/map/list?q=pothole")
    assert stopped.status_code == 503
    assert time.monotonic() - started < 5  # stopped, not waited out
    assert int(stopped["Retry-After"]) > 0
    assert "took too long" in stopped.content.decode()

    monkeypatch.setattr(views, "places_find", lambda text: slow_statement(10) or [])
    stopped = client.get("/map/places.json?q=Main")
    assert stopped.status_code == 503 and "took too long" in stopped.json()["error"]

    # Only the public read was limited: the connection's next statements run as long as they need.
    assert statement_timeout() == before
    slow_statement(0.5)
    monkeypatch.undo()
    assert client.get("/map/list?q=pothole").status_code == 200


def test_a_list_page_deeper_than_the_cap_is_refused_with_a_reason(client, city, settings):
    settings.MAP_LIST_MAX_PAGE = 3
    assert client.get("/map/list?page=3").status_code == 200
    deep = client.get("/map/list?page=4")
    assert deep.status_code == 400
    assert "narrow the filters" in deep.content.decode()


def test_the_last_page_the_list_goes_to_has_no_next_link_and_says_why(
    client, city, settings, monkeypatch
):
    settings.MAP_LIST_MAX_PAGE = 2
    monkeypatch.setattr(views, "PAGE_SIZE", 10)  # 40 cases: four pages
    first = client.get("/map/list?sort=opened").content.decode()
    assert 'rel="next"' in first and "Page 1 of 4" in first
    last = client.get("/map/list?sort=opened&page=2").content.decode()
    assert 'rel="next"' not in last and "The list stops at page 2" in last


def test_the_map_counts_exactly_the_filters_the_rollups_cannot_answer(rf, city):
    """The throttle reads the query string before the view parses it: it must name the same
    filters as the rollups' own test, or a cheap map would be counted or a costly one not."""
    from civicstat.cases.models import Area
    from civicstat.cases.query import PARAMETERS, parse_filters
    from civicstat.maps.clusters import rollup_can_answer

    Area.objects.create(kind="neighborhood", slug="downtown", name="Downtown", geometry={})
    filters = {
        "layer": "requests", "service": "POT", "service_group": "Streets",
        "department": "public-works", "status": "open", "bbox": CITY, "since": "2024-01-01",
        "until": "2024-12-31", "days": "30", "closed_since": "2024-01-01",
        "closed_until": "2024-12-31", "area": "neighborhood:downtown", "q": "pothole",
        "local_status": "OPEN",
    }  # fmt: skip
    assert set(filters) == set(PARAMETERS)  # a new filter must be placed on one side
    for name, value in filters.items():
        request = rf.get("/map/view.json", {name: value})
        assert views.reads_cases(request) is not rollup_can_answer(parse_filters(request.GET)), name
