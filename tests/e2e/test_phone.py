"""Every page on a phone (issue 17): no page scrolls sideways at 320 or 390 px (nor on a laptop),
the main menu folds behind a button that works by keyboard (and stays whole without JavaScript),
the map comes first with its filters in a panel, and the list view has the map's filters and a
keyword search. axe-core (WCAG 2.2 AA, target size included) finds nothing on the pages changed.

The sweep's pages are tests/test_hostile_input.py's ROUTES (every public URL pattern), filled
from the KC slice and its demo measures; what is not a page (APIs, feeds, downloads) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db.models import Count
from playwright.sync_api import Browser, Page, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError

from civicstat.alerts import services as alert_services
from civicstat.alerts import tokens
from civicstat.alerts.models import SubscriptionKind
from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Case, Department, Service
from civicstat.performance.demo import demo_measures_load
from civicstat.performance.models import Measure, Survey
from tests.e2e.browser import ARTIFACTS, PHONE, axe_report
from tests.test_hostile_input import ROUTES

pytestmark = pytest.mark.e2e

WIDTHS = (320, 390, 1366)
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
# Not pages: data, feeds and downloads (a browser would save them, not show them).
NOT_PAGES = re.compile(r"^/(open311|resource|api/(?!v1/docs$))|\.(json|csv|geojson|yaml|xml|rss)$"
                       r"|^/alerts/feed")  # fmt: skip
# Each must be among the pages swept: a route renamed must not drop out of the sweep unseen.
MUST_SWEEP = {
    "/", "/map", "/map/list", "/departments", "/performance", "/alerts", "/data",
    "/api/v1/docs", "/embed/map", "/embed/new",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _few_points(settings: Any) -> None:
    settings.MAP_POINTS_LIMIT = 100  # as tests/e2e/test_map.py: the whole city shows clusters
    settings.RATELIMIT_ENABLE = False  # the sweep asks for many pages at once


@pytest.fixture
def kc_city(kc_cases: None) -> dict[str, str]:
    """The KC slice, its demo measures and survey, and an alert: values for every route."""
    demo_measures_load()
    case = Case.objects.exclude(address="").select_related("layer").order_by("-requested_at")[0]
    measure = Measure.objects.select_related("goal__area").order_by("slug")[0]
    survey = Survey.objects.order_by("slug")[0]
    sub = alert_services.subscription_create(
        email="bob@example.org", kind=SubscriptionKind.RADIUS, lat=case.lat, lon=case.lon,
        radius_m=500)  # fmt: skip
    alert_services.subscription_confirm(subscription=sub)
    return {
        "layer": case.layer.slug, "external_id": case.external_id,
        "department": _busiest().slug, "case_id": str(case.id),
        "confirm_token": tokens.confirm_token(sub.id),
        "unsubscribe_token": tokens.unsubscribe_token(sub.id),
        "manage_token": tokens.manage_token(sub.subscriber_id), "subscription": str(sub.id),
        "priority_area": measure.goal.area.slug, "goal": measure.goal.slug,
        "measure": measure.slug, "survey": survey.slug,
        "dataset_id": default_identifier(case.layer.slug),
    }  # fmt: skip


def _busiest() -> Department:
    dept = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert dept is not None
    return dept


def _pages(values: dict[str, str]) -> list[str]:
    """Every route that is a page, filled in, and a few query strings that take other paths."""
    urls = []
    for route in ROUTES.values():
        if NOT_PAGES.search(route.url.split("{", 1)[0]) or NOT_PAGES.search(route.url):
            continue
        urls.append(route.url.format(**values))
    case = Case.objects.get(id=values["case_id"])
    urls += ["/map/list?q=" + case.external_id, "/map?status=open", "/embed/map?list=1",
             "/map/list?sort=-closed&page=2"]  # fmt: skip
    return urls


def _shots(screenshot: Callable[[Page, str], Path], page: Page, name: str) -> None:
    """The whole page, and what the first screen shows (NAME-screen.png)."""
    screenshot(page, name)
    page.screenshot(path=ARTIFACTS / f"{name}-screen.png")


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways, in px (0: it fits)."""
    return int(page.evaluate("() => document.scrollingElement.scrollWidth"
                             " - document.documentElement.clientWidth"))  # fmt: skip


def _open(page: Page, url: str) -> Any:
    """The page's response, or None if it cannot be shown. Chromium turns an empty error answer
    into a navigation to its own error page, which interrupts whatever navigation comes next
    (every page after a POST-only address failed, on a fast machine): so after a failure the tab
    goes to about:blank, and the address is tried once more."""
    for _ in range(2):
        try:
            return page.goto(url)
        except PlaywrightError:
            _blank(page)
    return None


def _blank(page: Page) -> None:
    """about:blank, once Chromium's own error page (which may still be on its way) has gone."""
    for _ in range(10):
        try:
            page.goto("about:blank")
            return
        except PlaywrightError:  # interrupted by the error page: wait for it, then leave it
            page.wait_for_timeout(100)
    raise AssertionError("the tab stayed on an error page")


