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


# What sticks out to the right of the window (outside regions that scroll on their own).
WIDE = (
    "() => [...document.querySelectorAll('body *')].filter(e => !e.closest('.table-scroll')"
    " && e.getBoundingClientRect().right > window.innerWidth + 1)"
    ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
)


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
        wide = page.evaluate(WIDE)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: the page scrolls sideways ({width} px): {wide}"
        violations = axe_violations(page)
        assert not violations, (name, [(v["id"], [n["html"][:300] for n in v["nodes"]])
                                       for v in violations])  # fmt: skip
    # The busiest department's page: its request types, each with its own share.
    busiest = (
        Case.objects.exclude(department=None).values_list("department__slug", flat=True).first()
    )
    page.goto(f"{live_server.url}/departments/{busiest}?period=all")
    expect(page.get_by_text("judged against the city's own target")).to_be_visible()
    _look(page, screenshot, f"targets-department-{city}-phone")
    wide = page.evaluate(WIDE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px): {wide}"


def test_the_demo_measure_of_requests_within_the_citys_time_frame_is_filled_in(
    axe_page: Page,
    live_server: Any,
    kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Path],
) -> None:
    from civicstat.performance.demo import demo_measures_load

    demo_measures_load()
    page = axe_page
    for name, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.goto(live_server.url + "/performance/measures/requests-closed-within-city-time-frame/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("estimated time frame")
        expect(page.get_by_text("EXCEEDED EST TIMEFRAME").first).to_be_visible()
        values = page.locator("table.data tbody td").all_inner_texts()
        assert any(v.strip().endswith("%") and v.strip() != "—" for v in values), values
        _look(page, screenshot, f"targets-measure-{name}")
        wide = page.evaluate(WIDE)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name}: the page scrolls sideways ({width} px): {wide}"
        violations = axe_violations(page)
        assert not violations, (name, [(v["id"], [n["html"][:300] for n in v["nodes"]])
                                       for v in violations])  # fmt: skip
