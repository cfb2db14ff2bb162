"""Open311 servers as they really write: `lon`, numbers as strings, "null" for nothing, a key
twice, closed requests with no closing time, typed notes, points at (0, 0) or in another city.

The pages are served as recorded (`tests/data/open311/dialects/`) by a real HTTP server on
loopback. Whatever a server sends, each record ends created, updated, unchanged or rejected with a
reason, and each value left out is kept as a warning: the counts add up to what was sent.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from civicstat.cases.models import Case, Layer
from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import RecordWarning, RejectedRow, SyncSource
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.helpers import assert_accounted
from civicstat.ingest.tests.loopback import Answer, ok, serving

DIALECTS = Path(__file__).resolve().parents[3] / "tests" / "data" / "open311" / "dialects"
CHICAGO = "-87.94,41.64,-87.52,42.03"
SERVICES = ok(b"[]")


@pytest.fixture(autouse=True)
def _quick_retries(settings: Any) -> None:
    settings.SYNC_BACKOFF_MS = 1
    settings.SYNC_ATTEMPTS = 2


@pytest.fixture
def layer(db: None) -> Layer:
    return layer_ensure(slug="remote", name="Remote requests", noun="request", statuses={})


def at(text: str) -> datetime:
    value = parse_datetime(text)
    assert value is not None
    return value


def recorded(query: dict[str, str]) -> Answer:
    """The server's answers as recorded: everything since 2019, then what changed after it."""
    if at(query["updated_after"]) < at("2019-03-04T15:00:00+00:00"):
        return ok((DIALECTS / "requests.json").read_bytes())
    return ok((DIALECTS / "requests_changed.json").read_bytes())


def source_for(url: str, layer: Layer, **extra: Any) -> SyncSource:
    fields = {"start_date": date(2019, 1, 1), "bounds": CHICAGO, **extra}
    return SyncSource.objects.create(name="chicago", kind="open311", url=url + "/open311/v2/",
                                     layer=layer, **fields)  # fmt: skip


