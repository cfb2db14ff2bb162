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


def _context(period: str, figures: list[Figures], label: str) -> dict[str, Any]:
    return {
        "period": period, "periods": PERIOD_LABELS, "period_label": PERIOD_LABELS[period],
        "label": label, "figures": figures,
        "ages": AGE_BUCKETS, "min_volume": settings.DEPARTMENT_MIN_VOLUME,
        "opened_resolved": charts.opened_resolved(figures, label),
        "medians": charts.median_days(figures, label),
        "backlog": charts.backlog(figures, label),
        "unranked": [f for f in figures if f.rank is None],
        "unassigned": next((f for f in figures if f.unassigned), None),
    }  # fmt: skip


@require_GET
@cached_by_data_version
def departments(request: HttpRequest) -> HttpResponse:
    try:
        period = _period(request)
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
    context = _context(period, figures, "Department")
    return render(request, "maps/departments.html", {**context, "window": window})


@require_GET
@cached_by_data_version
def department_detail(request: HttpRequest, slug: str) -> HttpResponse:
    department = get_object_or_404(Department, slug=slug)
    try:
        period = _period(request)
    except FilterError as error:
        return bad_request(request, error)
    base = CaseFilter(departments=[department.slug])
    window = window_for(period)
    figures = department_services(department, window)
    points = trend(base, window)
    context = _context(period, figures, "Service")
    quiet = quiet_period(base, window.start, window.end, whose="this department's",
                         keep={"department": department.slug})  # fmt: skip
    return render(request, "maps/department.html", {
        **context, "department": department, "window": window, "trend": charts.trend(points),
        "trend_rows": points, "quiet": quiet, "quiet_url": reverse("map"),
    })  # fmt: skip
