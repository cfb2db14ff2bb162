"""Counts opened and closed, backlog and median days to close, grouped by department, request
type, layer, area and period: read from the rollups through `cases.query.rollup_parts` (whole
months from the month tables, the partial months at either end from the day tables), never from
the cases, and with no rollup table of the API's own.

What each figure counts, for the cases the filter selects (written out in every answer too):
- `opened`: cases opened in the period;
- `closed`: cases closed in the period (whenever they were opened);
- `backlog`: of the cases opened in the period, those still open now;
- `median_days_to_close`: the median time to close of the cases closed in the period, in days
  (from the close-time histograms: within 2 % of the exact median); null when none closed.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from civicstat.cases.models import Area, DailyCaseCount, DailyCloseTime, Department, Layer, Service
from civicstat.cases.query import CaseFilter, rollup_parts
from civicstat.lib import params
from civicstat.lib.params import ParamError
from civicstat.lib.quantiles import median

# dimension → the rollup column it groups by
DIMENSIONS = {
    "layer": "layer_id", "department": "department_id", "service": "service_id",
    "area": "area_id", "month": "day", "year": "day",
}  # fmt: skip
MAX_DIMENSIONS = 2
DEFINITIONS = {
    "opened": "cases opened in the period",
    "closed": "cases closed in the period, whenever they were opened",
    "backlog": "of the cases opened in the period, those still open now",
    "median_days_to_close": "median days from opening to closing of the cases closed in the "
    "period (from close-time histograms, within 2 %); null when none closed",
}


def parse_by(query: Mapping[str, Any]) -> list[str]:
    by = list(dict.fromkeys(params.items(query, "by")))
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise ParamError(f"cannot group by {', '.join(repr(b[:40]) for b in unknown)}; "
                         f"group by {', '.join(DIMENSIONS)}")  # fmt: skip
    if len(by) > MAX_DIMENSIONS:
        raise ParamError(f"group by at most {MAX_DIMENSIONS} of {', '.join(DIMENSIONS)}")
    if "month" in by and "year" in by:
        raise ParamError("group by month or by year, not both")
    return by


def parse_area_kind(query: Mapping[str, Any]) -> str:
    kinds = sorted(set(Area.objects.values_list("kind", flat=True)))
    kind = params.text(query, "area_kind") or ("council-district" if "council-district" in kinds
                                               else (kinds[0] if kinds else ""))  # fmt: skip
    if kind not in kinds:
        raise ParamError(f"area_kind must be one of {', '.join(kinds) or 'none (no areas yet)'}")
    return kind


def _key(by: list[str], values: tuple[Any, ...]) -> tuple[Any, ...]:
    key = []
    for name, value in zip(by, values, strict=True):
        if name == "month":
            value = value.replace(day=1)
        elif name == "year":
            value = value.replace(month=1, day=1)
        key.append(value)
    return tuple(key)


def _labels(name: str) -> dict[int, tuple[str, str]]:
    if name == "layer":
        return {i: (s, n) for i, s, n in Layer.objects.values_list("id", "slug", "name")}
    if name == "department":
        return {i: (s, n) for i, s, n in Department.objects.values_list("id", "slug", "name")}
    if name == "service":
        rows = Service.objects.filter(private=False).values_list("id", "code", "name")
        return {i: (c, n) for i, c, n in rows}
    areas = Area.objects.values_list("id", "kind", "slug", "name")
    return {i: (f"{k}:{s}", n) for i, k, s, n in areas}


def _partial(name: str, start: date, f: CaseFilter, today: date) -> bool:
    """Whether the filter's dates or today cut this month or year short."""
    if name == "month":
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    else:
        end = start.replace(month=12, day=31)
    first, last = f.requested_from, min(f.requested_to or today, today)
    return bool((first and first > start) or last < end)


def aggregate(f: CaseFilter, by: list[str], *, area_kind: str = "") -> list[dict[str, Any]]:
    """One row per group, with the four figures; largest `opened` first, periods in order."""
    if "area" in by and not f.areas:
        ids = list(Area.objects.filter(kind=area_kind).values_list("id", flat=True))
        if not ids:
            return []
        f = replace(f, areas=ids)
    columns = [DIMENSIONS[b] for b in by]
    figures: dict[tuple[Any, ...], dict[str, int]] = {}
    for part in rollup_parts(f, DailyCaseCount):
        rows = part.values_list(*columns, "status_group").annotate(
            o=Sum("opened"), c=Sum("closed")).order_by()  # fmt: skip
        for *values, group, opened, closed in rows:
            fig = figures.setdefault(_key(by, tuple(values)), {"o": 0, "c": 0, "b": 0})
            fig["o"] += opened or 0
            fig["c"] += closed or 0
            if group == "open":
                fig["b"] += opened or 0
    histograms: dict[tuple[Any, ...], dict[int, int]] = {}
    for part in rollup_parts(f, DailyCloseTime):
        rows = part.values_list(*columns, "bucket").annotate(n=Sum("count")).order_by()
        for *values, bucket, n in rows:
            hist = histograms.setdefault(_key(by, tuple(values)), {})
            hist[bucket] = hist.get(bucket, 0) + (n or 0)
    labels = {name: _labels(name) for name in by if name not in ("month", "year")}
    today = timezone.localdate()
    result = []
    for key in set(figures) | set(histograms):
        fig = figures.get(key, {"o": 0, "c": 0, "b": 0})
        seconds = median(histograms.get(key, {}))
        row: dict[str, Any] = {}
        for name, value in zip(by, key, strict=True):
            if name in ("month", "year"):
                row[name] = f"{value:%Y-%m}" if name == "month" else f"{value:%Y}"
                row["partial"] = _partial(name, value, f, today)
            else:
                slug, label = labels[name].get(value, (None, "(none)"))
                row[name], row[f"{name}_name"] = slug, label
        days = None if seconds is None else round(seconds / 86400, 2)
        row.update(opened=fig["o"], closed=fig["c"], backlog=fig["b"], median_days_to_close=days)
        result.append(row)
    periods = [b for b in by if b in ("month", "year")]
    result.sort(key=lambda r: (*(r[p] for p in periods), -r["opened"],
                               *(str(r[b]) for b in by if b not in periods)))  # fmt: skip
    return result
