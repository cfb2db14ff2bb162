"""The offline base map in a real browser: streets on a throttled phone within 1.5 s, /map light
enough for one, parcel dots only at block zooms and only for the tiles in view, screenshots."""

from __future__ import annotations

import gzip
import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from playwright.sync_api import Page, ViewportSize, expect

from civicstat.ingest.demo import DISTRICTS_FILE, NEIGHBORHOODS_FILE
from civicstat.maps.basemap import Inputs, build
from tests.e2e.browser import axe_report

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ROADS = ROOT / "demo" / "kansas-city" / "osm_major_roads_metro.geojson.gz"
PARCELS = ROOT / "demo" / "kansas-city" / "parcel_points_2015_demo_area.csv.gz"
BLOCK = "16/39.05600/-94.55000"  # east of Troost: houses along every street
PHONE: ViewportSize = {"width": 390, "height": 844}
WIDE: ViewportSize = {"width": 1366, "height": 900}
# A mid-range phone on a slow mobile network (Lighthouse's "slow 4G"): 1.6 Mbps down, 150 ms.
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8,
           "uploadThroughput": 750e3 / 8}  # fmt: skip


def _areas(path: Path, kind: str, name_field: str, name_format: str = "{}") -> list[Any]:
    with gzip.open(path, "rt") as fh:
        features = json.load(fh)["features"]
    return [
        {"kind": kind, "name": name_format.format(f["properties"][name_field]),
         "geometry": f["geometry"]}
        for f in features if f["properties"].get(name_field)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def kc_basemap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's base map, built once for the module from the files `load_demo` uses."""
    out = tmp_path_factory.mktemp("basemap") / "basemap"
    areas = _areas(DISTRICTS_FILE, "council-district", "DISTRICT", "District {}")
    areas += _areas(NEIGHBORHOODS_FILE, "neighborhood", "nbhname")
    build(Inputs(roads=ROADS, parcels=PARCELS, areas=areas), out)
    return out


@pytest.fixture
def basemap(kc_basemap_dir: Path, settings: Any, kc_cases: None) -> Iterator[Path]:
    settings.BASEMAP_DIR = kc_basemap_dir
    settings.MAP_POINTS_LIMIT = 100
    yield kc_basemap_dir


@pytest.fixture
def gzipped_static(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static files gzipped, as production serves them (whitenoise's compressed copies, made by
    `collectstatic`): the test server sends them as they are on disk, and Leaflet alone is then
    148 kB, most of a second on this network, where a real visitor gets 42 kB."""
    original = StaticFilesHandler.serve

    def serve(self: StaticFilesHandler, request: HttpRequest) -> HttpResponseBase:
        response = original(self, request)
        if response.status_code != 200 or "gzip" not in request.headers.get("Accept-Encoding", ""):
            return response
        if isinstance(response, FileResponse):
            body = b"".join(cast("Iterator[bytes]", response.streaming_content))
        else:
            body = response.content
        packed = HttpResponse(gzip.compress(body, 9), content_type=response["Content-Type"])
        packed["Content-Encoding"] = "gzip"
        return packed

    monkeypatch.setattr(StaticFilesHandler, "serve", serve)


def _painted(page: Page) -> int:
    expect(page.locator("#map")).to_have_attribute("data-basemap-painted", re.compile(r"^\d+$"))
    return int(page.locator("#map").get_attribute("data-basemap-painted") or 0)


def test_a_slow_phone_sees_the_streets_within_one_and_a_half_seconds(
    page: Page, live_server: Any, basemap: Path, gzipped_static: None
) -> None:
    url = live_server.url + "/map"
    urllib.request.urlopen(url).read()  # the page cache warm, as for every visitor but the first
    page.set_viewport_size(PHONE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    page.goto(url)
    painted = _painted(page)
    timeline = page.evaluate("""() => performance.getEntriesByType("resource")
        .map(e => [e.name.split("/").pop(), Math.round(e.responseEnd), e.transferSize])""")
    assert painted <= 1500, (
        f"the streets showed {painted} ms after the navigation started: {timeline}"
    )


def test_the_map_page_weighs_at_most_300_kb_without_its_base_map(
    page: Page, live_server: Any, basemap: Path, gzipped_static: None
) -> None:
    parcels: list[str] = []
    page.on("request", lambda r: parcels.append(r.url) if "/parcels/" in r.url else None)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/map")
    expect(page.locator("#map")).to_have_attribute("data-kind", "clusters")
    _painted(page)
    page.wait_for_load_state("networkidle")
    sizes = page.evaluate("""() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const all = [nav, ...performance.getEntriesByType("resource")];
        return all.map(e => [e.name, e.transferSize]);
    }""")
    total = sum(size for name, size in sizes if "/map/basemap/" not in name)
    assert 50_000 < total <= 300_000, sorted(sizes, key=lambda s: -s[1])[:8]
    assert parcels == [], "the city view fetched parcel dots"
    # Zoomed to a block: the parcel tiles there, not the 54 of the city.
    page.goto(f"{live_server.url}/map#{BLOCK}")
    page.reload()
    expect(page.locator("#map")).to_have_attribute("data-kind", "points")
    page.wait_for_load_state("networkidle")
    assert 1 <= len(set(parcels)) <= 4, parcels


def _shoot(page: Page, screenshot: Callable[[Page, str], Path], name: str) -> Path:
    page.wait_for_load_state("networkidle")
    page.locator("#map").scroll_into_view_if_needed()
    path = screenshot(page, name)
    page.locator("#map").screenshot(path=path.with_name(name + "-map.png"))
    return path


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
def test_screenshots_of_the_base_map_at_the_city_and_a_block(
    page: Page, live_server: Any, basemap: Path, viewport: Any,
    screenshot: Callable[[Page, str], Path],
) -> None:  # fmt: skip
    page.set_viewport_size(viewport)
    page.goto(live_server.url + "/map")
    _painted(page)
    expect(page.locator(".area-name.district span").first).to_be_visible()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    _shoot(page, screenshot, f"basemap-city-{viewport['width']}")
    page.goto(f"{live_server.url}/map#{BLOCK}")
    page.reload()
    _painted(page)
    expect(page.locator(".area-name.nbh span").first).to_be_visible()
    _shoot(page, screenshot, f"basemap-block-{viewport['width']}")
    # The parcel dots are drawn: the block's tiles hold many pixels of their colour.
    dots = page.evaluate("""() => {
        let n = 0;
        for (const c of document.querySelectorAll(".basemap canvas")) {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4)
                if (Math.abs(d[i] - 0xa3) < 8 && Math.abs(d[i + 1] - 0x9b) < 8) n++;
        }
        return n;
    }""")
    assert dots > 2_000


def test_the_map_with_its_base_map_has_no_wcag_violations(
    axe_page: Page, live_server: Any, basemap: Path,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
) -> None:  # fmt: skip
    for where in ("", f"#{BLOCK}"):
        axe_page.goto(f"{live_server.url}/map{where}")
        axe_page.reload()
        _painted(axe_page)
        expect(axe_page.locator(".area-name span").first).to_be_visible()
        violations = axe_violations(axe_page)
        assert not violations, f"axe-core found on /map{where}:\n{axe_report(violations)}"


def test_the_alerts_page_small_map_draws_the_base_map_and_a_click_still_picks(
    page: Page, live_server: Any, basemap: Path
) -> None:
    page.goto(live_server.url + "/alerts")
    pick = page.locator("#pick-map")
    expect(pick).to_have_attribute("data-basemap-painted", re.compile(r"^\d+$"))
    pick.scroll_into_view_if_needed()
    box = pick.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".pick-status")).to_contain_text("the point clicked on the map")
    assert page.get_by_label("Latitude").input_value() != ""


def test_the_embedded_map_draws_the_base_map(page: Page, live_server: Any, basemap: Path) -> None:
    page.goto(live_server.url + "/embed/map")
    expect(page.locator("#map")).to_have_attribute("data-basemap-painted", re.compile(r"^\d+$"))
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
