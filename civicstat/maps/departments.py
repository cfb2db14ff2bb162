"""Department figures for the comparison page, read from the rollups only: whole months of a window
from the month tables, its partial months (and weekly trends) from the day tables.

Fair by construction: medians (from close-time histograms), not means; the share closed within the
service's own target; and a department with fewer cases than `DEPARTMENT_MIN_VOLUME` in the period
is listed but not ranked, so one fast fix cannot top the table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from civicstat.cases.models import DailyCloseTime, Department, Service, StatusGroup
from civicstat.cases.query import CaseFilter, rollup_parts, rollup_rows
from civicstat.lib.periods import KINDS as PERIOD_KINDS
from civicstat.lib.periods import period_of, periods_between
from civicstat.lib.quantiles import bucket_bounds, median

PERIODS = {"week": 7, "month": 30, "quarter": 91, "year": 365, "all": 0}
AGE_BUCKETS = (("under_30", "Under 30 days"), ("30_90", "30–90 days"), ("over_90", "Over 90 days"))


@dataclass
class Figures:
    """One row of the comparison: a department (or a service on a department's page)."""

    key: int
    name: str
    slug: str = ""
    opened: int = 0
    resolved: int = 0
    previous_resolved: int = 0
    backlog: dict[str, int] = field(default_factory=lambda: {k: 0 for k, _ in AGE_BUCKETS})
    median_days: float | None = None
    within_target: float | None = None  # share, 0..1; None when no service has a target
    rank: int | None = None

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

    @property
    def previous(self) -> Window | None:
        if self.start is None:
            return None
        length = self.end - self.start + timedelta(days=1)
        return Window(self.period, self.start - length, self.start - timedelta(days=1))


def window_for(period: str, *, base: CaseFilter | None = None) -> Window:
    """The last `period` of data, ending on the latest day any case was opened or closed."""
    latest = rollup_rows(base or CaseFilter()).aggregate(d=Max("day"))["d"] or timezone.localdate()
    days = PERIODS[period]
    start = latest - timedelta(days=days - 1) if days else None
    return Window(period, start, latest)


def _within_target(counts: dict[int, int], target_days: int) -> int:
    """How many of the close times counted by bucket fell within `target_days`."""
    limit = target_days * 86400
    within = 0.0
    for bucket, n in counts.items():
        low, high = bucket_bounds(bucket)
        if high <= limit:
            within += n
        elif low < limit:  # the bucket straddles the target: count its share below it
            within += n * (limit - low) / (high - low)
    return round(within)


def compare(
    *, by: str, window: Window, base: CaseFilter | None = None, names: dict[int, tuple[str, str]]
) -> list[Figures]:
    """Figures per `by` ("department_id" or "service_id") for the cases `base` selects.

    `names` maps each id to (name, slug); every named id gets a row, with zeros if it had no cases.
    """
    base = base or CaseFilter()
    rows = {key: Figures(key, name, slug) for key, (name, slug) in names.items()}

    def row(key: int) -> Figures:
        return rows.setdefault(key, Figures(key, "(none)" if key == 0 else f"#{key}"))

    in_window = replace(base, requested_from=window.start, requested_to=window.end)
    for part in rollup_parts(in_window):
        for r in part.values(by).annotate(o=Sum("opened"), c=Sum("closed")).order_by():
            row(r[by]).opened += r["o"] or 0
            row(r[by]).resolved += r["c"] or 0
    if previous := window.previous:
        before = replace(base, requested_from=previous.start, requested_to=previous.end)
        for part in rollup_parts(before):
            for r in part.values(by).annotate(c=Sum("closed")).order_by():
                row(r[by]).previous_resolved += r["c"] or 0

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
        if first and last and first > last:
            continue
        aged = replace(base, status_group=StatusGroup.OPEN, requested_from=first, requested_to=last)
        for part in rollup_parts(aged):
            for r in part.values(by).annotate(n=Sum("opened")).order_by():
                row(r[by]).backlog[age] += r["n"] or 0

    histograms: defaultdict[int, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_service: defaultdict[tuple[int, int], defaultdict[int, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    targets: dict[int, int] = {
        sid: days
        for sid, days in Service.objects.values_list("id", "target_days")
        if days is not None
    }
    for part in rollup_parts(in_window, DailyCloseTime):
        for key, bucket, n in part.values_list(by, "bucket").annotate(n=Sum("count")).order_by():
            histograms[key][bucket] += n
        if targets:  # per service only for services with a target: far fewer rows come back
            with_target = part.filter(service_id__in=list(targets))
            grouped = with_target.values_list(by, "service_id", "bucket").annotate(n=Sum("count"))
            for key, service_id, bucket, n in grouped.order_by():
                per_service[(key, service_id)][bucket] += n
    within: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (key, service_id), counts in per_service.items():
        if service_id in targets:
            within[key][0] += _within_target(counts, targets[service_id])
            within[key][1] += sum(counts.values())
    for key, counts in histograms.items():
        seconds = median(counts)
        row(key).median_days = None if seconds is None else seconds / 86400
        if within[key][1]:
            row(key).within_target = within[key][0] / within[key][1]

    ranked = sorted(
        (f for f in rows.values()
         if f.volume >= settings.DEPARTMENT_MIN_VOLUME and f.median_days is not None),
        key=lambda f: (f.median_days, f.name),
    )  # fmt: skip
    for place, f in enumerate(ranked, start=1):
        f.rank = place
    return sorted(rows.values(), key=lambda f: (f.rank is None, f.rank or 0, f.name))


def departments_compare(window: Window) -> list[Figures]:
    names = {d.id: (d.name, d.slug) for d in Department.objects.all()}
    return compare(by="department_id", window=window, names=names)


def department_services(department: Department, window: Window) -> list[Figures]:
    base = CaseFilter(departments=[department.slug])
    names = {
        s.id: (s.name, s.code) for s in Service.objects.filter(department=department, private=False)
    }
    figures = compare(by="service_id", window=window, base=base, names=names)
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
