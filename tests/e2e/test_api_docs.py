"""The query API's interactive docs in a real browser, offline: django-ninja's own Swagger UI
files from the site's static folder, within the site's Content-Security-Policy (the `page`
fixture fails the test on any CSP violation or JavaScript error), a request tried from it, and
axe-core finding nothing (with the contrast and labels `civicstat/api/static/api/` adds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from civicstat.api.v1.tests.conftest import town_build
from tests.e2e.browser import DESKTOP, PHONE

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/shots-api")


def test_the_docs_work_offline_and_try_a_request(page: Page, live_server: Any,
                                                 transactional_db: None) -> None:  # fmt: skip
    town_build()
    outside: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:  # no CDN, no validator badge, no fonts from elsewhere
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(live_server.url + "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CivicStat query API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/aggregates")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "docs-1366.png", full_page=False)

    block = page.locator("#operations-cases-civicstat_api_v1_views_cases_facets")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".response .microlight").first).to_contain_text('"count": 7')
    page.screenshot(path=SHOTS / "docs-facets-1366.png", full_page=False)

    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    page.screenshot(path=SHOTS / "docs-390.png", full_page=False)
    page.set_viewport_size(DESKTOP)
    assert outside == []


def test_axe_finds_nothing_on_the_docs_open_or_closed(axe_page: Page, live_server: Any,
                                                      transactional_db: None,
                                                      axe_violations: Any) -> None:  # fmt: skip
    town_build()
    axe_page.goto(live_server.url + "/api/v1/docs")
    expect(axe_page.locator(".swagger-ui .info .title")).to_be_visible()
    assert axe_violations(axe_page) == []
    block = axe_page.locator("#operations-cases-civicstat_api_v1_views_cases_aggregates")
    block.locator(".opblock-summary").click()
    expect(block.get_by_role("button", name="Try it out")).to_be_visible()
    assert axe_violations(axe_page) == []
