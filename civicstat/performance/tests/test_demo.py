"""The Kansas City demo measures import on the real 10k-case sample, and their figures agree with
the cases themselves; Walton County's published table imports with its numbers read right."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

from civicstat.cases.query import CaseFilter, cases
from civicstat.lib.periods import period_of
from civicstat.performance.demo import demo_measures_load
from civicstat.performance.models import Measure, MeasureValue, PriorityArea
from civicstat.performance.summaries import summarise, timeline_spec
from civicstat.performance.walton import walton_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(kc_sample: None, db: None) -> None:
    demo_measures_load()


def test_the_demo_has_six_priority_areas_with_computed_measures(demo: None) -> None:
    assert list(PriorityArea.objects.values_list("name", flat=True)) == [
        "Public infrastructure", "Economic development", "Public safety", "Healthy communities",
        "Neighborhood livability", "Governance",
    ]  # fmt: skip
    for measure in Measure.objects.exclude(calculation="manual"):
        # A figure for some period, or for none because its layer's data ends before its start:
        # said, not 0.
        ended = measure.values.filter(value=None, no_data_reason="data_ended")
        assert measure.values.exclude(value=None).exists() or (
            ended.count() == measure.values.count() > 0
        ), measure.slug
    # The citizen-satisfaction figures are the city's real survey (test_survey.py), not samples.
    assert not Measure.objects.filter(title__icontains="sample").exists()
    streets = Measure.objects.get(slug="maintenance-of-city-streets")
    assert streets.values.get(period_start=date(2018, 5, 1)).value == 16.6  # FY2019, May start


def test_animal_control_counts_match_the_cases(demo: None) -> None:
    measure = Measure.objects.get(slug="animal-control-cases")
    days = cases(CaseFilter(service_groups=["Animal"])).values_list("requested_day", flat=True)
    expected = Counter(period_of(d, "month").start for d in days)
    got = {v.period_start: v.value for v in measure.values.all() if v.value}
    assert got == {k: float(n) for k, n in expected.items()}


def test_violations_closed_within_60_days_match_exact_durations(demo: None) -> None:
    """Exact but for cases closed within 2 % under the limit, which the histogram counts late."""
    measure = Measure.objects.get(slug="property-violations-closed-within-target")
    limit = 60 * 86400
    closed = cases(CaseFilter(layers=["code-violations"])).exclude(closed_at=None)
    within: Counter[date] = Counter()
    total: Counter[date] = Counter()
    edge: Counter[date] = Counter()
    for opened, closed_at, day in closed.values_list("requested_at", "closed_at", "closed_day"):
        assert closed_at is not None and day is not None
        start = period_of(day, "month").start
        seconds = (closed_at - opened).total_seconds()
        total[start] += 1
        within[start] += seconds <= limit
        edge[start] += 0.98 * limit < seconds <= limit
    assert total
    for v in measure.values.exclude(value=None):
        assert v.denominator == total[v.period_start]
        exact = within[v.period_start]
        assert v.numerator is not None
        assert exact - edge[v.period_start] <= v.numerator <= exact


def test_requests_closed_within_the_citys_time_frame_match_its_own_verdicts(demo: None) -> None:
    """Kansas City's EXCEEDED EST TIMEFRAME on each closed 311 request, counted one by one."""
    measure = Measure.objects.get(slug="requests-closed-within-city-time-frame")
    closed = cases(CaseFilter(layers=["311-requests"])).exclude(closed_day=None)
    on_time: Counter[date] = Counter()
    judged: Counter[date] = Counter()
    for flag, day in closed.values_list("attributes__exceeded_estimated_timeframe", "closed_day"):
        assert day is not None
        if flag in ("Y", "N"):
            judged[period_of(day, "month").start] += 1
            on_time[period_of(day, "month").start] += flag == "N"
    assert sum(judged.values()) > 7000  # the sample's closed 311 requests with a verdict
    got = {v.period_start: (v.numerator, v.denominator) for v in measure.values.all()}
    assert {k: v for k, v in got.items() if v[1]} == {
        k: (float(on_time[k]), float(n)) for k, n in judged.items()
    }
    latest = measure.values.exclude(value=None).latest("period_start")
    assert latest.value == pytest.approx(
        100 * on_time[latest.period_start] / judged[latest.period_start]
    )


def test_walton_countys_published_values_and_projections(db: None) -> None:
    assert walton_import() == 7
    grants = Measure.objects.get(slug__startswith="total-amount-of-grant-expenditures")
    assert grants.unit == "dollars" and grants.fiscal_year_start_month == 10
    values = dict(grants.values.values_list("period_start", "value"))
    assert values == {date(2022, 10, 1): 10_400_000.0, date(2023, 10, 1): 10_100_000.0}
    assert dict(grants.targets.values_list("period_start", "value")) == {
        date(2024, 10, 1): 10_000_000.0, date(2025, 10, 1): 10_000_000.0,
    }  # fmt: skip
    opengov = Measure.objects.get(slug__startswith="number-of-engaged-sessions")
    assert opengov.values.get(period_start=date(2022, 10, 1)).value is None  # "N/A"
    orders = Measure.objects.get(slug__startswith="total-number-of-purchase-orders")
    assert orders.values.get(period_start=date(2022, 10, 1)).value == 5900.0
    compliance = Measure.objects.get(slug__startswith="percentage-of-budget-prepared")
    assert compliance.unit == "percent"
    assert set(compliance.values.values_list("value", flat=True)) == {100.0}


def test_reimporting_the_demo_changes_nothing(demo: None) -> None:
    before = MeasureValue.objects.count()
    demo_measures_load()
    assert MeasureValue.objects.count() == before
    assert Measure.objects.count() == 10 + 102  # the computed measures and the survey's items
    assert isinstance(before, int) and before > 100


def test_walton_countys_projections_show_on_the_measure_page(client: Any, db: None) -> None:
    """FY2025 and FY2026 have only projections: the chart's target line and the table reach
    them, while the card still shows FY2024, the latest published value."""
    walton_import()
    grants = Measure.objects.get(slug__startswith="total-amount-of-grant-expenditures")
    summary = summarise([grants])[0]
    assert [(r["period"], r["value"], r["target"]) for r in summary.rows()] == [
        ("FY2023", 10_400_000.0, None), ("FY2024", 10_100_000.0, None),
        ("FY2025", None, 10_000_000.0), ("FY2026", None, 10_000_000.0),
    ]  # fmt: skip
    assert summary.latest_label == "FY2024"
    chart = timeline_spec(summary)["data"]["values"]
    assert [r["target"] for r in chart][-2:] == [10_000_000.0, 10_000_000.0]
    page = client.get(f"/performance/measures/{grants.slug}/")
    assert page.status_code == 200
    assert "FY2026" in page.content.decode()
