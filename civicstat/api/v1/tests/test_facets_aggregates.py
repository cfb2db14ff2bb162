"""GET /api/v1/facets (and facet= on /cases) and GET /api/v1/aggregates: figures from the
rollups, or from the cases when only they can answer, the same either way."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.django_db


def values(facet: list[dict[str, Any]]) -> dict[str | None, int]:
    return {v["value"]: v["count"] for v in facet}


def test_facets_count_each_value_with_the_total(client, town):
    doc = client.get("/api/v1/facets?facet=department&facet=service&facet=status").json()
    assert doc["count"] == 7
    assert values(doc["facets"]["department"]) == {"public-works": 5, "parks": 2}
    assert values(doc["facets"]["service"]) == {"POT": 3, "GRAF": 2, "TREE": 2}
    assert values(doc["facets"]["status"]) == {"open": 4, "closed": 3}
    assert doc["facets"]["department"][0]["label"] == "Public Works"


def test_facets_from_the_cases_match_those_from_the_rollups(client, town):
    """A text search cannot be answered from the rollups: the cases are counted instead."""
    rollups = client.get("/api/v1/facets?facet=service&facet=layer&facet=service_group").json()
    cases = client.get("/api/v1/facets?facet=service&facet=layer&facet=service_group&q=case"
                       ).json()  # fmt: skip
    assert rollups["count"] == 7 and cases["count"] == 6  # G1's description has no "case"
    assert values(cases["facets"]["service"]) == {"POT": 3, "GRAF": 1, "TREE": 2}
    assert values(rollups["facets"]["layer"]) == values(cases["facets"]["layer"]) | {"requests": 7}
    assert values(cases["facets"]["service_group"]) == {"Streets": 4, "Trees": 2}
    assert cases["facets"]["service"][0]["label"] == "Potholes"


def test_a_facet_value_toggles_in_and_out_of_the_filter(client, town):
    doc = client.get("/api/v1/cases?facet=department&department=parks&_size=1").json()
    parks = next(v for v in doc["facets"]["department"] if v["value"] == "parks")
    assert parks["selected"] is True and parks["count"] == 2
    assert "department" not in parse_qs(urlsplit(parks["toggle_url"]).query)
    assert doc["count"] == 2 and "_next" not in parks["toggle_url"]

    doc = client.get("/api/v1/facets?facet=service&service=POT").json()
    (pot,) = doc["facets"]["service"]
    assert pot["selected"]
    # Adding a value not yet chosen keeps the chosen one.
    doc = client.get("/api/v1/facets?facet=service").json()
    graf = next(v for v in doc["facets"]["service"] if v["value"] == "GRAF")
    widened = client.get(graf["toggle_url"] + ",POT").json()
    assert widened["count"] == 5
    status = client.get("/api/v1/facets?facet=status&status=open").json()["facets"]["status"]
    assert parse_qs(urlsplit(status[0]["toggle_url"]).query).get("status") is None


def test_an_unknown_facet_is_a_400(client, town):
    response = client.get("/api/v1/facets?facet=email")
    assert response.status_code == 400
    assert "facet by layer, department, service" in response.json()["error"]


def _rows(client: Any, query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/aggregates?{query}")
    assert response.status_code == 200, response.content
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def test_aggregates_by_department(client, town):
    rows = {r["department"]: r for r in _rows(client, "by=department")}
    works, parks = rows["public-works"], rows["parks"]
    assert (works["opened"], works["closed"], works["backlog"]) == (5, 2, 3)
    assert works["department_name"] == "Public Works"
    assert works["median_days_to_close"] == pytest.approx(3, rel=0.35)  # closed in 2 and 4 days
    assert (parks["opened"], parks["closed"], parks["backlog"]) == (2, 1, 1)
    assert parks["median_days_to_close"] == pytest.approx(10, rel=0.02)


def test_aggregates_by_month_and_request_type_say_which_months_are_partial(client, town):
    rows = _rows(client, "by=month,service")
    by = {(r["month"], r["service"]): r for r in rows}
    assert by[("2024-01", "POT")]["opened"] == 3 and by[("2024-01", "POT")]["closed"] == 2
    assert by[("2024-02", "GRAF")]["backlog"] == 2
    assert [r["month"] for r in rows] == sorted(r["month"] for r in rows)
    assert not any(r["partial"] for r in rows)
    assert all(r["service"] != "ABUSE" for r in rows)
    cut = _rows(client, "by=month&since=2024-01-10")
    assert [(r["month"], r["opened"], r["partial"]) for r in cut] == [
        ("2024-01", 2, True), ("2024-02", 3, False)]  # fmt: skip


def test_aggregates_by_area_and_by_year(client, town):
    rows = {r["area"]: r["opened"] for r in _rows(client, "by=area")}
    assert rows == {"council-district:west": 4, "council-district:east": 2}
    (year,) = _rows(client, "by=year&status=closed")
    assert (year["year"], year["opened"], year["closed"], year["backlog"]) == ("2024", 3, 3, 0)


def test_aggregates_refuse_what_the_rollups_cannot_answer(client, town):
    refusals = (
        ("by=department&q=bridge", "need the cases table"),
        ("", "by is required"),
        ("by=colour", "cannot group by 'colour'"),
        ("by=month,year", "not both"),
        ("by=area&area_kind=ward", "area_kind"),
    )
    for query, words in refusals:
        response = client.get(f"/api/v1/aggregates?{query}")
        assert response.status_code == 400, query
        assert words in response.json()["error"], query
