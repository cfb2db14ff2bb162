"""Reporting periods: weeks, months, quarters and years, with a fiscal year that may start in any
month (Kansas City's starts in May, most US counties' in October).

Pure date arithmetic, no Django: a period is the half-open span [start, end) of local days, named
by its fiscal year when it is a quarter or a year ("FY2024 Q1" for May–July 2023 when the fiscal
year starts in May: fiscal years are named by the calendar year they end in).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("week", "month", "quarter", "year")


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first day
    end: date  # the day after the last day
    kind: str
    fiscal_start_month: int = 1

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def fiscal_year(self) -> int:
        """The fiscal year the period's first day falls in, named by the year it ends in."""
        return fiscal_year_of(self.start, self.fiscal_start_month)

    @property
    def label(self) -> str:
        if self.kind == "week":
            return f"Week of {self.start.isoformat()}"
        if self.kind == "month":
            return self.start.strftime("%b %Y")
        prefix = "FY" if self.fiscal_start_month != 1 else ""
        if self.kind == "quarter":
            quarter = _months_into_year(self.start, self.fiscal_start_month) // 3 + 1
            return f"{prefix}{self.fiscal_year} Q{quarter}"
        return f"{prefix}{self.fiscal_year}"

    def next(self) -> Period:
        return period_of(self.end, self.kind, self.fiscal_start_month)

    def previous(self) -> Period:
        return period_of(self.start - timedelta(days=1), self.kind, self.fiscal_start_month)


def _check(kind: str, fiscal_start_month: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 1 <= fiscal_start_month <= 12:
        raise ValueError(f"the fiscal year start month must be 1 to 12, not {fiscal_start_month}")


def _months_into_year(day: date, fiscal_start_month: int) -> int:
    """How many whole months `day`'s month lies after the fiscal year's first month (0–11)."""
    return (day.month - fiscal_start_month) % 12


def _add_months(year: int, month: int, months: int) -> date:
    index = year * 12 + (month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year_of(day: date, fiscal_start_month: int = 1) -> int:
    """The fiscal year `day` falls in, named by the calendar year the fiscal year ends in."""
    if fiscal_start_month == 1:
        return day.year
    return day.year + 1 if day.month >= fiscal_start_month else day.year


def period_of(day: date, kind: str, fiscal_start_month: int = 1) -> Period:
    """The period of `kind` containing `day`. Weeks start on Monday (ISO weeks)."""
    _check(kind, fiscal_start_month)
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7), kind, fiscal_start_month)
    if kind == "month":
        start = day.replace(day=1)
        return Period(start, _add_months(start.year, start.month, 1), kind, fiscal_start_month)
    into = _months_into_year(day, fiscal_start_month)
    if kind == "quarter":
        into -= into % 3
        start = _add_months(day.year, day.month, -(_months_into_year(day, fiscal_start_month)))
        start = _add_months(start.year, start.month, into)
        return Period(start, _add_months(start.year, start.month, 3), kind, fiscal_start_month)
    start = _add_months(day.year, day.month, -into)
    return Period(start, _add_months(start.year, start.month, 12), kind, fiscal_start_month)


def periods_between(
    first: date, last: date, kind: str, fiscal_start_month: int = 1
) -> Iterator[Period]:
    """Every period from the one holding `first` to the one holding `last`, in order."""
    if last < first:
        return
    period = period_of(first, kind, fiscal_start_month)
    while period.start <= last:
        yield period
        period = period.next()


def fiscal_year_period(fiscal_year: int, fiscal_start_month: int = 1) -> Period:
    """The year named `fiscal_year`: FY2024 with a May start runs 2023-05-01 to 2024-04-30."""
    _check("year", fiscal_start_month)
    year = fiscal_year if fiscal_start_month == 1 else fiscal_year - 1
    return period_of(date(year, fiscal_start_month, 1), "year", fiscal_start_month)


@dataclass(frozen=True)
class MonthSplit:
    """A span of days cut into whole months and the partial months at either end.

    `months` is (first day of the first whole month, first day of the last whole month), either
    end None when the span is open on that side, or None when no whole month fits; `days` are the
    inclusive (first, last) spans left over.
    """

    months: tuple[date | None, date | None] | None
    days: tuple[tuple[date | None, date | None], ...]


def month_split(first: date | None, last: date | None) -> MonthSplit:
    """`first`..`last` (inclusive; None = unbounded) as whole months plus the days around them."""
    if first is not None and last is not None and first > last:
        return MonthSplit(None, ((first, last),))
    whole_from = first
    if first is not None and first.day != 1:
        whole_from = _add_months(first.year, first.month, 1)
    whole_to = last
    if last is not None:
        whole_to = last.replace(day=1)
        if (last + timedelta(days=1)).day != 1:  # `last` does not end its month
            whole_to = _add_months(last.year, last.month, -1)
    if whole_from is not None and whole_to is not None and whole_from > whole_to:
        return MonthSplit(None, ((first, last),))
    days: list[tuple[date | None, date | None]] = []
    if first is not None and whole_from is not None and first < whole_from:
        days.append((first, whole_from - timedelta(days=1)))
    if last is not None and whole_to is not None:
        after = _add_months(whole_to.year, whole_to.month, 1)
        if after <= last:
            days.append((after, last))
    return MonthSplit((whole_from, whole_to), tuple(days))
