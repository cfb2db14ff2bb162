"""`build_basemap`, the files it writes and the view that serves them; the simplified outlines."""

from __future__ import annotations

import gzip
import json
import math
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.test import Client
from shapely.geometry import shape

from civicstat.cases.models import Area
from civicstat.ingest.demo import DISTRICTS_FILE
from civicstat.maps.basemap import PARCEL_TILE_ZOOM, SCALE, BasemapError, Inputs, build, manifest
from civicstat.maps.outlines import simplified

SQUARE = {"type": "Polygon", "coordinates": [[[-94.6, 39.0], [-94.5, 39.0], [-94.5, 39.1],
                                              [-94.6, 39.1], [-94.6, 39.0]]]}  # fmt: skip


def _roads(tmp_path: Path) -> Path:
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ref": "I 70"}, "geometry": {
            "type": "LineString",
            "coordinates": [[-94.60, 39.05], [-94.55, 39.06], [-94.50, 39.05]]}},
        {"type": "Feature", "properties": {"name": "Landmark"}, "geometry": {
            "type": "Point", "coordinates": [-94.58, 39.05]}},
    ]}))  # fmt: skip
    return path


def _parcels(tmp_path: Path, rows: str = "-94.58914,39.03801\n-94.60083,39.04817\n") -> Path:
    path = tmp_path / "parcels.csv.gz"
    path.write_bytes(gzip.compress(("lon,lat\n" + rows).encode()))
    return path


def _decode(enc: list[int]) -> list[tuple[float, float]]:
    out, x, y = [], 0, 0
    for i in range(0, len(enc), 2):
        x, y = x + enc[i], y + enc[i + 1]
        out.append((x / SCALE, y / SCALE))
    return out


def _tile_bounds(x: int, y: int, z: int) -> tuple[float, float, float, float]:
    n = 2**z
    lat = lambda t: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))  # noqa: E731
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def test_build_writes_roads_parcel_tiles_and_area_names(tmp_path: Path) -> None:
    out = tmp_path / "basemap"
    areas = [{"kind": "neighborhood", "name": "Squareville", "geometry": SQUARE}]
    built = build(Inputs(roads=_roads(tmp_path), parcels=_parcels(tmp_path), areas=areas), out)
    layers = built.manifest["layers"]
    assert set(layers) == {"roads", "areas", "parcels"}
    assert "OpenStreetMap" in built.manifest["attribution"]
    # The road, at full detail in the deepest band, where it was; the landmark point is no road.
    deepest = json.loads((out / f"roads-{layers['roads']['bands'][-1]}.json").read_text())
    assert [name for name, _ in deepest["lines"]] == ["I 70"]
    assert _decode(deepest["lines"][0][1]) == [(-94.6, 39.05), (-94.55, 39.06), (-94.5, 39.05)]
    # Each parcel in the tile that holds it, and the manifest names exactly those tiles.
    assert layers["parcels"]["count"] == 2
    for key in layers["parcels"]["tiles"]:
        z, x, y = map(int, key.split("/"))
        assert z == PARCEL_TILE_ZOOM
        west, south, east, north = _tile_bounds(x, y, z)
        for lon, lat in _decode(json.loads((out / f"parcels/{key}.json").read_text())):
            assert west <= lon < east and south <= lat < north
    assert len(list((out / "parcels").rglob("*.json"))) == len(layers["parcels"]["tiles"])
    labels = json.loads((out / "labels.json").read_text())["labels"]
    assert labels[0][:2] == ["neighborhood", "Squareville"]
    assert shape(SQUARE).contains(shapely.Point(labels[0][2], labels[0][3]))


def test_a_city_without_parcels_or_roads_gets_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "basemap"
    built = build(Inputs(roads=_roads(tmp_path)), out)
    assert set(built.manifest["layers"]) == {"roads"}
    assert not (out / "parcels").exists() and not (out / "labels.json").exists()
    # A rebuild with other inputs leaves no file of the last one behind.
    build(Inputs(parcels=_parcels(tmp_path)), out)
    assert not list(out.glob("roads-*.json"))
    with pytest.raises(BasemapError, match="nothing to build"):
        build(Inputs(), out)


@pytest.mark.parametrize(("content", "message"), [
    ("x,y_coord\n1,2\n", "needs lon and lat columns; it has x, y_coord"),
    ("lon,lat\n39.05,-94.58\n", "line 2: 39.05, -94.58 is not a longitude and latitude"),
    ("lon,lat\n-94.58,3905000\n", "columns swapped, or the points projected"),
])  # fmt: skip
def test_bad_parcels_are_reported_with_the_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "parcels.csv"
    path.write_text(content)
    with pytest.raises(BasemapError, match=message.replace("(", r"\(")):
        build(Inputs(parcels=path), tmp_path / "out")