def test_a_real_servers_dialect_loses_nothing_and_every_record_is_accounted_for(layer):
    """Ten requests: six become cases, four are rejected with a reason; values that cannot be
    used are left out with a warning, and nothing is stored as the text "null"."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = recorded
        run = source_sync(source=source_for(remote.url, layer))
        asked = remote.hits("/open311/v2/requests.json")[0]
    assert run.state == "done", run.error
    assert at(asked["updated_after"]) == at("2019-01-01T00:00:00-06:00")  # the start date
    assert (run.fetched, run.created, run.rejected) == (10, 6, 4)
    assert_accounted(run)
    rejects = list(RejectedRow.objects.filter(sync_run=run).values_list("line", "reason"))
    assert rejects == [
        (6, "no requested_datetime"),
        (7, "requested_datetime 'yesterday' is not a date and time"),
        (8, "not a request: the list holds str"),
        (10, "no service_request_id (a request known only by its token, not yet a case on the "
             "server)"),
    ]  # fmt: skip

    # `lon` and numbers written as strings.
    first = Case.objects.get(external_id="SR19-1001")
    assert (first.lat, first.lon) == (41.881, -87.658)
    # "null", "NULL", "none" and "" are nothing, not text.
    second = Case.objects.get(external_id="SR19-1002")
    assert (second.description, second.address, second.zip_code) == ("", "", "")
    assert second.department is None and second.expected_at is None
    assert not Case.objects.filter(description__iexact="null").exists()
    # A key given twice: the last value, with a warning; a ZIP code written as a number.
    third = Case.objects.get(external_id="SR19-1003")
    assert third.lat == 41.889 and third.zip_code == "60654" and third.channel == "phone"
    # status_notes, extended_attributes and attributes stay with the case, typed as sent.
    assert third.attributes == {
        "status_notes": "Crew dispatched",
        "extended_attributes": {"ward": "42", "channel": "phone", "duplicate": False},
        "attributes": [{"code": "DEPTH", "value": "3in"}, {"code": "LANE", "value": "curb"}],
    }
    # (0, 0), a point in another city and a latitude that is not a number: kept without a place.
    for external_id in ("SR19-1004", "SR19-1005", "SR19-1009"):
        case = Case.objects.get(external_id=external_id)
        assert (case.lat, case.lon, case.h3_cell) == (None, None, None), external_id
    warnings = {(w.external_id, w.field): w.reason
                for w in RecordWarning.objects.filter(sync_run=run)}  # fmt: skip
    assert warnings[("SR19-1003", "lat")] == (
        "the key 'lat' is given 2 times; the last value was kept")  # fmt: skip
    assert "is not a real place" in warnings[("SR19-1004", "lat, long")]
    assert "is outside the city (west -87.94" in warnings[("SR19-1005", "lat, long")]
    assert warnings[("SR19-1009", "lat")] == "not a number; the value was left out"
    assert run.warnings == 5  # SR19-1009's longitude alone is left out too


def test_a_request_first_seen_closed_gets_its_last_update_as_an_approximate_closing_time(layer):
    """Never "closed after N days" counted to today: the update time, marked approximate and
    shown so; a later update does not move it. A request seen open and then closed takes the
    time its `closed` note gives, exactly."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = recorded
        source = source_for(remote.url, layer)
        source_sync(source=source)
        case = Case.objects.get(external_id="SR19-1001")
        assert case.closed_at == at("2019-03-04T09:00:00-06:00") and case.closed_approximate
        assert case.close_bucket is not None  # counted in close times, three days after opening

        again = source_sync(source=source)
        assert again.state == "done", again.error
        asked = remote.hits("/open311/v2/requests.json")[-1]
    assert at(asked["updated_after"]) == at("2019-03-04T09:00:00-06:00")
    assert (again.fetched, again.updated) == (2, 2)
    assert_accounted(again)
    case.refresh_from_db()
    assert case.closed_at == at("2019-03-04T09:00:00-06:00") and case.closed_approximate
    light = Case.objects.get(external_id="SR19-1002")
    assert light.status_group == "closed" and not light.closed_approximate
    assert light.closed_at == at("2019-03-04T17:45:00-06:00")  # its `closed` note
    closed = light.events.get(kind="closed")
    assert closed.at == light.closed_at


