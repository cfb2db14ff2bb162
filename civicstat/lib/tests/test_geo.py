"""Distances, h3 cells and point-in-polygon lookups, checked against known places and shapes."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.geo import (
    EARTH_RADIUS_M,
    H3_RESOLUTION,
    PolygonIndex,
    circle_bbox,
    h3_cell,
    haversine_m,
    valid_lat_lon,
)

# The real 2012 districts, as shipped with the demo (a copy of ../shared/data/kansas-city/).
KC_DISTRICTS = (
    Path(__file__).resolve().parents[3]
    / "demo"
    / "kansas-city"
    / "council_districts_2012.geojson.gz"
)
KC_CITY_HALL = (39.1005, -94.5785)
KC_UNION_STATION = (39.0848, -94.5857)

lats = st.floats(min_value=-90, max_value=90)
lons = st.floats(min_value=-180, max_value=180)


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    """GeoJSON polygon rings (lon, lat) for an axis-aligned rectangle."""
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": _square(x0, y0, x1, y1)}


def test_it_measures_kansas_city_hall_to_union_station_as_1_85_km() -> None:
    """A short in-city distance, to within 20 m."""
    assert haversine_m(*KC_CITY_HALL, *KC_UNION_STATION) == pytest.approx(1850, abs=20)


@pytest.mark.parametrize(
    ("a", "b", "miles"),
    [
        ((40.6413, -73.7781), (33.9416, -118.4085), 2475),  # JFK to LAX
        ((40.6413, -73.7781), (51.4700, -0.4543), 3451),  # JFK to Heathrow
    ],
)
def test_it_measures_long_flights_within_half_a_percent_of_published_distances(
    a: tuple[float, float], b: tuple[float, float], miles: float
) -> None:
    """Published airport distances use the ellipsoid; a sphere is within 0.5 % of them."""
    assert haversine_m(*a, *b) == pytest.approx(miles * 1609.344, rel=0.005)


def test_a_quarter_meridian_and_half_the_equator_follow_the_earths_radius() -> None:
    """Pole to equator is a quarter of the circumference; opposite points on the equator half."""
    assert haversine_m(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_M)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    """The same everywhere on a sphere."""
    for lon in (-94.5, 0, 120):
        assert haversine_m(10, lon, 11, lon) == pytest.approx(111_195, abs=1)


def test_it_measures_across_the_antimeridian_the_short_way() -> None:
    """From 179.5 E to 179.5 W is one degree of longitude, not 359."""
    assert haversine_m(0, 179.5, 0, -179.5) == pytest.approx(haversine_m(0, 0, 0, 1))


@given(lat1=lats, lon1=lons, lat2=lats, lon2=lons)
def test_distance_is_symmetric_and_never_beyond_half_the_globe(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    """a to b equals b to a, and nothing is further than the antipode."""
    d = haversine_m(lat1, lon1, lat2, lon2)
    assert d == pytest.approx(haversine_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0 <= d <= math.pi * EARTH_RADIUS_M * (1 + 1e-12)


@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-170, max_value=170),
    radius=st.floats(min_value=1, max_value=50_000),
)
def test_a_circles_box_reaches_exactly_its_radius_north_and_east(
    lat: float, lon: float, radius: float
) -> None:
    """The box's edges lie one radius from the centre, so nothing in the circle falls outside."""
    west, south, east, north = circle_bbox(lat, lon, radius)
    assert south < lat < north and west < lon < east
    assert haversine_m(lat, lon, north, lon) == pytest.approx(radius, rel=1e-6)
    assert haversine_m(lat, lon, lat, east) >= radius * (1 - 1e-6)


@given(lat=lats, lon=lons)
def test_a_point_is_no_distance_from_itself(lat: float, lon: float) -> None:
    """Zero, not a rounding error of metres."""
    assert haversine_m(lat, lon, lat, lon) == 0


@given(
    lat=st.floats(min_value=-85, max_value=85),
    lon=st.floats(min_value=-179.9, max_value=179.9),
)
def test_an_h3_cell_is_an_int_whose_centre_is_near_the_point(lat: float, lon: float) -> None:
    """A resolution-9 cell (edges ~200 m) has its centre within a few hundred metres."""
    cell = h3_cell(lat, lon)
    assert type(cell) is int
    assert h3.is_valid_cell(cell)
    assert h3.get_resolution(cell) == H3_RESOLUTION
    centre = h3.cell_to_latlng(cell)
    assert haversine_m(lat, lon, *centre) < 400
    assert h3.latlng_to_cell(lat, lon, H3_RESOLUTION) == cell


def test_the_h3_cell_of_kansas_city_hall_holds_city_hall() -> None:
    """The cell's boundary contains the point it was made from."""
    cell = h3_cell(*KC_CITY_HALL)
    boundary = h3.cell_to_boundary(cell)
    hexagon = PolygonIndex(
        [(1, {"type": "Polygon", "coordinates": [[(y, x) for x, y in boundary]]})]
    )
    assert hexagon.containing([KC_CITY_HALL[0]], [KC_CITY_HALL[1]]) == [[1]]


def test_h3_cells_at_a_coarser_resolution_contain_the_fine_ones() -> None:
    """The resolution argument is honoured and cells nest."""
    fine = h3_cell(*KC_CITY_HALL)
    coarse = h3_cell(*KC_CITY_HALL, resolution=5)
    assert h3.get_resolution(coarse) == 5
    assert h3.cell_to_parent(fine, 5) == coarse


