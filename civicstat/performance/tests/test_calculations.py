"""Each calculation, computed from the rollups, matches the figures worked out by hand on seven
cases (see factories.small_city)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from civicstat.lib.quantiles import bucket_of
from civicstat.performance.calculations import DAY, compute, within_limit
from civicstat.performance.tests.factories import a_measure, small_city

pytestmark = pytest.mark.django_db

JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    return small_city()


def values(**fields: Any) -> dict[date, float | None]:
    fields.setdefault("slug", f"m{len(fields)}-{abs(hash(repr(sorted(fields.items()))))}")
    points = compute(a_measure(**fields))
    return {p.period.start: None if p.value is None else round(p.value, 4) for p in points}


def test_count_counts_cases_opened_per_month(city: dict[str, Any]) -> None:
    assert values(filters={"service_group": "Water"}) == {JAN: 3, FEB: 2}
    assert values(filters={"service": "LEAK", "status": "open"}) == {JAN: 1, FEB: 0}


def test_cumulative_adds_up_from_the_start_date(city: dict[str, Any]) -> None:
    assert values(calculation="cumulative", start_date=JAN, filters={"service": "LEAK"}) == {
        JAN: 3, FEB: 4,
    }  # fmt: skip


def test_rate_divides_numerator_by_denominator_in_percent(city: dict[str, Any]) -> None:
    got = values(calculation="rate", unit="percent", filters={"department": "water-services"},
                 denominator_filters={"layer": "311-requests"})  # fmt: skip
    assert got == {JAN: 75.0, FEB: round(100 * 2 / 3, 4)}


def test_a_share_of_the_same_cases_by_status(city: dict[str, Any]) -> None:
    # LEAK cases opened: January 3 (1 still open), February 1 (closed). Numerator and denominator
    # differ only in status, so both come from one read of LEAK's rows.
    closed = values(calculation="rate", unit="percent",
                    filters={"service": "LEAK", "status": "closed"},
                    denominator_filters={"service": "LEAK"})  # fmt: skip
    assert closed == {JAN: round(100 * 2 / 3, 4), FEB: 100.0}
    still_open = values(calculation="rate", filters={"service": "LEAK", "status": "open"},
                        denominator_filters={"service": "LEAK", "status": "closed"})  # fmt: skip
    assert still_open == {JAN: 0.5, FEB: 0.0}


def test_a_rate_with_an_empty_denominator_is_no_data_not_zero(city: dict[str, Any]) -> None:
    got = values(calculation="rate", filters={"service": "LEAK"},
                 denominator_filters={"service": "POT", "status": "open"})  # fmt: skip
    assert got == {JAN: None, FEB: None}


def test_rate_over_a_fixed_denominator(city: dict[str, Any]) -> None:
    assert values(calculation="rate", filters={"service": "LEAK"}, fixed_denominator=2) == {
        JAN: 1.5, FEB: 0.5,
    }  # fmt: skip


def test_closed_within_a_fixed_number_of_days_by_close_month(city: dict[str, Any]) -> None:
    """January closes: 1, 5 and 1 days; February: 2, 20 and 1 days; within 3 days."""
    got = values(calculation="closed_within", unit="percent", target_days=3)
    assert got == {JAN: round(200 / 3, 4), FEB: round(200 / 3, 4)}


def test_closed_within_each_services_own_target(city: dict[str, Any]) -> None:
    """Leaks in 3 days, potholes in 10; Meters has no target and is left out."""
    assert values(calculation="closed_within", unit="percent") == {
        JAN: round(200 / 3, 4),
        FEB: 50.0,
    }


def test_median_days_to_close_is_within_two_percent(city: dict[str, Any]) -> None:
    got = values(calculation="median_days", unit="days")
    assert got[JAN] == pytest.approx(1.0, rel=0.02)
    assert got[FEB] == pytest.approx(2.0, rel=0.02)


def test_sum_average_and_recent_of_a_numeric_attribute(city: dict[str, Any]) -> None:
    """ "x" is not a number and is skipped; February's latest case is P2 (Feb 2)."""
    assert values(calculation="sum", attribute="gallons") == {JAN: 100.0, FEB: 60.5}
    assert values(calculation="average", attribute="gallons") == {JAN: 100.0, FEB: 30.25}
    assert values(calculation="recent", attribute="gallons") == {JAN: 100.0, FEB: 20.5}


def test_quarters_follow_the_fiscal_year(city: dict[str, Any]) -> None:
    """With a May fiscal year, Nov–Jan is FY2024 Q3 and Feb–Apr is Q4."""
    points = compute(a_measure(period="quarter", fiscal_year_start_month=5))
    assert [(p.period.label, p.value) for p in points] == [("FY2024 Q3", 4.0), ("FY2024 Q4", 3.0)]


def test_a_bucket_counts_as_within_only_when_all_of_it_is() -> None:
    """The bucket holding the limit itself is late: never a late case counted as on time."""
    limit = 3 * DAY
    assert within_limit(bucket_of(limit * 0.97), limit)
    assert not within_limit(bucket_of(limit), limit)
    assert not within_limit(bucket_of(limit * 1.001), limit)
