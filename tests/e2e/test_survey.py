"""Kansas City's resident survey in a real browser: from /performance to the survey's categories
and an item's own page, charts drawn under the strict CSP, no sideways scroll on a phone, axe-core
on every page, and screenshots at 1366 and 390 px (tests/e2e/artifacts/survey-*.png)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.performance.demo import demo_survey_load
from civicstat.performance.models import PriorityArea, SurveyItem
from civicstat.performance.tests.test_survey import AREAS
from tests.e2e.browser import PHONE, axe_report

pytestmark = pytest.mark.e2e

ITEM = "Maintenance of city streets"
WIDE = {"width": 1366, "height": 900}
# Where the screenshots are copied for a person to look at, beside tests/e2e/artifacts/.
SHOTS = Path(os.environ.get("SURVEY_SHOTS", "/tmp/shots-survey"))


@pytest.fixture
def kc_survey(transactional_db: None) -> None:
    """The demo's priority areas (no cases needed: survey items read no cases) and the survey."""
    for n, slug in enumerate(AREAS):
        PriorityArea.objects.create(slug=slug, name=slug.replace("-", " ").capitalize(),
                                    position=n)  # fmt: skip
    demo_survey_load()


WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + "." + e.className + " " + e.getBoundingClientRect().right)"""


def _no_sideways_scroll(page: Page) -> None:
    """The page is no wider than the window (a table may scroll inside its own region)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    window = page.evaluate("document.documentElement.clientWidth")
    assert width <= window, f"{page.url} is {width} px wide: {page.evaluate(WIDEST)}"


def test_a_resident_reads_the_survey_by_category_and_opens_an_item(
    page: Page, live_server: Any, kc_survey: None
) -> None:
    page.goto(live_server.url + "/performance")
    section = page.get_by_role("region", name="What residents say")
    expect(section).to_contain_text("FY2019, ETC Institute")
    expect(section).to_contain_text("102 items in 17 categories")
    section.get_by_role("link", name="Kansas City resident survey").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Kansas City resident survey")
    expect(page.locator(".provenance")).to_contain_text("FY2019, ETC Institute")
    expect(page.locator(".survey-category")).to_have_count(17)
    expect(page.locator(".survey-chart svg").first).to_be_visible()  # drawn under the CSP
    expect(page.locator(".survey-chart svg")).to_have_count(17)
    streets = page.get_by_role("region", name="City streets, sidewalks and infrastructure: latest")
    row = streets.get_by_role("row", name=ITEM)
    expect(row).to_contain_text("16.6%")  # FY2019: a sixth of residents satisfied
    expect(row).to_contain_text("FY2019")

    row.get_by_role("link", name=ITEM).click()
    measure = SurveyItem.objects.get(name=ITEM).measure
    expect(page.get_by_role("heading", level=1)).to_have_text(measure.title)
    expect(page.locator(".chart svg")).to_be_visible()
    expect(page.locator(".provenance")).to_contain_text("FY2019, ETC Institute")
    expect(page.locator("#values-caption + thead + tbody > tr")).to_have_count(
        measure.values.count()
    )
    expect(page.get_by_role("heading", name="Methods")).to_be_visible()


@pytest.mark.parametrize("which", ["index", "survey", "item"])
def test_the_survey_pages_have_no_wcag_violations(
    axe_page: Page, live_server: Any, kc_survey: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]], which: str,
) -> None:  # fmt: skip
    path = {
        "index": "/performance", "survey": "/performance/surveys/kc-resident-survey/",
        "item": SurveyItem.objects.get(name=ITEM).measure.get_absolute_url(),
    }[which]  # fmt: skip
    axe_page.goto(live_server.url + path)
    if which != "index":
        expect(axe_page.locator(".chart svg").first).to_be_visible()
    violations = axe_violations(axe_page)
    assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_screenshots_of_the_survey_pages_at_1366_and_390_px(
    page: Page, live_server: Any, kc_survey: None, screenshot: Callable[[Page, str], Path]
) -> None:
    pages = (
        ("performance", "/performance"),
        ("survey", "/performance/surveys/kc-resident-survey/"),
        ("survey-item", SurveyItem.objects.get(name=ITEM).measure.get_absolute_url()),
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("phone", PHONE), ("desktop", WIDE)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        for name, path in pages:
            page.goto(live_server.url + path)
            if name != "performance":
                expect(page.locator(".chart svg").first).to_be_visible()
            _no_sideways_scroll(page)
            shot = screenshot(page, f"survey-{name}-{width}")
            assert shot.stat().st_size > 10_000, f"{shot} looks empty"
            shutil.copy(shot, SHOTS / shot.name)
            # A long page also in parts of two screens, each small enough to look at closely.
            height = page.evaluate("document.documentElement.scrollHeight")
            step = viewport["height"] * 2
            for n, top in enumerate(range(0, min(height, step * 3), step)):
                page.screenshot(path=SHOTS / f"survey-{name}-{width}-part{n}.png", full_page=True,
                                clip={"x": 0, "y": top, "width": viewport["width"],
                                      "height": min(step, height - top)})  # fmt: skip
