"""The open data catalogue in a real browser: /data and a dataset page read well on a phone and a
laptop (no sideways scroll at 390 px), axe-core finds nothing, and the API examples are there to
copy. Screenshots go to tests/e2e/artifacts/ and, for review, /tmp/shots-soda/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Layer
from tests.e2e.browser import PHONE, axe_report

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}
SHOTS = Path("/tmp/shots-soda")


def _dataset_path() -> str:
    assert Layer.objects.filter(slug="311-requests").exists()  # the KC profile's layer
    return f"/data/{default_identifier('311-requests')}"


def _file_path() -> str:
    """The page of an entry that is a file, not a SODA dataset: the performance measures."""
    from civicstat.performance.tests.factories import a_measure

    a_measure("open-potholes")
    return "/data/performance-measures"


@pytest.mark.parametrize("which", ["catalogue", "dataset", "file"])
def test_the_open_data_pages_have_no_wcag_violations(
    axe_page: Page, live_server: Any, kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]], which: str,
) -> None:  # fmt: skip
    paths = {"catalogue": lambda: "/data", "dataset": _dataset_path, "file": _file_path}
    path = paths[which]()
    for size in (PHONE, LAPTOP):
        axe_page.set_viewport_size(size)  # type: ignore[arg-type]
        axe_page.goto(live_server.url + path)
        violations = axe_violations(axe_page)
        assert not violations, f"axe-core found on {path}:\n{axe_report(violations)}"


def test_the_catalogue_and_a_dataset_page_at_phone_and_laptop_widths(
    page: Page, live_server: Any, kc_cases: None, screenshot: Callable[[Page, str], Path]
) -> None:
    SHOTS.mkdir(exist_ok=True)
    dataset, file = _dataset_path(), _file_path()
    for name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        for which, path in (("catalogue", "/data"), ("dataset", dataset), ("file", file)):
            page.goto(live_server.url + path)
            page.screenshot(path=SHOTS / f"{which}-{name}.png", full_page=True)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= size["width"], f"{path} scrolls sideways at {size['width']} px"
            screenshot(page, f"open-data-{which}-{name}")
    page.goto(live_server.url + "/data")
    page.get_by_role("link", name="311 requests", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("311")
    expect(page.locator("#curl-first")).to_contain_text("/resource/")
    expect(page.get_by_role("table")).to_contain_text("requested_datetime")
    page.goto(live_server.url + "/data")
    page.get_by_role("link", name="Performance measures and their values", exact=True).click()
    expect(page.locator("#curl-first")).to_contain_text("curl -O ")
    expect(page.get_by_role("table")).to_contain_text("period_start")