def test_every_note_type_becomes_history_once_with_its_type_in_words(layer, client):
    """opened, submitted, activity, follow_on_created, follow_on_closed, closed and note: each
    a line of the case's history, named in words, recorded once however often it is sent."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = recorded
        source = source_for(remote.url, layer)
        first = source_sync(source=source)
        light = Case.objects.get(external_id="SR19-1002")
        notes = list(light.events.filter(kind="note").values_list("label", "note"))
        assert notes == [
            ("Opened", "Request opened"),
            ("Submitted", "Request submitted to the department"),
            ("Activity", "Inspect Light: Complete: light head replaced"),
            ("Follow-on request created", "Follow-on Pole Repair Request created"),
            ("Follow-on request closed", "Follow-on Pole Repair Request closed"),
            ("", "Caller says the pole leans"),  # sent twice in one answer, kept once
        ]
        assert first.events == 6 + 6  # a created event per case and the six notes
        source_sync(source=source)  # closes it, with a `closed` note
        # Everything again from the start date, as the server now answers: nothing new.
        remote.routes["/open311/v2/requests.json"] = lambda q: ok(
            (DIALECTS / "requests_changed.json").read_bytes())  # fmt: skip
        source.cursor = {}
        source.save()
        from_scratch = source_sync(source=source)
        assert (from_scratch.unchanged, from_scratch.events) == (2, 0)
    assert list(light.events.filter(kind="note").values_list("label", flat=True))[-1] == "Closed"
    assert light.events.filter(kind="note").count() == 7
    page = client.get(light.get_absolute_url()).content.decode()
    assert "Follow-on request created" in page and "Caller says the pole leans" in page
    approximate = client.get(Case.objects.get(external_id="SR19-1001").get_absolute_url())
    assert "(approximate" in approximate.content.decode()


def test_an_xml_server_with_a_repeated_element_and_lon_is_read_like_its_json(layer):
    """Repeated <lat>: the last, with a warning; <lon>; "null" text; typed notes; a request with
    no id rejected; a closed request with no time at all gets none (not today)."""
    with serving() as remote:
        remote.routes["/open311/v2/services.xml"] = lambda q: ok(b"<services/>", "text/xml")
        remote.routes["/open311/v2/requests.xml"] = lambda q: ok(
            (DIALECTS / "requests.xml").read_bytes(), "text/xml")  # fmt: skip
        run = source_sync(source=source_for(remote.url, layer, format="xml",
                                            bounds="-94.77,38.80,-94.38,39.37"))  # fmt: skip
    assert run.state == "done", run.error
    assert (run.fetched, run.created, run.rejected, run.warnings) == (3, 2, 1, 1)
    assert_accounted(run)
    car = Case.objects.get(external_id="2301")
    assert (car.lat, car.lon, car.zip_code, car.channel) == (39.101, -94.5786, "", "app")
    assert car.attributes["extended_attributes"] == {"council_district": "4", "channel": "app"}
    labels = list(car.events.filter(kind="note").values_list("label", "note"))
    assert labels == [("Opened", "Request opened"),
                      ("Activity", "Officer visited: Vehicle tagged for towing")]  # fmt: skip
    quiet = Case.objects.get(external_id="2302")
    assert quiet.status_group == "closed" and quiet.closed_at is None
    assert RejectedRow.objects.get(sync_run=run).reason == "no service_request_id"


def test_a_source_sending_n_records_ends_with_counts_that_add_up_to_n(layer):
    """201 requests over three pages, one unreadable: 201 fetched, 200 created, 1 rejected (it
    was "200 fetched", the unreadable one counted nowhere)."""
    docs: list[Any] = [
        {"service_request_id": str(n), "status": "open", "service_code": "POT",
         "requested_datetime": f"2019-04-01T{n % 24:02d}:00:00-05:00",
         "updated_datetime": "2019-04-02T00:00:00-05:00", "lat": "41.9", "long": "-87.7"}
        for n in range(1, 202)
    ]  # fmt: skip
    docs[150]["requested_datetime"] = "04/01/2019"

    def paged(query: dict[str, str]) -> Answer:
        page, size = int(query["page"]), int(query["page_size"])
        return ok(json.dumps(docs[(page - 1) * size : page * size]).encode())

    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged
        run = source_sync(source=source_for(remote.url, layer))
    assert (run.pages, run.fetched, run.created, run.rejected) == (3, 201, 200, 1)
    assert_accounted(run)
    reject = RejectedRow.objects.get(sync_run=run)
    assert (reject.line, reject.external_id) == (151, "151")
    assert json.loads(reject.raw)["requested_datetime"] == "04/01/2019"


def test_a_sync_runs_rejects_and_warnings_show_in_the_admin(layer, admin_client):
    """Staff see each rejected record and each value left out, with its reason, on the run."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = recorded
        run = source_sync(source=source_for(remote.url, layer))
    page = admin_client.get(f"/admin/ingest/syncrun/{run.id}/change/").content.decode()
    assert "no requested_datetime" in page and "not a request: the list holds str" in page
    assert "the key &#x27;lat&#x27; is given 2 times" in page
    listing = admin_client.get("/admin/ingest/syncrun/").content.decode()
    assert "Rejected" in listing and "Warnings" in listing
    one = RejectedRow.objects.filter(sync_run=run).first()
    assert one is not None
    detail = admin_client.get(f"/admin/ingest/rejectedrow/{one.id}/change/").content.decode()
    assert "SR19-1006" in detail  # the record as received, to fix at the source


def test_without_a_start_date_a_first_sync_reads_the_last_90_days(layer):
    """The default the README states: a first sync looks back 90 days."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = lambda q: ok(b"[]")
        source = source_for(remote.url, layer)
        source.start_date = None
        source.save()
        run = source_sync(source=source)
        asked = at(remote.hits("/open311/v2/requests.json")[0]["updated_after"])
    assert 89.9 < (run.started_at - asked).total_seconds() / 86400 < 90.1
