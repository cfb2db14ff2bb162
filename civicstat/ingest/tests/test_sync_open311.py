"""Syncing from a remote Open311 server on loopback: real pages, slow and failing answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils.dateparse import parse_datetime

from civicstat.cases.models import Case, CaseEvent, Layer, Service
from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import SyncRun, SyncSource
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.loopback import Answer, ok, serving

EXAMPLES = Path(__file__).resolve().parents[3] / "tests" / "data" / "open311" / "spec_examples"
NOW = datetime.now(UTC).replace(microsecond=0)


def dt(text: str) -> Any:
    return parse_datetime(text)


@pytest.fixture(autouse=True)
def _quick_retries(settings: Any) -> None:
    settings.SYNC_BACKOFF_MS = 1
    settings.SYNC_ATTEMPTS = 3
    # Well under the scripted 2 s slow answer, but not so short that a loaded machine's ordinary
    # answer times out too (0.5 s did, on a two-core machine running several suites).
    settings.SYNC_TIMEOUT_SECONDS = 1.0


@pytest.fixture
def layer(db: None) -> Layer:
    return layer_ensure(slug="remote", name="Remote requests", noun="request", statuses={})


def source_for(url: str, layer: Layer, **extra: Any) -> SyncSource:
    return SyncSource.objects.create(name="city", kind="open311", url=url + "/open311/v2/",
                                     layer=layer, **extra)  # fmt: skip


def request_doc(
    n: int, *, status: str = "open", hours_ago: float = 0, notes: Any = None
) -> dict[str, Any]:
    at = NOW - timedelta(days=1, hours=n) - timedelta(hours=hours_ago)
    doc = {"service_request_id": str(n), "status": status, "service_code": "POT",
           "service_name": "Potholes", "requested_datetime": at.isoformat(),
           "updated_datetime": (NOW - timedelta(hours=hours_ago)).isoformat(),
           "description": f"request {n}", "address": "1 Main St", "lat": 39.1, "long": -94.5,
           "agency_responsible": "Public Works"}  # fmt: skip
    if notes is not None:
        doc["notes"] = notes
    return doc


def paged(docs: list[dict[str, Any]], *, failures: dict[int, list[Answer]] | None = None):
    """An Open311 requests route with updated_after and page/page_size; scripted failures."""
    failures = failures or {}

    def route(query: dict[str, str]) -> Answer:
        page, size = int(query.get("page", 1)), int(query.get("page_size", 1000))
        if failures.get(page):
            return failures[page].pop(0)
        since = dt(query["updated_after"]) if "updated_after" in query else None
        chosen = [d for d in docs if since is None
                  or dt(d["updated_datetime"]) > since]  # fmt: skip
        chosen.sort(key=lambda d: d["requested_datetime"], reverse=True)
        return ok(json.dumps(chosen[(page - 1) * size : page * size]).encode())

    return route


SERVICES = ok(json.dumps([{"service_code": "POT", "service_name": "Potholes", "metadata": False,
                           "type": "realtime", "group": "Streets"}]).encode())  # fmt: skip


def test_it_syncs_the_spec_example_in_xml_and_a_second_sync_duplicates_nothing(layer):
    """The spec's own XML examples become cases and services; a re-sync changes nothing."""
    with serving() as remote:
        remote.routes["/open311/v2/services.xml"] = lambda q: ok(
            (EXAMPLES / "get_service_list.xml").read_bytes(), "text/xml"
        )
        remote.routes["/open311/v2/requests.xml"] = lambda q: ok(
            (EXAMPLES / "get_service_requests.xml").read_bytes(), "text/xml")  # fmt: skip
        source = source_for(remote.url, layer, format="xml", jurisdiction="city.gov")
        run = source_sync(source=source)
        assert run.state == "done", run.error
        assert run.created == 2 and run.fetched == 2
        assert remote.hits("/open311/v2/requests.xml")[0]["jurisdiction_id"] == "city.gov"
        first = Case.objects.get(layer=layer, external_id="638344")
        assert first.status_group == "closed" and first.service.code == "006"
        assert first.lat == pytest.approx(37.762221815) and first.zip_code == "94122"
        assert Service.objects.filter(layer=layer).count() == 4  # the service list, read first
        again = source_sync(source=source)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
        assert Case.objects.filter(layer=layer).count() == 2


