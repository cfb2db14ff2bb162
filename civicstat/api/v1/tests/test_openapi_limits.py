"""The OpenAPI description and the interactive docs (served from the site itself, no CDN), and
the limits every expensive read has: a 429 past the rate per address, a 503 past the time limit,
and schemathesis finding no 5xx anywhere in the description."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from civicstat.api.v1 import views_cases
from civicstat.api.v1.tests.conftest import town_build
from civicstat.maps.tests.test_expensive_reads import slow_statement

MALLORY = {"REMOTE_ADDR": "203.0.113.9"}
BOB = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.mark.django_db
def test_the_description_lists_every_endpoint_with_its_parameters(client):
    raw = client.get("/api/v1/openapi.json").content

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"a key written twice: {keys}"  # Swagger UI refuses
        return dict(pairs)

    doc = json.loads(raw, object_pairs_hook=unique)
    assert set(doc["paths"]) == {
        "/api/v1/cases", "/api/v1/cases.csv", "/api/v1/cases.geojson", "/api/v1/facets",
        "/api/v1/aggregates", "/api/v1/layers", "/api/v1/services", "/api/v1/departments",
        "/api/v1/areas", "/api/v1/measures", "/api/v1/measures/{slug}",
        "/api/v1/layers/{layer}/cases.csv", "/api/v1/layers/{layer}/cases.geojson",
    }  # fmt: skip
    cases = doc["paths"]["/api/v1/cases"]["get"]
    names = {p["name"] for p in cases["parameters"]}
    assert {"department", "since", "bbox", "q", "_fields", "_sort", "_next", "facet"} <= names
    assert "text/csv" in doc["paths"]["/api/v1/cases.csv"]["get"]["responses"]["200"]["content"]


@pytest.mark.django_db
def test_the_docs_page_loads_only_the_sites_own_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    own = ("/static/ninja/", "/static/api/")
    assert sources and all(s.startswith(own) for s in sources), sources
    for source in sources:
        assert finders.find(source.removeprefix("/static/")), source
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy


@pytest.mark.django_db
def test_an_address_over_the_rate_gets_a_429_in_json_while_another_is_served(client, town,
                                                                             settings):  # fmt: skip
    settings.PUBLIC_READ_RATE = "2/m"
    assert client.get("/api/v1/cases?q=a", **MALLORY).status_code == 200
    assert client.get("/api/v1/facets?q=b", **MALLORY).status_code == 200
    refused = client.get("/api/v1/cases.csv?q=c", **MALLORY)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Wait" in refused.json()["error"]
    # The same question again is answered from the cache: it never counts.
    assert client.get("/api/v1/cases?q=a", **MALLORY).status_code == 200
    assert client.get("/api/v1/cases.csv?q=c", **BOB).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_query_past_the_time_limit_is_a_503_with_a_message(client, settings, monkeypatch):
    town_build()
    settings.PUBLIC_READ_RATE = ""
    settings.PUBLIC_QUERY_TIMEOUT_MS = 50
    real_page = views_cases.page

    def slow_page(*args: Any, **kwargs: Any) -> Any:
        slow_statement(2)
        return real_page(*args, **kwargs)

    monkeypatch.setattr(views_cases, "page", slow_page)
    response = client.get("/api/v1/cases?q=slow")
    assert response.status_code == 503 and response["Retry-After"]
    assert "took too long" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_generated_requests_never_cause_a_server_error(live_server, settings):
    """schemathesis draws requests for every operation of /api/v1/openapi.json: below 500."""
    town_build()
    settings.PUBLIC_READ_RATE = ""
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13
    failures: list[str] = []
    answered: set[int] = set()
    for operation in operations:

        @hypothesis_settings(max_examples=25, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=live_server.url)
            answered.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {response.request.url}: {response.status_code}")

        check()
    assert failures == []
    assert {200, 400, 404} <= answered, answered
