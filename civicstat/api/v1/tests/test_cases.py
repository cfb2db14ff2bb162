"""GET /api/v1/cases (.csv, .geojson): the map's filters, field choice, sorting, keyset paging."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from civicstat.api.v1.tests.conftest import WEST, _square, local, record
from civicstat.cases.models import Area, Case, CaseContact
from civicstat.cases.services import case_upsert

pytestmark = pytest.mark.django_db

PUBLIC = {"P1", "P2", "P3", "T1", "G1", "T2", "G2"}


def ids(doc: dict[str, Any]) -> list[str]:
    return [r["id"] for r in doc["rows"]]


def test_it_lists_public_cases_newest_first_with_the_total(client, town):
    doc = client.get("/api/v1/cases").json()
    assert ids(doc) == ["G2", "T2", "G1", "P3", "T1", "P2", "P1"]
    assert doc["count"] == 7 and doc["next"] is None and doc["next_url"] is None
    first = doc["rows"][1]
    assert first["service_code"] == "TREE" and first["department"] == "parks"
    assert first["status_label"] == "Received" and first["status_group"] == "open"
    assert first["requested_at"] == "2024-02-14T10:00:00-06:00"
    assert first["url"] == "http://testserver/cases/requests/T2"


def test_private_request_types_and_reporters_never_appear(client, town):
    CaseContact.objects.create(case=Case.objects.get(external_id="P1"), email="eve@example.org",
                               phone="555-0100", first_name="Eve")  # fmt: skip
    for url in ("/api/v1/cases?_size=1000", "/api/v1/cases.csv", "/api/v1/cases.geojson",
                "/api/v1/cases?q=private", "/api/v1/cases?service_group=Social"):  # fmt: skip
        body = client.get(url).content.decode()
        assert "X1" not in body and "private report" not in body and "ABUSE" not in body
        assert "eve@example.org" not in body and "555-0100" not in body
    refused = client.get("/api/v1/cases?service=ABUSE").json()["error"]
    assert refused == "unknown service 'ABUSE'; known: GRAF, POT, TREE"


@pytest.mark.parametrize(("query", "expected"), [
    ("department=parks", {"T1", "T2"}),
    ("service=POT,GRAF&status=open", {"P3", "G1", "G2"}),
    ("service_group=Trees", {"T1", "T2"}),
    ("status=closed", {"P1", "P2", "T1"}),
    ("since=2024-02-01", {"G1", "T2", "G2"}),
    ("until=2024-01-09", {"P1", "P2"}),
    ("closed_since=2024-01-10", {"P2", "T1"}),
    ("area=council-district:east", {"T1", "G1"}),
    ("q=bridge", {"G1"}),
    ("bbox=-94.55,39.0,-94.4,39.2", {"T1", "G1"}),
    ("local_status=RESOL", {"P1", "P2", "T1"}),
])  # fmt: skip
def test_it_filters_with_the_maps_grammar(client, town, query, expected):
    doc = client.get(f"/api/v1/cases?{query}").json()
    assert set(ids(doc)) == expected
    assert doc["count"] == len(expected)


def test_it_returns_only_the_fields_asked_for_in_their_order(client, town):
    doc = client.get("/api/v1/cases?_fields=status,id&_size=1").json()
    assert doc["rows"] == [{"status": "OPEN", "id": "G2"}]
    refused = client.get("/api/v1/cases?_fields=id,email")
    assert refused.status_code == 400
    assert "unknown field 'email'" in refused.json()["error"]


def test_it_sorts_oldest_first_and_by_a_time_some_cases_lack(client, town):
    assert ids(client.get("/api/v1/cases?_sort=requested_at").json())[:3] == ["P1", "P2", "T1"]
    closed = ids(client.get("/api/v1/cases?_sort_desc=closed_at").json())
    assert closed[:3] == ["T1", "P2", "P1"]  # closed Jan 22, 13, 7; the open ones after
    assert set(closed[3:]) == {"P3", "G1", "T2", "G2"}
    refused = client.get("/api/v1/cases?_sort=description")
    assert refused.status_code == 400 and "sort by requested_at" in refused.json()["error"]


@pytest.mark.parametrize("sort", ["_sort_desc=requested_at", "_sort=requested_at",
                                  "_sort=closed_at", "_sort_desc=updated_at"])  # fmt: skip
def test_paging_with_the_cursor_gives_every_case_once(client, town, sort):
    url, seen, pages = f"/api/v1/cases?_size=2&{sort}", [], 0
    while url:
        response = client.get(url)
        doc = response.json()
        assert doc["count"] == 7
        seen += ids(doc)
        url = doc["next_url"]
        if url:
            assert response["Link"] == f'<{url}>; rel="next"'
        pages += 1
    assert pages == 4 and len(seen) == 7 and set(seen) == PUBLIC


def test_a_forged_cursor_is_a_400(client, town):
    for cursor in ("nonsense", "W10", "WyJ4IiwgMV0", "%E2%98%83"):
        response = client.get(f"/api/v1/cases?_next={cursor}")
        assert response.status_code == 400, cursor
        assert "follow next_url" in response.json()["error"]


def test_csv_is_the_same_page_with_a_header(client, town):
    response = client.get("/api/v1/cases.csv?_fields=id,lat,lon,location_approximate&_size=2")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["id", "lat", "lon", "location_approximate"], ["G2", "", "", "false"],
                    ["T2", "39.1", "-94.6", "false"]]  # fmt: skip
    assert 'rel="next"' in response["Link"]


def test_geojson_gives_points_and_null_geometry_for_a_case_without_a_position(client, town):
    response = client.get("/api/v1/cases.geojson?_size=2")
    assert response["Content-Type"] == "application/geo+json"
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    g2, t2 = doc["features"]
    assert g2["geometry"] is None and g2["properties"]["id"] == "G2"
    assert t2["geometry"] == {"type": "Point", "coordinates": [-94.6, 39.1]}
    assert "lat" not in t2["properties"]


def test_every_coordinate_goes_through_output_point(client, town, monkeypatch):
    """The hook a sensitive layer's generalisation connects to: what it says is what leaves."""
    from civicstat.api.v1 import rows

    monkeypatch.setattr(
        rows, "output_point", lambda row: (39.0, -94.0) if row["public_lat"] else None
    )
    page = client.get("/api/v1/cases?_size=2").json()["rows"]
    assert (page[1]["lat"], page[1]["lon"]) == (39.0, -94.0)
    feature = client.get("/api/v1/cases.geojson?_size=2").json()["features"][1]
    assert feature["geometry"]["coordinates"] == [-94.0, 39.0]
    export = client.get("/api/v1/layers/requests/cases.csv?_fields=id,lat,lon")
    body = b"".join(export.streaming_content).decode()
    assert "39.1" not in body and "-94.6" not in body and "39.0,-94.0" in body


def test_bad_filters_are_400s_that_say_why(client, town):
    for query, words in (("department=nowhere", "unknown department"),
                         ("since=2024-02-30", "is not a date"), ("days=%C2%B2", "whole number"),
                         ("_size=1001", "from 1 to 1000"), ("bbox=1,2,3", "four numbers"),
                         ("status=maybe", "open, closed or all")):  # fmt: skip
        response = client.get(f"/api/v1/cases?{query}")
        assert response.status_code == 400, query
        assert words in response.json()["error"], query


def test_a_case_inside_two_of_the_filters_areas_is_listed_and_counted_once(client, town):
    """A neighborhood inside the west district: a west case lies in both."""
    Area.objects.create(kind="neighborhood", slug="old-town", name="Old Town",
                        geometry=_square(*WEST, 0.01))  # fmt: skip
    case_upsert(layer=town["layer"], records=[record("P9", town["pothole"], local(2024, 3, 1))])
    query = "area=council-district:west,neighborhood:old-town"
    doc = client.get(f"/api/v1/cases?{query}&facet=status").json()
    assert sorted(ids(doc)) == ["P1", "P2", "P3", "P9", "T2"]
    assert doc["count"] == 5 and sum(v["count"] for v in doc["facets"]["status"]) == 5