def test_no_page_scrolls_sideways_on_a_phone_or_a_laptop(
    page: Page, live_server: Any, kc_city: dict[str, str]
) -> None:
    swept, too_wide = [], []
    for url in _pages(kc_city):
        page.set_viewport_size(LAPTOP)
        response = _open(page, live_server.url + url)
        if response is None:  # a POST-only address answers a GET with an empty 405
            continue
        if response.status != 200 or "text/html" not in response.headers["content-type"]:
            continue
        swept.append(url)
        for width in WIDTHS:
            page.set_viewport_size(ViewportSize(width=width, height=800))
            page.wait_for_timeout(50)  # a resize lays out again before the next frame
            if (over := _sideways(page)) > 0:
                wide = page.evaluate(
                    """(w) => [...document.querySelectorAll("body *")]
                        .filter(e => e.getBoundingClientRect().right > w + 0.5)
                        .slice(0, 3).map(e => e.tagName + "." + e.className + " " +
                                         Math.round(e.getBoundingClientRect().right))""",
                    width,
                )
                too_wide.append(f"{url} at {width} px: {over} px too wide ({wide})")
    # The measure itself: a page made too wide is seen as too wide.
    page.evaluate("() => document.querySelector('main').append(Object.assign("
                  "document.createElement('div'), {textContent: 'x'.repeat(400)}))")  # fmt: skip
    assert _sideways(page) > 0
    assert {u.split("?")[0] for u in swept} >= MUST_SWEEP, sorted(swept)
    assert len(swept) >= 20, swept
    assert not too_wide, "pages that scroll sideways:\n" + "\n".join(too_wide)


def test_the_menu_folds_on_a_phone_and_opens_by_keyboard(
    page: Page, live_server: Any, kc_cases: None, screenshot: Callable[[Page, str], Path]
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/departments")
    button = page.get_by_role("button", name="Menu")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(links.first).to_be_hidden()
    for _ in range(5):  # skip link, brand, then the button
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('nav-toggle')"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(links).to_have_count(6)
    for i in range(6):
        expect(links.nth(i)).to_be_visible()
    page.screenshot(path=ARTIFACTS / "phone-nav-390-open-screen.png")
    page.keyboard.press("Tab")
    expect(links.first).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(links.first).to_be_hidden()
    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Performance").click()
    expect(page).to_have_url(re.compile(r"/performance$"))

    page.set_viewport_size(LAPTOP)  # a laptop: no button, every link in a row
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    for i in range(6):
        expect(links.nth(i)).to_be_visible()


def test_without_javascript_the_phone_menu_shows_every_link_stacked(
    browser: Browser, live_server: Any, kc_cases: None
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/map")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link")).to_have_count(6)
        boxes = [nav.get_by_role("link").nth(i).bounding_box() for i in range(6)]
        assert all(b is not None and b["height"] >= 24 for b in boxes)
        assert len({round(b["y"]) for b in boxes if b}) == 6  # one link a row
        expect(page.locator(".nav-toggle")).to_be_hidden()
        assert _sideways(page) == 0
        # The filters are there too, open, and the form still works.
        expect(page.get_by_label("Department")).to_be_visible()
    finally:
        context.close()


