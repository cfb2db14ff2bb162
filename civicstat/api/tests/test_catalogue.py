"""The catalogue: the page residents browse, Socrata's metadata and catalogue APIs, and the
DCAT-US catalogue that data.gov harvests, all saying the same about each dataset."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from civicstat.api.models import SodaDataset
from civicstat.api.soda.datasets import default_identifier
from civicstat.api.tests.conftest import Town
from civicstat.cases.models import Area
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db


def body(response: Any) -> Any:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json;charset=utf-8"
    return json.loads(response.content)


def test_a_layers_id_stays_the_same_and_reads_as_socratas(town: Town) -> None:
    assert re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}", town.dataset_id)
    assert default_identifier("requests") == town.dataset_id
    assert default_identifier("violations") != town.dataset_id


def test_views_metadata_lists_the_columns_in_order(client, town: Town) -> None:
    meta = body(client.get(f"/api/views/{town.dataset_id}.json"))
    assert meta["id"] == town.dataset_id and meta["name"] == "311 requests"
    first = meta["columns"][0]
    assert {k: first[k] for k in ("fieldName", "dataTypeName", "name", "position")} == {
        "fieldName": "case_id",
        "dataTypeName": "text",
        "name": "Case ID",
        "position": 1,
    }
    assert [c["position"] for c in meta["columns"]] == list(range(1, len(meta["columns"]) + 1))
    assert {"fieldName": "location", "dataTypeName": "point"}.items() <= next(
        c for c in meta["columns"] if c["fieldName"] == "location").items()  # fmt: skip


def test_the_catalog_api_finds_datasets_by_text_and_counts_them(client, town: Town) -> None:
    a_measure("open-potholes")
    everything = body(client.get("/api/catalog/v1"))
    ids = [r["resource"]["id"] for r in everything["results"]]
    assert town.dataset_id in ids and "performance-measures" in ids
    assert everything["resultSetSize"] == len(ids)
    found = body(client.get("/api/catalog/v1?q=311&only=dataset"))
    assert [r["resource"]["id"] for r in found["results"]] == [town.dataset_id]
    layer = found["results"][0]["resource"]
    assert layer["row_count"] == 5  # the private case is not counted
    assert "requested_datetime" in layer["columns_field_name"]
    assert body(client.get("/api/catalog/v1?limit=1"))["resultSetSize"] == len(ids)
    assert client.get("/api/catalog/v1?limit=x").status_code == 400


def test_data_json_is_a_dcat_us_catalogue(client, town: Town, settings: Any) -> None:
    settings.OPEN_DATA_CONTACT_EMAIL = "data@kcmo.example"
    catalogue = body(client.get("/data.json"))
    assert catalogue["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert catalogue["@type"] == "dcat:Catalog"
    (dataset,) = [d for d in catalogue["dataset"] if d["title"] == "311 requests"]
    required = {"title", "description", "keyword", "modified", "publisher", "contactPoint",
                "identifier", "accessLevel"}  # fmt: skip
    assert required <= set(dataset)
    assert dataset["contactPoint"]["hasEmail"] == "mailto:data@kcmo.example"
    assert dataset["temporal"] == "2024-01-31/2024-03-09"  # city days, first and last opened
    assert dataset["license"] == settings.OPEN_DATA_LICENSE_URL
    urls = {d["mediaType"]: d["downloadURL"] for d in dataset["distribution"]}
    assert urls["text/csv"].endswith(f"/resource/{town.dataset_id}.csv")


def test_the_catalogue_page_lists_each_dataset_with_its_figures(client, town: Town) -> None:
    Area.objects.create(kind="council-district", slug="district-1", name="District 1",
                        geometry={"type": "Polygon", "coordinates": []})  # fmt: skip
    a_measure("open-potholes")
    page = client.get("/data").content.decode()
    assert "311 requests" in page and f"/data/{town.dataset_id}" in page
    assert "Jan 31, 2024 to Mar 9, 2024" in page
    assert "Performance measures and their values" in page
    assert "Areas: council districts" in page
    assert 'href="/data.json"' in page


def test_a_dataset_page_shows_columns_downloads_and_ready_examples(client, town: Town) -> None:
    page = client.get(f"/data/{town.dataset_id}").content.decode()
    assert "5 public requests" in page
    assert f"/resource/{town.dataset_id}.csv" in page
    assert f"curl &#x27;http://testserver/resource/{town.dataset_id}.json?$limit=5&#x27;" in page
    assert "SELECT date_trunc_ym(requested_datetime) AS month" in page
    assert "<code>requested_datetime</code>" in page
    assert client.get("/data/zzzz-zzzz").status_code == 404


def test_the_soql_example_on_a_dataset_page_runs(client, town: Town) -> None:
    SodaDataset.objects.create(layer=town.layer, identifier="7at3-sxhp",
                               field_names={"requested_datetime": "creation_date"})  # fmt: skip
    page = client.get("/data/7at3-sxhp").content.decode()
    (query,) = re.findall(r'id="soql-example"[^>]*>([^<]+)<', page)
    assert "creation_date" in query
    response = client.get("/resource/7at3-sxhp.json", {"$query": query.replace("&#x27;", "'")})
    assert json.loads(response.content)[0] == {"month": "2024-03-01T00:00:00.000", "opened": "2"}


@pytest.mark.parametrize(("names", "says"), [
    ({"colour": "color"}, "No such column: colour"),
    ({"request_type": "Type Name"}, "lower-case"),
    ({"request_type": "department"}, "both be called department"),
])  # fmt: skip
def test_the_admin_refuses_field_names_that_would_break_queries(town: Town, names, says) -> None:
    from django.core.exceptions import ValidationError

    dataset = SodaDataset(layer=town.layer, identifier="7at3-sxhp", field_names=names)
    with pytest.raises(ValidationError, match=says):
        dataset.full_clean()


def test_the_resident_survey_is_a_dataset_with_its_columns_and_a_download(client, town: Town):
    from civicstat.performance.surveys import survey_import

    area = a_measure("open-potholes").goal.area
    survey_import(
        text="category,item,measure,survey_period,period_end_year,value\n"
        "Streets,Condition of streets,pct_satisfied,2017-18,2018,41.5\n"
        "Streets,Condition of streets,pct_satisfied,2018-19,2019,43\n"
        "Parks,Maintenance of parks,pct_satisfied,2018-19,2019,72.25\n",
        slug="residents", name="Resident satisfaction survey", conducted_by="ETC Institute",
        report="Annual report", areas={}, default_area=area.slug,
    )  # fmt: skip
    ids = [r["resource"]["id"] for r in body(client.get("/api/catalog/v1"))["results"]]
    assert "survey-residents" in ids
    (listed,) = [d for d in body(client.get("/data.json"))["dataset"]
                 if d["title"] == "Resident satisfaction survey"]  # fmt: skip
    assert listed["distribution"][0]["downloadURL"].endswith("/performance/surveys/residents.csv")
    page = client.get("/data/survey-residents").content.decode()
    assert "Resident satisfaction survey" in page and "<code>period_start</code>" in page
    assert "curl -O http://testserver/performance/surveys/residents.csv" in page
    assert re.search(r"<dt>Rows</dt><dd>3</dd>", page)
    table = client.get("/performance/surveys/residents.csv").content.decode().splitlines()
    assert table[0] == "category,item,kind,period,period_start,period_end,value,measure"
    assert len(table) == 4 and any(line.startswith("Parks,Maintenance of parks,") and ",72.25,"
                                   in line for line in table)  # fmt: skip


def test_every_catalogue_entry_has_a_page_and_an_unknown_one_is_a_404(client, town: Town):
    a_measure("open-potholes")
    Area.objects.create(kind="council-district", slug="district-1", name="District 1",
                        geometry={"type": "Polygon", "coordinates": []})  # fmt: skip
    for identifier in (town.dataset_id, "performance-measures", "areas"):
        response = client.get(f"/data/{identifier}")
        assert response.status_code == 200, identifier
    assert client.get("/data/survey-nothing").status_code == 404
