"""A resident sets up alerts in a real browser: a place watch on /alerts (by address, or by
clicking its map), one from the map page (by keyboard: the map's centre), and a follow on a case
page; the forms pass axe-core, and the confirmation email arrives on a loopback SMTP server."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.alerts.models import Subscription
from civicstat.alerts.sending import send_due
from civicstat.alerts.tests.conftest import Inbox, Smtp, free_port
from civicstat.alerts.tokens import manage_token
from civicstat.cases.models import Case, Layer
from tests.e2e.browser import axe_report

pytestmark = pytest.mark.e2e


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    server = Smtp(inbox=Inbox(), port=free_port())
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    yield server.inbox
    server.stop()


def test_a_resident_watches_500_m_around_a_known_address(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    case = Case.objects.filter(location_approximate=False, lat__isnull=False).exclude(address="")
    address = case.values_list("address", flat=True).first()
    assert address
    page.goto(live_server.url + "/alerts")
    page.get_by_label("Your email address").fill("bob@example.org")
    page.get_by_label("Address", exact=True).fill(address)
    page.get_by_label("Radius in metres").fill("500")
    page.get_by_label("Frequency").select_option("daily")
    page.get_by_role("button", name="Send me a confirmation email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    screenshot(page, "alerts-check-email")
    sub = Subscription.objects.get()
    assert sub.kind == "radius" and sub.radius_m == 500 and sub.frequency == "daily"
    assert sub.confirmed_at is None
    send_due()
    assert [m["To"] for m in inbox.messages] == ["bob@example.org"]


def test_a_resident_follows_a_case_from_its_page(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox
) -> None:
    case = Case.objects.select_related("layer").first()
    assert case is not None
    page.goto(live_server.url + case.get_absolute_url())
    page.get_by_label("Email me when it changes").fill("alice@example.org")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert Subscription.objects.get().case_id == case.id


def test_the_alerts_page_passes_axe(
    axe_page: Page, live_server: Any, kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    axe_page.goto(live_server.url + "/alerts")
    assert axe_violations(axe_page) == []
    screenshot(axe_page, "alerts-page")
    case = Case.objects.select_related("layer").first()
    assert case is not None
    axe_page.goto(live_server.url + case.get_absolute_url())
    assert axe_violations(axe_page) == []


def _offline(page: Page, live_server: Any) -> list[str]:
    """Refuse every request that leaves the live server (a tile server, a CDN); returns them."""
    refused: list[str] = []

    def handle(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def _a_case_well_inside_the_city() -> Case:
    case = (
        Case.objects.filter(location_approximate=False, lat__isnull=False,
                            areas__kind="council-district")
        .filter(areas__kind="neighborhood")
        .order_by("id")
        .first()
    )  # fmt: skip
    assert case is not None and case.lat is not None and case.lon is not None
    return case


def _pixel(page: Page, map_id: str, lat: float, lon: float) -> tuple[float, float]:
    """Where a place is on the page, through the Leaflet map the page's scripts built."""
    box = page.locator(f"#{map_id}").bounding_box()
    assert box is not None
    x, y = page.evaluate(
        """([id, lat, lon]) => {
            const p = document.getElementById(id).civicstatMap.latLngToContainerPoint([lat, lon]);
            return [p.x, p.y];
        }""",
        [map_id, lat, lon],
    )
    return box["x"] + x, box["y"] + y


