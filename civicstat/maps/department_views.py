"""`/departments`: opened against resolved, backlog, medians and targets across departments."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from civicstat.cases.freshness import quiet_period
from civicstat.cases.models import Department
from civicstat.cases.query import CaseFilter, FilterError
from civicstat.cases.services import data_version
from civicstat.lib import params
from civicstat.maps import charts
from civicstat.maps.departments import (
    AGE_BUCKETS,
    PERIODS,
    Figures,
    department_services,
    departments_compare,
    trend,
    window_for,
)
from civicstat.maps.views import bad_request
from civicstat.web import cached_by_data_version

PERIOD_LABELS = {
    "week": "Last 7 days", "month": "Last 30 days", "quarter": "Last 91 days",
    "year": "Last 365 days", "all": "All time",
}  # fmt: skip


def _period(request: HttpRequest) -> str:
    return params.choice("period", params.text(request.GET, "period") or "year", PERIODS)


def _show_all(request: HttpRequest) -> bool:
    """`?show=all`: every row in the charts, not only the top ones (`charts.TOP`)."""
    return params.choice("show", params.text(request.GET, "show") or "top", ("top", "all")) == "all"


def _context(
    period: str, figures: list[Figures], label: str, show_all: bool = False
) -> dict[str, Any]:
    # Each chart (and the table beside it) shows the top rows of its own measure; the comparison
    # table lists all. Medians are of the types that closed the most cases: a median of two
    # cases says little.
    by_volume = charts.ranked(figures, lambda f: f.volume)
    by_median = charts.ranked([f for f in figures if f.median_days is not None],
                              lambda f: f.resolved or 0.5)  # fmt: skip
    by_backlog = charts.ranked(figures, lambda f: f.backlog_total)
    hidden = max(len(by_volume), len(by_median), len(by_backlog)) > charts.TOP
    if not show_all:
        by_volume, by_median, by_backlog = (
            r[: charts.TOP] for r in (by_volume, by_median, by_backlog)
        )
    return {
        "period": period, "periods": PERIOD_LABELS, "period_label": PERIOD_LABELS[period],
        "label": label, "figures": figures,
        "ages": AGE_BUCKETS, "min_volume": settings.DEPARTMENT_MIN_VOLUME,
        "show_all": show_all, "top_n": charts.TOP, "some_hidden": hidden,
        "plural": "request types" if label == "Service" else f"{label.lower()}s",
        "by_volume": by_volume, "by_median": by_median, "by_backlog": by_backlog,
        "opened_resolved": charts.opened_resolved(by_volume, label),
        "medians": charts.median_days(by_median, label),
        "backlog": charts.backlog(by_backlog, label),
        "unranked": [f for f in figures if f.rank is None],
        "unassigned": next((f for f in figures if f.unassigned), None),
    }  # fmt: skip


@require_GET
@cached_by_data_version
def departments(request: HttpRequest) -> HttpResponse:
    try:
        period, show_all = _period(request), _show_all(request)
    except FilterError as error:
        return bad_request(request, error)
    # Figures change only with the data: one computation per data version and period.
    key = f"departments:{data_version()}:{period}"
    found = cache.get(key)
    if found is None:
        window = window_for(period)
        found = (window, departments_compare(window))
        cache.set(key, found, 3600)
    window, figures = found
    context = _context(period, figures, "Department", show_all)
    return render(request, "maps/departments.html", {**context, "window": window})


@require_GET
@cached_by_data_version
def department_detail(request: HttpRequest, slug: str) -> HttpResponse:
    department = get_object_or_404(Department, slug=slug)
    try:
        period, show_all = _period(request), _show_all(request)
    except FilterError as error:
        return bad_request(request, error)
    base = CaseFilter(departments=[department.slug])
    window = window_for(period)
    figures = department_services(department, window)
    points = trend(base, window)
    context = _context(period, figures, "Service", show_all)
    quiet = quiet_period(base, window.start, window.end, whose="this department's",
                         keep={"department": department.slug})  # fmt: skip
    return render(request, "maps/department.html", {
        **context, "department": department, "window": window, "trend": charts.trend(points),
        "trend_rows": points, "quiet": quiet, "quiet_url": reverse("map"),
    })  # fmt: skip
