"""schemathesis generates requests from the GeoReport Swagger file: the server never answers 5xx.

The Swagger file is the v2.1 draft; it writes `/request/{id}` where v2 clients use
`/requests/{id}`: the server answers both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings

SWAGGER = (Path(__file__).resolve().parents[3] / "tests" / "data" / "open311"
           / "open311_georeport_v2.1_draft_swagger.yaml")  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_generated_requests_never_cause_a_server_error(live_server, city, fixit_key):
    """Every generated request to every operation is answered below 500."""
    raw = yaml.safe_load(SWAGGER.read_text(encoding="utf-8"))
    # The file leaves the format free-form; the spec names two. Any other is a plain 404.
    raw["parameters"]["response_format"]["enum"] = ["json", "xml"]
    schema = schemathesis.openapi.from_dict(raw)
    base = f"{live_server.url}/open311/v2"
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    failures: list[str] = []
    answered: set[int] = set()
    for operation in operations:

        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=base)
            answered.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {response.request.url}: {response.status_code}")

        check()
    assert failures == []
    assert {200, 403, 404} <= answered, answered  # real answers, not only refusals
