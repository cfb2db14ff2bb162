"""The map keeps still and works by keyboard, in a real browser on the KC slice: a popup opened
near the map's top edge stays open after it pans the map into view; cases at one place open as one
list; Tab goes through the page without being caught in the markers; the legend is on the map;
popups give the city's local time; every case page has a small map (generalised for crimes)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from django.utils import dateformat, timezone
from playwright.sync_api import Page, expect

from civicstat.cases.models import Case
from tests.e2e.browser import ARTIFACTS, axe_report
from tests.e2e.test_crime_layer import crime_cases  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e


def shot(page: Page, name: str, part: str = "") -> Path:
    """A full-page screenshot in tests/e2e/artifacts/ (gitignored), to look at; with `part` (a
    CSS selector) also one of that element alone, NAME-part.png, small enough to read."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if part:
        page.locator(part).first.screenshot(path=ARTIFACTS / f"{name}-part.png")
    return path


@pytest.fixture(autouse=True)
def _few_points(settings: Any) -> None:
    settings.MAP_POINTS_LIMIT = 100


def _alone() -> list[Case]:
    """Located cases that are the only one at their point."""
    located = list(Case.objects.filter(h3_cell__isnull=False).order_by("id"))
    at = Counter((c.public_lat, c.public_lon) for c in located)
    return [c for c in located if at[(c.public_lat, c.public_lon)] == 1]


def _located() -> list[Case]:
    return list(Case.objects.filter(h3_cell__isnull=False).order_by("id"))


def _points(page: Page) -> None:
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")


def _centre(page: Page) -> list[float]:
    c = page.evaluate("(() => { const c = document.getElementById('map').civicstatMap.getCenter();"
                      " return [c.lat, c.lng]; })()")  # fmt: skip
    return [round(c[0], 6), round(c[1], 6)]


def test_a_popup_opened_at_the_top_edge_stays_open_after_it_pans_the_map(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    case = _alone()[0]
    page.goto(f"{live_server.url}/map#17/{case.public_lat}/{case.public_lon}")
    _points(page)
    # Move the case's pin to 20 px under the map's top edge: its popup cannot fit above it.
    height = page.evaluate("document.getElementById('map').clientHeight")
    with page.expect_response(re.compile(r"/map/view\.json")):
        page.evaluate(f"document.getElementById('map').civicstatMap.panBy([0, {height // 2 - 20}],"
                      " {animate: false})")  # fmt: skip
    before = _centre(page)
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 21)
    popup = page.locator(".leaflet-popup")
    expect(popup).to_be_visible()
    page.wait_for_timeout(2500)  # the popup used to vanish within 1.5 s
    expect(popup).to_be_visible()
    assert _centre(page) != before, "the popup did not need to pan the map: the test tests nothing"
    shot(page, "map-popup-1366", ".map-column")


