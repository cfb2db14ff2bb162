"""Syncing from SeeClickFix's API v2 on loopback: its paging shape, statuses and request types."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from civicstat.cases.models import Case, CaseEvent, Layer, Service, StatusMapping
from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.loopback import Answer, ok, serving

NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = ["Open", "Acknowledged", "Closed", "Archived"]


@pytest.fixture(autouse=True)
def _quick_retries(settings: Any) -> None:
    settings.SYNC_BACKOFF_MS = 1
    settings.SYNC_ATTEMPTS = 3


@pytest.fixture
def layer(db: None) -> Layer:
    return layer_ensure(slug="scf", name="SeeClickFix issues", noun="issue", statuses={})


def issue(n: int, status: str) -> dict[str, Any]:
    created = NOW - timedelta(days=2, minutes=n)
    return {
        "id": 9000 + n, "status": status, "summary": "Pothole", "description": f"issue {n}",
        "lat": 41.3, "lng": -72.9, "address": f"{n} Chapel St, New Haven, CT",
        "created_at": created.isoformat(), "updated_at": (created + timedelta(hours=1)).isoformat(),
        "closed_at": (created + timedelta(hours=1)).isoformat() if status == "Closed" else None,
        "acknowledged_at": None, "html_url": f"https://seeclickfix.com/issues/{9000 + n}",
        "request_type": {"id": 11 + n % 2, "title": ["Pothole", "Streetlight"][n % 2],
                         "organization": "New Haven", "url": "https://seeclickfix.com/api/v2/x"},
    }  # fmt: skip


def pages_of(issues: list[dict[str, Any]], per_page: int = 20, broken: list[int] | None = None):
    broken = broken if broken is not None else []

    def route(query: dict[str, str]) -> Answer:
        page = int(query.get("page", 1))
        if page in broken:
            broken.remove(page)
            return ok(b'{"issues": [], "meta')  # a page cut short
        # As SeeClickFix does: archived issues only when `status` names them.
        wanted = query.get("status", "open,acknowledged,closed").split(",")
        listed = [i for i in issues if i["status"].lower() in wanted]
        chunk = listed[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(listed) // per_page))
        body = {"issues": chunk, "metadata": {"pagination": {
            "entries": len(listed), "page": page, "per_page": per_page, "pages": pages,
            "next_page": page + 1 if page < pages else None,
            "previous_page": page - 1 if page > 1 else None}}}  # fmt: skip
        return ok(json.dumps(body).encode())

    return route


def test_it_follows_next_page_and_maps_statuses_and_request_types(layer):
    """Three pages of issues, archived ones included, become cases; request types become
    services; statuses are grouped."""
    issues = [issue(n, STATUSES[n % 4]) for n in range(1, 51)]
    with serving() as remote:
        remote.routes["/api/v2/issues"] = pages_of(issues, broken=[2])
        source = SyncSource.objects.create(
            name="nh",
            kind="seeclickfix",
            layer=layer,
            url=remote.url + "/api/v2/",
            jurisdiction="new-haven",
        )
        run = source_sync(source=source)
        asked = remote.hits("/api/v2/issues")
    assert run.state == "done", run.error
    assert [q["page"] for q in asked] == ["1", "2", "2", "3"]  # the cut-short page was retried
    assert asked[0]["place_url"] == "new-haven" and "updated_at_after" in asked[0]
    assert Case.objects.filter(layer=layer).count() == 50 and run.retries == 1
    groups = dict(StatusMapping.objects.filter(layer=layer).values_list("code", "group"))
    assert groups == {"Open": "open", "Acknowledged": "open", "Closed": "closed",
                      "Archived": "closed"}  # fmt: skip
    assert set(Service.objects.filter(layer=layer).values_list("code", "name")) == {
        ("11", "Pothole"), ("12", "Streetlight")}  # fmt: skip
    case = Case.objects.get(layer=layer, external_id="9004")
    assert case.status == "Open" and case.lon == pytest.approx(-72.9)


def test_a_second_sync_asks_from_the_last_update_and_records_a_status_change(layer):
    """The next sync sends updated_at_after from the last run; a closed issue gets its event."""
    issues = [issue(n, "Open") for n in range(1, 4)]
    with serving() as remote:
        remote.routes["/api/v2/issues"] = pages_of(issues)
        source = SyncSource.objects.create(name="nh", kind="seeclickfix", layer=layer,
                                           url=remote.url + "/api/v2/")  # fmt: skip
        source_sync(source=source)
        first_high = max(i["updated_at"] for i in issues)
        issues[0] = {**issues[0], "status": "Closed", "updated_at": NOW.isoformat(),
                     "closed_at": NOW.isoformat()}  # fmt: skip
        run = source_sync(source=source)
        since = remote.hits("/api/v2/issues")[-1]["updated_at_after"]
    assert since == first_high
    assert (run.updated, run.unchanged) == (1, 2)
    case = Case.objects.get(layer=layer, external_id="9001")
    assert case.status_group == "closed"
    assert list(case.events.values_list("kind", flat=True)) == ["created", "closed"]


def comment(n: int, text: str, minutes: int) -> dict[str, Any]:
    """A comment in SeeClickFix's shape, commenter and all."""
    return {"id": n, "comment": text, "created_at": (NOW - timedelta(minutes=minutes)).isoformat(),
            "media": {"image_full": None, "video_url": None},
            "commenter": {"id": 77, "name": "Dana Resident", "role": "Registered User",
                          "witty_title": "Street Smart"}}  # fmt: skip