def test_on_a_phone_the_map_comes_first_and_the_filters_open_in_a_panel(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = axe_page
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/map")
    expect(page.locator(".leaflet-marker-icon").first).to_be_visible()
    top = page.locator("#map").bounding_box()
    assert top is not None and top["y"] < 500, f"the map starts {top} down"
    summary = page.locator(".filter-panel > summary")
    expect(page.get_by_label("Department")).to_be_hidden()
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shots(screenshot, page, "phone-map-390-panel-closed")

    summary.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Department")).to_be_visible()
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shots(screenshot, page, "phone-map-390-panel-open")
    dept = _busiest()
    page.get_by_label("Department").select_option(dept.slug)
    page.get_by_role("button", name="Show cases").click()
    expect(page).to_have_url(re.compile(rf"department={dept.slug}"))
    wanted = Case.objects.filter(department=dept).count()
    expect(page.locator("#match-count")).to_have_text(f"{wanted:,}")

    page.set_viewport_size(LAPTOP)  # on a laptop the panel is open beside the map
    page.goto(live_server.url + "/map")
    expect(page.get_by_label("Department")).to_be_visible()
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shots(screenshot, page, "phone-map-1366")


def test_pins_and_controls_are_at_least_24_px(
    axe_page: Page, live_server: Any, kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
) -> None:  # fmt: skip
    page = axe_page
    page.set_viewport_size(PHONE)
    case = Case.objects.exclude(lat=None).order_by("-requested_at")[0]
    page.goto(f"{live_server.url}/map#18/{case.public_lat}/{case.public_lon}")
    pin = page.locator(".leaflet-marker-icon.pin").first
    expect(pin).to_be_visible()
    box = pin.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, box
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        "main select, main button:not([hidden]), main input:not([type=hidden]), summary")]
        .filter(e => e.offsetParent).map(e => [e.id || e.className || e.tagName,
        e.getBoundingClientRect().width, e.getBoundingClientRect().height])""")
    small = [s for s in sizes if s[1] < 24 or s[2] < 24]
    assert sizes and not small, small
    violations = axe_violations(page)
    assert not violations, axe_report(violations)


def test_the_request_types_are_grouped_and_a_text_box_narrows_them(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/map/list")
    select = page.locator("#f-service")
    groups = select.locator("optgroup")
    assert groups.count() > 3
    every = select.locator("option").count()
    service = Service.objects.filter(cases__isnull=False).exclude(group="").order_by("name")[0]
    assert groups.locator(f'xpath=self::*[@label="{service.group}"]').count() == 1
    find = page.get_by_label("Find a request type")
    find.fill(service.name)
    status = page.locator(".service-find-status")
    expect(status).to_contain_text("request types match")
    left = select.locator("option").count()
    assert 1 < left < every  # "All request types" and the matches
    find.fill("zz no such type zz")
    expect(status).to_have_text(f"0 of {every - 1} request types match")
    find.fill(service.name)
    # Enter in the box moves to the list and, if one type is left, picks it; it sends nothing.
    find.press("Enter")
    expect(select).to_be_focused()
    expect(page).to_have_url(re.compile(r"/map/list$"))
    select.select_option(service.code)
    page.get_by_role("button", name="Show cases").click()
    expect(page).to_have_url(re.compile(re.escape(urlencode({"service": service.code}))))
    wanted = Case.objects.filter(service=service).count()
    expect(page.locator("#match-count")).to_have_text(f"{wanted:,}")


def test_the_list_has_the_maps_filters_and_a_keyword_search(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = axe_page
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + "/map/list")
    # The case number finds its one case.
    case = Case.objects.exclude(address="").order_by("-requested_at")[7]
    page.get_by_label("Search cases").fill(case.external_id)
    page.get_by_role("button", name="Show cases").click()
    expect(page).to_have_url(re.compile(rf"q={case.external_id}"))
    expect(page.locator("#match-count")).to_have_text("1")
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    expect(page.locator("table.cases tbody")).to_contain_text(case.external_id)

    # An address and a status: the filters and the search together, paged.
    street = " ".join(case.address.split()[1:])  # "TRACY AVE" of "4403 TRACY AVE"
    page.get_by_label("Search cases").fill(street.lower())
    page.get_by_label("Open only").check()
    page.get_by_role("button", name="Show cases").click()
    wanted = Case.objects.filter(address__icontains=street, status_group="open").count()
    if not wanted:  # the newest cases were closed since: closed ones then
        page.get_by_label("Open and closed").check()
        page.get_by_role("button", name="Show cases").click()
        wanted = Case.objects.filter(address__icontains=street).count()
    expect(page.locator("#match-count")).to_have_text(f"{wanted:,}")
    for address in page.locator("table.cases tbody td:nth-child(4)").all_inner_texts():
        assert street.lower() in address.lower()
    expect(page.get_by_label("Search cases")).to_have_value(street.lower())
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shots(screenshot, page, "phone-list-1366-search")

    # Paging keeps the search: every KC case of the busiest department's name word, page 2.
    page.goto(live_server.url + "/map/list?q=" + "property")
    total = int(page.locator("#match-count").inner_text().replace(",", ""))
    assert total > 50
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"q=property.*page=2"))
    expect(page.get_by_label("Search cases")).to_have_value("property")
    expect(page.locator("#match-count")).to_have_text(f"{total:,}")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/map/list?q={street.replace(' ', '+')}")
    expect(page.get_by_label("Search cases")).to_be_hidden()  # the panel starts closed
    page.locator(".filter-panel > summary").click()
    expect(page.get_by_label("Search cases")).to_have_value(street)
    assert _sideways(page) == 0
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shots(screenshot, page, "phone-list-390-search")

    # Bad input is a page that says so, never a server error.
    for bad in ("%00", "%ff", "x" * 300, "%27%3B+DROP+TABLE"):
        response = page.goto(f"{live_server.url}/map/list?q={bad}")
        assert response is not None and response.status < 500, bad


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1366"])
def test_home_and_a_department_page_fit_and_pass_axe(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    viewport: Any,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = axe_page
    page.set_viewport_size(viewport)
    width = viewport["width"]
    newest = Case.objects.order_by("-requested_at")[0]
    for name, url in (("home", "/"), ("department", f"/departments/{_busiest().slug}"),
                      ("departments", "/departments"),
                      ("case", newest.get_absolute_url())):  # fmt: skip
        page.goto(live_server.url + url)
        assert _sideways(page) == 0, url
        violations = axe_violations(page)
        assert not violations, f"{url}:\n" + axe_report(violations)
        _shots(screenshot, page, f"phone-{name}-{width}")
