"""The public map, list, case, department and embed pages in a real browser, on the KC slice: a
resident filters and follows cases, a department builds an embed and another site frames it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from playwright.sync_api import Page, expect

from civicstat.cases.models import Case, Department
from tests.e2e.browser import axe_report

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _few_points(settings: Any) -> None:
    """The KC slice has 1,000 cases: a lower points limit makes the whole city show clusters."""
    settings.MAP_POINTS_LIMIT = 100


def _busiest() -> Department:
    dept = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert dept is not None
    return dept


def _count(page: Page) -> int:
    return int(page.locator("#match-count").inner_text().replace(",", ""))


def test_filtering_the_map_by_department_changes_the_count_and_the_clusters(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/map")
    assert _count(page) == Case.objects.count()
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-kind", "clusters")
    expect(page.locator(".leaflet-marker-icon.cluster").first).to_be_visible()
    everything = int(map_el.get_attribute("data-in-view") or 0)

    dept = _busiest()
    page.get_by_label("Department").select_option(dept.slug)
    page.get_by_role("button", name="Show cases").click()

    expect(page).to_have_url(re.compile(rf"/map\?.*department={dept.slug}"))
    wanted = Case.objects.filter(department=dept).count()
    expect(page.locator("#match-count")).to_have_text(f"{wanted:,}")
    expect(map_el).not_to_have_attribute("data-in-view", str(everything))
    located = Case.objects.filter(department=dept, h3_cell__isnull=False).count()
    expect(page.locator(".map-status")).to_contain_text(f"{located:,} cases in view")


def test_zooming_in_shows_single_cases_and_one_opens_its_page(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    # A case alone at its point: where one address holds dozens (the slice's busiest), the list
    # under the map names the first 50 only and the list view has the rest.
    closed = Case.objects.filter(h3_cell__isnull=False, status_group="closed").order_by("id")
    case = next(c for c in closed if Case.objects.filter(lat=c.lat, lon=c.lon).count() == 1)
    page.goto(f"{live_server.url}/map#17/{case.lat}/{case.lon}")

    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    in_view = page.get_by_role("region", name="Cases in view")
    link = in_view.get_by_role("link", name=f"#{case.external_id}")
    expect(link).to_be_visible()
    pin = page.locator(".leaflet-marker-icon.pin").first
    expect(pin).to_have_attribute("aria-label", re.compile(r".+, opened \d{4}-\d\d-\d\d"))
    link.click()

    expect(page).to_have_url(live_server.url + case.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{case.external_id}")
    expect(page.get_by_text("Days open")).to_be_visible()
    expect(page.locator("ol.timeline > li")).to_have_count(case.events.count())


def test_the_list_view_shows_the_same_cases_sorted_and_paged(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/map?status=closed")
    page.get_by_role("link", name="List view", exact=True).click()
    expect(page).to_have_url(live_server.url + "/map/list?status=closed")
    closed_cases = Case.objects.filter(status_group="closed")
    expect(page.locator("#match-count")).to_have_text(f"{closed_cases.count():,}")

    page.get_by_label("Sort by").select_option("opened")
    page.get_by_role("button", name="Sort").click()
    oldest = closed_cases.order_by("requested_at", "id").first()
    assert oldest is not None
    first_row = page.locator("table.cases tbody tr").first
    expect(first_row).to_contain_text(f"#{oldest.external_id}")
    expect(page.locator("table.cases tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("table.cases tbody tr").first).not_to_contain_text(f"#{oldest.external_id}")
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2 of")


def test_a_department_builds_an_embed_and_another_site_frames_it(
    page: Page, live_server: Any, kc_cases: None, other_site: Callable[[str], str]
) -> None:
    dept = _busiest()
    page.goto(live_server.url + "/embed/new")
    page.get_by_label("Department").select_option(dept.slug)
    page.get_by_label("Open only").check()
    snippet = page.get_by_label("Copy this into your page's HTML")
    expect(snippet).to_have_value(re.compile(rf"department={dept.slug}&amp;status=open"))
    preview = page.frame_locator("#embed-preview")
    wanted = Case.objects.filter(department=dept, status_group="open").count()
    expect(preview.locator("#match-count")).to_have_text(f"{wanted:,}")

    src = snippet.input_value().split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    path = src[src.index("/embed/map") :]
    url = other_site(
        "<!doctype html><html lang='en'><head><title>Water news</title></head><body>"
        f"<h1>Our work</h1><iframe src='{live_server.url}{path}' title='Map' width='900' "
        "height='600'></iframe></body></html>"
    )
    page.goto(url)
    framed = page.frame_locator("iframe")
    expect(framed.locator("#match-count")).to_have_text(f"{wanted:,}")
    located = Case.objects.filter(department=dept, status_group="open", h3_cell__isnull=False)
    expect(framed.locator("#map")).to_have_attribute("data-in-view", str(located.count()))
    expect(framed.locator(".leaflet-marker-icon").first).to_be_visible()
    expect(framed.get_by_role("link", name="View on the city site")).to_be_visible()


def test_the_department_comparison_sorts_by_a_column(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/departments?period=all")
    table = page.locator("#departments-table")
    expect(page.locator(".chart svg, .chart canvas").first).to_be_visible()
    opened = table.get_by_role("button", name=re.compile(r"^Opened( [▲▼])?$"))
    opened.click()
    expect(table.locator("th[aria-sort=ascending]")).to_have_text("Opened")
    opened.click()
    expect(table.locator("th[aria-sort=descending]")).to_have_count(1)
    busiest = _busiest()
    expect(table.locator("tbody tr").first).to_contain_text(busiest.name)


@pytest.mark.parametrize("which", ["map", "list", "case", "departments", "department", "embed-new"])
def test_the_map_pages_have_no_wcag_21_aa_violations(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    which: str,
) -> None:
    case = Case.objects.filter(status_group="closed").order_by("-requested_at").first()
    assert case is not None
    path = {
        "map": "/map",
        "list": "/map/list",
        "case": case.get_absolute_url(),
        "departments": "/departments?period=all",
        "department": f"/departments/{_busiest().slug}?period=all",
        "embed-new": "/embed/new",
    }[which]
    axe_page.goto(live_server.url + path)
    if which == "map":
        expect(axe_page.locator("#map")).to_have_attribute("data-kind", "clusters")
    if which.startswith("department"):
        expect(axe_page.locator(".chart svg, .chart canvas").first).to_be_visible()
    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_screenshots_of_the_map_a_case_and_the_departments(
    page: Page, live_server: Any, kc_cases: None, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(live_server.url + "/map")
    expect(page.locator("#map")).to_have_attribute("data-kind", "clusters")
    assert screenshot(page, "map").stat().st_size > 20_000
    case = Case.objects.filter(status_group="closed").order_by("-requested_at").first()
    assert case is not None
    page.goto(f"{live_server.url}/map#17/{case.lat}/{case.lon}")
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    screenshot(page, "map-zoomed")
    page.goto(live_server.url + case.get_absolute_url())
    assert screenshot(page, "case-page").stat().st_size > 10_000
    page.goto(live_server.url + "/departments?period=all")
    expect(page.locator(".chart svg, .chart canvas").first).to_be_visible()
    assert screenshot(page, "departments").stat().st_size > 20_000


def test_the_cases_in_view_list_stops_at_50_and_leads_to_the_list_view(
    page: Page, live_server: Any, kc_cases: None, settings: Any
) -> None:
    """Every case of the city as a single pin: the list under the map names the 50 nearest its
    centre and says how many are in view, rather than making the page tens of thousands of
    pixels tall."""
    settings.MAP_POINTS_LIMIT = 100_000
    page.goto(live_server.url + "/map")
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    in_view = int(page.locator("#map").get_attribute("data-in-view") or 0)
    assert in_view > 50
    region = page.get_by_role("region", name="Cases in view")
    expect(region.locator("ol > li")).to_have_count(50)
    expect(region).to_contain_text(
        f"The 50 of the {in_view:,} cases in view nearest the map's centre are listed."
    )
    assert page.evaluate("document.documentElement.scrollHeight") < 8000
    region.get_by_role("link", name="every matching case in the list view").click()
    expect(page).to_have_url(re.compile(r"/map/list$"))