def test_nearby_points_share_a_cell_and_distant_ones_do_not() -> None:
    """City Hall and a point ten metres away share a cell; Union Station is elsewhere."""
    centre = h3.cell_to_latlng(h3_cell(*KC_CITY_HALL))
    assert h3_cell(*centre) == h3_cell(centre[0] + 0.0001, centre[1])
    assert h3_cell(*KC_CITY_HALL) != h3_cell(*KC_UNION_STATION)


@pytest.mark.parametrize(
    ("lat", "lon", "valid"),
    [
        (39.1, -94.6, True),
        (90, 180, True),
        (-90, -180, True),
        (0, 0, False),  # null island: a missing location exported as zeros
        (0, -94.6, True),
        (90.1, 0, False),
        (0, 180.1, False),
        (-94.6, 39.1, False),  # latitude and longitude swapped
    ],
)
def test_it_accepts_real_coordinates_and_rejects_null_island_and_out_of_range(
    lat: float, lon: float, valid: bool
) -> None:
    """Zero-zero and values beyond the globe are not locations."""
    assert valid_lat_lon(lat, lon) is valid


@pytest.fixture
def nested_squares() -> PolygonIndex:
    """An outer square (id 10), a square inside it (20), and a two-part MultiPolygon (30).

    Coordinates are (lon, lat); the shapes sit away from the diagonal so a swap is caught.
    """
    multi = {"type": "MultiPolygon", "coordinates": [_square(50, 0, 52, 2), _square(60, 0, 62, 2)]}
    return PolygonIndex([(10, _polygon(0, 20, 10, 30)), (20, _polygon(2, 22, 4, 24)), (30, multi)])


def test_a_point_inside_only_the_outer_square_gets_only_its_id(nested_squares) -> None:
    """Latitude 28, longitude 8 is in the outer square, outside the inner one."""
    assert nested_squares.containing([28], [8]) == [[10]]


def test_a_point_inside_both_squares_gets_both_ids(nested_squares) -> None:
    """Nested areas, such as a neighbourhood inside a district, both match."""
    [ids] = nested_squares.containing([23], [3])
    assert sorted(ids) == [10, 20]


def test_a_point_in_either_part_of_a_multipolygon_gets_its_id(nested_squares) -> None:
    """Both islands of the MultiPolygon count; the sea between them does not."""
    assert nested_squares.containing([1, 1, 1], [51, 61, 56]) == [[30], [30], []]


def test_a_point_outside_every_shape_gets_no_ids(nested_squares) -> None:
    """Including the point whose latitude and longitude are swapped."""
    assert nested_squares.containing([0, 8, -28], [0, 28, 8]) == [[], [], []]


def test_a_missing_coordinate_gets_no_ids_and_keeps_its_place(nested_squares) -> None:
    """None in either coordinate is an empty answer, and later points still line up."""
    got = nested_squares.containing([None, 23, 23, None, 28], [3, None, 3, None, 8])
    assert [sorted(ids) for ids in got] == [[], [], [10, 20], [], [10]]


def test_it_answers_one_list_per_point_in_order(nested_squares) -> None:
    """Many points in one call come back in the order given."""
    lats = [28, 23, 1, 0, 1]
    lons = [8, 3, 61, 0, 51]
    got = nested_squares.containing(lats, lons)
    assert [sorted(ids) for ids in got] == [[10], [10, 20], [30], [], [30]]


def test_no_points_give_no_answers(nested_squares) -> None:
    """An empty batch is an empty list."""
    assert nested_squares.containing([], []) == []


def test_an_index_of_no_shapes_finds_nothing() -> None:
    """A city with no areas loaded still answers, with nothing."""
    assert PolygonIndex([]).containing([23, None], [3, None]) == [[], []]


def test_a_polygon_with_a_hole_does_not_contain_the_hole() -> None:
    """Interior rings are holes."""
    ring = _square(0, 0, 10, 10)[0]
    hole = _square(4, 4, 6, 6)[0]
    index = PolygonIndex([(1, {"type": "Polygon", "coordinates": [ring, hole]})])
    assert index.containing([5, 2], [5, 2]) == [[], [1]]


@given(lat=st.floats(min_value=20.01, max_value=29.99), lon=st.floats(0.01, 9.99))
def test_every_point_strictly_inside_the_outer_square_is_found(lat: float, lon: float) -> None:
    """The bounding-box pre-filter never drops a point that is inside."""
    index = PolygonIndex([(10, _polygon(0, 20, 10, 30))])
    assert index.containing([lat], [lon]) == [[10]]


def _kc_districts() -> PolygonIndex:
    features = json.loads(gzip.decompress(KC_DISTRICTS.read_bytes()))["features"]
    assert len(features) == 6
    return PolygonIndex([(int(f["properties"]["DISTRICT"]), f["geometry"]) for f in features])


def test_kansas_city_hall_is_in_exactly_one_council_district() -> None:
    """The real 2012 districts do not overlap downtown; City Hall is in the 4th."""
    districts = _kc_districts()
    [ids] = districts.containing([KC_CITY_HALL[0]], [KC_CITY_HALL[1]])
    assert len(ids) == 1
    assert ids == [4]


def test_a_point_outside_kansas_city_is_in_no_council_district() -> None:
    """St. Louis is not in any Kansas City district."""
    assert _kc_districts().containing([38.6270], [-90.1994]) == [[]]
