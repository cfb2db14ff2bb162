"""The performance pages in a real browser, as a resident uses them: from the priority areas down
to a measure, its chart and its CSV; embeds framed by another page; axe-core on every page;
screenshots at phone and desktop widths in tests/e2e/artifacts/."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.performance.demo import demo_measures_load
from civicstat.performance.models import Measure, MeasureValue
from tests.e2e.browser import DESKTOP, PHONE, axe_report

pytestmark = pytest.mark.e2e

MEASURE = "property-violations-closed-within-target"


@pytest.fixture
def kc_measures(kc_cases: None) -> None:
    """The KC demo's priority areas and measures, computed from the imported slice."""
    assert demo_measures_load() == 10  # and the 102 survey items


def test_a_resident_drills_from_the_areas_to_a_measure_and_downloads_its_values(
    page: Page, live_server: Any, kc_measures: None
) -> None:
    page.goto(live_server.url + "/performance")
    expect(page.get_by_role("link", name="Performance")).to_have_attribute("aria-current", "page")
    expect(page.locator("ul.areas > li")).to_have_count(6)
    page.get_by_role("link", name="Neighborhood livability").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Neighborhood livability")
    page.get_by_role("link", name="Enforce property maintenance codes").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enforce property maintenance codes")
    page.get_by_role("link", name="Violations within 60 days").click()

    measure = Measure.objects.get(slug=MEASURE)
    expect(page.get_by_role("heading", level=1)).to_have_text(measure.title)
    expect(page.locator(".chart svg")).to_be_visible()  # Vega-Lite drew under the strict CSP
    expect(page.locator(".sparkline svg")).to_be_visible()
    expect(page.locator("#values-caption + thead + tbody > tr")).to_have_count(
        measure.values.count()
    )
    expect(page.get_by_role("heading", name="Methods")).to_be_visible()

    with page.expect_download() as caught:
        page.get_by_role("link", name="Values (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    assert len(rows) == measure.values.count()
    latest = measure.values.exclude(value=None).order_by("period_start").last()
    assert latest is not None
    assert (
        float(rows[-1]["value"] or "nan") == pytest.approx(latest.value) or rows[-1]["value"] == ""
    )


def test_another_site_can_frame_the_card_and_the_chart(
    page: Page, live_server: Any, kc_measures: None, other_site: Callable[[str], str]
) -> None:
    base = f"{live_server.url}/performance/measures/{MEASURE}/embed"
    # One embed per page: once, under heavy load on SQLite, the chart answered 404 while the card
    # loaded beside it (cause not found); loading them one after the other avoids the race.
    page.goto(other_site(
        "<!doctype html><title>A neighbourhood blog</title>"
        f'<iframe title="card" src="{base}/card/" width="340" height="320"></iframe>'
    ))  # fmt: skip
    card = page.frame_locator('iframe[title="card"]')
    expect(card.locator(".metric-card .big")).not_to_be_empty()
    page.goto(other_site(
        "<!doctype html><title>A neighbourhood blog</title>"
        f'<iframe title="chart" src="{base}/chart/" width="640" height="420"></iframe>'
    ))  # fmt: skip
    chart = page.frame_locator('iframe[title="chart"]')
    expect(chart.locator(".chart svg")).to_be_visible()


@pytest.mark.parametrize("which", ["index", "area", "goal", "measure", "card", "chart"])
def test_the_performance_pages_have_no_wcag_21_aa_violations(
    axe_page: Page, live_server: Any, kc_measures: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]], which: str,
) -> None:  # fmt: skip
    measure = Measure.objects.select_related("goal__area").get(slug=MEASURE)
    path = {
        "index": "/performance", "area": measure.goal.area.get_absolute_url(),
        "goal": measure.goal.get_absolute_url(), "measure": measure.get_absolute_url(),
        "card": f"/performance/measures/{MEASURE}/embed/card/",
        "chart": f"/performance/measures/{MEASURE}/embed/chart/",
    }[which]  # fmt: skip
    axe_page.goto(live_server.url + path)
    if which in ("measure", "chart"):
        expect(axe_page.locator(".chart svg")).to_be_visible()
    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_screenshots_of_the_performance_pages_at_phone_and_desktop_widths(
    page: Page, live_server: Any, kc_measures: None, screenshot: Callable[[Page, str], Path]
) -> None:
    measure = Measure.objects.select_related("goal__area").get(slug=MEASURE)
    pages = (
        ("performance", "/performance"),
        ("performance-area", measure.goal.area.get_absolute_url()),
        ("performance-measure", measure.get_absolute_url()),
        ("performance-embed-card", f"/performance/measures/{MEASURE}/embed/card/"),
    )
    for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        for name, path in pages:
            page.goto(live_server.url + path)
            if name == "performance-measure":
                expect(page.locator(".chart svg")).to_be_visible()
            shot = screenshot(page, f"{name}-{width}")
            assert shot.stat().st_size > 10_000, f"{shot} looks empty"


