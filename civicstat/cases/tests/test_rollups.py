"""Rollups give the same figures as counting the cases themselves."""

from __future__ import annotations

import statistics
from datetime import date

import pytest

from civicstat.cases.models import Area, Case, Department, Service
from civicstat.cases.query import CaseFilter, FilterError, cases, rollup_rows
from civicstat.cases.stats import layer_totals, median_days_to_close, opened_closed

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def exact_median_days(f):
    durations = [
        max(0.0, (closed - opened).total_seconds()) / 86400
        for opened, closed in cases(f)
        .filter(status_group="closed", closed_at__isnull=False)
        .values_list("requested_at", "closed_at")
    ]
    return statistics.median(durations) if durations else None


def assert_close(estimate: float | None, exact: float | None, f: object = None) -> None:
    if exact is None:
        assert estimate is None
        return
    assert estimate is not None
    # Within 2 %; a median of zero days (same-day closes) must read back as zero.
    assert abs(estimate - exact) <= 0.02 * exact + 1e-9, (estimate, exact, f)


def filters_to_check() -> list[CaseFilter]:
    departments = [[d] for d in Department.objects.values_list("slug", flat=True)]
    district = Area.objects.get(kind="council-district", name="District 3")
    neighborhood = Area.objects.get(kind="neighborhood", name="Longfellow")
    groups = list(Service.objects.values_list("group", flat=True).distinct()[:5])
    return [
        CaseFilter(),
        *(CaseFilter(departments=d) for d in departments),
        CaseFilter(areas=[district.id]),
        CaseFilter(areas=[neighborhood.id], status_group="closed"),
        CaseFilter(service_groups=groups),
        CaseFilter(
            layers=["code-violations"],
            requested_from=date(2015, 1, 1),
            requested_to=date(2016, 6, 30),
        ),  # fmt: skip
        CaseFilter(status_group="open"),
    ]


def test_opened_and_closed_counts_equal_the_cases_counted(imported):
    for f in filters_to_check():
        opened, closed = opened_closed(f)
        assert opened == cases(f).count(), f
        if not (f.requested_from or f.requested_to):
            exact_closed = cases(f).filter(status_group="closed", closed_at__isnull=False).count()
            assert closed == exact_closed, f


def test_medians_from_the_histograms_are_within_two_percent_of_the_exact_ones(imported):
    checked = 0
    for f in filters_to_check():
        if f.requested_from:
            continue  # histograms are keyed by the day of closing, not of opening
        assert_close(median_days_to_close(f), exact_median_days(f), f)
        checked += 1
    assert checked >= 8


def test_layer_totals_split_open_and_closed_like_the_cases(imported):
    totals = {t.layer.slug: t for t in layer_totals()}
    for slug, t in totals.items():
        assert t.open == Case.objects.filter(layer__slug=slug, status_group="open").count()
        assert t.closed == Case.objects.filter(layer__slug=slug, status_group="closed").count()
    assert sum(t.total for t in totals.values()) == 10_000


def test_private_services_are_left_out_of_rollup_figures_too(imported):
    top = Case.objects.values_list("service", flat=True).first()
    Service.objects.filter(id=top).update(private=True)
    hidden = Case.objects.filter(service_id=top).count()
    assert hidden > 0
    assert opened_closed(CaseFilter())[0] == 10_000 - hidden
    assert opened_closed(CaseFilter(include_private=True))[0] == 10_000


def test_rollups_refuse_filters_they_cannot_answer(imported):
    with pytest.raises(FilterError, match="need the cases table"):
        list(rollup_rows(CaseFilter(text="pothole")))
