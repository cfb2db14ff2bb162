"""Every computed Kansas City demo measure agrees with plain SQL over the cases table, for three
periods a year on both sides of the city's June 2015 renaming of its 311 categories (2014-2016)
and in its last years (2019-2020); none is empty in a period where its cases exist.

The SQL reads the cases table, not the rollups, and names the merged category only ("Animals /
Pets", "Water"): it finds the cases of 2014 only because ingest filed them under the merged name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from statistics import median_high, median_low
from typing import Any

import pytest
from django.db import connection

from civicstat.cases.models import Case, Department, Layer, Service
from civicstat.lib.periods import Period, period_of
from civicstat.performance.demo import demo_measures_load
from civicstat.performance.models import Measure

pytestmark = pytest.mark.django_db

YEARS = (2014, 2015, 2016, 2019, 2020)
# Three days a year, in three different months and (with KC's May fiscal year) quarters; June
# 2015 is the month of the renaming. The data ends on 9 September 2020.
DAYS = ((2, 15), (6, 15), (8, 15))
DAY = 86400.0


@pytest.fixture
def demo(kc_sample: None, db: None) -> None:
    demo_measures_load()


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL conditions for a measure's filters, over c (cases), s (services), l (layers) and d
    (departments); private request types are never counted."""
    qn = connection.ops.quote_name
    sql, params = [f"(c.service_id IS NULL OR s.{qn('private')} = %s)"], [False]
    for key, value in filters.items():
        column = {"layer": "l.slug", "service_group": f"s.{qn('group')}",
                  "department": "d.slug", "status": "c.status_group"}[key]  # fmt: skip
        sql.append(f"{column} = %s")
        params.append(value)
    return " AND ".join(sql), params


def _from() -> str:
    return (
        f" FROM {Case._meta.db_table} c"
        f" JOIN {Layer._meta.db_table} l ON l.id = c.layer_id"
        f" LEFT JOIN {Service._meta.db_table} s ON s.id = c.service_id"
        f" LEFT JOIN {Department._meta.db_table} d ON d.id = c.department_id"
    )


def _opened(filters: dict[str, Any], first: date, end: date) -> int:
    where, params = _where(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) {_from()} WHERE {where}"
            " AND c.requested_day >= %s AND c.requested_day < %s",
            [*params, first, end],
        )
        return int(cursor.fetchone()[0])


