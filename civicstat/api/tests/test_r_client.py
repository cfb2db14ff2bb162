"""R, as an analyst runs it against a Socrata portal, against a real server on loopback.

RSocrata itself is on CRAN only, which this project's install cannot reach (only PyPI, npm and the
distribution's packages); `r/read_soda.R` makes the same HTTP calls its `read.socrata()` makes,
with the same packages (httr, jsonlite), plus the `read.csv(url)` that hand-written scripts use.
`make setup` installs R with those packages from the distribution (Debian's r-base-core,
r-cran-httr, r-cran-jsonlite) where it may; without R these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from civicstat.api.tests.conftest import Town

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (make setup)"),
]

SCRIPT = Path(__file__).parent / "r" / "read_soda.R"


@pytest.fixture
def r_read(live_server: Any, town: Town) -> dict[str, Any]:
    done = subprocess.run(
        ["Rscript", "--vanilla", str(SCRIPT), live_server.url, town.dataset_id],  # noqa: S607
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_r_reads_a_soql_query_as_json_with_socratas_types(r_read: dict[str, Any]) -> None:
    assert r_read["json_content_type"] == "application/json;charset=utf-8"
    assert r_read["open_ids"] == ["1002", "1004", "1005"]  # the private case 9001 never shows
    assert r_read["types"] == {"case_id": "text", "request_type": "text",
                               "requested_datetime": "floating_timestamp"}  # fmt: skip
    # Floating timestamps are city time: 00:30 on 1 Feb in Kansas City, not UTC's 06:30.
    assert r_read["first_requested"] == "2024-02-01 00:30"


def test_r_pages_through_every_public_row(r_read: dict[str, Any]) -> None:
    assert r_read["all_ids"] == ["1001", "1002", "1003", "1004", "1005"]


def test_r_reads_a_grouped_count_with_read_csv(r_read: dict[str, Any]) -> None:
    assert r_read["csv_columns"] == ["department", "n"]
    assert r_read["csv_counts"] == {"Public Works": 4, "Water Services": 1}


def test_r_sees_socratas_error_on_a_bad_query(r_read: dict[str, Any]) -> None:
    assert r_read["error_status"] == 400
    assert "No such column: colour" in r_read["error_message"]
