"""Embeds framed by another site fit their own snippets: a department copies the snippet the site
gives it (map, metric card, chart) into its page, and nothing inside the frame is cut off or needs
a scroll bar, on a desktop and on a phone. The framed map opens on its filter's cases."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Count
from playwright.sync_api import Page, expect

from civicstat.cases.models import Area, Case
from civicstat.performance.demo import demo_measures_load
from tests.e2e.browser import axe_report
from tests.e2e.test_map_keyboard import shot

pytestmark = pytest.mark.e2e

MEASURE = "property-violations-closed-within-target"
WIDTHS = (1366, 390)

# What overflows the frame's page, for the failure message.
OVERFLOW = """() => {
  const d = document.documentElement;
  return {sh: d.scrollHeight, ch: d.clientHeight, sw: d.scrollWidth, cw: d.clientWidth};
}"""


def _snippet(page: Page, selector: str) -> str:
    text = html.unescape(page.locator(selector).input_value())
    assert text.startswith("<iframe "), text
    return text


def _frame_fits(page: Page, host_url: str, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(host_url)
        frame = page.frame_locator("iframe")
        expect(frame.locator("main")).to_be_visible()
        page.wait_for_timeout(600)  # charts and tiles draw after load
        inner = page.frames[1]
        shot(page, f"embed-{name}-{width}", "body")
        size = inner.evaluate(OVERFLOW)
        assert size["sh"] <= size["ch"] and size["sw"] <= size["cw"], (name, width, size)


def _host(other_site: Callable[[str], str], snippet: str) -> str:
    return other_site(
        '<!doctype html><html lang="en"><meta name="viewport" content="width=device-width">'
        "<title>A neighbourhood blog</title><body><h1>Our street</h1>"
        f"<p>What the city reports:</p>{snippet}<p>Thanks for reading.</p></body></html>"
    )


def test_the_map_embed_fits_its_snippet_and_opens_on_its_filter(
    page: Page, live_server: Any, kc_cases: None, other_site: Callable[[str], str], settings: Any
) -> None:
    settings.MAP_POINTS_LIMIT = 100
    # An area filter reads the cases: the builder's preview, two frames and their map views
    # would pass the 30 a minute one visitor may read.
    settings.PUBLIC_READ_RATE = "1000/m"
    area = Area.objects.filter(kind="neighborhood").annotate(n=Count("cases")).order_by("-n")[0]
    wanted = Case.objects.filter(h3_cell__isnull=False, areas=area).count()
    for query in (f"area={area.kind}:{area.slug}&list=1", ""):
        page.goto(f"{live_server.url}/embed/new?{query}")
        snippet = _snippet(page, "#snippet")
        # The snippet names the address the builder was served at (the live server's).
        assert f'src="{live_server.url}/embed/map' in snippet
        _frame_fits(page, _host(other_site, snippet), "map" + ("-filtered" if query else ""))
    # The filtered frame opened on the ZIP code's cases, not the whole city.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/embed/map?area={area.kind}:{area.slug}")
    expect(page.locator("#map")).to_have_attribute("data-in-view", re.compile(r"\d"))
    whole_city = Case.objects.filter(h3_cell__isnull=False).count()
    in_view = int(page.locator("#map").get_attribute("data-in-view") or 0)
    assert in_view == wanted
    zoom = page.evaluate("document.getElementById('map').civicstatMap.getZoom()")
    page.goto(f"{live_server.url}/embed/map")
    expect(page.locator("#map")).to_have_attribute("data-in-view", re.compile(r"\d"))
    assert zoom > page.evaluate("document.getElementById('map').civicstatMap.getZoom()")
    assert wanted < whole_city


def test_the_card_and_chart_embeds_fit_their_snippets(
    page: Page, live_server: Any, kc_cases: None, other_site: Callable[[str], str]
) -> None:
    assert demo_measures_load() == 10
    for name, selector in (("card", "#embed-card"), ("chart", "#embed-chart")):
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(f"{live_server.url}/performance/measures/{MEASURE}/")
        snippet = _snippet(page, selector)
        assert f'src="{live_server.url}/performance/' in snippet
        _frame_fits(page, _host(other_site, snippet), name)


def test_the_fitted_embeds_pass_axe_at_both_widths(
    axe_page: Page, live_server: Any, kc_cases: None, axe_violations: Any, settings: Any
) -> None:
    settings.MAP_POINTS_LIMIT = 100
    assert demo_measures_load() == 10
    for path in ("/embed/map?status=open&list=1", f"/performance/measures/{MEASURE}/embed/card/",
                 f"/performance/measures/{MEASURE}/embed/chart/"):  # fmt: skip
        for width in WIDTHS:
            axe_page.set_viewport_size({"width": width, "height": 520})
            axe_page.goto(live_server.url + path)
            expect(axe_page.locator("main")).to_be_visible()
            axe_page.wait_for_timeout(500)
            assert not (found := axe_violations(axe_page)), (path, width, axe_report(found))