@pytest.mark.django_db
def test_the_command_says_what_is_wrong_with_its_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "roads.geojson"
    bad.write_text("<kml>not json</kml>")
    with pytest.raises(CommandError, match="roads.geojson: not GeoJSON"):
        call_command("build_basemap", roads=str(bad), out=str(tmp_path / "o"))
    with pytest.raises(CommandError, match="nope.csv: no such file"):
        call_command("build_basemap", parcels=str(tmp_path / "nope.csv"), out=str(tmp_path / "o"))
    points = tmp_path / "points.geojson"
    points.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(CommandError, match="no LineString features"):
        call_command("build_basemap", roads=str(points), out=str(tmp_path / "o"))


@pytest.mark.django_db
def test_the_map_page_names_the_built_base_map_and_the_view_serves_its_files(
    tmp_path: Path, settings: Any, client: Client
) -> None:
    Area.objects.create(kind="neighborhood", slug="sq", name="Squareville", geometry=SQUARE)
    settings.BASEMAP_DIR = tmp_path / "basemap"
    assert client.get("/map").context["config"]["basemap"] is None  # not built yet
    said = StringIO()
    call_command("build_basemap", roads=str(_roads(tmp_path)), parcels=str(_parcels(tmp_path)),
                 out=str(settings.BASEMAP_DIR), stdout=said)  # fmt: skip
    assert "1 areas, roads, 2 parcels in" in said.getvalue()
    config = client.get("/map").context["config"]["basemap"]
    assert config["layers"]["parcels"]["count"] == 2
    tile = config["layers"]["parcels"]["tiles"][0]
    answer = client.get(f"{config['url']}parcels/{tile}.json")
    assert answer.status_code == 200 and "immutable" in answer["Cache-Control"]
    assert len(json.loads(answer.content)) >= 2
    assert client.get(f"{config['url']}labels.json").json()["labels"][0][1] == "Squareville"
    version = config["version"]
    for wrong in (
        f"/map/basemap/{version}/manifest.json",
        f"/map/basemap/{version}/../x.json",
        "/map/basemap/0000/labels.json",
        f"/map/basemap/{version}/parcels/1/2/3.json",
    ):
        assert client.get(wrong).status_code == 404, wrong  # fmt: skip
    # A tile server, where the city has one, takes precedence.
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert client.get("/map?x=1").context["config"]["basemap"] is None


def test_simplified_outlines_keep_their_shape_in_a_fifth_of_the_bytes() -> None:
    with gzip.open(DISTRICTS_FILE, "rt") as fh:
        features = json.load(fh)["features"]
    before = after = 0
    for feature in features:
        small = simplified(feature["geometry"])
        before += len(json.dumps(feature["geometry"]))
        after += len(json.dumps(small))
        original, light = shape(feature["geometry"]).buffer(0), shape(small)
        assert light.is_valid
        # Under 5 m (a pixel at zoom 15): a sliver of a hole that rounding collapses goes.
        assert original.hausdorff_distance(light) < 0.00005
        assert abs(light.area - original.area) / original.area < 0.001
    assert after < 100_000 and after * 4 < before


def test_simplifying_keeps_a_tiny_area_and_an_unreadable_one() -> None:
    # A triangle a few metres wide: smaller than the tolerance's scale, still drawn.
    tiny = {"type": "Polygon", "coordinates": [[[0, 0], [0.00004, 0], [0.00004, 0.00004],
                                                [0, 0]]]}  # fmt: skip
    assert simplified(tiny)["coordinates"]
    broken = {"type": "Polygon", "coordinates": "nonsense"}
    assert simplified(broken) == broken


@pytest.mark.django_db
def test_the_areas_layer_is_light_and_full_detail_stays_downloadable(client: Client) -> None:
    with gzip.open(DISTRICTS_FILE, "rt") as fh:
        for feature in json.load(fh)["features"]:
            number = str(feature["properties"]["DISTRICT"])
            Area.objects.create(kind="council-district", slug=f"d{number}", name=number,
                                geometry=feature["geometry"])  # fmt: skip
    light = client.get("/map/areas.json")
    full = client.get("/map/areas.json?detail=full")
    assert len(light.content) <= 100_000 < len(full.content)
    assert len(light.json()["features"]) == len(full.json()["features"]) == 6
    assert client.get("/map/areas.json?detail=huge").status_code == 400


@pytest.mark.django_db
def test_load_demo_builds_the_kansas_city_base_map_once(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, kc_areas: None
) -> None:
    settings.BASEMAP_DIR = tmp_path / "basemap"
    # The cases are loaded already: only the base map is left to do.
    monkeypatch.setattr("civicstat.ingest.management.commands.load_demo.demo_load",
                        lambda **kwargs: None)  # fmt: skip
    said = StringIO()
    call_command("load_demo", stdout=said)
    built = manifest(settings.BASEMAP_DIR)
    assert built is not None
    assert built["layers"]["parcels"]["count"] == 95_979
    assert set(built["layers"]) == {"roads", "areas", "parcels"}
    assert "OpenStreetMap" in built["attribution"]
    call_command("load_demo", stdout=said)
    assert said.getvalue().count("Base map built") == 1
