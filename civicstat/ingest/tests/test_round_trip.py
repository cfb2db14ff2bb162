"""CivicStat A keeps itself in sync with CivicStat B's Open311 server, over real HTTP.

B is the live test server publishing only layer "b" (OPEN311_LAYERS); A syncs into layer "a" of
the same database. The two share a database but nothing else: A reads B only through HTTP, so
what A ends with is what B's Open311 answers carried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from civicstat.cases.models import Case, Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_add_note, case_upsert, department_resolve, layer_ensure
from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.runner import source_sync

STATUSES = {"OPEN": ("open", "Received"), "ASSIG": ("open", "Crew assigned"),
            "RESOL": ("closed", "Resolved")}  # fmt: skip


def b_record(n: int, status: str, service: Service, **extra: Any) -> CaseRecord:
    at = timezone.now() - timedelta(days=n)
    group = STATUSES[status][0]
    return CaseRecord(external_id=f"B-{n}", status=status, status_group=group, requested_at=at,
                      updated_at=extra.pop("updated_at", at), service_id=service.id,
                      department_id=service.department_id, description=f"case {n} ünïcode",
                      address=f"{n} Main St", zip_code="64106", lat=39.1 + n / 100, lon=-94.58,
                      closed_at=at + timedelta(hours=3) if group == "closed" else None,
                      channel="phone", **extra)  # fmt: skip


def state(layer: Layer) -> dict[str, Any]:
    """What a person would compare: each case's facts, status and history."""
    out = {}
    for c in Case.objects.filter(layer=layer).select_related("service", "department"):
        events = [(e.kind, e.status_from, e.status_to, e.note) for e in c.events.all()]
        out[c.external_id] = (c.status, c.status_group, c.service.code if c.service else "",
                              c.department.name if c.department else "", c.description,
                              c.address, c.zip_code, c.lat, c.lon, c.channel,
                              c.requested_at.replace(microsecond=0),
                              c.closed_at.replace(microsecond=0) if c.closed_at else None,
                              events)  # fmt: skip
    return out


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_ends_with_the_same_cases_statuses_and_history_as_b(live_server, settings, fmt):
    """Two syncs, with a status change and a note on B between them, leave A identical to B."""
    settings.OPEN311_LAYERS = ["b"]
    settings.SYNC_BACKOFF_MS = 1
    b = layer_ensure(slug="b", name="B requests", noun="request", statuses=STATUSES)
    a = layer_ensure(slug="a", name="A requests", noun="request", statuses={})
    works = department_resolve(name="Public Works")
    pothole = Service.objects.create(layer=b, code="POT", name="Potholes", department=works)
    first_states = [(1, "OPEN"), (2, "ASSIG"), (3, "RESOL")]
    case_upsert(layer=b, records=[b_record(n, s, pothole) for n, s in first_states])
    case_add_note(case=Case.objects.get(external_id="B-2"), note="Crew booked",
                  at=timezone.now() - timedelta(hours=2))  # fmt: skip
    source = SyncSource.objects.create(name="b", kind="open311", format=fmt, layer=a,
                                       url=f"{live_server.url}/open311/v2/")  # fmt: skip

    first = source_sync(source=source)
    assert first.state == "done", first.error
    assert state(a) == state(b)

    # B resolves case 1 and notes case 3; A's next sync asks only for what changed.
    case_upsert(layer=b, records=[b_record(1, "RESOL", pothole, updated_at=timezone.now())])
    case_add_note(case=Case.objects.get(layer=b, external_id="B-3"), note="Checked again",
                  at=timezone.now())  # fmt: skip
    second = source_sync(source=source)
    assert second.state == "done", second.error
    # B-1 changed status and B-3 has a new note (a note moves a request's updated_datetime); B-2
    # may come again (updated_after works to the second) but stays unchanged.
    assert (second.created, second.updated) == (0, 2)
    assert source.runs.count() == 2
    assert state(a) == state(b)
    assert [k for k, *_ in state(a)["B-1"][-1]] == ["created", "closed"]
