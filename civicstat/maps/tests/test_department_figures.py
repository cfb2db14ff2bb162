"""Every figure of the department comparison (and of a department's page) equals the same figure
counted straight from the public cases, whatever the period and whatever day it is; a private
service's cases count nowhere."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db.models import Count, QuerySet

from civicstat.cases.models import Case, Department, Service
from civicstat.cases.rollups import rebuild
from civicstat.lib.quantiles import median
from civicstat.maps.departments import (
    PERIODS,
    Figures,
    Window,
    department_services,
    departments_compare,
    window_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def _days(qs: QuerySet[Case], field: str, first: date | None, last: date | None) -> QuerySet[Case]:
    if first is not None:
        qs = qs.filter(**{f"{field}__gte": first})
    if last is not None:
        qs = qs.filter(**{f"{field}__lte": last})
    return qs


def _per(qs: QuerySet[Case], by: str) -> Counter[int]:
    return Counter(key or 0 for key in qs.values_list(by, flat=True))


def exact(cases: QuerySet[Case], by: str, window: Window, today: date) -> dict[int, dict[str, Any]]:
    """The comparison's figures per `by`, counted case by case."""
    out: defaultdict[int, dict[str, Any]] = defaultdict(dict)
    counts = {
        "opened": _days(cases, "requested_day", window.start, window.end),
        "resolved": _days(cases, "closed_day", window.start, window.end),
    }
    if previous := window.previous:
        counts["previous_resolved"] = _days(cases, "closed_day", previous.start, previous.end)
    still_open = cases.filter(status_group="open")
    ages = {
        "under_30": (today - timedelta(days=29), None),
        "30_90": (today - timedelta(days=89), today - timedelta(days=30)),
        "over_90": (None, today - timedelta(days=90)),
    }
    for age, (first, last) in ages.items():
        counts[age] = _days(still_open, "requested_day", first, last)
    for figure, qs in counts.items():
        for key, n in _per(qs, by).items():
            out[key][figure] = n
    closed = counts["resolved"].filter(close_bucket__isnull=False)
    buckets: defaultdict[int, Counter[int]] = defaultdict(Counter)
    within: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for case in closed.select_related("service"):
        assert case.closed_at is not None and case.close_bucket is not None
        key = getattr(case, by) or 0
        buckets[key][case.close_bucket] += 1
        # The city's verdict on the case, else its target date, else the service's target days.
        verdict = case.on_time
        if verdict is None and case.expected_at is not None:
            verdict = case.closed_at <= case.expected_at
        if verdict is None and case.service and case.service.target_days is not None:
            seconds = (case.closed_at - case.requested_at).total_seconds()
            verdict = seconds <= case.service.target_days * 86400
        if verdict is not None:
            within[key][0] += verdict
            within[key][1] += 1
    for key, counter in buckets.items():
        middle = median(counter)
        out[key]["median_days"] = None if middle is None else middle / 86400
    for key, (inside, total) in within.items():
        out[key].update(within_target=inside / total, on_time=inside, late=total - inside)
    return dict(out)


def shown(figures: list[Figures]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for f in figures:
        row: dict[str, Any] = {
            "opened": f.opened, "resolved": f.resolved, "previous_resolved": f.previous_resolved,
            "on_time": f.on_time, "late": f.late,
        }  # fmt: skip
        row.update(f.backlog)
        row.update(median_days=f.median_days, within_target=f.within_target)
        out[f.key] = row
    return out


def assert_same(got: dict[int, dict[str, Any]], expected: dict[int, dict[str, Any]]) -> None:
    for key in set(got) | set(expected):
        mine, theirs = got.get(key, {}), expected.get(key, {})
        for figure in ("opened", "resolved", "previous_resolved", "under_30", "30_90", "over_90",
                       "on_time", "late"):  # fmt: skip
            assert mine.get(figure, 0) == theirs.get(figure, 0), (key, figure)
        # Each case is judged against its target at ingest: the share is exact.
        for figure, tolerance in (("median_days", 1e-9), ("within_target", 1e-9)):
            value, exact_value = mine.get(figure), theirs.get(figure)
            assert (value is None) == (exact_value is None), (key, figure)
            if value is not None:
                assert value == pytest.approx(exact_value, abs=tolerance), (key, figure)


@pytest.mark.parametrize("days_after_data", [10, 45, 400])
def test_every_figure_equals_the_public_cases_counted_one_by_one(imported, days_after_data):
    """Each period, with "today" just after the data (backlog ages cutting months), or long after
    it; the city's own verdict on most cases, some services with a target (for the cases with no
    verdict), and the busiest department's busiest service private."""
    busiest = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert busiest is not None
    services = Service.objects.filter(department=busiest).annotate(n=Count("cases"))
    hidden = services.order_by("-n").first()
    assert hidden is not None and hidden.n > 0
    # Saved as the admin saves it: the public-only histograms follow (`cases.receivers`).
    hidden.private = True
    hidden.save()
    targets = Service.objects.annotate(n=Count("cases")).order_by("-n").values("id")[:20]
    Service.objects.filter(id__in=targets).update(target_days=10)
    # Some cases as if the city had given no verdict (and the rollups rebuilt so), judged by
    # the services' target days instead.
    no_verdict = list(Case.objects.filter(status_group="closed").values_list("id", flat=True)[::7])
    Case.objects.filter(id__in=no_verdict).update(on_time=None, within_target=None)
    rebuild()
    Service.objects.filter(id__in=targets).update(target_days=5)  # judged again: by the 5 days
    assert Case.objects.filter(on_time=None, within_target__isnull=False).exists()

    public = Case.objects.exclude(service_id=hidden.id)
    assert public.count() < Case.objects.count()
    last = window_for("all").end
    today = last + timedelta(days=days_after_data)
    noon = datetime.combine(today, time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with time_machine.travel(noon, tick=False):
        for period in PERIODS:
            window = window_for(period)
            compared = departments_compare(window)
            assert_same(shown(compared), exact(public, "department_id", window, today))
            busiest_row = next(f for f in compared if f.key == busiest.id)
            if period == "all":
                hidden_cases = Case.objects.filter(department=busiest, service=hidden).count()
                everything = Case.objects.filter(department=busiest).count()
                assert hidden_cases and busiest_row.opened == everything - hidden_cases
            page = department_services(busiest, window)
            expected = exact(public.filter(department=busiest), "service_id", window, today)
            # The page leaves out services with nothing in the period.
            expected = {k: v for k, v in expected.items() if any(v.get(f) for f in (
                "opened", "resolved", "under_30", "30_90", "over_90"))}  # fmt: skip
            assert_same(shown(page), expected)
            assert hidden.id not in {f.key for f in page}
            assert busiest_row.opened == sum(f.opened for f in page)
