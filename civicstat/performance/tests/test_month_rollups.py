"""Measures of months, quarters and years read the month rollups; weeks read days. Either way a
measure's values equal those computed from the day rollups alone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db.models import Count

from civicstat.cases.models import DailyCaseCount, DailyCloseTime, Service
from civicstat.cases.query import CaseFilter, rollup_rows
from civicstat.lib.quantiles import MAX_BUCKET
from civicstat.performance import calculations
from civicstat.performance.calculations import DAY, compute, last_bucket_within, within_limit
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def days_only(f: CaseFilter, model: Any = DailyCaseCount, **kwargs: Any) -> list[Any]:
    return [rollup_rows(f, model)]


def close_times_days_only(f: CaseFilter, **kwargs: Any) -> tuple[None, list[Any]]:
    """No packed month histogram: every close time from the day table's bucket rows."""
    return None, [rollup_rows(f, DailyCloseTime)]


MEASURES: list[dict[str, Any]] = [
    {"calculation": "count", "filters": {"layer": "311-requests"}},
    {"calculation": "cumulative", "filters": {"status": "open"}, "start_date": date(2015, 3, 17)},
    {"calculation": "rate", "filters": {"status": "closed"}, "denominator_filters": {},
     "unit": "percent"},
    {"calculation": "closed_within", "target_days": 14,
     "filters": {"area": "council-district:district-3"}},
    {"calculation": "closed_within", "filters": {}},
    {"calculation": "median_days", "filters": {"area": "neighborhood:longfellow"}},
    # No request type named: packed per department, public request types only.
    {"calculation": "median_days", "filters": {"layer": "311-requests"}},
    {"calculation": "closed_within", "target_days": 30, "filters": {"department": "public-works"}},
    {"calculation": "median_days", "filters": {"service_group": "Water Leak"}},
]  # fmt: skip


@pytest.mark.parametrize("period", ["week", "month", "quarter", "year"])
def test_every_rollup_calculation_gives_the_same_values_from_months_as_from_days(
    imported, monkeypatch, period
):
    # The KC data gives no service a target: give some one, so "each service's own target" counts.
    busiest = Service.objects.annotate(n=Count("cases")).order_by("-n").values("id")[:20]
    Service.objects.filter(id__in=busiest).update(target_days=10)
    # A private request type, saved as the admin saves it: the public month counts, which
    # layer-wide counts read, leave it out as the day tables' service filter does.
    hidden = Service.objects.annotate(n=Count("cases")).order_by("-n")[20]
    hidden.private = True
    hidden.save()
    measures = [
        a_measure(slug=f"m{i}", period=period, fiscal_year_start_month=5, **fields)
        for i, fields in enumerate(MEASURES)
    ]
    from_months = [compute(m) for m in measures]
    monkeypatch.setattr(calculations, "rollup_parts", days_only)
    monkeypatch.setattr(calculations, "close_time_parts", close_times_days_only)
    from_days = [compute(m) for m in measures]
    assert from_months == from_days
    assert all(any(p.value for p in points) for points in from_months)


@pytest.mark.parametrize("days", [0, 1, 7, 14, 30, 60, 365])
def test_the_buckets_within_a_limit_are_those_up_to_its_last_bucket(days):
    last = last_bucket_within(days * DAY)
    assert [within_limit(b, days * DAY) for b in range(MAX_BUCKET + 1)] == [
        b <= last for b in range(MAX_BUCKET + 1)
    ]