# -- Partial periods: the month the data ends in is shown, marked, and never scored -----------


def _partial_measure() -> str:
    """A monthly measure whose last month is partial: which one depends on where the slice's
    layers end (a month the data ends on the last day of is complete, not partial)."""
    slug = (
        MeasureValue.objects.filter(partial=True, measure__period="month")
        .order_by("measure__slug").values_list("measure__slug", flat=True).first()
    )  # fmt: skip
    assert slug, "no demo measure has a partial month"
    return slug


@pytest.mark.parametrize("which", ["measure", "card", "chart", "area"])
def test_the_partial_period_is_marked_on_cards_charts_and_tables_without_wcag_violations(
    axe_page: Page, live_server: Any, kc_measures: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]], which: str,
) -> None:  # fmt: skip
    count_measure = _partial_measure()
    measure = Measure.objects.select_related("goal__area").get(slug=count_measure)
    partial = measure.values.get(partial=True)
    label = partial.period_start.strftime("%b %Y")
    path = {
        "measure": measure.get_absolute_url(), "area": measure.goal.area.get_absolute_url(),
        "card": f"/performance/measures/{count_measure}/embed/card/",
        "chart": f"/performance/measures/{count_measure}/embed/chart/",
    }[which]  # fmt: skip
    axe_page.goto(live_server.url + path)
    if which in ("measure", "card"):
        line = axe_page.locator(".metric-card .partial-line")
        expect(line).to_contain_text(f"{label} so far")
        expect(line).to_contain_text("Not scored")
        # The headline and the status are the latest complete month's, not the partial one's.
        complete = measure.values.filter(partial=False).exclude(value=None).last()
        assert complete is not None
        expect(axe_page.locator(".metric-card .big")).to_have_text(f"{complete.value:,.0f}")
    if which in ("measure", "chart"):
        expect(axe_page.locator(".chart svg")).to_be_visible()
        row = axe_page.locator("#values-caption + thead + tbody > tr").first
        expect(row.locator("th")).to_contain_text(f"{label} Partial")
        expect(row.locator("td").last).to_have_text("Partial (not scored)")
        # The chart's legend names the partial point's colour.
        expect(axe_page.locator(".chart svg")).to_contain_text("Partial (not scored)")
    if which == "area":
        expect(axe_page.get_by_text(f"{label} so far")).to_be_visible()
    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_screenshots_of_partial_periods_at_1366_and_390(
    page: Page, live_server: Any, kc_measures: None
) -> None:
    """For people to look at: /performance and a measure with a partial month, both widths."""
    shots = Path("/tmp/shots-periods")
    shots.mkdir(exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("performance", "/performance"),
                           ("measure", f"/performance/measures/{_partial_measure()}/"),
                           ("area", "/performance/areas/neighborhood-livability/")):  # fmt: skip
            page.goto(live_server.url + path)
            if name == "measure":
                expect(page.locator(".chart svg")).to_be_visible()
            page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
            # Nothing of the page's content runs off the side at phone width. (The site header's
            # navigation is left out: it overflows at 390 px on main, a site-wide matter.)
            wide = page.evaluate(
                "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect()"
                ".right > document.documentElement.clientWidth + 1"
                " && !e.closest('.table-scroll, .table-wide'))"
                ".map(e => e.tagName + '.' + e.className)"
            )
            assert not wide, (name, width, wide)
