"""Finding a place in a real browser: the map's search box over Kansas City's real address points
(a misspelt street included), "Use my location" on the map and on /alerts, and an alert set up
by a typed address, at desktop and phone widths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.alerts.models import Subscription
from civicstat.ingest.demo import ADDRESSES_FILE
from civicstat.places.models import AddressPoint
from civicstat.places.services import addresses_load
from tests.e2e.browser import PHONE

pytestmark = pytest.mark.e2e


@pytest.fixture
def kc_addresses(kc_cases: None) -> AddressPoint:
    addresses_load(path=ADDRESSES_FILE)
    return AddressPoint.objects.get(number="1010", street="AGNES AVE")  # the file's first point


def _centre(page: Page) -> tuple[float, float]:
    centre = page.evaluate("() => document.getElementById('map').civicstatMap.getCenter()")
    return centre["lat"], centre["lng"]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_map_search_finds_a_misspelt_address_and_goes_there(
    page: Page, live_server: Any, kc_addresses: AddressPoint, width: str,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    page.set_default_timeout(30_000)  # a full-page screenshot of a map, on a busy machine
    if width == "phone":
        page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/map")
    page.get_by_label("Find an address, street, ZIP code, neighborhood or case number").fill(
        "1010 agens ave"
    )
    page.get_by_role("button", name="Find", exact=True).click()
    found = page.get_by_role("button", name="1010 Agnes Ave (address)")
    expect(found).to_be_visible()
    screenshot(page, f"place-search-{width}")
    found.click()
    lat, lon = _centre(page)
    assert abs(lat - kc_addresses.lat) < 1e-4 and abs(lon - kc_addresses.lon) < 1e-4


def test_use_my_location_moves_the_map_and_fills_the_alert_point(
    page: Page, live_server: Any, kc_addresses: AddressPoint
) -> None:
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 39.0475, "longitude": -94.5717})  # on Troost
    page.goto(live_server.url + "/map")
    page.get_by_role("button", name="Use my location").first.click()
    expect(page.locator(".place-results")).to_contain_text("around your location")
    lat, lon = _centre(page)
    assert abs(lat - 39.0475) < 1e-4 and abs(lon + 94.5717) < 1e-4
    page.goto(live_server.url + "/alerts")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_label("Latitude")).to_have_value("39.04750")
    expect(page.get_by_label("Longitude")).to_have_value("-94.57170")


def test_an_alert_is_set_up_by_an_address_typed_as_people_write_it(
    page: Page, live_server: Any, kc_addresses: AddressPoint
) -> None:
    page.goto(live_server.url + "/alerts")
    page.get_by_label("Your email address").fill("carol@example.org")
    page.get_by_label("Address", exact=True).fill("1010 Agnes Avenue")
    page.get_by_label("Radius in metres").fill("300")
    page.get_by_role("button", name="Send me a confirmation email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    sub = Subscription.objects.get()
    assert (sub.lat, sub.lon) == (kc_addresses.lat, kc_addresses.lon)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_embed_builder_opens_the_embedded_map_on_an_address(
    page: Page, live_server: Any, kc_addresses: AddressPoint, width: str,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    page.set_default_timeout(30_000)
    if width == "phone":
        page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/embed/new")
    page.get_by_label("An address, street, ZIP code or neighborhood").fill("1010 agnes")
    page.locator(".embed-place").get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("button", name="1010 Agnes Ave (address)").click()
    expect(page.locator(".embed-place-chosen")).to_contain_text("The map opens on 1010 Agnes Ave")
    hash_ = f"#17/{kc_addresses.lat:.5f}/{kc_addresses.lon:.5f}"
    assert page.locator("#snippet").input_value().split('"')[1].endswith(hash_)
    preview = page.frame_locator("#embed-preview")
    expect(preview.locator("#map")).to_be_visible()
    centre = (
        page.frame_locator("#embed-preview")
        .locator("#map")
        .evaluate("el => el.civicstatMap.getCenter()")
    )
    assert abs(centre["lat"] - kc_addresses.lat) < 1e-4
    assert abs(centre["lng"] - kc_addresses.lon) < 1e-4
    screenshot(page, f"embed-builder-place-{width}")
    page.get_by_role("button", name="Open on the filtered cases instead").click()
    assert "#" not in page.locator("#snippet").input_value()
