"""Maps open on the city whose data is loaded, not on Kansas City: `MAP_CENTER` if set, else the
extent of its areas, else of its cases, else the whole world.

The other city is Boston: its 100 real cases, imported with the boston profile, and no areas.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from civicstat.cases.models import Case, Layer
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.ingest.tests.helpers import run_import
from civicstat.lib.env import map_view
from civicstat.maps.start import map_start

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
BOSTON = (42.2, 42.45, -71.2, -70.95)  # south, north, west, east: the city and its harbour


@pytest.fixture
def boston(data_dir: Path) -> list[tuple[float, float]]:
    """Boston's 100 cases; their positions."""
    run_import(data_dir / "boston" / "boston311-100.csv", "boston")
    located = Case.objects.exclude(lat=None).exclude(lon=None).values_list("lat", "lon")
    return [(lat, lon) for lat, lon in located if lat is not None and lon is not None]


def config(client: Client, url: str, name: str = "map-config") -> dict[str, Any]:
    """The JSON a page hands its map script."""
    page = client.get(url).content.decode()
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', page)
    assert found, f"{url} has no {name}"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def inside(lat: float, lon: float, bounds: list[list[float]]) -> bool:
    (south, west), (north, east) = bounds
    return south <= lat <= north and west <= lon <= east


def test_areas_known_only_by_their_codes_leave_the_map_on_the_cases(
    client: Client, boston: list[tuple[float, float]]
) -> None:
    """A city whose file names council districts but that has no boundary file gets areas with no
    outline: the map opens on its cases, and the pages that list areas still answer."""
    from civicstat.cases.areas import areas_by_code

    areas_by_code(kind="council-district", names={"1": "District 1", "2": "District 2"})
    start = config(client, "/map")["start"]
    assert start["source"] == "cases"
    assert all(inside(lat, lon, start["bounds"]) for lat, lon in boston)
    assert client.get("/map/areas.json").status_code == 200
    assert client.get("/alerts").status_code == 200


@pytest.mark.parametrize("url", ["/map", "/embed/map"])
def test_a_city_with_cases_and_no_areas_opens_on_its_cases(
    client: Client, boston: list[tuple[float, float]], url: str
) -> None:
    start = config(client, url)["start"]
    assert start["source"] == "cases"
    (south, west), (north, east) = start["bounds"]
    assert BOSTON[0] < south < north < BOSTON[1] and BOSTON[2] < west < east < BOSTON[3]
    assert all(inside(lat, lon, start["bounds"]) for lat, lon in boston)


def test_a_few_misplaced_cases_do_not_zoom_the_map_out(
    client: Client, boston: list[tuple[float, float]]
) -> None:
    """A case placed in Kansas City among Boston's (a bad geocode) is left out of the view."""
    layer = Layer.objects.get()
    case_upsert(layer=layer, records=[CaseRecord(
        external_id="far-away", status="Open", status_group="open", requested_at=timezone.now(),
        lat=39.0997, lon=-94.5786,
    )])  # fmt: skip
    (south, west), (north, east) = config(client, "/map")["start"]["bounds"]
    assert west > -72 and south > 42


def test_the_setting_overrides_the_extent(
    client: Client, boston: list[tuple[float, float]], settings: Any
) -> None:
    settings.MAP_CENTER = (42.3594, -71.0587, 15)
    start = config(client, "/map")["start"]
    assert start == {"center": [42.3594, -71.0587], "zoom": 15, "source": "setting"}


def test_the_areas_extent_wins_over_the_cases_and_follows_new_boundaries(
    client: Client, boston: list[tuple[float, float]], kc_areas: None
) -> None:
    """Kansas City's districts loaded beside Boston's cases: the outlines decide, at once (loading
    boundaries makes a new data version, so no cached view outlives them)."""
    start = config(client, "/map")["start"]
    assert start["source"] == "areas"
    assert inside(39.0997, -94.5786, start["bounds"])


def test_a_city_with_nothing_loaded_opens_on_the_world(client: Client) -> None:
    assert config(client, "/map")["start"] == {"center": [20.0, 0.0], "zoom": 3, "source": "world"}


def test_the_alerts_map_and_its_feed_example_open_on_the_city(
    client: Client, boston: list[tuple[float, float]]
) -> None:
    start = config(client, "/alerts", "pick-config")["start"]
    assert start["source"] == "cases"
    page = client.get("/alerts").content.decode()
    lat, lon = (float(v) for v in re.findall(r"/alerts/feed\?lat=([-\d.]+)&amp;lon=([-\d.]+)",
                                               page)[0])  # fmt: skip
    assert BOSTON[0] < lat < BOSTON[1] and BOSTON[2] < lon < BOSTON[3]


def test_the_view_is_worked_out_once_per_data_version(
    boston: list[tuple[float, float]], django_assert_num_queries: Any
) -> None:
    first = map_start()
    with django_assert_num_queries(1):  # the data version, and nothing else
        assert map_start() == first


def test_no_script_or_template_carries_a_city_of_its_own() -> None:
    """Coordinates come from the server: none is written in a script or a template."""
    files = [
        p for pattern in ("civicstat/**/static/**/*.js", "civicstat/**/templates/**/*.html")
        for p in ROOT.glob(pattern) if "vendor" not in p.parts
    ]  # fmt: skip
    assert len(files) > 20
    coordinates = re.compile(r"-?\d{1,3}\.\d{3,}")
    found = {p.name: coordinates.findall(p.read_text(encoding="utf-8")) for p in files}
    assert {name: hits for name, hits in found.items() if hits} == {}


@pytest.mark.parametrize(
    ("text", "view"),
    [("42.3594,-71.0587,12", (42.3594, -71.0587, 12)), (" 0, 0 ,0", (0.0, 0.0, 0)), ("", None)],
)
def test_map_center_reads_latitude_longitude_and_zoom(text: str, view: Any) -> None:
    assert map_view("MAP_CENTER", text) == view


@pytest.mark.parametrize("text", ["42.3,-71.0", "42,-71,12,1", "91,0,3", "0,181,3", "0,0,20",
                                  "0,0,1.5", "nan,0,3", "north,west,3", "٤٢,-71,12"])  # fmt: skip
def test_map_center_refuses_anything_else_and_names_the_variable(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MAP_CENTER must be latitude,longitude,zoom"):
        map_view("MAP_CENTER", text)
