"""The matcher's cursor never moves past an event id that may still be committed later."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from civicstat.alerts.matcher import GAP_WAIT, match_new_events
from civicstat.alerts.models import MatcherCursor, OutboxItem, SubscriptionKind
from civicstat.alerts.services import subscription_confirm, subscription_create
from civicstat.alerts.tests.conftest import import_cases
from civicstat.cases.models import Case, CaseEvent, EventKind

pytestmark = pytest.mark.django_db


def _note(case: Case, event_id: int, *, age: timedelta = timedelta(0)) -> None:
    """A note event with a chosen id, as a writer's transaction commits it."""
    event = CaseEvent.objects.create(id=event_id, case=case, kind=EventKind.NOTE,
                                     at=timezone.now(), note=f"note {event_id}")  # fmt: skip
    CaseEvent.objects.filter(id=event.id).update(recorded_at=timezone.now() - age)


def _caught_up() -> int:
    """Match what is there and stand the cursor on the newest event, as a worker that has kept
    up would (on PostgreSQL the test's first id is not 1: sequences outlive rolled-back tests)."""
    match_new_events()
    last = CaseEvent.objects.order_by("-id").values_list("id", flat=True)[0]
    MatcherCursor.objects.update(last_event_id=last)
    return last


def _noted_events() -> set[int]:
    return set(
        OutboxItem.objects.filter(kind__startswith="event:").values_list("event_id", flat=True)
    )


def test_an_event_committed_late_with_a_lower_id_is_still_matched(layer):
    """A note seen before the import batch that holds lower ids commits: the cursor waits before
    the gap, and the late events are matched when they appear."""
    import_cases(layer, {"external_id": "K1", "lat": 39.1, "lon": -94.5})
    case = Case.objects.get(external_id="K1")
    follow = subscription_create(email="alice@example.com", kind=SubscriptionKind.CASE, case=case)
    subscription_confirm(subscription=follow)
    last = _caught_up()
    seen = _noted_events()  # the case's own "created" event

    _note(case, last + 3)  # ids last+1 and last+2 are held by a transaction not yet committed
    match_new_events()
    assert _noted_events() - seen == {last + 3}
    assert MatcherCursor.objects.get().last_event_id == last

    _note(case, last + 1)
    _note(case, last + 2)
    match_new_events()
    assert _noted_events() - seen == {last + 1, last + 2, last + 3}
    assert OutboxItem.objects.filter(kind__startswith="event:").count() == len(seen) + 3  # once
    assert MatcherCursor.objects.get().last_event_id == last + 3


def test_a_gap_that_never_fills_is_passed_once_it_is_old(layer):
    """A rolled-back transaction leaves a gap for ever: after GAP_WAIT the cursor moves on."""
    import_cases(layer, {"external_id": "K2", "lat": 39.1, "lon": -94.5})
    case = Case.objects.get(external_id="K2")
    last = _caught_up()
    _note(case, last + 2, age=GAP_WAIT + timedelta(seconds=1))
    match_new_events()
    assert MatcherCursor.objects.get().last_event_id == last + 2
