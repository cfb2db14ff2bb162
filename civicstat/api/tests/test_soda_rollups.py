"""Counts by month, department, request type and status come from the rollups, and say exactly
what the SQL path says: the two are compared on the same queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicstat.api.soda import rollup
from civicstat.api.soda.datasets import dataset_find
from civicstat.api.soda.parser import parse_query
from civicstat.api.soda.query import plain_filters, plan, run
from civicstat.api.tests.conftest import Town
from civicstat.cases.models import Case, DataVersion

pytestmark = pytest.mark.django_db

ROLLUP_SHAPED = [
    "SELECT date_trunc_ym(requested_datetime) AS month, count(*) GROUP BY month ORDER BY month",
    "SELECT department, date_trunc_ym(requested_datetime), count(*) AS n GROUP BY department, "
    "date_trunc_ym(requested_datetime) ORDER BY n DESC, department",
    "SELECT request_type, status_group, count(*) WHERE department = 'Public Works' "
    "GROUP BY request_type, status_group",
    "SELECT category, count(*) WHERE requested_datetime >= '2024-02-01' AND "
    "requested_datetime < '2024-03-01' GROUP BY category",
    "SELECT date_trunc_y(requested_datetime) AS year, count(*) WHERE status_group IN ('open') "
    "GROUP BY year",
    "SELECT request_type_code, count(*) WHERE request_type = 'No such type' GROUP BY "
    "request_type_code",
]


def both(town: Town, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows each path gives, keyed by column name."""
    dataset = dataset_find(town.dataset_id)
    assert dataset is not None
    q = parse_query(text)
    answered = rollup.answer(dataset, q, [])
    assert answered is not None, f"not answered from the rollups: {text}"
    columns, rows = answered
    from_rollups = [{c.name: r[c.keys[0]] for c in columns} for r in rows]
    p = plan(dataset, parse_query(text), [], default_limit=1000)
    from_sql = [{c.name: r[c.keys[0]] for c in p.columns} for r in run(p)]
    return from_rollups, from_sql


@pytest.mark.parametrize("text", ROLLUP_SHAPED)
def test_rollup_shaped_queries_answer_as_the_sql_path_does(town: Town, text: str) -> None:
    from_rollups, from_sql = both(town, text)
    assert from_rollups == from_sql


def test_a_count_by_month_and_department_never_reads_the_cases_table(client, town: Town) -> None:
    query = ("SELECT department, date_trunc_ym(requested_datetime) AS month, count(*) "
             "GROUP BY department, month")  # fmt: skip
    with CaptureQueriesContext(connection) as ran:
        response = client.get(f"/resource/{town.dataset_id}.json", {"$query": query})
    assert response.status_code == 200
    assert not [q["sql"] for q in ran.captured_queries if Case._meta.db_table in q["sql"]]


@pytest.mark.parametrize("text", [
    "SELECT department, count(*) GROUP BY department HAVING count(*) > 1",
    "SELECT department, count(*) WHERE description like '%pot%' GROUP BY department",
    "SELECT date_trunc_ymd(requested_datetime), count(*) "
    "GROUP BY date_trunc_ymd(requested_datetime)",
    "SELECT department, max(requested_datetime) GROUP BY department",
])  # fmt: skip
def test_other_queries_run_as_sql(town: Town, text: str) -> None:
    dataset = dataset_find(town.dataset_id)
    assert dataset is not None
    assert rollup.answer(dataset, parse_query(text), []) is None


def test_stale_rollups_send_every_query_to_sql(town: Town) -> None:
    DataVersion.objects.update_or_create(pk=1, defaults={"rollups_stale": True})
    dataset = dataset_find(town.dataset_id)
    assert dataset is not None
    assert rollup.answer(dataset, parse_query(ROLLUP_SHAPED[0]), []) is None


def test_plain_filters_are_rollup_filters_too(town: Town) -> None:
    dataset = dataset_find(town.dataset_id)
    assert dataset is not None
    filters = plain_filters(dataset, {"status_group": "open"})
    answered = rollup.answer(
        dataset,
        parse_query("SELECT department, count(*) GROUP BY department ORDER BY department"),
        filters,
    )
    assert answered is not None
    columns, rows = answered
    assert [(r["_r0"], r["_r1"]) for r in rows] == [("Public Works", 2), ("Water Services", 1)]


def test_a_filter_matching_nothing_still_names_an_unknown_column(client, town: Town) -> None:
    query = ("SELECT department, count(*) WHERE department = 'Nobody' AND colour = 'red' "
             "GROUP BY department")  # fmt: skip
    response = client.get(f"/resource/{town.dataset_id}.json", {"$query": query})
    assert response.status_code == 400
    assert b"No such column: colour" in response.content
