"""sodapy, Socrata's own Python client, unchanged, against a real server on loopback: Alice's
notebook only changes the domain it points at."""

from __future__ import annotations

from typing import Any

import pytest
from requests.adapters import HTTPAdapter
from sodapy import Socrata  # type: ignore[import-untyped]  # sodapy ships no type hints

from civicstat.api.tests.conftest import Town

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def socrata(live_server: Any, town: Town) -> Any:
    host = live_server.url.removeprefix("http://")
    # The one difference from a portal: plain HTTP on loopback, through sodapy's own option.
    adapter = {"prefix": "http://", "adapter": HTTPAdapter()}
    with Socrata(host, "alices-app-token", session_adapter=adapter, timeout=30) as client:
        yield client


def test_sodapy_reads_rows_with_soql_keyword_arguments(socrata: Any, town: Town) -> None:
    rows = socrata.get(town.dataset_id, select="case_id, request_type", where="status_group='open'",
                       order="case_id DESC", limit=2)  # fmt: skip
    assert rows == [{"case_id": "1005", "request_type": "Pothole"},
                    {"case_id": "1004", "request_type": "Water main leak"}]  # fmt: skip


def test_sodapy_runs_a_whole_query_and_plain_filters(socrata: Any, town: Town) -> None:
    counted = socrata.get(town.dataset_id, query="SELECT department, count(*) AS n "
                          "GROUP BY department ORDER BY department")  # fmt: skip
    assert counted == [{"department": "Public Works", "n": "4"},
                       {"department": "Water Services", "n": "1"}]  # fmt: skip
    assert [r["case_id"] for r in socrata.get(town.dataset_id, request_type="Graffiti")] == [
        "1003"]  # fmt: skip


def test_sodapy_pages_through_everything_and_reads_csv_and_geojson(
    socrata: Any, town: Town
) -> None:
    everything = list(socrata.get_all(town.dataset_id, select="case_id", limit=2))
    assert [r["case_id"] for r in everything] == ["1001", "1002", "1003", "1004", "1005"]
    table = socrata.get(town.dataset_id, content_type="csv", select="case_id", limit=1)
    assert table == [["case_id"], ["1001"]]
    geo = socrata.get(town.dataset_id, content_type="geojson", limit=1)
    assert geo["features"][0]["geometry"]["type"] == "Point"


def test_sodapy_reads_metadata_and_the_catalogue(socrata: Any, town: Town) -> None:
    meta = socrata.get_metadata(town.dataset_id)
    assert meta["id"] == town.dataset_id
    assert "requested_datetime" in [c["fieldName"] for c in meta["columns"]]
    datasets = socrata.datasets()
    assert town.dataset_id in [d["resource"]["id"] for d in datasets]


def test_sodapy_raises_socratas_message_on_a_bad_query(socrata: Any, town: Town) -> None:
    from requests.exceptions import HTTPError

    with pytest.raises(HTTPError, match="No such column: colour"):
        socrata.get(town.dataset_id, where="colour = 'red'")
