"""The overview and case pages in a real browser, as a resident uses them: with the keyboard, by
following links, and through axe-core's accessibility checks; screenshots at phone and desktop
widths land in tests/e2e/artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Max
from django.urls import resolve
from playwright.sync_api import Page, expect

from civicstat.cases.models import Case, Layer
from tests.e2e.browser import DESKTOP, PHONE, axe_report

pytestmark = pytest.mark.e2e

UNKNOWN_CASE = "/cases/311-requests/2099999999"


def _a_closed_case() -> Case:
    """The most recently opened closed case: it has the fullest page (closed date, history)."""
    case = (
        Case.objects.filter(status_group="closed")
        .select_related("layer", "service")
        .order_by("-requested_at", "-id")
        .first()
    )
    assert case is not None, "the KC slice has no closed case"
    return case


def test_the_overview_shows_each_kind_with_the_databases_counts_and_skips_to_main(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/")

    expect(page).to_have_title(f"How {settings.CITY_NAME} is doing · {settings.CITY_NAME}")
    expect(page.locator(".site-header")).to_have_css("display", "flex")  # site.css was served
    cards = page.locator("ul.cards > li.card")
    layers = list(Layer.objects.all())
    assert {layer.slug for layer in layers} == {"311-requests", "code-violations"}
    expect(cards).to_have_count(len(layers))
    for card, layer in zip(cards.all(), layers, strict=True):
        in_layer = Case.objects.filter(layer=layer)
        total = in_layer.count()
        still_open = in_layer.filter(status_group="open").count()
        closed = in_layer.filter(status_group="closed").count()
        assert total > 0 and still_open + closed == total
        expect(card.get_by_role("heading", level=3)).to_have_text(layer.name)
        expect(card.locator(".big")).to_have_text(f"{total:,}")
        expect(card.locator(".badge.open")).to_have_text(f"{still_open:,} open")
        expect(card.locator(".badge.closed")).to_have_text(f"{closed:,} closed")
    expect(page.locator(".lede")).to_contain_text(f"{Case.objects.count():,} cases")

    # The skip link is the first Tab stop, shown when focused; Enter moves focus to the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url == live_server.url + "/#main"


def test_the_first_recent_case_opens_its_page_with_its_history(
    page: Page, live_server: Any, kc_cases: None
) -> None:
    page.goto(live_server.url + "/")

    recent = page.get_by_role("region", name="Most recent cases")
    first = recent.get_by_role("row").nth(1).get_by_role("link")
    href = first.get_attribute("href")
    assert href
    first.click()

    expect(page).to_have_url(live_server.url + href)
    match = resolve(href)
    assert match.url_name == "case-detail"
    case = Case.objects.select_related("layer", "service").get(
        layer__slug=match.kwargs["layer"], external_id=match.kwargs["external_id"]
    )
    assert case.requested_at == Case.objects.aggregate(newest=Max("requested_at"))["newest"]
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(case.service.name if case.service else case.layer.noun)
    expect(heading).to_contain_text(f"#{case.external_id}")
    expect(page.get_by_role("heading", level=2, name="History")).to_be_visible()
    events = list(case.events.all())
    assert events, "an imported case has at least its opening in its history"
    steps = page.locator("ol.timeline > li")
    expect(steps).to_have_count(len(events))
    for step, event in zip(steps.all(), events, strict=True):
        expect(step).to_contain_text(event.get_kind_display())
    page.get_by_role("link", name="← Overview").click()
    expect(page).to_have_url(live_server.url + "/")


def test_an_unknown_case_shows_the_not_found_page(page: Page, live_server: Any) -> None:
    response = page.goto(live_server.url + UNKNOWN_CASE)

    assert response is not None and response.status == 404
    expect(page).to_have_title(f"Not found · {settings.CITY_NAME}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("There is no page at this address")).to_be_visible()
    page.get_by_role("link", name="Go to the overview").click()
    expect(page).to_have_url(live_server.url + "/")


@pytest.mark.parametrize("which", ["overview", "case", "not-found"])
def test_the_pages_have_no_wcag_21_aa_violations(
    axe_page: Page,
    live_server: Any,
    request: pytest.FixtureRequest,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    which: str,
) -> None:
    if which != "not-found":
        request.getfixturevalue("kc_cases")
    path = {
        "overview": lambda: "/",
        "case": lambda: _a_closed_case().get_absolute_url(),
        "not-found": lambda: UNKNOWN_CASE,
    }[which]()
    axe_page.goto(live_server.url + path)

    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_screenshots_of_the_overview_and_a_case_page_at_phone_and_desktop_widths(
    page: Page, live_server: Any, kc_cases: None, screenshot: Callable[[Page, str], Path]
) -> None:
    case_path = _a_closed_case().get_absolute_url()
    for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        for name, path in (("overview", "/"), ("case", case_path)):
            page.goto(live_server.url + path)
            shot = screenshot(page, f"{name}-{width}")
            assert shot.stat().st_size > 10_000, f"{shot} looks empty"