def test_a_resident_clicks_the_alerts_map_with_no_tile_server_reachable(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox, settings: Any,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    """Tiles are configured but unreachable: the area outlines still show, a click picks the
    point, and the subscription is for that point."""
    settings.MAP_TILE_URL = "https://tiles.example.invalid/{z}/{x}/{y}.png"
    refused = _offline(page, live_server)
    case = _a_case_well_inside_the_city()
    page.goto(live_server.url + "/alerts")
    pick = page.get_by_role("region", name=re.compile("Map to choose the place to watch"))
    expect(pick).to_be_visible()
    expect(pick.locator("svg path").first).to_be_attached()  # the outlines: the base layer
    pick.scroll_into_view_if_needed()
    page.mouse.click(*_pixel(page, "pick-map", case.lat, case.lon))  # type: ignore[arg-type]
    expect(page.locator(".pick-status")).to_contain_text("the point clicked on the map")
    lat = float(page.get_by_label("Latitude").input_value())
    lon = float(page.get_by_label("Longitude").input_value())
    # The whole city fits the small map: a pixel is some 250 m, a click lands within a few.
    assert abs(lat - case.lat) < 0.01 and abs(lon - case.lon) < 0.01  # type: ignore[operator]
    page.get_by_label("Your email address").fill("bob@example.org")
    page.get_by_label("Radius in metres").fill("250")
    expect(page.locator(".pick-status")).to_contain_text(f"Watching 250 m around {lat:.5f}")
    screenshot(page, "alerts-map-picked")
    page.get_by_role("button", name="Send me a confirmation email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    sub = Subscription.objects.get()
    assert (round(sub.lat, 5), round(sub.lon, 5), sub.radius_m) == (lat, lon, 250)  # type: ignore[arg-type]
    assert any(url.startswith("https://tiles.example.invalid/") for url in refused)
    send_due()
    assert [m["To"] for m in inbox.messages] == ["bob@example.org"]


def test_a_resident_subscribes_from_the_map_page_by_keyboard(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    """On /map, filtered to one kind: a click on the map picks a point; then, by keyboard only,
    the arrow keys move the map and "Use the map's centre" picks its centre instead."""
    _offline(page, live_server)
    case = _a_case_well_inside_the_city()
    layer = Layer.objects.get(id=case.layer_id)
    page.goto(f"{live_server.url}/map?layer={layer.slug}#16/{case.lat}/{case.lon}")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-kind", re.compile("points|clusters"))
    # A click beside the case, where no pin is, picks that point.
    x, y = _pixel(page, "map", case.lat, case.lon)  # type: ignore[arg-type]
    spot = page.evaluate(
        """([x, y]) => {
            for (const [dx, dy] of [[60, 40], [-60, 40], [60, -40], [-60, -40], [0, 90]]) {
                const el = document.elementFromPoint(x + dx, y + dy);
                const taken = el && el.closest(".leaflet-marker-icon, .leaflet-control");
                if (el && !taken) return [x + dx, y + dy];
            }
            return null;
        }""",
        [x, y],
    )
    assert spot, "no free spot beside the case on the map"
    page.mouse.click(*spot)
    status = page.locator(".watch-here .pick-status")
    expect(status).to_contain_text("the point clicked on the map")
    clicked = page.get_by_label("Latitude").input_value()

    map_el.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    centre = page.get_by_role("button", name="Use the map's centre")
    centre.focus()
    page.keyboard.press("Enter")
    expect(status).to_contain_text("the map's centre")
    lat = float(page.get_by_label("Latitude").input_value())
    lon = float(page.get_by_label("Longitude").input_value())
    assert str(lat) != clicked and lat > case.lat  # type: ignore[operator]  # panned north
    assert abs(lat - case.lat) < 0.01 and abs(lon - case.lon) < 0.001  # type: ignore[operator]

    page.get_by_label("Radius").select_option("1000")
    page.get_by_label("How often").select_option("daily")
    page.get_by_label("Your email address").fill("carol@example.org")
    screenshot(page, "map-watch-here")
    page.get_by_label("Your email address").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    sub = Subscription.objects.get()
    assert (sub.kind, sub.radius_m, sub.frequency, sub.layers) == (
        "radius", 1000, "daily", [layer.slug],
    )  # fmt: skip
    assert (round(sub.lat, 5), round(sub.lon, 5)) == (lat, lon)  # type: ignore[arg-type]
    send_due()
    assert [m["To"] for m in inbox.messages] == ["carol@example.org"]


@pytest.mark.parametrize("which", ["map", "manage"])
def test_the_map_form_and_the_manage_page_pass_axe(
    axe_page: Page, live_server: Any, kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]], which: str,
) -> None:  # fmt: skip
    """The map page with its watch form, a point chosen; the manage page with its filters."""
    case = _a_case_well_inside_the_city()
    if which == "map":
        axe_page.goto(f"{live_server.url}/map#15/{case.lat}/{case.lon}")
        expect(axe_page.locator("#map")).to_have_attribute("data-kind", re.compile("."))
        axe_page.get_by_role("button", name="Use the map's centre").click()
        expect(axe_page.locator(".watch-here .pick-status")).to_contain_text("centre")
    else:
        axe_page.goto(live_server.url + "/alerts")
        axe_page.get_by_label("Your email address").fill("bob@example.org")
        axe_page.get_by_label("Latitude").fill(str(case.lat))
        axe_page.get_by_label("Longitude").fill(str(case.lon))
        axe_page.get_by_role("button", name="Send me a confirmation email").click()
        expect(axe_page.get_by_role("heading", level=1)).to_have_text("Check your email")
        sub = Subscription.objects.get()
        axe_page.goto(f"{live_server.url}/alerts/manage/{manage_token(sub.subscriber_id)}")
        expect(axe_page.get_by_label("Request types")).to_be_visible()
    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found:\n{axe_report(violations)}"
