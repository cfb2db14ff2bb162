"""Department figures for the comparison page, read from the rollups only: whole months of a window
from the month tables, its partial months (and weekly trends) from the day tables.

Fair by construction: medians (from close-time histograms), not means; the share closed within
target, each case judged against the city's own target for it (its verdict or target date, from
the source), else its request type's target days (`Case.within_target`, counted in the rollups'
`on_time` and `late`); and a department with fewer cases than `DEPARTMENT_MIN_VOLUME` in the period
is listed but not ranked, so one fast fix cannot top the table.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone

from civicstat.cases.models import DailyCloseTime, Department, Service, StatusGroup
from civicstat.cases.query import (
    CaseFilter,
    close_time_history,
    department_close_history,
    dimension_ids,
    grouped_rows,
    rollup_parts,
    rollup_rows,
    rollup_tables,
    span_conditions,
)
from civicstat.lib.periods import KINDS as PERIOD_KINDS
from civicstat.lib.periods import month_split, period_of, periods_between
from civicstat.lib.quantiles import median

PERIODS = {"week": 7, "month": 30, "quarter": 91, "year": 365, "all": 0}
AGE_BUCKETS = (("under_30", "Under 30 days"), ("30_90", "30–90 days"), ("over_90", "Over 90 days"))


@dataclass
class Figures:
    """One row of the comparison: a department (or a service on a department's page)."""

    key: int  # 0: the cases with none (no department, or no request type)
    name: str
    slug: str = ""  # "" for a row with no page of its own: the unassigned cases
    opened: int = 0
    resolved: int = 0
    previous_resolved: int = 0
    backlog: dict[str, int] = field(default_factory=lambda: {k: 0 for k, _ in AGE_BUCKETS})
    median_days: float | None = None
    # Cases closed in the period that were judged against a target: within it, and not.
    on_time: int = 0
    late: int = 0
    rank: int | None = None

    @property
    def unassigned(self) -> bool:
        return self.key == 0

    @property
    def within_target(self) -> float | None:
        """The share (0..1) of the cases closed in the period with a target that closed within
        it; None when none had a target."""
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None

    @property
    def volume(self) -> int:
        return self.opened + self.resolved

    @property
    def backlog_total(self) -> int:
        return sum(self.backlog.values())

    @property
    def net(self) -> int:
        """Opened minus resolved: above zero, the backlog grew over the period."""
        return self.opened - self.resolved

    @property
    def trend(self) -> float | None:
        """Resolved this period against the one before, as a change (0.1 = 10 % more)."""
        if not self.previous_resolved:
            return None
        return self.resolved / self.previous_resolved - 1


@dataclass
class Window:
    period: str
    start: date | None  # None: the whole history
    end: date
    # The last day any public case was opened or closed, when the window was made from all of
    # them: no public rollup row lies after it (see `reach`).
    data_end: date | None = None

    def reach(self, first: date | None, last: date | None) -> date | None:
        """The end to read first..last to: None (no end) when no data lies after `last` and the
        span reads whole months anyway. Its last month then comes whole from the month table too,
        with no day rows and no cut-off to compare on every row: the month tables have no index
        on the month alone, so a cut-off costs a comparison for each row of the area."""
        if self.data_end is None or last is None or last < self.data_end:
            return last
        if month_split(first, last).months is None:
            return last  # days only: an open end would read a whole month table for a few days
        return None

    @property
    def previous(self) -> Window | None:
        if self.start is None:
            return None
        length = self.end - self.start + timedelta(days=1)
        return Window(self.period, self.start - length, self.start - timedelta(days=1))


def window_for(period: str, *, base: CaseFilter | None = None) -> Window:
    """The last `period` of data, ending on the latest day any case was opened or closed."""
    found = rollup_rows(base or CaseFilter()).aggregate(d=Max("day"))["d"]
    latest = found or timezone.localdate()
    days = PERIODS[period]
    start = latest - timedelta(days=days - 1) if days else None
    everything = base is None or base == CaseFilter()
    return Window(period, start, latest, data_end=found if everything else None)


@dataclass(frozen=True)
class _Sum:
    """A figure: `column` of the case-count rows of the days `first`..`last` (None: unbounded),
    only those `only` picks, if given."""

    figure: str  # a Figures field, or an age bucket of the backlog
    column: str
    first: date | None
    last: date | None
    only: Q | None = None


def _sums(window: Window, base: CaseFilter) -> list[_Sum]:
    """Every count figure the comparison shows, each with its own span of days."""
    end = window.reach(window.start, window.end)
    sums = [
        _Sum("opened", "opened", window.start, end),
        _Sum("resolved", "closed", window.start, end),
        _Sum("on_time", "on_time", window.start, end),
        _Sum("late", "late", window.start, end),
    ]
    if previous := window.previous:
        sums.append(_Sum("previous_resolved", "closed", previous.start, previous.end))
    # The backlog by age: each age a span of opening days, so whole months of it come from the
    # month table (a month row cannot be split at a cut-off day).
    today = timezone.localdate()
    ages = {
        "under_30": (today - timedelta(days=29), None),
        "30_90": (today - timedelta(days=89), today - timedelta(days=30)),
        "over_90": (None, today - timedelta(days=90)),
    }
    for age, (first, last) in ages.items():
        if base.requested_from and (first is None or first < base.requested_from):
            first = base.requested_from
        if base.requested_to and (last is None or last > base.requested_to):
            last = base.requested_to
        if first and ((last and first > last) or (window.data_end and first > window.data_end)):
            continue  # no day, or none with data
        open_cases = Q(status_group=StatusGroup.OPEN)
        sums.append(_Sum(age, "opened", first, window.reach(first, last), open_cases))
    return sums


def _either(conditions: list[Q]) -> Q | None:
    return reduce(operator.or_, conditions) if conditions else None


def _count_sums(
    by: str, tables: tuple[QuerySet[Any], QuerySet[Any]], sums: list[_Sum]
) -> defaultdict[int, dict[str, int]]:
    """Each figure of `sums` per `by`, with one grouped query per table (months, days): every
    figure a sum filtered to its own rows, not a query of its own (a query per figure and table
    was some twenty queries, most of the comparison's time going to building and running them).
    """
    out: defaultdict[int, dict[str, int]] = defaultdict(dict)
    aggregates: tuple[dict[str, Sum], dict[str, Sum]] = ({}, {})
    picked: tuple[list[Q], list[Q]] = ([], [])
    for i, s in enumerate(sums):
        month_rows, day_rows = span_conditions(s.first, s.last)
        for grain, rows in enumerate((month_rows, _either(day_rows))):
            if rows is None:
                continue
            if rows not in picked[grain]:
                picked[grain].append(rows)
            if s.only is not None:
                rows &= s.only
            # An empty Q() picks every row: no filter at all, not one that matches nothing.
            aggregates[grain][f"s{i}"] = Sum(s.column, filter=rows or None)
    for table, aggregate, wanted in zip(tables, aggregates, picked, strict=True):
        if not aggregate:
            continue
        # Read only the days some figure needs (unless one needs them all), by days alone: with
        # the backlog's status in this condition too, SQLite read the whole day table (52 ms on
        # the KC demo) instead of seeking each span of days (0.5 ms).
        if all(wanted):
            table = table.filter(_either(wanted))
        figures = [sums[int(name[1:])].figure for name in aggregate]
        for key, *values in grouped_rows(table.values_list(by).annotate(**aggregate)):
            for figure, n in zip(figures, values, strict=True):
                out[key][figure] = out[key].get(figure, 0) + (n or 0)
    return out


def compare(
    *,
    by: str,
    window: Window,
    base: CaseFilter | None = None,
    names: dict[int, tuple[str, str]],
    unassigned: str = "Unassigned",
) -> list[Figures]:
    """Figures per `by` ("department_id" or "service_id") for the cases `base` selects.

    `names` maps each id to (name, slug); every named id gets a row, with zeros if it had no cases.
    The cases with no department (or no request type) are a row too, named `unassigned`: listed,
    never ranked (it is no one's record), and with no page to link to.
    """
    base = base or CaseFilter()
    if base.include_private:  # private cases may lie after the last public one
        window = replace(window, data_end=None)
    rows = {key: Figures(key, name, slug) for key, (name, slug) in names.items()}

    def row(key: int) -> Figures:
        return rows.setdefault(key, Figures(key, unassigned if key == 0 else f"#{key}"))

    # Each figure picks its own days from the rollups of base's departments, services and areas.
    undated = replace(base, requested_from=None, requested_to=None)
    ids = dimension_ids(undated)  # once for all four tables
    sums = _sums(window, base)
    # By department, the month counts need no request type: the public table's rows will do.
    count_tables = rollup_tables(undated, ids=ids, service_rows=by == "service_id")
    for key, figures in _count_sums(by, count_tables, sums).items():
        f = row(key)
        for figure, n in figures.items():
            if figure in f.backlog:
                f.backlog[figure] += n
            else:
                setattr(f, figure, getattr(f, figure) + n)

    histograms: defaultdict[int, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    reach = window.reach(window.start, window.end)
    every_date = window.start is None and reach is None
    if every_date:
        # Every date: the whole-history histogram, a row per service and bucket at most, not
        # the month table's nearly one per case (KC demo: 27 k rows, not 63 k).
        parts = [close_time_history(undated, ids=ids)]
    else:
        month_rows, day_rows = span_conditions(window.start, reach)
        tables = rollup_tables(undated, DailyCloseTime, ids=ids)
        parts = [
            table.filter(picked)
            for table, picked in zip(tables, (month_rows, _either(day_rows)), strict=True)
            if picked is not None
        ]
    # Every date, by department, no filter (the page as most visitors see it): the departments'
    # own histograms, a row per department and bucket (KC demo: 2.9 k rows, not 27 k).
    departments = (
        department_close_history(undated) if every_date and by == "department_id" else None
    )
    for part in parts if departments is None else [departments]:
        # Bucket first: grouped by (service, bucket), SQLite read a department's histogram through
        # the unique key, which leads with the service, rather than its covering index (1.5× as
        # long); the comparison's (department, bucket) reads the covering index either way.
        for bucket, key, n in grouped_rows(part.values_list("bucket", by).annotate(n=Sum("count"))):
            histograms[key][bucket] += n
    for key, counts in histograms.items():
        seconds = median(counts)
        row(key).median_days = None if seconds is None else seconds / 86400

    ranked = sorted(
        (f for f in rows.values()
         if f.volume >= settings.DEPARTMENT_MIN_VOLUME and f.median_days is not None
         and not f.unassigned),
        key=lambda f: (f.median_days, f.name),
    )  # fmt: skip
    for place, f in enumerate(ranked, start=1):
        f.rank = place
    return sorted(rows.values(), key=lambda f: (f.rank is None, f.rank or 0, f.unassigned, f.name))


def departments_compare(window: Window) -> list[Figures]:
    departments = Department.objects.order_by().values_list("id", "name", "slug")
    names = {key: (name, slug) for key, name, slug in departments}
    return compare(by="department_id", window=window, names=names)


def department_services(department: Department, window: Window) -> list[Figures]:
    base = CaseFilter(departments=[department.slug])
    services = Service.objects.filter(department=department, private=False).order_by()
    names = {key: (name, code) for key, name, code in services.values_list("id", "name", "code")}
    figures = compare(by="service_id", window=window, base=base, names=names,
                      unassigned="No request type")  # fmt: skip
    # A service with no cases in the period is noise on the department's page.
    return [f for f in figures if f.volume or f.backlog_total]


def trend(base: CaseFilter, window: Window, periods: int = 12) -> list[dict[str, object]]:
    """Opened and resolved per week / month / quarter / year, for the last `periods` of them.

    A comparison over all time shows years.
    """
    kind = window.period if window.period in PERIOD_KINDS else "year"
    first = period_of(window.end, kind)
    for _ in range(periods - 1):
        first = first.previous()
    totals: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0])
    span = replace(base, requested_from=first.start, requested_to=window.end)
    for part in rollup_parts(span, months=kind != "week"):
        for r in part.values("day").annotate(o=Sum("opened"), c=Sum("closed")).order_by():
            key = period_of(r["day"], kind).start
            totals[key][0] += r["o"] or 0
            totals[key][1] += r["c"] or 0
    return [
        {
            "period": p.start.isoformat(),
            "opened": totals[p.start][0],
            "resolved": totals[p.start][1],
        }
        for p in periods_between(first.start, window.end, kind)
    ]
