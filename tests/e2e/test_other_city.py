"""Another city than Kansas City, in a real browser: Boston's 100 real cases and no boundaries.

The map opens over Boston (or where `MAP_CENTER` says), never over Kansas City; the departments
page lists the cases the data names no department for as "Unassigned". Each page is saved at a
phone's width and a laptop's (tests/e2e/artifacts/).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from civicstat.cases.models import Layer
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.ingest.tests.helpers import run_import
from tests.e2e.browser import PHONE, ROOT

pytestmark = pytest.mark.e2e

BOSTON_CSV = ROOT / "tests" / "data" / "boston" / "boston311-100.csv"
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def boston(live_server: Any) -> None:
    run = run_import(BOSTON_CSV, "boston")
    assert run.created == 100


def _map_centre(page: Page) -> tuple[float, float]:
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    centre: dict[str, float] = page.evaluate(
        "() => document.getElementById('map').civicstatMap.getCenter()"
    )
    return centre["lat"], centre["lng"]


def test_a_boston_map_opens_over_boston_with_no_boundaries_loaded(
    page: Page, live_server: Any, boston: None, screenshot: Callable[[Page, str], Any]
) -> None:
    for name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.goto(live_server.url + "/map")
        lat, lon = _map_centre(page)
        assert 42.2 < lat < 42.45 and -71.2 < lon < -70.95, (name, lat, lon)
        expect(page.locator(".leaflet-marker-icon.pin").first).to_be_visible()
        screenshot(page, f"other-city-map-{name}")


def test_a_boston_map_opens_where_map_center_says(
    page: Page, live_server: Any, boston: None, settings: Any
) -> None:
    settings.MAP_CENTER = (42.3601, -71.0589, 16)
    page.goto(live_server.url + "/map")
    lat, lon = _map_centre(page)
    assert (round(lat, 4), round(lon, 4)) == (42.3601, -71.0589)
    assert page.evaluate("() => document.getElementById('map').civicstatMap.getZoom()") == 16


def test_the_alerts_map_opens_over_boston(page: Page, live_server: Any, boston: None) -> None:
    page.goto(live_server.url + "/alerts")
    centre: dict[str, float] = page.evaluate(
        "() => document.getElementById('pick-map').civicstatMap.getCenter()"
    )
    assert 42.2 < centre["lat"] < 42.45 and -71.2 < centre["lng"] < -70.95


def test_the_departments_page_lists_unassigned_cases_on_a_phone_and_a_laptop(
    page: Page, live_server: Any, boston: None, screenshot: Callable[[Page, str], Any]
) -> None:
    layer = Layer.objects.get()
    case_upsert(layer=layer, records=[CaseRecord(
        external_id=f"no-dept-{n}", status="Open", status_group="open",
        requested_at=timezone.now(), lat=42.3601, lon=-71.0589,
    ) for n in range(3)])  # fmt: skip
    for name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.goto(live_server.url + "/departments?period=all")
        row = page.locator("#departments-table tbody tr", has_text="Unassigned")
        expect(row).to_be_visible()
        expect(row.locator("td").nth(1)).to_have_text("3")
        expect(row.get_by_role("link")).to_have_count(0)
        screenshot(page, f"departments-unassigned-{name}")
