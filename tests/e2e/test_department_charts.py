"""A department page a person can read, on a desktop and on a phone: the charts draw the top
request types with every label whole inside its chart, the page does not scroll sideways, and
"show all" draws the rest without any script of the page's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from playwright.sync_api import Page, ViewportSize, expect

from civicstat.cases.models import Department, Service
from civicstat.maps.charts import TOP
from civicstat.performance.demo import demo_measures_load
from tests.e2e.browser import ARTIFACTS, PHONE, axe_report

pytestmark = pytest.mark.e2e

WIDE: ViewportSize = {"width": 1366, "height": 900}
MEASURE = "property-violations-closed-within-target"

# Each chart's text (axis labels, titles, legend) that lies outside its SVG, which is cut off.
CLIPPED = """() => [...document.querySelectorAll('.chart svg')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left - box.left, right: box.right - r.right,
            top: r.top - box.top, bottom: box.bottom - r.bottom};
  }).filter(r => Math.min(r.left, r.right, r.top, r.bottom) < -1);
})"""
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(
    e.getBoundingClientRect().right) + ' ' + (e.textContent || '').trim().slice(0, 40))"""
# Bars of the opened-and-resolved chart: how many rows it draws, how wide its plot is.
PLOT = """() => {
  const svg = document.querySelector('[data-vega-spec="chart-or"] svg');
  const bars = [...svg.querySelectorAll('.mark-rect path')];
  return {bars: bars.length, plot: Math.max(...bars.map(b => b.getBoundingClientRect().right))
          - Math.min(...bars.map(b => b.getBoundingClientRect().left))};
}"""


def _busiest() -> Department:
    dept = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert dept is not None
    return dept


@pytest.mark.parametrize(("viewport", "name"), [(WIDE, "1366"), (PHONE, "390")])
def test_a_department_page_reads_on_a_desktop_and_a_phone(
    axe_page: Page, live_server: Any, kc_cases: None, viewport: ViewportSize, name: str,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    page = axe_page
    dept = _busiest()
    types = Service.objects.filter(department=dept, cases__isnull=False).distinct().count()
    assert types > TOP
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/departments/{dept.slug}?period=all")
    charts = page.locator(".chart svg")
    expect(charts).to_have_count(4)  # over time, opened and resolved, medians, backlog
    page.wait_for_function("document.querySelectorAll('.chart svg .mark-rect path').length > 0")

    assert page.evaluate(CLIPPED) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page scrolls sideways: {page.evaluate(WIDEST)}"
    drawn = page.evaluate(PLOT)
    assert drawn["bars"] == 2 * TOP  # opened and resolved for each of the top 10
    assert drawn["plot"] >= viewport["width"] * 0.35, drawn  # the bars have room, labels or not
    for chart in page.locator(".chart").all():
        box = chart.bounding_box()
        assert box and box["height"] < 900, "a chart taller than a screen"
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    screenshot(page, f"department-{name}")
    for number, block in enumerate(page.locator("section.chart-block").all()):
        block.screenshot(path=ARTIFACTS / f"department-{name}-chart{number}.png")

    page.get_by_role("link", name="Show all request types in the charts").click()
    page.wait_for_function("document.querySelectorAll('.chart svg .mark-rect path').length > 0")
    rows = page.get_by_role("region", name="Opened and resolved, table").locator("tbody tr")
    assert rows.count() >= types  # every type (and the cases of none), charted and tabled
    assert page.evaluate(PLOT)["bars"] == 2 * rows.count()
    assert page.evaluate(CLIPPED) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    expect(page.get_by_role("link", name=f"Show only the top {TOP}")).to_be_visible()
    screenshot(page, f"department-all-{name}")

    # The departments compared: the same charts, one row per department.
    page.goto(f"{live_server.url}/departments?period=all")
    page.wait_for_function("document.querySelectorAll('.chart svg .mark-rect path').length > 0")
    assert page.evaluate(CLIPPED) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    screenshot(page, f"departments-{name}")


@pytest.fixture
def kc_measures(kc_cases: None) -> None:
    assert demo_measures_load() == 10


@pytest.mark.parametrize(("viewport", "name"), [(WIDE, "1366"), (PHONE, "390")])
def test_sparklines_load_no_chart_script(
    axe_page: Page, live_server: Any, kc_measures: None, viewport: ViewportSize, name: str,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    """The index and an embedded card (sparkline only) fetch no chart bundle; a measure page
    does, for its real chart, and its card's sparkline is drawn before any script runs."""
    page = axe_page
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/performance")
    expect(page.locator("ul.areas > li")).to_have_count(6)
    screenshot(page, f"performance-{name}")
    page.goto(f"{live_server.url}/performance/measures/{MEASURE}/embed/card/")
    expect(page.locator(".sparkline svg polyline").first).to_be_visible()
    assert not [s for s in scripts if "charts" in s], scripts
    screenshot(page, f"performance-card-{name}")

    page.goto(f"{live_server.url}/performance/measures/{MEASURE}/")
    expect(page.locator(".chart svg")).to_be_visible()
    expect(page.locator(".sparkline svg polyline").first).to_be_visible()
    assert [s for s in scripts if "charts" in s]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    screenshot(page, f"performance-measure-{name}")
    page.locator(".chart").screenshot(path=ARTIFACTS / f"performance-measure-{name}-chart.png")
