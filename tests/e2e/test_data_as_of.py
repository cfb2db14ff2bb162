"""A quick window that is empty because the data ends earlier, in a real browser, with axe: the
KC slice ends years ago, so "Last 30 days" finds nothing; the page says where the layer's data ends
and its link shows the last 30 days of data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Max
from playwright.sync_api import Page, expect

from civicstat.cases.models import Case
from tests.e2e.browser import axe_report

pytestmark = pytest.mark.e2e

# Where the screenshots go, to be looked at: tests/e2e/artifacts unless SHOTS_DIR names another.
SHOTS = Path(os.environ.get("SHOTS_DIR", Path(__file__).resolve().parent / "artifacts"))


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_an_empty_last_30_days_says_where_the_data_ends_and_offers_its_last_30_days(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
) -> None:
    page = axe_page
    requests = Case.objects.public().filter(layer__slug="311-requests")
    end = requests.aggregate(d=Max("requested_day"))["d"]
    assert end is not None
    for width, height, label in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(live_server.url + "/map?layer=311-requests&days=30")
        note = page.locator(".quiet-window")
        expect(note).to_contain_text(
            f"No cases in the last 30 days: this layer's data ends on {end:%-d %b %Y}"
        )
        expect(page.locator(".data-as-of")).to_contain_text("Data as of")
        expect(page.locator(".data-as-of")).to_contain_text(f"{end:%-d %b %Y}")
        violations = axe_violations(page)
        assert not violations, f"axe-core found:\n{axe_report(violations)}"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(
            "w => [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > w)"
            ".map(e => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)"
            ".slice(0, 8)",
            width,
        )
        assert scroll <= width, f"the page scrolls sideways at {width} px ({scroll} px): {wide}"
        _shoot(page, f"quiet-window-map-{label}")

        page.goto(live_server.url + "/map/list?layer=311-requests&days=30")
        expect(page.locator(".quiet-window")).to_be_visible()
        _shoot(page, f"quiet-window-list-{label}")

    page.goto(live_server.url + "/map?layer=311-requests&days=30")
    page.locator(".quiet-window").get_by_role("link").click()
    shown = requests.filter(
        requested_day__gte=end.fromordinal(end.toordinal() - 29), requested_day__lte=end
    ).count()
    assert shown > 0
    expect(page.locator("#match-count")).to_have_text(f"{shown:,}")
    expect(page.locator(".quiet-window")).to_have_count(0)
    _shoot(page, "quiet-window-followed-phone")
    page.locator("#case-list").screenshot(path=SHOTS / "quiet-window-followed-list-phone.png")


@pytest.mark.parametrize("path", ["/", "/embed/map?layer=code-violations&days=30&list=1",
                                  "/departments", "/performance"])  # fmt: skip
def test_pages_and_embeds_show_data_as_of_at_desktop_and_phone_widths(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    path: str,
) -> None:
    page = axe_page
    name = path.strip("/").split("?")[0].replace("/", "-") or "home"
    for width, height, label in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(live_server.url + path)
        expect(page.locator(".data-as-of")).to_contain_text("Data as of")
        expect(page.locator(".data-as-of")).to_contain_text("Latest case opened")
        violations = axe_violations(page)
        assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{path} scrolls sideways at {width} px ({scroll} px)"
        _shoot(page, f"as-of-{name}-{label}")


def test_a_department_whose_cases_end_early_says_so_on_its_page(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
) -> None:
    """The department whose latest case is the oldest: its last 30 days of data are empty."""
    from civicstat.cases.models import Department

    earliest = (
        Department.objects.annotate(last=Max("cases__requested_day"))
        .filter(last__isnull=False)
        .order_by("last")
        .first()
    )
    assert earliest is not None
    page = axe_page
    for width, height, label in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/departments/{earliest.slug}?period=month")
        expect(page.locator(".quiet-window")).to_contain_text(
            "No cases in the last 30 days: this department's data ends on"
        )
        violations = axe_violations(page)
        assert not violations, f"axe-core found:\n{axe_report(violations)}"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways at {width} px ({scroll} px)"
        _shoot(page, f"quiet-department-{label}")
    page.locator(".quiet-window").get_by_role("link").click()
    assert int(page.locator("#match-count").inner_text().replace(",", "")) > 0
