"""Syncing a dataset from a Socrata portal over real HTTP on loopback, through a field mapping.

The loopback server answers SODA 2.1 queries as a portal does ($select, $where on :updated_at,
$order=:id, $limit/$offset) over rows written as Socrata writes them
(`tests/data/socrata/requests.json`): numbers as strings, null fields left out, point columns as
GeoJSON, floating timestamps, a checkbox as a JSON boolean.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from civicstat.cases.models import Area, Case, Layer
from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import RecordWarning, RejectedRow, SyncSource
from civicstat.ingest.sync import socrata
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.helpers import assert_accounted
from civicstat.ingest.tests.loopback import Answer, ok, serving

ROWS = json.loads(
    (Path(__file__).resolve().parents[3] / "tests" / "data" / "socrata" / "requests.json")
    .read_text(encoding="utf-8")
)  # fmt: skip
RESOURCE = "/resource/kc3x-311r.json"
CHICAGO = ZoneInfo("America/Chicago")
MAPPING = """
[source]
timezone = "America/Chicago"
bounds = [-94.77, 38.80, -94.38, 39.37]
require_location = false       # a request without a place is still a request

[columns]
external_id = "case_id"
status = "status"
requested_date = "creation_date"
requested_time = "creation_time"
closed_date = "closed_date"
service_code = "request_type"
service_name = "request_type"
service_group = "category"
department = "department"
address = "street_address"
zip_code = "zip_code"
location = "location"
channel = "source"

[attributes]
days_to_close = "days_to_close"
exceeded_est_timeframe = "exceeded_est_timeframe"

[areas.council-district]
column = "council_district"
name = "District {}"

[formats]
date = "%Y-%m-%dT%H:%M:%S.%f"
time = "%H:%M"

[statuses]
OPEN = { group = "open", label = "Open" }
ASSIG = { group = "open", label = "Assigned" }
RESOL = { group = "closed", label = "Resolved" }
"""


@pytest.fixture(autouse=True)
def _small_pages(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SYNC_BACKOFF_MS = 1
    settings.SYNC_ATTEMPTS = 3
    settings.TIME_ZONE = "America/Chicago"
    monkeypatch.setattr(socrata, "PAGE_SIZE", 3)


@pytest.fixture
def layer(db: None) -> Layer:
    return layer_ensure(slug="311-requests", name="311 requests", noun="request", statuses={})


def at(text: str) -> datetime:
    value = parse_datetime(text)
    assert value is not None
    return value


def soda(rows: list[dict[str, Any]], failures: dict[int, list[Answer]] | None = None):
    """A dataset's resource endpoint, answering as Socrata does."""
    failures = failures if failures is not None else {}

    def route(query: dict[str, str]) -> Answer:
        offset, limit = int(query.get("$offset", 0)), int(query.get("$limit", 1000))
        if failures.get(offset):
            return failures[offset].pop(0)
        chosen = sorted(rows, key=lambda r: r[":id"]) if query.get("$order") == ":id" else rows
        if where := query.get("$where"):
            since = re.fullmatch(r":updated_at > '([^']+)'", where)
            if since is None:
                return (400, b'{"error": true, "message": "query.soql.no-such-column"}',
                        "application/json", 0.0)  # fmt: skip
            after = at(since[1])
            if after.tzinfo is None:  # a floating timestamp: fixed ones compare in UTC
                after = after.replace(tzinfo=UTC)
            chosen = [r for r in chosen if at(r[":updated_at"]) > after]
        page = chosen[offset : offset + limit]
        if query.get("$select") != ":*, *":  # system fields only when asked for
            page = [{k: v for k, v in r.items() if not k.startswith(":")} for r in page]
        return ok(json.dumps(page).encode())

    return route


def source_for(url: str, layer: Layer, **extra: Any) -> SyncSource:
    fields = {"mapping": MAPPING, "app_token": "kc-app-token", **extra}
    return SyncSource.objects.create(name="kc311", kind="socrata", url=url + RESOURCE,
                                     layer=layer, **fields)  # fmt: skip


