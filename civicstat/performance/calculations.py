"""A measure's value for every period of its history, computed from the rollups.

Counts, rates, cumulative totals, "% closed within N days" and median days to close read the
rollups: month, quarter and year periods are whole months, so they read the month tables alone
(`MonthlyCaseCount`; for close times `MonthlyCloseHistogram`, a month's histogram of a request
type packed in one row, summed with NumPy); weeks read the day tables. One query per measure,
whatever the number of cases. Sum, average and most recent value of a numeric attribute cannot:
attributes are JSON on the cases, so those three aggregate the cases table in the database,
restricted to the history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Count, FloatField, Max, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from civicstat.cases.models import Case, DailyCaseCount
from civicstat.cases.query import (
    CaseFilter,
    FilterError,
    cases,
    close_time_parts,
    grouped_rows,
    parse_filters,
    rollup_parts,
)
from civicstat.lib.histograms import dense as histograms_dense
from civicstat.lib.periods import Period, period_of, periods_between
from civicstat.lib.quantiles import MAX_BUCKET, bucket_bounds, quantile_dense
from civicstat.performance.coverage import mark_coverage
from civicstat.performance.models import Calculation, Measure, NoDataReason, Unit

DAY = 86400.0
ROLLUP_CALCULATIONS = {
    Calculation.COUNT, Calculation.RATE, Calculation.CLOSED_WITHIN, Calculation.MEDIAN_DAYS,
    Calculation.CUMULATIVE,
}  # fmt: skip
ATTRIBUTE_CALCULATIONS = {Calculation.SUM, Calculation.AVERAGE, Calculation.RECENT}
_NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"


@dataclass
class Point:
    period: Period
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    reason: str = ""  # a NoDataReason when value is None
    note: str = ""  # why, as a reader would want it said
    partial: bool = False  # the data does not cover the period to its last day
    data_through: date | None = None  # partial or data ended: the last day the data covers


def measure_filter(filters: Mapping[str, Any]) -> CaseFilter:
    """The CaseFilter a measure's stored filters mean; FilterError names a bad value."""
    if "days" in filters:
        raise FilterError("a measure's filters cannot use days (the history sets the dates)")
    return parse_filters(dict(filters))


def history(measure: Measure, *, last_day: date | None = None) -> list[Period]:
    """The periods from the measure's start date (or the first data) to the latest data."""
    # Up to the last day a case was opened: close days can run later (and generated or mistyped
    # data can close in the future), which would add periods with nothing opened in them. Read
    # from the cases' opening-time index (two index lookups), not from a scan of the rollups.
    times = Case.objects.values_list("requested_at", flat=True)
    oldest, newest = times.order_by("requested_at").first(), times.order_by("-requested_at").first()
    first = measure.start_date or (oldest and timezone.localdate(oldest))
    last = last_day or (newest and timezone.localdate(newest))
    if last is not None:
        last = min(last, timezone.localdate())
    if first is None or last is None:
        return []
    return list(periods_between(first, last, measure.period, measure.fiscal_start))


def compute(measure: Measure, *, last_day: date | None = None) -> list[Point]:
    """The measure's value per period, each marked partial when the data does not cover it to its
    last day, and with the reason when it has no value. Manual measures have none to compute
    (staff enter them)."""
    points = _compute(measure, last_day=last_day)
    return mark_coverage(measure, points) if points else points


def _compute(measure: Measure, *, last_day: date | None = None) -> list[Point]:
    calc = measure.calculation
    if calc == Calculation.MANUAL:
        return []
    periods = history(measure, last_day=last_day)
    if not periods:
        return []
    f = measure_filter(measure.filters)
    f.requested_from, f.requested_to = periods[0].start, periods[-1].last_day
    index = _indexer(periods)
    if calc in (Calculation.COUNT, Calculation.CUMULATIVE):
        counts = _opened(f, periods, index)
        if calc == Calculation.COUNT:
            return [Point(p, float(n)) for p, n in zip(periods, counts, strict=True)]
        running, out = 0, []
        for p, n in zip(periods, counts, strict=True):
            running += n
            out.append(Point(p, float(running)))
        return out
    if calc == Calculation.RATE:
        return _rate(measure, f, periods, index)
    if calc == Calculation.CLOSED_WITHIN:
        return _closed_within(measure, f, periods, index)
    if calc == Calculation.MEDIAN_DAYS:
        return _median_days(f, periods, index)
    return _attribute(measure, f, periods, index)


