from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.periods import (
    KINDS,
    fiscal_year_of,
    fiscal_year_period,
    month_split,
    period_of,
    periods_between,
)

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
months = st.integers(min_value=1, max_value=12)


def test_a_may_fiscal_year_is_named_by_the_year_it_ends_in() -> None:
    """Kansas City's FY2024 runs from May 1, 2023 to April 30, 2024."""
    fy = fiscal_year_period(2024, 5)
    assert (fy.start, fy.last_day) == (date(2023, 5, 1), date(2024, 4, 30))
    assert fy.label == "FY2024"
    assert fiscal_year_of(date(2024, 4, 30), 5) == 2024
    assert fiscal_year_of(date(2024, 5, 1), 5) == 2025


def test_fiscal_quarters_cross_the_calendar_year() -> None:
    """With an October fiscal year, Q1 is October to December and belongs to the next year."""
    q = period_of(date(2022, 11, 15), "quarter", 10)
    assert (q.start, q.end, q.label) == (date(2022, 10, 1), date(2023, 1, 1), "FY2023 Q1")
    q2 = q.next()
    assert (q2.start, q2.label) == (date(2023, 1, 1), "FY2023 Q2")
    assert period_of(date(2023, 1, 31), "quarter", 5).start == date(2022, 11, 1)
    assert period_of(date(2023, 2, 1), "quarter", 5).label == "FY2023 Q4"


def test_calendar_periods_have_plain_labels() -> None:
    assert period_of(date(2024, 2, 29), "month").label == "Feb 2024"
    assert period_of(date(2024, 2, 29), "quarter").label == "2024 Q1"
    assert period_of(date(2024, 2, 29), "year").label == "2024"
    week = period_of(date(2024, 1, 3), "week")
    assert (week.start, week.end) == (date(2024, 1, 1), date(2024, 1, 8))


def test_it_rejects_an_unknown_kind_or_month() -> None:
    with pytest.raises(ValueError, match="period must be one of"):
        period_of(date(2024, 1, 1), "fortnight")
    with pytest.raises(ValueError, match="1 to 12"):
        period_of(date(2024, 1, 1), "year", 13)


@given(day=days, kind=st.sampled_from(KINDS), month=months)
def test_every_day_lies_in_its_period_and_periods_tile(day: date, kind: str, month: int) -> None:
    """A period holds its day, and the next period starts the day after it ends."""
    p = period_of(day, kind, month)
    assert p.start <= day < p.end
    assert p.next().start == p.end
    assert p.previous().end == p.start
    assert period_of(p.last_day, kind, month) == p
    if kind == "year":
        assert p.start.month == month and p.start.day == 1
        assert fiscal_year_period(p.fiscal_year, month) == p
    if kind == "quarter":
        assert (p.start.month - month) % 3 == 0


@given(first=days, span=st.integers(min_value=0, max_value=800), kind=st.sampled_from(KINDS))
def test_periods_between_cover_the_span_without_gaps(first: date, span: int, kind: str) -> None:
    last = first + timedelta(days=span)
    periods = list(periods_between(first, last, kind, 5))
    assert periods[0].start <= first and last < periods[-1].end
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))


_LOW, _HIGH = date(2019, 1, 1), date(2021, 12, 31)  # None stands for these in the check below


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@given(
    st.one_of(st.none(), st.dates(date(2019, 1, 1), date(2021, 12, 31))),
    st.one_of(st.none(), st.dates(date(2019, 1, 1), date(2021, 12, 31))),
)
def test_a_month_split_covers_each_day_of_the_span_exactly_once(
    first: date | None, last: date | None
) -> None:
    split = month_split(first, last)
    covered: list[date] = []
    if split.months is not None:
        low, high = split.months
        assert (low is None or low.day == 1) and (high is None or high.day == 1)
        month = low or _LOW
        while month <= (high or _HIGH):
            covered.extend(_days(month, period_of(month, "month").last_day))
            month = period_of(month, "month").end
    for a, b in split.days:
        assert a is not None and b is not None  # the edges are always bounded
        whole = a if a.day == 1 else period_of(a, "month").end
        assert period_of(whole, "month").last_day > b  # never a whole month read day by day
        covered.extend(_days(a, b))
    expected = _days(first or _LOW, last or _HIGH) if (first or _LOW) <= (last or _HIGH) else []
    assert sorted(covered) == expected


def test_a_month_split_reads_days_only_at_the_partial_edges() -> None:
    split = month_split(date(2020, 1, 15), date(2020, 4, 10))
    assert split.months == (date(2020, 2, 1), date(2020, 3, 1))
    assert split.days == (
        (date(2020, 1, 15), date(2020, 1, 31)),
        (date(2020, 4, 1), date(2020, 4, 10)),
    )
    assert month_split(date(2020, 1, 1), date(2020, 12, 31)).days == ()
    assert month_split(None, date(2020, 3, 31)).months == (None, date(2020, 3, 1))
    assert month_split(date(2020, 1, 5), date(2020, 1, 20)).months is None
