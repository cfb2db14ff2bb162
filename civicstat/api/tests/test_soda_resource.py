"""GET /resource/<id>.json|csv|geojson answers as a Socrata portal does, so Alice's old scripts keep
working: SoQL in every $ parameter, values written as Socrata writes them, errors in its shape."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client

from civicstat.api.models import SodaDataset
from civicstat.api.tests.conftest import Town
from civicstat.readlimits import QueryTimeout

pytestmark = pytest.mark.django_db


def get(client: Client, town: Town, fmt: str = "json", **query: Any) -> Any:
    return client.get(f"/resource/{town.dataset_id}.{fmt}?{urlencode(query)}")


def rows(client: Client, town: Town, **query: Any) -> list[dict[str, Any]]:
    response = get(client, town, **query)
    assert response.status_code == 200, response.content
    data: list[dict[str, Any]] = json.loads(response.content)
    return data


def ids(client: Client, town: Town, where: str) -> list[str]:
    return [r["case_id"] for r in rows(client, town, **{"$select": "case_id", "$where": where})]


# ---- What a row looks like ----------------------------------------------------------------------


def test_a_row_has_strings_for_numbers_city_time_stamps_and_no_empty_fields(client, town):
    (row,) = rows(client, town, case_id="1004")
    assert row["requested_datetime"] == "2024-03-03T08:15:00.000"  # Chicago time, no zone
    assert "latitude" not in row and "location" not in row and "address" not in row
    assert "closed_datetime" not in row
    (row,) = rows(client, town, case_id="1001")
    assert row["latitude"] == "39.1" and row["longitude"] == "-94.58"
    assert row["location"] == {"type": "Point", "coordinates": [-94.58, 39.1]}


def test_json_csv_and_geojson_have_socratas_content_types_and_column_headers(client, town):
    query = {"$select": "case_id, latitude, requested_datetime, location", "$limit": "2"}
    expected = {
        "json": "application/json;charset=utf-8",
        "csv": "text/csv; charset=utf-8",
        "geojson": "application/vnd.geo+json;charset=utf-8",
    }
    for fmt, content_type in expected.items():
        response = get(client, town, fmt, **query)
        assert response["Content-Type"] == content_type
        assert json.loads(response["X-SODA2-Fields"]) == [
            "case_id", "latitude", "requested_datetime", "location"]  # fmt: skip
        assert json.loads(response["X-SODA2-Types"]) == [
            "text", "number", "floating_timestamp", "point"]  # fmt: skip
        assert response["Access-Control-Allow-Origin"] == "*"
    table = list(csv.reader(io.StringIO(get(client, town, "csv", **query).content.decode())))
    assert table == [
        ["case_id", "latitude", "requested_datetime", "location"],
        ["1001", "39.1", "2024-01-31T23:30:00.000", "POINT (-94.58 39.1)"],
        ["1002", "39.101", "2024-02-01T00:30:00.000", "POINT (-94.579 39.101)"],
    ]
    features = json.loads(get(client, town, "geojson", **query).content)["features"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [-94.58, 39.1]}
    assert features[0]["properties"] == {
        "case_id": "1001",
        "latitude": "39.1",
        "requested_datetime": "2024-01-31T23:30:00.000",
    }


def test_system_fields_come_on_request(client, town):
    (row,) = rows(client, town, **{"$select": ":id, :created_at, case_id", "case_id": "1001"})
    assert row[":created_at"] == "2024-02-01T05:30:00.000Z"  # UTC, as Socrata writes it
    assert row[":id"].isdigit()
    assert rows(client, town, **{":id": row[":id"]})[0]["case_id"] == "1001"
    everything = get(client, town, **{"$select": ":*, *", "$limit": "1"})
    assert json.loads(everything["X-SODA2-Fields"])[:3] == [":id", ":created_at", ":updated_at"]


# ---- Private request types -----------------------------------------------------------------------


def test_a_private_request_type_never_appears_whatever_the_query(client, town):
    assert "9001" not in [r["case_id"] for r in rows(client, town, **{"$limit": "50"})]
    assert ids(client, town, "request_type = 'Elder abuse'") == []
    assert rows(client, town, request_type_code="ABUSE") == []
    (total,) = rows(client, town, **{"$select": "count(*)"})
    assert total == {"count": "5"}
    counts = rows(client, town, **{"$query": "SELECT category, count(*) GROUP BY category"})
    assert "Social" not in [r.get("category") for r in counts]
    assert ids(client, town, "within_circle(location, 39.1001, -94.5799, 10)") == []


# ---- SoQL ---------------------------------------------------------------------------------------


def test_where_order_limit_and_offset_page_through_the_rows(client, town):
    query = {"$select": "case_id", "$where": "request_type = 'Pothole'",
             "$order": "requested_datetime DESC", "$limit": "2"}  # fmt: skip
    assert [r["case_id"] for r in rows(client, town, **query)] == ["1005", "1002"]
    assert [r["case_id"] for r in rows(client, town, **query, **{"$offset": "2"})] == ["1001"]


def test_a_query_counts_by_month_in_city_time(client, town):
    """1001 was opened at 23:30 on January 31 in Kansas City (05:30 on February 1 in UTC)."""
    query = ("SELECT date_trunc_ym(requested_datetime) AS month, count(*) AS opened "
             "GROUP BY month ORDER BY month")  # fmt: skip
    assert rows(client, town, **{"$query": query}) == [
        {"month": "2024-01-01T00:00:00.000", "opened": "1"},
        {"month": "2024-02-01T00:00:00.000", "opened": "2"},
        {"month": "2024-03-01T00:00:00.000", "opened": "2"},
    ]


def test_group_having_and_order_by_an_aggregate(client, town):
    query = {"$select": "department, count(*) AS n", "$group": "department",
             "$having": "count(*) > 1", "$order": "n DESC"}  # fmt: skip
    assert rows(client, town, **query) == [{"department": "Public Works", "n": "4"}]


@pytest.mark.parametrize(("where", "expected"), [
    ("requested_datetime >= '2024-02-01' AND requested_datetime < '2024-03-01'", ["1002", "1003"]),
    ("requested_datetime between '2024-03-01' and '2024-03-31T23:59:59'", ["1004", "1005"]),
    ("closed_datetime IS NOT NULL", ["1001", "1003"]),
    ("address IS NULL", ["1004"]),
    ("request_type IN ('Graffiti', 'Water main leak')", ["1003", "1004"]),
    ("request_type NOT IN ('Pothole')", ["1003", "1004"]),
    ("description LIKE '%100\\%%'", []),  # % is a wildcard; nothing escapes it in SoQL
    ("description LIKE '%100% Beef%'", ["1003"]),
    ("description LIKE 'Deep%'", ["1001"]),
    ("description NOT LIKE 'case%'", ["1001", "1003"]),
    ("starts_with(address, '414')", ["1001", "1002", "1003", "1005"]),
    ("upper(request_type) = 'GRAFFITI'", ["1003"]),
    ("lower(department) = 'water services'", ["1004"]),
    ("date_extract_y(requested_datetime) = 2024 AND date_extract_m(requested_datetime) = 1",
     ["1001"]),
    ("date_extract_d(requested_datetime) = 31", ["1001"]),
    ("date_extract_hh(requested_datetime) = 0", ["1002"]),
    ("date_extract_dow(requested_datetime) = 0", ["1004"]),  # Sunday, March 3
    ("date_trunc_ymd(requested_datetime) = '2024-02-01'", ["1002"]),
    ("date_trunc_y(requested_datetime) = '2024-01-01'", ["1001", "1002", "1003", "1004", "1005"]),
    ("within_circle(location, 39.1, -94.58, 200)", ["1001", "1002", "1005"]),
    ("within_circle(location, 39.1, -94.58, 30)", ["1001", "1005"]),
    ("within_box(location, 39.25, -94.75, 39.15, -94.65)", ["1003"]),
    ("case(status_group = 'open', 'O', true, 'C') = 'C'", ["1001", "1003"]),
    ("latitude * 2 > 78.3", ["1003"]),
    ("request_type || '/' || department = 'Graffiti/Public Works'", ["1003"]),
    ("NOT (status_group = 'open' OR request_type = 'Graffiti')", ["1001"]),
])  # fmt: skip
def test_each_soql_function_and_operator_filters_as_socrata_does(client, town, where, expected):
    assert ids(client, town, where) == expected


def test_aggregates_sum_avg_min_and_max(client, town):
    query = {
        "$select": "count(latitude) AS located, min(requested_datetime) AS first, "
        "max(case_id) AS last, avg(latitude) AS mean, sum(latitude) AS total"
    }
    (row,) = rows(client, town, **query)
    assert row["located"] == "4" and row["first"] == "2024-01-31T23:30:00.000"
    assert row["last"] == "1005"
    assert float(row["mean"]) == pytest.approx((39.1 + 39.101 + 39.2 + 39.1002) / 4)
    assert float(row["total"]) == pytest.approx(39.1 + 39.101 + 39.2 + 39.1002)


def test_full_text_search_and_plain_field_filters(client, town):
    assert [r["case_id"] for r in rows(client, town, **{"$q": "bus stop"})] == ["1001"]
    assert [r["case_id"] for r in rows(client, town, request_type="Pothole",
                                        status_group="open")] == ["1002", "1005"]  # fmt: skip


def test_the_default_limit_is_a_thousand_and_the_cap_is_a_setting(client, town, settings):
    settings.SODA_MAX_LIMIT = 3
    assert len(rows(client, town, **{"$limit": "3"})) == 3
    response = get(client, town, **{"$limit": "4"})
    assert response.status_code == 400
    assert "at most 3" in json.loads(response.content)["message"]


# ---- A city's old dataset id and field names ---------------------------------------------------


def test_a_city_keeps_its_old_dataset_id_and_field_names(client, town):
    SodaDataset.objects.create(layer=town.layer, identifier="7at3-sxhp", field_names={
        "request_type": "type", "requested_datetime": "creation_date"})  # fmt: skip
    response = client.get("/resource/7at3-sxhp.json?" + urlencode({
        "$select": "case_id, type, creation_date", "$where": "type = 'Graffiti'"}))  # fmt: skip
    assert json.loads(response.content) == [
        {"case_id": "1003", "type": "Graffiti", "creation_date": "2024-02-14T12:00:00.000"}
    ]
    assert client.get(f"/resource/{town.dataset_id}.json").status_code == 404
    meta = json.loads(client.get("/api/views/7at3-sxhp.json").content)
    assert {"type", "creation_date"} <= {c["fieldName"] for c in meta["columns"]}


# ---- Bad input ----------------------------------------------------------------------------------


def error(client: Client, town: Town, status: int = 400, **query: Any) -> dict[str, Any]:
    response = get(client, town, **query)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json;charset=utf-8"
    body: dict[str, Any] = json.loads(response.content)
    assert body["error"] is True and body["code"] and "query" in body["data"]
    return body


def test_a_syntax_error_is_a_400_with_the_position_and_the_query(client, town):
    body = error(client, town, **{"$where": "status_group = = 'open'"})
    assert body["message"].endswith("at line 1 character 16")
    assert body["data"]["query"] == "$where=status_group = = 'open'"


def test_an_unknown_column_or_function_is_named(client, town):
    assert "No such column: colour" in error(client, town, **{"$where": "colour = 'red'"})[
        "message"]  # fmt: skip
    assert "Unknown function frobnicate/1" in error(
        client, town, **{"$select": "frobnicate(case_id)"})["message"]  # fmt: skip
    assert "No such column: colour" in error(client, town, colour="red")["message"]
    assert "Unrecognized arguments [$frob]" in error(client, town, **{"$frob": "1"})["message"]


@pytest.mark.parametrize("query", [
    {"$where": "requested_datetime > 'last tuesday'"}, {"$where": "latitude = 'north'"},
    {"$where": "count(*) > 1"}, {"$select": "case_id, count(*)"}, {"$limit": "²"},
    {"$limit": "-1"}, {"$where": "requested_datetime > '2024-02-30'"}, {"$order": "location"},
    {"$where": "within_circle(location, 99, 0, 10)"}, {"$query": "SELECT * LIMIT 999999999"},
    {"$where": "case_id"}, {"$where": "1e999 > latitude"}, {"latitude": "north"},
    {"$query": "SELECT *", "$where": "a = 1"}, {"$select": "sum(case_id)"},
])  # fmt: skip
def test_queries_that_cannot_run_are_400s_that_say_why(client, town, query):
    assert error(client, town, **query)["message"]


def test_an_unknown_dataset_is_a_404_in_socratas_shape(client, town):
    response = client.get("/resource/zzzz-zzzz.json")
    assert response.status_code == 404
    assert json.loads(response.content)["error"] is True


def test_a_query_past_the_time_limit_is_a_503_with_a_message(client, town, monkeypatch):
    from civicstat.api.soda import views

    def too_slow(plan: Any) -> Any:
        raise QueryTimeout("canceled")

    monkeypatch.setattr(views, "run", too_slow)
    body = error(client, town, status=503, **{"$where": "description like '%pot%'"})
    assert "took too long" in body["message"]


def test_rates_per_address_and_per_app_token_answer_429(client, town, settings):
    settings.SODA_IP_RATE = "3/m"
    statuses = [get(client, town, **{"$limit": str(n)}).status_code for n in range(1, 6)]
    assert statuses == [200, 200, 200, 429, 429]
    settings.SODA_IP_RATE = ""
    settings.SODA_APP_TOKEN_RATE = "2/m"
    token = {"HTTP_X_APP_TOKEN": "alice-token"}
    statuses = [client.get(f"/resource/{town.dataset_id}.json?$limit={n}", **token).status_code
                for n in range(10, 13)]  # fmt: skip
    assert statuses == [200, 200, 429]
    body = json.loads(client.get(f"/resource/{town.dataset_id}.json?$limit=20",
                                 **token).content)  # fmt: skip
    assert body["code"] == "query.rate-limited"
    other = client.get(f"/resource/{town.dataset_id}.json?$limit=21&$$app_token=bob-token")
    assert other.status_code == 200


# ---- Caching ------------------------------------------------------------------------------------


def test_a_repeat_request_is_a_304_by_etag_or_by_date(client, town):
    url = f"/resource/{town.dataset_id}.json?$limit=1"
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    from civicstat.cases.services import data_version_touch

    data_version_touch()  # new data: the old ETag no longer matches
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_no_text_of_a_query_reaches_the_database_outside_a_parameter(client, town):
    """Literals and patterns travel as bound parameters; the SQL holds only whitelisted names."""
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    marker = "zq'); DROP TABLE cases_case; --"
    with connection.execute_wrapper(record):
        get(client, town, **{"$where": f"description = '{marker.replace(chr(39), chr(39) * 2)}' "
                                       f"OR description LIKE '%{marker[:4]}%'"})  # fmt: skip
    assert seen and not [sql for sql in seen if "zq" in sql or "DROP" in sql]


def test_a_like_pattern_of_many_wildcards_answers_at_once(client, town):
    """`%a%a%a…` over a long text is a power of its length for a backtracking matcher."""
    from civicstat.cases.models import Case

    Case.objects.filter(external_id="1003").update(description="a" * 4000)
    started = time.monotonic()
    assert ids(client, town, "description like '" + "%a" * 12 + "%b'") == []
    assert time.monotonic() - started < 5
    assert ids(client, town, "description like '" + "%a" * 12 + "%'") == ["1003"]


def test_a_browser_may_send_an_app_token_from_any_site(client, town):
    """The X-App-Token header makes browsers ask first (a CORS preflight)."""
    response = client.options(f"/resource/{town.dataset_id}.json",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-app-token")  # fmt: skip
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-App-Token" in response["Access-Control-Allow-Headers"]