def test_it_pages_through_updated_after_and_picks_up_changes_and_notes(layer):
    """250 requests over three pages; a later sync asks only for changes and records them."""
    docs = [request_doc(n, hours_ago=5) for n in range(1, 251)]
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged(docs)
        source = source_for(remote.url, layer)
        run = source_sync(source=source)
        assert run.state == "done", run.error
        assert (run.pages, run.created) == (3, 250)
        assert Case.objects.filter(layer=layer).count() == 250
        # One request closes and gains a note; another is new.
        note = {"datetime": NOW.isoformat(), "type": "note", "description": "Crew on site"}
        docs[0] = request_doc(1, status="closed", notes=[note])
        docs.append(request_doc(300))
        run = source_sync(source=source)
        asked = remote.hits("/open311/v2/requests.json")[-1]
        assert dt(asked["updated_after"]) == NOW - timedelta(hours=5)
        assert (run.fetched, run.created, run.updated) == (2, 1, 1)
        events = list(CaseEvent.objects.filter(case__external_id="1").values_list("kind", "note"))
        assert events == [("created", ""), ("closed", ""), ("note", "Crew on site")]
        # Seeing the same note again adds nothing.
        source.cursor = {}
        source.save()
        source_sync(source=source)
        assert CaseEvent.objects.filter(case__external_id="1", kind="note").count() == 1


def test_it_retries_500s_malformed_pages_and_timeouts_and_loses_nothing(layer):
    """Each failure is retried with backoff; the run ends with every request exactly once."""
    docs = [request_doc(n) for n in range(1, 151)]
    failures = {2: [(500, b"oops", "text/plain", 0.0), (200, b"[{broken", "application/json", 0.0)],
                1: [(200, b"[]", "application/json", 2.0)]}  # fmt: skip
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged(docs, failures=failures)
        run = source_sync(source=source_for(remote.url, layer))
    assert run.state == "done", run.error
    assert run.retries == 3 and run.created == 150
    assert Case.objects.filter(layer=layer).count() == 150


def test_a_failed_sync_keeps_its_cursor_and_the_next_resumes_from_the_failed_page(layer):
    """After three 500s on page 2 the run fails; the next one starts at page 2, not page 1."""
    docs = [request_doc(n) for n in range(1, 251)]
    failures = {2: [(500, b"down", "text/plain", 0.0)] * 3}
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged(docs, failures=failures)
        source = source_for(remote.url, layer)
        failed = source_sync(source=source)
        assert failed.state == "failed" and "HTTP 500" in failed.error
        assert failed.cursor_after["page"] == 2 and failed.created == 100
        remote.log.clear()
        resumed = source_sync(source=source)
        assert resumed.state == "done", resumed.error
        assert [q["page"] for q in remote.hits("/open311/v2/requests.json")] == ["2", "3"]
    assert Case.objects.filter(layer=layer).count() == 250
    assert SyncRun.objects.filter(source=source).count() == 2


def test_a_server_without_paging_or_updated_after_is_read_by_date_windows(layer):
    """A spec-only server (no page, no updated_after) is read in 90-day windows, once each."""
    docs = [request_doc(n) for n in range(1, 6)]

    def spec_only(query: dict[str, str]) -> Answer:
        start, end = dt(query["start_date"]), dt(query["end_date"])
        return ok(
            json.dumps([d for d in docs if start <= dt(d["requested_datetime"]) <= end]).encode()
        )

    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = spec_only
        run = source_sync(source=source_for(remote.url, layer, updated_after=False))
    assert run.state == "done", run.error
    assert Case.objects.filter(layer=layer).count() == 5


def test_the_sync_source_command_runs_one_source_and_reports(layer, capsys):
    """`manage.py sync_source city` syncs and prints what it did; an unknown name is refused."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged([request_doc(1)])
        source_for(remote.url, layer)
        call_command("sync_source", "city")
    assert "done" in capsys.readouterr().out
    assert Case.objects.filter(layer=layer).count() == 1
    with pytest.raises(Exception, match="no source named"):
        call_command("sync_source", "nowhere")


def test_the_scheduler_runs_only_sources_that_are_due(layer):
    """run_scheduler --once runs enabled sources whose interval has passed, and no others."""
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: SERVICES
        remote.routes["/open311/v2/requests.json"] = paged([request_doc(1)])
        due = source_for(remote.url, layer, every_minutes=15)
        SyncSource.objects.create(name="off", kind="open311", url=remote.url + "/x/", layer=layer,
                                  enabled=False)  # fmt: skip
        call_command("run_scheduler", "--once")
        call_command("run_scheduler", "--once")  # not due again for 15 minutes
    assert list(SyncRun.objects.values_list("source__name", flat=True)) == [due.name]