def test_cases_at_one_place_open_as_one_list(page: Page, live_server: Any, kc_cases: None) -> None:
    located = Case.objects.filter(h3_cell__isnull=False)
    at = Counter((c.public_lat, c.public_lon) for c in located)
    (lat, lon), n = next((p, n) for p, n in at.most_common() if 2 <= n <= 20)
    for width, name in ((1366, "1366"), (390, "390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/map#19/{lat}/{lon}")
        _points(page)
        stack = page.get_by_role("button", name=re.compile(rf"^{n} cases at "))
        expect(stack).to_have_count(1)
        stack.click()
        popup = page.locator(".leaflet-popup .stack-popup")
        expect(popup.get_by_role("link", name=re.compile(r"^Case #"))).to_have_count(n)
        shot(page, f"map-stack-popup-{name}", ".map-column")


def test_tab_reaches_the_form_and_the_list_without_being_caught_in_the_markers(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    # A case with a few others within a street or two: several markers to pass by.
    located = [(c.public_lat or 0.0, c.public_lon or 0.0) for c in _located()]

    def near(c: Case) -> int:
        return sum(abs(la - (c.public_lat or 0)) < 0.002 and abs(lo - (c.public_lon or 0)) < 0.003
                   for la, lo in located)  # fmt: skip

    case = next(c for c in _alone() if 3 <= near(c) <= 40)
    page.goto(f"{live_server.url}/map#17/{case.public_lat}/{case.public_lon}")
    _points(page)
    expect(page.locator(".leaflet-marker-icon").nth(1)).to_be_visible()
    page.wait_for_timeout(500)
    seen: list[str] = []
    marker_stops = 0
    centre = _centre(page)
    for _ in range(160):
        page.keyboard.press("Tab")
        what = page.evaluate("""(() => { const a = document.activeElement;
          if (a.classList.contains('leaflet-marker-icon')) return 'marker';
          if (a.closest('.map-filters')) return 'filters';
          if (a.closest('.in-view-list')) return 'in-view';
          if (a.closest('#case-list')) return 'case-list';
          return a.tagName.toLowerCase(); })()""")
        if seen and seen[-1] == "marker":
            assert what != "body", "focus fell to the page after a marker"
        if what == "marker":
            marker_stops += 1
            assert _centre(page) == centre, "focus on a marker moved the map"
        seen.append(what)
        if what == "case-list":
            break
    assert "filters" in seen and "in-view" in seen and "case-list" in seen, " ".join(seen)
    assert marker_stops == 1, f"the markers took {marker_stops} Tab stops"
    assert seen.index("filters") < seen.index("marker") < seen.index("in-view")

    # On a marker, the arrow keys move to the next marker, without moving the map.
    page.locator(".leaflet-marker-icon[tabindex='0']").focus()
    first = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.classList.contains('leaflet-marker-icon')")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") != first
    assert _centre(page) == centre
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup")).to_be_visible()
    page.wait_for_timeout(1500)  # the popup may pan the map into view: the marker keeps focus
    expect(page.locator(".leaflet-popup")).to_be_visible()
    assert page.evaluate("document.activeElement.classList.contains('leaflet-marker-icon')")
    # Closing the popup from its close button gives the focus back to the marker, not the page.
    page.locator(".leaflet-popup-close-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    page.wait_for_timeout(100)
    assert page.evaluate("document.activeElement.classList.contains('leaflet-marker-icon')")


def test_the_legend_is_on_the_map_and_the_pages_pass_axe(
    axe_page: Page, live_server: Any, kc_cases: None, axe_violations: Any
) -> None:
    page = axe_page
    located = Case.objects.filter(h3_cell__isnull=False)
    at = Counter((c.public_lat, c.public_lon) for c in located)
    (lat, lon), n = next((p, n) for p, n in at.most_common() if 2 <= n <= 20)
    page.goto(f"{live_server.url}/map#18/{lat}/{lon}")
    _points(page)
    legend = page.locator("#map .leaflet-control .map-legend")
    expect(legend).to_be_visible()
    expect(legend.get_by_role("listitem")).to_have_count(4)
    page.get_by_role("button", name=re.compile(rf"^{n} cases at ")).click()
    expect(page.locator(".leaflet-popup")).to_be_visible()
    page.wait_for_timeout(500)  # the popup fades in: half-way its links are paler than they are
    assert not (found := axe_violations(page)), axe_report(found)
    case = _alone()[0]
    page.goto(live_server.url + case.get_absolute_url())
    expect(page.locator("#case-map path").first).to_be_attached()
    assert not (found := axe_violations(page)), axe_report(found)


def test_a_popup_gives_the_citys_local_date_and_time(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    # A case opened in the evening in Kansas City: in UTC it is already the next day.
    case = next(c for c in _alone() if timezone.localtime(c.requested_at).date()
                != c.requested_at.astimezone(UTC).date())  # fmt: skip
    local = timezone.localtime(case.requested_at)
    page.goto(f"{live_server.url}/map#18/{case.public_lat}/{case.public_lon}")
    _points(page)
    pin = page.locator(f'.leaflet-marker-icon[aria-label$="opened {local.date().isoformat()}"]')
    expect(pin).to_have_count(1)
    pin.click()
    when = dateformat.format(local, "M j, Y, g:i a")
    expect(page.locator(".leaflet-popup")).to_contain_text(when)


def test_a_case_page_has_a_small_map(page: Page, live_server: Any, kc_cases: None) -> None:
    case = _alone()[0]
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + case.get_absolute_url())
        expect(page.locator("#case-map")).to_be_visible()
        expect(page.locator("#case-map path").first).to_be_attached()
        shot(page, f"case-map-{width}", "main")
    nowhere = Case.objects.filter(public_lat__isnull=True).first()
    if nowhere is not None:
        page.goto(live_server.url + nowhere.get_absolute_url())
        expect(page.get_by_text("No location")).to_be_visible()
        expect(page.locator("#case-map")).to_have_count(0)


@pytest.mark.usefixtures("crime_cases")
def test_a_crime_case_page_maps_only_its_generalised_place(page: Page, live_server: Any) -> None:
    case = Case.objects.filter(layer__sensitive=True, public_lat__isnull=False).first()
    assert case is not None and (case.lat, case.lon) != (case.public_lat, case.public_lon)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + case.get_absolute_url())
        config = json.loads(page.locator("#case-map-config").inner_text())
        assert (config["lat"], config["lon"]) == (case.public_lat, case.public_lon)
        assert config["generalised"] is True
        assert f"{case.lat}" not in page.content() and f"{case.lon}" not in page.content()
        expect(page.get_by_text("never at the exact place")).to_be_visible()
        expect(page.locator("#case-map path").first).to_be_attached()
        shot(page, f"case-map-crime-{width}", "main")
