"""'% closed within target' on /departments, filled in from the city's own targets: Kansas City's
verdict on each case and Boston's verdict and target dates, at a laptop's width and a phone's,
with no WCAG 2.1 AA violation and no sideways scroll. Screenshots go to tests/e2e/artifacts/ and,
for a person to look at, to /tmp/shots-targets/."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.cases.models import Case
from civicstat.ingest.tests.helpers import run_import
from tests.e2e.browser import PHONE, ROOT

pytestmark = pytest.mark.e2e

BOSTON_CSV = ROOT / "tests" / "data" / "boston" / "boston311-100.csv"
LAPTOP = {"width": 1366, "height": 900}
SHOTS = Path("/tmp/shots-targets")
# "Closed within target" is the 11th cell of a row: rank, name, 4 counts, 3 ages, median, it.
WITHIN_COLUMN = 11


def _shares(page: Page) -> list[str]:
    cells = page.locator("#departments-table tbody tr").locator(f"td:nth-child({WITHIN_COLUMN})")
    return [" ".join(t.split()) for t in cells.all_inner_texts()]


def _look(page: Page, screenshot: Callable[[Page, str], Path], name: str) -> None:
    saved = screenshot(page, name)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(saved, SHOTS / saved.name)
    page.screenshot(path=SHOTS / f"{name}-top.png")  # the first screen, legible at full size


@pytest.mark.parametrize("city", ["kansas-city", "boston"])
def test_departments_show_the_share_closed_within_the_citys_own_targets(
    axe_page: Page,
    live_server: Any,
    kc_areas: None,
    kc_slice_file: Path,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
    city: str,
) -> None:
    if city == "boston":
        assert run_import(BOSTON_CSV, "boston").created == 100
    else:
        assert run_import(kc_slice_file, "kansas-city").created > 900
    page = axe_page
    header = page.locator("#departments-table thead th").nth(WITHIN_COLUMN - 1)
    for name, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.goto(live_server.url + "/departments?period=all")
        expect(header).to_contain_text("Closed within target")
        shares = _shares(page)
        filled = [s for s in shares if s != "—"]
        assert len(filled) >= (3 if city == "boston" else 5), shares
        assert all(s.endswith(tuple("0123456789")) and " % of " in s for s in filled), shares
        expect(page.get_by_text("judged against the city's own target")).to_be_visible()
        _look(page, screenshot, f"targets-departments-{city}-{name}")
        wide = page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => !e.closest('.table-scroll')"
            " && e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
        )
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: the page scrolls sideways ({width} px): {wide}"
    violations = axe_violations(page)
    assert not violations, violations
    # The busiest department's page: its request types, each with its own share.
    busiest = (
        Case.objects.exclude(department=None).values_list("department__slug", flat=True).first()
    )
    page.goto(f"{live_server.url}/departments/{busiest}?period=all")
    expect(page.get_by_text("judged against the city's own target")).to_be_visible()
    _look(page, screenshot, f"targets-department-{city}")
