"""Staff check a measure in the admin before the public sees it, in a real browser: the list's
latest value, period and status; the filter lists; "Preview values" showing the partial month and
saving nothing. Screenshots at 1366 and 390 px in /tmp/shots-periods/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from civicstat.performance.demo import demo_measures_load
from civicstat.performance.models import Measure

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots-periods")


@pytest.fixture
def signed_in(page: Page, live_server: Any, kc_cases: None) -> Page:
    assert demo_measures_load() == 10
    User.objects.create_superuser("carol", "carol@example.org", "a long test password")
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("a long test password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + "/admin/")
    return page


def test_staff_preview_a_changed_measure_and_nothing_is_saved(
    signed_in: Page, live_server: Any
) -> None:
    page = signed_in
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    from tests.e2e.test_performance import _partial_measure

    measure = Measure.objects.get(slug=_partial_measure())
    partial = measure.values.get(partial=True).period_start.strftime("%b %Y")
    page.goto(live_server.url + "/admin/performance/measure/")
    row = page.locator("tr", has_text=measure.title)
    expect(row).to_contain_text(f"{partial} partial")
    page.screenshot(path=SHOTS / "admin-list-1366.png", full_page=True)

    page.goto(live_server.url + f"/admin/performance/measure/{measure.pk}/change/")
    # The measure's stored filter shows as the items chosen in its list.
    key, value = next(iter(measure.filters.items()))
    picked = page.locator(f'select[name="filter_{key}"] option:checked')
    expect(picked).to_have_count(len(str(value).split(",")))
    page.get_by_label("Title:").fill("Cases, previewed")
    page.get_by_role("button", name="Preview values").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: Cases, previewed")
    expect(page.get_by_text("Nothing has been saved.")).to_be_visible()
    expect(page.locator("#preview-values tbody tr").first).to_contain_text("Partial (not scored)")
    page.screenshot(path=SHOTS / "admin-preview-1366.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "admin-preview-390.png", full_page=True)
    assert Measure.objects.get(pk=measure.pk).title == measure.title