def _indexer(periods: list[Period]) -> Callable[[date], int]:
    """Day → position of its period in `periods`, cached: rollups give one row per day or month."""
    positions = {p.start: i for i, p in enumerate(periods)}
    kind, month = periods[0].kind, periods[0].fiscal_start_month
    cache: dict[date, int] = {}

    def index(day: date) -> int:
        if day not in cache:
            cache[day] = positions[period_of(day, kind, month).start]
        return cache[day]

    return index


def _parts(
    f: CaseFilter, periods: list[Period], model: Any = DailyCaseCount, *, service_rows: bool = True
) -> list[Any]:
    """The rollup rows for `f`: months, quarters and years are whole months; weeks need days.
    `service_rows=False` when no request-type column is read (`rollup_tables`)."""
    return rollup_parts(f, model, months=periods[0].kind != "week", service_rows=service_rows)


def _opened(f: CaseFilter, periods: list[Period], index: Callable[[date], int]) -> list[int]:
    counts = [0] * len(periods)
    for part in _parts(f, periods, service_rows=False):
        for day, n in grouped_rows(part.values_list("day").annotate(n=Sum("opened"))):
            counts[index(day)] += n
    return counts


def _opened_by_group(
    f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> dict[str, list[int]]:
    """Cases opened per period, apart by status group ("open", "closed"): one read of the rows."""
    counts: defaultdict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    for part in _parts(f, periods, service_rows=False):
        grouped = part.values_list("day", "status_group").annotate(n=Sum("opened"))
        for day, group, n in grouped_rows(grouped):
            counts[group][index(day)] += n
    return counts


def _rate(
    measure: Measure, f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> list[Point]:
    denominators: list[float]
    d = None if measure.fixed_denominator else measure_filter(measure.denominator_filters)
    if d is not None:
        d.requested_from, d.requested_to = f.requested_from, f.requested_to
    if d is not None and replace(f, status_group="") == replace(d, status_group=""):
        # A share of the same cases by status ("% of requests closed"): both sides from one read
        # of the wider side's rows, apart by status group, not two reads of nearly the same rows.
        by_group = _opened_by_group(replace(d, status_group=""), periods, index)

        def side(g: CaseFilter) -> list[int]:
            groups = [g.status_group] if g.status_group else list(by_group)
            return [sum(by_group[x][i] for x in groups) for i in range(len(periods))]

        numerators, denominators = side(f), [float(n) for n in side(d)]
    else:
        numerators = _opened(f, periods, index)
        if d is None:
            denominators = [measure.fixed_denominator or 0.0] * len(periods)
        else:
            denominators = [float(n) for n in _opened(d, periods, index)]
    scale = 100.0 if measure.unit == Unit.PERCENT else 1.0
    return [
        # Nothing to divide by is "no data", not zero.
        Point(p, scale * n / den, float(n), float(den))
        if den
        else Point(
            p,
            None,
            float(n),
            float(den),
            NoDataReason.NO_DENOMINATOR,
            "Nothing to divide by: no case matched the denominator in this period.",
        )
        for p, n, den in zip(periods, numerators, denominators, strict=True)
    ]


def within_limit(bucket: int, seconds: float) -> bool:
    """Whether every duration in `bucket` is at most `seconds`.

    A bucket spans 2 % of its durations; the one holding the limit itself counts as late, so a case
    closed up to 2 % under the limit may count late, and never one over it as on time.
    """
    return bucket_bounds(bucket)[1] <= seconds


def last_bucket_within(seconds: float) -> int:
    """The last bucket `within_limit` of `seconds` (-1 if none): the buckets within are 0..it."""
    last = -1
    while last < MAX_BUCKET and within_limit(last + 1, seconds):
        last += 1
    return last


def _closed_within(
    measure: Measure, f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> list[Point]:
    if not measure.target_days:
        return _closed_within_target(f, periods, index)
    within = [0] * len(periods)
    total = [0] * len(periods)
    # Bucket edges grow with the bucket number, so "within the limit" is "bucket <= the limit's
    # last bucket": each period's histogram (packed months, summed by NumPy) gives both sides.
    last = last_bucket_within(float(measure.target_days) * DAY)
    histograms = _close_histograms(f, periods, index)
    for i, (w, t) in enumerate(zip(histograms[:, : last + 1].sum(axis=1).tolist(),
                                   histograms.sum(axis=1).tolist(), strict=True)):  # fmt: skip
        within[i] += int(w)
        total[i] += int(t)
    return [
        Point(p, 100.0 * w / t, float(w), float(t))
        if t
        else Point(
            p,
            None,
            float(w),
            float(t),
            NoDataReason.NO_DENOMINATOR,
            "Nothing to divide by: no case matching the measure was closed in this period.",
        )
        for p, w, t in zip(periods, within, total, strict=True)
    ]


def _closed_within_target(
    f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> list[Point]:
    """% of the cases closed in each period with a target that closed within it: each case
    judged at ingest against the city's own target (its verdict or target date), else its request
    type's target days (`Case.within_target`), and counted in the rollups' `on_time` and `late`.
    Cases with no target are left out of both sides."""
    on_time = [0] * len(periods)
    judged = [0] * len(periods)
    for part in _parts(f, periods, service_rows=False):
        grouped = part.values_list("day").annotate(t=Sum("on_time"), n=Sum("late"))
        for day, t, late in grouped_rows(grouped):
            on_time[index(day)] += t or 0
            judged[index(day)] += (t or 0) + (late or 0)
    return [
        Point(p, 100.0 * w / t if t else None, float(w), float(t))
        for p, w, t in zip(periods, on_time, judged, strict=True)
    ]


def _median_days(f: CaseFilter, periods: list[Period], index: Callable[[date], int]) -> list[Point]:
    histograms = _close_histograms(f, periods, index)
    out = []
    for p, counts in zip(periods, histograms, strict=True):
        seconds = quantile_dense(counts, 0.5)
        if seconds is None:
            none = "No case matching the measure was closed in this period."
            out.append(Point(p, None, None, 0.0, NoDataReason.NO_CASES, none))
        else:
            out.append(Point(p, seconds / DAY, None, int(counts.sum())))
    return out


def _close_histograms(
    f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> npt.NDArray[np.float64]:
    """Each period's close-time histogram (a row per period, a column per bucket) for f: whole
    months from the packed month histograms, summed by NumPy, partial months from the day
    table's bucket rows."""
    packed, day_parts = close_time_parts(f, months=periods[0].kind != "week", service_rows=False)
    rows = []
    if packed is not None:
        rows = [
            (index(day), blob)
            for day, blob in grouped_rows(packed.values_list("day", "counts"), binary=True)
        ]
    histograms = histograms_dense(rows, len(periods))
    for part in day_parts:
        grouped = part.values_list("day", "bucket").annotate(n=Sum("count"))
        for day, bucket, n in grouped_rows(grouped):
            histograms[index(day), bucket] += n
    return histograms


def _attribute(
    measure: Measure, f: CaseFilter, periods: list[Period], index: Callable[[date], int]
) -> list[Point]:
    """Sum, average or most recent value of a numeric attribute, aggregated by the database.

    Only values written as plain decimal numbers ("41", "41.0", "-3.5") count; others are skipped.
    """
    key = f"attributes__{measure.attribute}"
    qs = cases(f).filter(**{f"{key}__regex": _NUMERIC}).annotate(v=Cast(KT(key), FloatField()))
    none = "No case matching the measure has a numeric value of this attribute in this period."
    out = [Point(p, None, None, 0.0, NoDataReason.NO_CASES, none) for p in periods]
    if measure.calculation == Calculation.RECENT:
        # The latest case's value per period: a day's latest is found first, then each period's.
        newest: dict[int, Any] = {}
        for day_row in qs.values("requested_day").annotate(at=Max("requested_at")).order_by():
            i = index(day_row["requested_day"])
            if i not in newest or day_row["at"] > newest[i]:
                newest[i] = day_row["at"]
        picked = qs.filter(requested_at__in=list(newest.values())).values_list("requested_at", "v")
        for at, value in picked:
            i = index(_local_day(at))
            if newest.get(i) == at:
                out[i] = replace(out[i], value=value, reason="", note="")
        return out
    grouped = qs.values("requested_day").annotate(s=Sum("v"), n=Count("id")).order_by()
    sums = [0.0] * len(periods)
    counts = [0] * len(periods)
    for row in grouped:
        i = index(row["requested_day"])
        sums[i] += row["s"] or 0.0
        counts[i] += row["n"]
    for i, p in enumerate(periods):
        if counts[i]:
            value = sums[i] if measure.calculation == Calculation.SUM else sums[i] / counts[i]
            out[i] = Point(p, value, sums[i], float(counts[i]))
    return out


def _local_day(moment: Any) -> date:
    day: date = timezone.localdate(moment)
    return day