def test_a_first_sync_brings_the_whole_dataset_page_by_page_through_the_mapping(layer):
    """Seven rows over three pages: five cases, two rejected with reasons; typed values, point
    columns, council districts by code, and every count adding up."""
    with serving() as remote:
        remote.routes[RESOURCE] = soda(ROWS)
        run = source_sync(source=source_for(remote.url, layer))
        asked = remote.hits(RESOURCE)
        tokens = {h.get("X-App-Token") for h in remote.headers}
    assert run.state == "done", run.error
    assert [q["$offset"] for q in asked] == ["0", "3", "6"]
    assert all(q["$order"] == ":id" and q["$limit"] == "3" and q["$select"] == ":*, *"
               for q in asked)  # fmt: skip
    assert "$where" not in asked[0]  # no start date: the whole history
    assert tokens == {"kc-app-token"}
    assert (run.pages, run.fetched, run.created, run.rejected) == (3, 7, 5, 2)
    assert_accounted(run)
    assert list(RejectedRow.objects.filter(sync_run=run).values_list("line", "reason")) == [
        (4, "unknown status 'PENDING'; the mapping knows ASSIG, OPEN, RESOL (add it to "
            "[statuses])"),
        (5, "no case id in 'case_id'"),
    ]  # fmt: skip

    pothole = Case.objects.get(external_id="2021000101")
    assert (pothole.lat, pothole.lon) == (39.0997, -94.5839)  # [lon, lat] in GeoJSON
    assert pothole.requested_at == datetime(2021, 1, 4, 8, 15, tzinfo=CHICAGO)
    assert pothole.closed_at == datetime(2021, 1, 6, tzinfo=CHICAGO)
    assert pothole.status_group == "closed" and pothole.service.group == "Streets"
    # A checkbox stays a boolean; a number Socrata wrote as a string stays as written.
    assert pothole.attributes == {"days_to_close": "2", "exceeded_est_timeframe": False}
    assert Case.objects.get(external_id="2021000102").attributes == {
        "exceeded_est_timeframe": True}  # fmt: skip
    # A null field is left out of the row: no place, no ZIP code, no error.
    trash = Case.objects.get(external_id="2021000103")
    assert (trash.lat, trash.zip_code, trash.status) == (None, "", "ASSIG")
    assert Case.objects.get(external_id="2021000106").zip_code == "64106"

    # Council districts from their numbers: areas with no outline, one per code.
    districts = dict(Area.objects.filter(kind="council-district").values_list("code", "name"))
    assert districts == {"3": "District 3", "4": "District 4", "13": "District 13"}
    assert list(pothole.areas.values_list("name", flat=True)) == ["District 4"]
    assert list(trash.areas.values_list("name", flat=True)) == ["District 3"]  # no point needed

    warnings = dict(RecordWarning.objects.filter(sync_run=run).values_list("external_id", "reason"))
    assert warnings["2021000106"].startswith("bad date in 'creation_time': '5:30 AM' is not in "
                                             "the form 13:05 (%H:%M)")  # fmt: skip
    assert warnings["2021000107"] == ("no location: (0.0, 0.0) is not a real place; the location "
                                      "was left out")  # fmt: skip
    stray = Case.objects.get(external_id="2021000107")
    assert stray.lat is None and stray.requested_at == datetime(2021, 1, 6, 9, 10, tzinfo=CHICAGO)


def test_the_next_sync_asks_only_for_rows_changed_since_the_last_it_saw(layer):
    """$where=:updated_at > the latest :updated_at read; a resolved request and a new one."""
    rows = copy.deepcopy(ROWS)
    with serving() as remote:
        remote.routes[RESOURCE] = soda(rows)
        source = source_for(remote.url, layer)
        source_sync(source=source)
        water = next(r for r in rows if r["case_id"] == "2021000102")
        water.update({":updated_at": "2021-01-07T15:00:00.000Z", "status": "RESOL",
                      "closed_date": "2021-01-07T00:00:00.000", "days_to_close": "3"})  # fmt: skip
        rows.append({**water, ":id": "row-zz9a~4kfm.x1c2", "case_id": "2021000108",
                     ":updated_at": "2021-01-07T16:00:00.000Z", "status": "OPEN"})  # fmt: skip
        del rows[-1]["closed_date"]
        run = source_sync(source=source)
        asked = remote.hits(RESOURCE)[-1]
    assert run.state == "done", run.error
    assert asked["$where"] == ":updated_at > '2021-01-06T18:02:51.773Z'"
    assert (run.fetched, run.created, run.updated, run.unchanged) == (2, 1, 1, 0)
    assert_accounted(run)
    case = Case.objects.get(external_id="2021000102")
    assert case.status_group == "closed" and case.closed_at == datetime(2021, 1, 7, tzinfo=CHICAGO)
    assert list(case.events.values_list("kind", flat=True)) == ["created", "closed"]
    assert source.cursor == {"since": "2021-01-07T16:00:00.000Z"}