def comments_of(comments: list[dict[str, Any]], per_page: int = 1, broken: int = 0):
    """An issue's comments endpoint, `per_page` to a page; the first `broken` answers cut short."""
    left = [broken]

    def route(query: dict[str, str]) -> Answer:
        if left[0]:
            left[0] -= 1
            return ok(b'{"comments": [{"id"')
        page = int(query.get("page", 1))
        pages = max(1, -(-len(comments) // per_page))
        pagination = {"page": page, "per_page": per_page, "pages": pages,
                      "next_page": page + 1 if page < pages else None}  # fmt: skip
        chunk = comments[(page - 1) * per_page : page * per_page]
        body = {"comments": chunk, "metadata": {"pagination": pagination}}
        return ok(json.dumps(body).encode())

    return route


def test_comments_become_notes_once_each_and_never_name_the_commenter(layer):
    """Each issue's comments (paged, one retried) become notes; re-syncs add only new ones."""
    issues = [issue(n, "Open") for n in range(1, 4)]
    with serving() as remote:
        for i in issues:
            i["comment_url"] = f"{remote.url}/api/v2/issues/{i['id']}/comments"
        first = [comment(1, "Crew scheduled", 50), comment(2, "Filled today", 10)]
        remote.routes["/api/v2/issues"] = pages_of(issues)
        remote.routes["/api/v2/issues/9001/comments"] = comments_of(first, broken=1)
        remote.routes["/api/v2/issues/9002/comments"] = comments_of([])
        # 9003 has no comments endpoint at all (a deleted issue): it still syncs.
        source = SyncSource.objects.create(name="nh", kind="seeclickfix", layer=layer,
                                           url=remote.url + "/api/v2/")  # fmt: skip
        run = source_sync(source=source)
        assert run.state == "done", run.error
        assert [q["page"] for q in remote.hits("/api/v2/issues/9001/comments")] == ["1", "1", "2"]
        case = Case.objects.get(layer=layer, external_id="9001")
        notes = list(case.events.filter(kind="note").order_by("at").values_list("at", "note"))
        assert notes == [(NOW - timedelta(minutes=50), "Crew scheduled"),
                         (NOW - timedelta(minutes=10), "Filled today")]  # fmt: skip
        assert run.events == 3 + 2  # three created events and two notes

        # Everything again from scratch: the same comments add nothing.
        source.cursor = {}
        source.save()
        again = source_sync(source=source)
        assert again.state == "done" and again.events == 0
        # A new comment updates the issue; the next sync records just that one.
        remote.routes["/api/v2/issues/9001/comments"] = comments_of(
            [*first, comment(3, "Inspected", 1)])  # fmt: skip
        issues[0] = {**issues[0], "updated_at": NOW.isoformat()}
        latest = source_sync(source=source)
        assert latest.events == 1
    assert case.events.filter(kind="note").count() == 3
    assert not CaseEvent.objects.filter(note__contains="Dana").exists()


def test_a_comment_url_on_another_host_is_not_followed(layer):
    """A remote cannot point the sync at another host: the comments are read from the source."""
    issues = [{**issue(1, "Open"), "comment_url": "http://169.254.169.254/latest/meta-data"}]
    with serving() as remote:
        remote.routes["/api/v2/issues"] = pages_of(issues)
        remote.routes["/api/v2/issues/9001/comments"] = comments_of([comment(1, "Seen", 5)])
        source = SyncSource.objects.create(name="nh", kind="seeclickfix", layer=layer,
                                           url=remote.url + "/api/v2/")  # fmt: skip
        run = source_sync(source=source)
    assert run.state == "done", run.error
    notes = CaseEvent.objects.filter(case__external_id="9001", kind="note")
    assert list(notes.values_list("note", flat=True)) == ["Seen"]
