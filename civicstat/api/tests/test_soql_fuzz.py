"""Made-up SoQL, in every $ parameter, never gets a 5xx: the parser, the translator and the
database agree on what can run, and what cannot is a 400 in Socrata's shape."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicstat.api.tests.conftest import Town

pytestmark = pytest.mark.django_db

COLUMNS = ["case_id", "request_type", "department", "status_group", "description", "latitude",
           "longitude", "location", "requested_datetime", "closed_datetime", ":id", ":created_at",
           "nope"]  # fmt: skip
LITERALS = [
    "'Pothole'",
    "'2024-02-01'",
    "'2024-02-01T10:00:00.000'",
    "'x%'",
    "''",
    "1",
    "0",
    "-1.5",
    "1e308",
    "99999999999999999999",
    "null",
    "true",
    "'\u00e9'",
    "'\\'",
]
FUNCTIONS = ["count", "sum", "avg", "min", "max", "date_trunc_ym", "date_trunc_ymd", "date_trunc_y",
             "date_extract_y", "date_extract_m", "date_extract_d", "date_extract_dow",
             "date_extract_hh", "upper", "lower", "starts_with", "within_circle", "within_box",
             "case", "frob"]  # fmt: skip
OPERATORS = ["=", "!=", "<", ">=", "+", "-", "*", "/", "%", "||", "AND", "OR"]


def expressions() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(COLUMNS + LITERALS)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(" ".join),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, max_size=5)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        inner.map(lambda e: f"NOT {e}"), inner.map(lambda e: f"{e} IS NULL"),
        st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
        st.tuples(inner, st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
        inner.map(lambda e: f"({e})"), st.just("count(*)"),
    ), max_leaves=8)  # fmt: skip


PARAMETERS = ["$select", "$where", "$order", "$group", "$having", "$q", "$limit", "$offset",
              "$query", "case_id", "latitude", "requested_datetime"]  # fmt: skip


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")  # the 400s' warnings


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.dictionaries(st.sampled_from(PARAMETERS), expressions() | st.text(max_size=30),
                       max_size=3))  # fmt: skip
def test_no_made_up_query_gets_a_server_error(client: Any, town: Town, quiet: None,
                                               query: dict[str, str]) -> None:  # fmt: skip
    response = client.get(f"/resource/{town.dataset_id}.json?{urlencode(query)}")
    assert response.status_code < 500, (query, response.content[:500])
    if response.status_code == 400 and response["Content-Type"].startswith("application/json"):
        body = json.loads(response.content)
        assert body.get("error") is True or "error" in body, body


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(expressions(), min_size=1, max_size=3), st.lists(expressions(), max_size=2),
       st.booleans())  # fmt: skip
def test_no_made_up_grouped_query_gets_a_server_error(client: Any, town: Town, quiet: None,
                                                       select: list[str], group: list[str],
                                                       having: bool) -> None:  # fmt: skip
    query = f"SELECT {', '.join(select)}"
    if group:
        query += f" GROUP BY {', '.join(group)}"
        if having:
            query += " HAVING count(*) > 1"
    query += f" ORDER BY {select[0]} DESC LIMIT 5"
    response = client.get(f"/resource/{town.dataset_id}.json?{urlencode({'$query': query})}")
    assert response.status_code < 500, (query, response.content[:500])
