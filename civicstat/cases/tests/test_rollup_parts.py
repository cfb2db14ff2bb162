"""Whole months read from the month rollups give the same figures as every day read one by one."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.db.models import Count, Sum

from civicstat.cases.models import (
    Area,
    Case,
    DailyCaseCount,
    DailyCloseTime,
    Department,
    MonthlyCaseCount,
    Service,
)
from civicstat.cases.query import CaseFilter, rollup_parts, rollup_rows, rollup_tables
from civicstat.lib.periods import period_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def by_month(parts: list[Any], *fields: str, total: str) -> Counter[tuple[Any, ...]]:
    """Sums of `total` per (month, *fields), added up over every part."""
    out: Counter[tuple[Any, ...]] = Counter()
    for part in parts:
        for row in part.values("day", *fields).annotate(n=Sum(total)).order_by():
            key = (period_of(row["day"], "month").start, *(row[f] for f in fields))
            out[key] += row["n"]
    return +out  # rows that sum to zero are no figure


def spans() -> list[tuple[date | None, date | None]]:
    """Whole history, open ends, partial months at either end or both, within one month."""
    return [
        (None, None),
        (date(2016, 3, 17), None),
        (None, date(2018, 11, 5)),
        (date(2015, 1, 1), date(2016, 6, 30)),
        (date(2014, 2, 10), date(2019, 9, 20)),
        (date(2017, 5, 3), date(2017, 5, 28)),
        (date(2017, 5, 31), date(2017, 6, 1)),
    ]


def filters() -> list[CaseFilter]:
    district = Area.objects.get(kind="council-district", name="District 3")
    neighborhoods = list(Area.objects.filter(kind="neighborhood").values_list("id", flat=True)[:40])
    busiest = (
        Department.objects.annotate(n=Count("cases"))
        .order_by("-n")
        .values_list("slug", flat=True)[0]
    )
    groups = list(Service.objects.values_list("group", flat=True).distinct()[:5])
    return [
        CaseFilter(),
        CaseFilter(status_group="open"),
        CaseFilter(status_group="closed"),
        CaseFilter(areas=[district.id]),
        CaseFilter(areas=neighborhoods, status_group="closed"),
        CaseFilter(departments=[busiest]),
        CaseFilter(service_groups=groups, layers=["311-requests"]),
        CaseFilter(include_private=True),
    ]


def test_month_rows_equal_the_days_they_sum(imported):
    assert MonthlyCaseCount.objects.count() < DailyCaseCount.objects.count()
    for f in filters():
        for first, last in spans():
            g = CaseFilter(**{**f.__dict__, "requested_from": first, "requested_to": last})
            days, months = rollup_rows(g), rollup_parts(g)
            for field in ("opened", "closed"):
                assert by_month(months, "department_id", "status_group", total=field) == by_month(
                    [days], "department_id", "status_group", total=field
                ), (g, field)
            day_closes = rollup_rows(g, DailyCloseTime)
            month_closes = rollup_parts(g, DailyCloseTime)
            assert by_month(month_closes, "service_id", "bucket", total="count") == by_month(
                [day_closes], "service_id", "bucket", total="count"
            ), g


def test_a_span_of_whole_months_reads_only_the_month_table(imported):
    whole = CaseFilter(requested_from=date(2015, 1, 1), requested_to=date(2016, 6, 30))
    assert [p.model for p in rollup_parts(whole)] == [MonthlyCaseCount]
    cut = CaseFilter(requested_from=date(2015, 1, 2), requested_to=date(2016, 6, 29))
    edges = rollup_parts(cut)
    assert [p.model for p in edges] == [MonthlyCaseCount, DailyCaseCount, DailyCaseCount]
    assert [p.model for p in rollup_parts(CaseFilter(), months=False)] == [DailyCaseCount]


def test_month_rows_leave_private_services_out_too(imported):
    top = Case.objects.values_list("service", flat=True).first()
    Service.objects.filter(id=top).update(private=True)
    hidden = Case.objects.filter(service_id=top).count()
    assert hidden > 0

    def opened(f: CaseFilter) -> int:
        return sum(p.aggregate(n=Sum("opened"))["n"] or 0 for p in rollup_parts(f))

    assert opened(CaseFilter()) == Case.objects.count() - hidden
    assert opened(CaseFilter(include_private=True)) == Case.objects.count()
    assert opened(CaseFilter(services=[Service.objects.get(id=top).code])) == 0


def test_the_tables_for_spans_refuse_a_filter_with_dates(imported):
    """`rollup_tables` reads every date, so a filter's dates would be silently dropped."""
    assert len(rollup_tables(CaseFilter(departments=[Department.objects.first().slug]))) == 2
    with pytest.raises(ValueError, match="span_conditions"):
        rollup_tables(CaseFilter(requested_from=date(2015, 1, 1)))
