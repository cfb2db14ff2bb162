"""The streamed exports of a whole layer, and the reference lists: layers, request types,
departments, areas, measures."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from civicstat.performance.services import measure_refresh
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def test_a_layer_streams_as_csv_in_chunks_with_every_public_case(client, town, monkeypatch):
    from civicstat.api.v1 import rows

    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    response = client.get("/api/v1/layers/requests/cases.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="requests.csv"' in response["Content-Disposition"]
    chunks = list(response.streaming_content)
    assert len(chunks) >= 4  # written as it is read, not built whole
    table = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert sorted(r["id"] for r in table) == ["G1", "G2", "P1", "P2", "P3", "T1", "T2"]
    assert all(r["service_code"] != "ABUSE" for r in table)
    p1 = next(r for r in table if r["id"] == "P1")  # as the pages write it
    assert (p1["requested_at"], p1["closed_at"]) == ("2024-01-05T10:00:00-06:00",
                                                     "2024-01-07T10:00:00-06:00")  # fmt: skip
    assert (p1["location_approximate"], p1["lat"], p1["status_label"]) == ("false", "39.1",
                                                                           "Resolved")  # fmt: skip
    page = client.get("/api/v1/cases.csv?_size=1000").content.decode()
    assert sorted(page.splitlines()[1:]) == sorted(b"".join(chunks).decode().splitlines()[1:])


def test_an_export_is_gzipped_for_clients_that_accept_it(client, town):
    response = client.get("/api/v1/layers/requests/cases.geojson?department=parks",
                          headers={"Accept-Encoding": "gzip, br"})  # fmt: skip
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    doc = json.loads(gzip.decompress(body(response)))
    assert [f["properties"]["id"] for f in doc["features"]] == ["T1", "T2"]
    assert doc["features"][0]["geometry"]["type"] == "Point"


def test_an_export_of_an_unknown_layer_is_a_404_and_bad_filters_a_400(client, town):
    missing = client.get("/api/v1/layers/nothing/cases.csv")
    assert missing.status_code == 404 and "error" in missing.json()
    bad = client.get("/api/v1/layers/requests/cases.csv?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]


def test_layers_say_how_many_public_cases_are_open_and_closed(client, town):
    (layer,) = client.get("/api/v1/layers").json()
    assert (layer["slug"], layer["open"], layer["closed"]) == ("requests", 4, 3)
    assert layer["csv_url"] == "http://testserver/api/v1/layers/requests/cases.csv"


def test_services_and_departments_leave_private_request_types_out(client, town):
    services = client.get("/api/v1/services").json()
    assert {s["code"] for s in services} == {"POT", "GRAF", "TREE"}
    pot = next(s for s in services if s["code"] == "POT")
    assert pot == {"code": "POT", "name": "Potholes", "group": "Streets", "description": "",
                   "layer": "requests", "department": "public-works", "target_days": 3}  # fmt: skip
    departments = client.get("/api/v1/departments").json()
    assert departments == [{"slug": "parks", "name": "Parks"},
                           {"slug": "public-works", "name": "Public Works"}]  # fmt: skip


def test_areas_are_geojson_with_the_value_the_area_filter_takes(client, town):
    response = client.get("/api/v1/areas?kind=council-district")
    assert response["Content-Type"] == "application/geo+json"
    features = response.json()["features"]
    assert {f["properties"]["filter"] for f in features} == {
        "council-district:west", "council-district:east"}  # fmt: skip
    assert features[0]["geometry"]["type"] == "Polygon"
    refused = client.get("/api/v1/areas?kind=ward")
    assert refused.status_code == 400 and "council-district" in refused.json()["error"]


def test_measures_list_published_ones_with_their_values(client, town):
    measure = a_measure("potholes-opened", title="Potholes opened", filters={"service": "POT"})
    a_measure("draft-one", published=False)
    measure_refresh(measure=measure)
    listed = client.get("/api/v1/measures").json()
    assert [m["slug"] for m in listed] == ["potholes-opened"]
    doc = client.get(listed[0]["values_url"]).json()
    assert doc["definition"]["title"] == "Potholes opened"
    january = next(v for v in doc["values"] if v["start"] == "2024-01-01")
    assert january["value"] == 3
    draft = client.get("/api/v1/measures/draft-one")
    assert draft.status_code == 404 and "error" in draft.json()


def test_the_index_points_to_the_description_and_the_docs(client, town):
    doc = client.get("/api/v1/").json()
    assert doc["openapi"] == "http://testserver/api/v1/openapi.json"
    assert doc["endpoints"]["aggregates"] == "http://testserver/api/v1/aggregates"


def test_an_export_whose_first_rows_take_too_long_is_a_503_before_anything_is_sent(
    client, town, monkeypatch
):
    from civicstat.api.v1 import rows
    from civicstat.readlimits import QueryTimeout

    def too_slow(qs, after):
        raise QueryTimeout("canceling statement due to statement timeout")

    monkeypatch.setattr(rows, "_chunk", too_slow)
    response = client.get("/api/v1/layers/requests/cases.csv")
    assert response.status_code == 503 and not response.streaming
    assert "took too long" in response.json()["error"]
    assert response["Retry-After"] == "30" and response["Cache-Control"] == "no-store"


def test_an_export_past_its_time_limit_ends_without_the_streams_end(client, town, monkeypatch,
                                                                     settings):  # fmt: skip
    from civicstat.api.v1 import rows

    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    settings.EXPORT_TIME_LIMIT_S = -1  # already past: only the first chunk goes out
    response = client.get("/api/v1/layers/requests/cases.geojson")
    stream = iter(response.streaming_content)
    sent = b"".join(next(stream) for _ in range(2))  # the opening and the first chunk
    assert sent.count(b'"Feature"') == 2
    with pytest.raises(rows.ExportCut):
        list(stream)


def test_every_chunk_of_an_export_is_a_statement_under_the_public_time_limit(
    client, town, monkeypatch, settings
):
    from civicstat.api.v1 import rows

    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    limits = []
    real = rows.query_time_limit

    def counted(ms):
        limits.append(ms)
        return real(ms)

    monkeypatch.setattr(rows, "query_time_limit", counted)
    response = client.get("/api/v1/layers/requests/cases.csv")
    table = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert sorted(r["id"] for r in table) == ["G1", "G2", "P1", "P2", "P3", "T1", "T2"]
    assert len(limits) == 4  # 2 + 2 + 2 + 1 rows: four short statements
    settings.PUBLIC_QUERY_TIMEOUT_MS = 1500
    limits.clear()
    body(client.get("/api/v1/layers/requests/cases.csv"))
    assert limits == [1500] * 4
