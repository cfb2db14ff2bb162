"""The crime layer on the map in a real browser: Carol, a resident, looks at the crimes near her
street on a desktop and on her phone; every pin sits on a cell centre, never the exact place."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, ViewportSize, expect

from civicstat.cases.models import Case
from civicstat.ingest.demo import CRIME_FILE
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile
from civicstat.lib.geo import h3_cell_centre
from tests.e2e.browser import PHONE, axe_report

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots-crime")
WIDE: ViewportSize = {"width": 1366, "height": 900}


@pytest.fixture
def crime_cases(kc_areas: None, live_server: Any, tmp_path: Path) -> None:
    """Every 30th row of the demo's KCPD 2017 file (about 1,000 crime reports), imported with the
    kansas-city-crime profile into the live server's database."""
    path = tmp_path / "kcpd_slice.csv"
    with gzip.open(CRIME_FILE, "rt", encoding="utf-8") as source:
        lines = source.readlines()
    path.write_text("".join([lines[0], *lines[1::30]]), encoding="utf-8")
    run = import_file(path=path, profile=load_profile(name="kansas-city-crime"))
    assert run.created > 1000


# The elements that reach past the right edge, for a failure message.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(
    e.getBoundingClientRect().right) + ' ' + (e.textContent || '').trim().slice(0, 40))"""


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_the_crime_layer_shows_generalised_places_on_desktop_and_phone(
    axe_page: Page, live_server: Any, crime_cases: None, axe_violations: Any
) -> None:
    page = axe_page
    answers: list[dict[str, Any]] = []

    def keep(response: Response) -> None:
        if "/map/view.json" in response.url and response.ok:
            answers.append(json.loads(response.body()))

    page.on("response", keep)
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + "/map?layer=crime-incidents")
    expect(page.locator("#map")).to_have_attribute("data-kind", "clusters")
    expect(page.locator(".leaflet-marker-icon.cluster").first).to_be_visible()
    expect(page.get_by_label("Legend")).to_contain_text(
        "Crime incidents: each is drawn at the centre of an area about 170 m across"
    )
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shot(page, "crime-map-1366")

    # Zoomed in on the busiest cell: single pins, each on its cell's centre.
    case = Case.objects.filter(layer__slug="crime-incidents", h3_cell__isnull=False).first()
    assert case is not None and case.public_lat is not None
    page.goto(f"{live_server.url}/map?layer=crime-incidents#16/{case.public_lat}/"
              f"{case.public_lon}")  # fmt: skip
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    in_view = page.get_by_role("region", name="Cases in view")
    link = in_view.get_by_role("link", name=re.compile(rf"#{case.external_id}$"))
    expect(link).to_be_visible()
    centres = {
        h3_cell_centre(c)
        for c in Case.objects.filter(layer__slug="crime-incidents").values_list(
            "h3_cell", flat=True
        )
        if c is not None
    }
    points = [p for a in answers for p in a["points"]]
    assert points, "the zoomed-in map drew no single cases"
    assert all((p["lat"], p["lon"]) in centres for p in points)
    assert all(p["address"] == "" for p in points)
    _shot(page, "crime-map-zoomed-1366")

    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/map?layer=crime-incidents")
    expect(page.locator("#map")).to_have_attribute("data-kind", "clusters")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(WIDEST)
    assert width <= PHONE["width"], f"the page scrolls sideways at 390 px ({width} px): {wide}"
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shot(page, "crime-map-390")
    page.locator(".map-layout").screenshot(path=SHOTS / "crime-map-390-map.png")
    page.locator("table.cases").screenshot(path=SHOTS / "crime-map-390-table.png")

    page.goto(live_server.url + case.get_absolute_url())
    note = page.get_by_text(re.compile(r"Not published: crime incidents are shown only"))
    expect(note).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    _shot(page, "crime-case-390")