def _instant(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands back naive UTC text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _close_seconds(filters: dict[str, Any], period: Period) -> list[float]:
    """How long each case closed in the period took to close, in seconds."""
    where, params = _where(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.requested_at, c.closed_at {_from()} WHERE {where}"
            " AND c.status_group = 'closed' AND c.closed_at IS NOT NULL"
            " AND c.closed_day >= %s AND c.closed_day < %s",
            [*params, period.start, period.end],
        )
        rows = cursor.fetchall()
    return [(_instant(closed) - _instant(opened)).total_seconds() for opened, closed in rows]


def _verdicts(filters: dict[str, Any], period: Period) -> tuple[int, int]:
    """Cases closed in the period with a verdict on their target, and those on time."""
    where, params = _where(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(c.within_target), COALESCE(SUM(CASE WHEN c.within_target THEN 1 ELSE 0"
            f" END), 0) {_from()} WHERE {where} AND c.status_group = 'closed'"
            " AND c.closed_day >= %s AND c.closed_day < %s",
            [*params, period.start, period.end],
        )
        judged, on_time = cursor.fetchone()
    return int(judged), int(on_time)


def _check(measure: Measure, period: Period) -> bool:
    """Compare the app's value for the period with the SQL; True when the period has cases."""
    stored = measure.values.filter(period_start=period.start).first()
    assert stored is not None, (measure.slug, period.start)
    got = stored.value
    calc, label = measure.calculation, (measure.slug, period.start)
    if calc == "count":
        n = _opened(measure.filters, period.start, period.end)
        assert got == float(n), label
        return n > 0
    if calc == "cumulative":
        assert measure.start_date is not None
        n = _opened(measure.filters, measure.start_date, period.end)
        assert got == float(n), label
        return n > 0
    if calc == "rate":
        num = _opened(measure.filters, period.start, period.end)
        den = _opened(measure.denominator_filters, period.start, period.end)
        assert (stored.numerator, stored.denominator) == (num, den), label
        assert got == (pytest.approx(100.0 * num / den) if den else None), label
        return den > 0
    if calc == "closed_within" and measure.target_days is None:
        # Against each case's own target (the city's verdict): counted exactly, no buckets.
        judged, on_time = _verdicts(measure.filters, period)
        assert (stored.numerator, stored.denominator) == (on_time, judged), label
        assert got == (pytest.approx(100.0 * on_time / judged) if judged else None), label
        return judged > 0
    seconds = _close_seconds(measure.filters, period)
    if not seconds:
        assert got is None, label  # "no data", never 0
        return False
    assert got is not None, label
    if calc == "closed_within":
        limit = float(measure.target_days or 0) * DAY
        within = sum(s <= limit for s in seconds)
        # A case closed up to 2 % under the limit may count late (2 % close-time buckets).
        edge = sum(0.98 * limit < s <= limit for s in seconds)
        assert stored.denominator == len(seconds), label
        assert stored.numerator is not None
        assert within - edge <= stored.numerator <= within, label
        assert got == pytest.approx(100.0 * stored.numerator / len(seconds)), label
        return True
    assert calc == "median_days", calc
    days = sorted(s / DAY for s in seconds)
    # Read from 2 % buckets: within 2 % of the middle value(s), or a few minutes of it.
    assert median_low(days) * 0.98 - 0.01 <= got <= median_high(days) * 1.02 + 0.01, (label, got)
    return True


def test_every_demo_measure_agrees_with_sql_over_the_cases_on_both_sides_of_the_renaming(
    demo: None,
) -> None:
    computed = list(Measure.objects.exclude(calculation="manual").order_by("slug"))
    assert len(computed) == 10
    with_cases: dict[str, list[date]] = {}
    for measure in computed:
        for year in YEARS:
            for month, day in DAYS:
                period = period_of(date(year, month, day), measure.period, measure.fiscal_start)
                if measure.start_date and period.start < measure.start_date:
                    continue
                if _check(measure, period):
                    with_cases.setdefault(measure.slug, []).append(period.start)
    # The renamed categories have figures on both sides of June 2015 and in 2019-2020.
    for slug in ("animal-control-cases", "median-days-water-leak"):
        years = {start.year for start in with_cases[slug]}
        assert years == set(YEARS), (slug, sorted(years))
    # Property violations lost their own category in June 2015 but not their request type: the
    # layer (by either column, kansas-city.toml) and its figures run on to 2020.
    violations = with_cases["property-violations-closed-within-target"]
    assert min(violations) < date(2015, 7, 1) and max(violations) >= date(2020, 1, 1)
    reported = Case.objects.filter(layer__slug="code-violations").order_by("-requested_day")
    assert reported.values_list("requested_day", flat=True)[0] >= date(2020, 9, 1)


def test_the_renamed_categories_have_a_figure_in_every_month_their_cases_were_reported(
    demo: None,
) -> None:
    """Month by month from 2014 to the end of the data, not only at the sampled periods: wherever
    SQL finds cases under the new name (filed there by ingest, whatever the source called them),
    the measure has a figure: not "no data", and no count of 0."""
    for slug, group in (("animal-control-cases", "Animals / Pets"),
                        ("median-days-water-leak", "Water")):  # fmt: skip
        measure = Measure.objects.get(slug=slug)
        merged = {"service_group": group}
        empty = [
            v.period_start
            for v in measure.values.filter(period_start__gte=date(2014, 1, 1))
            # A median of 0 days is a figure (most closed the day they were reported); a count of 0
            # where SQL finds cases is not.
            if (v.value is None or (v.value == 0 and measure.calculation == "count"))
            and (
                _close_seconds(merged, period_of(v.period_start, "month"))
                if measure.calculation == "median_days"
                else _opened(merged, v.period_start, v.period_end)
            )  # fmt: skip
        ]
        assert empty == [], slug