def test_a_failed_page_keeps_the_cursor_and_the_next_sync_resumes_at_its_offset(layer):
    """Three 500s on the second page: the run fails with the first page stored and counted;
    the next run starts at offset 3."""
    failures = {3: [(500, b"busy", "text/plain", 0.0)] * 3}
    with serving() as remote:
        remote.routes[RESOURCE] = soda(ROWS, failures)
        source = source_for(remote.url, layer)
        failed = source_sync(source=source)
        assert failed.state == "failed" and "HTTP 500" in failed.error
        assert (failed.fetched, failed.created, failed.cursor_after["offset"]) == (3, 3, 3)
        assert_accounted(failed)
        remote.log.clear()
        resumed = source_sync(source=source)
        assert [q["$offset"] for q in remote.hits(RESOURCE)] == ["3", "6"]
    assert resumed.state == "done", resumed.error
    assert (resumed.fetched, resumed.created, resumed.rejected) == (4, 2, 2)
    assert Case.objects.filter(layer=layer).count() == 5


def test_an_older_location_column_and_a_start_date(layer):
    """The older `location` type ({"latitude": "39.1", "longitude": "-94.5", "human_address":
    …}); a start date asks only for what changed from that day on."""
    rows = []
    for row in ROWS[:3]:
        point = row.get("location")
        row = {k: v for k, v in row.items() if k != "location"}
        if point:
            lon, lat = point["coordinates"]
            row["location"] = {"latitude": str(lat), "longitude": str(lon),
                               "human_address": json.dumps({"address": row["street_address"],
                                                            "city": "Kansas City",
                                                            "state": "MO", "zip": ""})}  # fmt: skip
        rows.append(row)
    rows[2]["location"] = {
        "human_address": '{"address": "901 E 31ST ST", "city": "", "state": "", "zip": ""}'
    }  # an address only
    with serving() as remote:
        remote.routes[RESOURCE] = soda(rows)
        run = source_sync(source=source_for(remote.url, layer, start_date=date(2021, 1, 5)))
        asked = remote.hits(RESOURCE)[0]
    assert run.state == "done", run.error
    assert asked["$where"] == ":updated_at > '2021-01-05T06:00:00.000'"  # local midnight, in UTC
    assert (run.fetched, run.created) == (2, 2)  # the row last changed on the 4th is not asked for
    assert_accounted(run)
    assert Case.objects.get(external_id="2021000101").lat == 39.0997
    assert Case.objects.get(external_id="2021000103").lat is None


def test_a_mapping_that_does_not_fit_the_dataset_fails_the_run_and_is_refused_in_the_admin(layer):
    """A required column the dataset lacks stops the sync before it writes, naming the dataset's
    columns; the admin refuses a mapping that is not valid."""
    wrong = MAPPING.replace('external_id = "case_id"', 'external_id = "case_number"')
    with serving() as remote:
        remote.routes[RESOURCE] = soda(ROWS)
        run = source_sync(source=source_for(remote.url, layer, mapping=wrong))
    assert run.state == "failed" and "no column 'case_number'" in run.error
    assert ":updated_at" in run.error and "council_district" in run.error
    assert not Case.objects.exists()
    source = SyncSource(name="bad", kind="socrata", url="https://data.example.gov/resource/x.json",
                        layer=layer, mapping="[columns]\nexternal_id = 'id'\n")  # fmt: skip
    with pytest.raises(ValidationError, match="must name status"):
        source.full_clean()
    with pytest.raises(ValidationError, match="needs a mapping"):
        SyncSource(name="bad", kind="socrata", url="https://x.example/", layer=layer).full_clean()


def test_a_datasets_page_on_the_portal_names_its_api_endpoint():
    page = "https://data.kcmo.org/311/311-Call-Center-Service-Requests/d4px-6rwg"
    assert socrata.resource_url(page) == "https://data.kcmo.org/resource/d4px-6rwg.json"
    assert socrata.resource_url("https://data.example.gov/resource/abcd-1234") == (
        "https://data.example.gov/resource/abcd-1234.json")  # fmt: skip
    assert socrata.resource_url("https://data.example.gov/resource/abcd-1234.json?$limit=5") == (
        "https://data.example.gov/resource/abcd-1234.json")  # fmt: skip
