"""The department figures read whole months from the month rollups; they equal the figures read
day by day, for windows that start and end inside a month."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db.models import Count, Q

from civicstat.cases.models import DailyCaseCount, Department, Service
from civicstat.cases.query import CaseFilter, rollup_rows
from civicstat.maps import departments
from civicstat.maps.departments import department_services, departments_compare, trend, window_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def days_only(f: CaseFilter, model: Any = DailyCaseCount, *, months: bool = True) -> list[Any]:
    return [rollup_rows(f, model)]


def days_only_spans(first: date | None, last: date | None) -> tuple[Q | None, list[Q]]:
    bounds = {"day__gte": first, "day__lte": last}
    return None, [Q(**{k: v for k, v in bounds.items() if v is not None})]


def everything(department: Department) -> dict[str, Any]:
    base = CaseFilter(departments=[department.slug])
    out: dict[str, Any] = {}
    for period in departments.PERIODS:
        window = window_for(period)
        out[period] = (
            departments_compare(window),
            department_services(department, window),
            trend(base, window_for(period, base=base)),
        )
    return out


def test_department_figures_from_months_equal_those_from_days(imported, monkeypatch):
    busiest = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert busiest is not None
    # The KC data gives no service a target: give some one, so "within target" is compared too.
    services = Service.objects.annotate(n=Count("cases")).order_by("-n").values("id")[:20]
    Service.objects.filter(id__in=services).update(target_days=10)
    from_months = everything(busiest)
    assert window_for("year").start.day != 1  # the windows cut months: both grains are read
    monkeypatch.setattr(departments, "rollup_parts", days_only)
    monkeypatch.setattr(departments, "span_conditions", days_only_spans)
    from_days = everything(busiest)
    assert from_months == from_days
    compared = from_months["all"][0]
    assert sum(f.opened for f in compared) > 0 and any(f.backlog_total for f in compared)
    assert any(f.within_target for f in compared)
