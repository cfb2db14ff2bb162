"""A sensitive layer (KCPD crime reports) leaves only at generalised places.

Carol is a resident with a browser and curl: she reads every public page, feed and API there is,
and draws viewports and circles as small as she likes around a crime she heard of. Alice is staff:
she sees the exact point in the admin.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Case, Department, Layer
from civicstat.cases.services import data_version
from civicstat.ingest.demo import CRIME_FILE
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile
from civicstat.lib.geo import h3_cell_centre
from civicstat.maps.models import MapCell

pytestmark = pytest.mark.django_db

SLICE = 300  # rows of the real 2017 file: a few seconds to import, every offense group present


def crime_slice(tmp_path: Path, rows: int = SLICE) -> Path:
    """The first `rows` rows of the demo's KCPD file, as a file of their own."""
    with gzip.open(CRIME_FILE, "rt", encoding="utf-8") as source:
        lines = [next(source) for _ in range(rows + 1)]
    path = tmp_path / "kcpd_crime_slice.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def crime(tmp_path: Path, kc_areas: None) -> Layer:
    run = import_file(path=crime_slice(tmp_path), profile=load_profile(name="kansas-city-crime"))
    assert run.created + run.rejected == run.rows_read == SLICE
    return Layer.objects.get(slug="crime-incidents")


def _numbers(value: float) -> set[str]:
    """How a coordinate can be written: in full, and rounded to 6, 5 and 4 decimals."""
    forms = {repr(value), f"{value:.6f}", f"{value:.5f}", f"{value:.4f}"}
    return forms | {f.rstrip("0") for f in forms if "." in f}


def exact_forms(layer: Layer) -> re.Pattern[str]:
    """Every written form of the layer's exact coordinates that no cell centre of the layer has
    (a centre may round to an exact figure by chance; that reveals nothing). The centres are
    worked out here from the cells, not read from what the code under test stored."""
    public: set[str] = set()
    exact: set[str] = set()
    rows = Case.objects.filter(layer=layer, h3_cell__isnull=False)
    for lat, lon, cell in rows.values_list("lat", "lon", "h3_cell"):
        assert lat is not None and lon is not None
        exact |= _numbers(lat) | _numbers(lon)
        plat, plon = h3_cell_centre(cell)
        public |= _numbers(plat) | _numbers(plon)
    forbidden = sorted(exact - public, key=len, reverse=True)
    assert len(forbidden) > len(exact) * 0.9  # chance collisions are rare
    return re.compile(r"(?<![\d.])(" + "|".join(map(re.escape, forbidden)) + r")(?![\d])")


def test_the_crime_file_becomes_a_sensitive_layer_with_readable_offenses(crime):
    """Every row is a case or a reject with a reason; offenses read as words, under Police."""
    assert crime.sensitive and crime.name == "Crime incidents"
    case = Case.objects.select_related("service", "department").get(layer=crime, external_id="2")
    assert case.service is not None and case.service.code == "Homicide_Non_Negl"
    assert case.service.name == "Homicide (non-negligent)" and case.service.group == "Homicide"
    assert case.department == Department.objects.get(name="Police")
    assert case.attributes == {"firearm": "Y"}
    # 2017-11-21 at 13:00 in Kansas City
    assert case.requested_at.isoformat() == "2017-11-21T19:00:00+00:00"
    names = set(crime.services.values_list("name", flat=True))
    assert "Non-aggravated assault (domestic)" in names
    assert not any("_" in name for name in names)
    assert case.public_lat is not None and case.public_lon is not None
    assert case.h3_cell is not None
    assert (case.public_lat, case.public_lon) == h3_cell_centre(case.h3_cell)
    assert (case.public_lat, case.public_lon) != (case.lat, case.lon)


def test_a_viewport_around_the_exact_point_does_not_find_the_crime(client, crime):
    """Carol cannot corner a crime with tiny viewports: only the public point is matched."""
    case = Case.objects.filter(layer=crime).order_by("id").first()
    assert case is not None and case.lat is not None and case.lon is not None
    assert case.public_lat is not None and case.public_lon is not None
    d = 0.00005
    tiny = f"{case.lon - d},{case.lat - d},{case.lon + d},{case.lat + d}"
    if not (abs(case.public_lat - case.lat) < d and abs(case.public_lon - case.lon) < d):
        found = client.get(f"/map/view.json?bbox={tiny}&layer=crime-incidents").json()
        assert all(p["id"] != case.external_id for p in found["points"])
    around = (f"{case.public_lon - d},{case.public_lat - d},{case.public_lon + d},"
              f"{case.public_lat + d}")  # fmt: skip
    found = client.get(f"/map/view.json?bbox={around}&layer=crime-incidents").json()
    mine = [p for p in found["points"] if p["id"] == case.external_id]
    assert mine == [{**mine[0], "lat": case.public_lat, "lon": case.public_lon, "address": ""}]


ENDPOINTS = (
    "/map/view.json?bbox={box}&layer=crime-incidents",
    "/map/view.json?bbox={box}",
    "/map/view.json?bbox={box}&since=2017-01-01",
    "/map/view.json?bbox={box}&service_group=Assault&status=closed",
    "/map/list?layer=crime-incidents&sort={sort}",
    "/map/list?bbox={box}",
    "/map?layer=crime-incidents",
    "/",
    "/cases/crime-incidents/{id}",
    "/embed/map?layer=crime-incidents&list=1",
    "/open311/v2/requests.json?bbox={box}&extensions=true",
    "/open311/v2/requests.xml?bbox={box}&extensions=true",
    "/open311/v2/requests.json?service_request_id={id}",
    "/open311/v2/requests/{id}.json?extensions=true",
    "/open311/v2/requests/{id}.xml?extensions=true",
    "/alerts/feed?lat={lat}&lon={lon}&radius={radius}",
    "/alerts/feed.rss?lat={lat}&lon={lon}&radius={radius}&layer=crime-incidents",
    "/alerts/feed?layer=crime-incidents",
    "/departments/police",
    "/map/places.json?q={id}",
    "/api/v1/cases?layer=crime-incidents&_size=1000",
    "/api/v1/cases.geojson?bbox={box}",
    "/api/v1/cases.csv?bbox={box}",
    "/api/v1/layers/crime-incidents/cases.csv",
    "/api/v1/layers/crime-incidents/cases.geojson",
    "/resource/{ds}.json?$where=within_circle(location,{lat},{lon},{radius})",
    "/resource/{ds}.geojson?$limit=5000",
    "/resource/{ds}.csv?$order=:id",
    "/resource/{ds}.json?$select=latitude,longitude,location&$where=within_box(location,"
    "{north},{west},{south},{east})",
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    endpoint=st.sampled_from(ENDPOINTS),
    half=st.floats(min_value=1e-5, max_value=0.3),
    shift=st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
    radius=st.integers(250, 5000),
    sort=st.sampled_from(["opened", "-opened", "type", "status"]),
)
def test_no_public_answer_holds_an_exact_point_of_a_sensitive_layer(
    client, crime, data, endpoint, half, shift, radius, sort
):
    """Whatever the endpoint, viewport, circle or order, no exact coordinate appears."""
    ids = list(Case.objects.filter(layer=crime).order_by("id").values_list("id", flat=True))
    case = Case.objects.get(id=data.draw(st.sampled_from(ids)))
    assert case.lat is not None and case.lon is not None
    # A viewport near the exact point: around it, or just beside it.
    lat, lon = case.lat + shift[0] * half, case.lon + shift[1] * half
    box = f"{lon - half:.6f},{lat - half:.6f},{lon + half:.6f},{lat + half:.6f}"
    url = endpoint.format(box=box, id=case.external_id, lat=f"{case.lat:.6f}",
                          lon=f"{case.lon:.6f}", radius=radius, sort=sort,
                          ds=default_identifier(crime.slug), north=f"{lat + half:.6f}",
                          south=f"{lat - half:.6f}", west=f"{lon - half:.6f}",
                          east=f"{lon + half:.6f}")  # fmt: skip
    response = client.get(url)
    # A case number shorter than the place search's 3 letters is refused (400), not searched.
    allowed = (200, 400, 404) if "places.json" in url else (200, 404)
    assert response.status_code in allowed, (url, response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode()
    # The URL itself holds figures (the exact point, the viewport's corners, which may fall on
    # another crime's exact point); a page echoes them in links and its filter form: they are the
    # client's own input, not found in the data.
    for figure in sorted(set(re.findall(r"-?\d+\.\d+", url)), key=len, reverse=True):
        text = text.replace(figure, "")
    leak = exact_forms(crime).search(text)
    assert leak is None, (url, leak.group(0) if leak else None, text[:2000])


def test_every_public_answer_names_the_crime_at_its_public_point(client, crime):
    """The case page, Open311 and the map all give the cell centre, the same everywhere."""
    case = Case.objects.filter(layer=crime).order_by("id").first()
    assert case is not None
    one = client.get(f"/open311/v2/requests/{case.external_id}.json").json()[0]
    assert (one["lat"], one["long"]) == (case.public_lat, case.public_lon)
    assert one["address"] == ""
    page = client.get(case.get_absolute_url())
    assert page.status_code == 200 and b"Stolen property offense" in page.content


def test_marking_a_layer_sensitive_moves_every_public_point_in_one_transaction(client, crime):
    """Unmarked, the crimes show at their exact points; marked again, at cell centres, with the
    map's clusters, and a new data version so no cached answer keeps the exact points."""
    case = Case.objects.filter(layer=crime).order_by("id").first()
    assert case is not None and case.lat is not None and case.lon is not None
    box = f"{case.lon - 0.02},{case.lat - 0.02},{case.lon + 0.02},{case.lat + 0.02}"
    url = f"/open311/v2/requests/{case.external_id}.json"
    assert client.get(url).json()[0]["lat"] == case.public_lat
    client.get(f"/map/view.json?bbox={box}")  # cached under this data version

    before = data_version()
    crime.sensitive = False
    crime.save()
    assert data_version() > before
    assert client.get(url).json()[0]["lat"] == case.lat
    case.refresh_from_db()
    assert (case.public_lat, case.public_lon) == (case.lat, case.lon)

    # The queryset update path, and a rollback that leaves everything as it was.
    with pytest.raises(RuntimeError), transaction.atomic():
        Layer.objects.filter(pk=crime.pk).update(sensitive=True)
        raise RuntimeError("cancelled")
    case.refresh_from_db()
    assert (case.public_lat, case.public_lon) == (case.lat, case.lon)

    before = data_version()
    Layer.objects.filter(pk=crime.pk).update(sensitive=True)
    assert data_version() > before
    case.refresh_from_db()
    assert case.h3_cell is not None
    assert (case.public_lat, case.public_lon) == h3_cell_centre(case.h3_cell)
    answer = client.get(f"/map/view.json?bbox={box}").json()
    assert exact_forms(crime).search(str(answer)) is None
    # The finest cells' cluster sums are sums of cell centres: a lone case sits on its centre.
    lone = MapCell.objects.filter(res=9, cell=case.h3_cell, layer_id=crime.pk, count=1).first()
    if lone is not None:
        assert (round(lone.sum_lat, 6), round(lone.sum_lon, 6)) == h3_cell_centre(case.h3_cell)


def test_staff_see_the_exact_point_in_the_admin(admin_client, crime):
    """Alice, staff, reads the exact coordinates on the case's admin page."""
    case = Case.objects.filter(layer=crime).order_by("id").first()
    assert case is not None
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert repr(case.lat).encode() in page.content


def test_a_profile_cannot_misname_an_offense(tmp_path):
    """A readable-name entry that is not a name, or a sensitive flag that is not true or false,
    is refused with the fix."""
    from civicstat.ingest.mapping import ProfileError

    base = ('[columns]\nexternal_id = "id"\nstatus = "s"\nrequested_at = "t"\n'
            '[statuses]\nX = { group = "open" }\n')  # fmt: skip
    bad_name = tmp_path / "a.toml"
    bad_name.write_text(base + "[service_names]\nArson = 3\n", "utf-8")
    with pytest.raises(ProfileError, match=r"service_names.Arson must be a name"):
        load_profile(path=bad_name)
    bad_flag = tmp_path / "b.toml"
    bad_flag.write_text(base + '[layers.crime]\nsensitive = "yes"\n', "utf-8")
    with pytest.raises(ProfileError, match=r"sensitive must be true or false"):
        load_profile(path=bad_flag)


def test_the_demo_loads_the_crime_layer_once(tmp_path, data_dir, monkeypatch):
    """`load_demo` imports the KCPD file after the 311 cases, as a sensitive layer, once."""
    from civicstat.ingest import demo
    from civicstat.ingest.demo import demo_load
    from civicstat.ingest.models import ImportRun

    # The demo's measures need departments a 400-row slice of 311 lacks; they are not the point.
    monkeypatch.setattr(demo, "demo_measures_load", lambda: None)
    small = tmp_path / "kc311_small.csv.gz"
    with gzip.open(data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz", "rb") as source:
        head = b"".join(source.readline() for _ in range(1))
        rows = b"".join(source.readline() for _ in range(400))
    small.write_bytes(gzip.compress(head + rows))
    demo_load(cases_file=small, crime_file=crime_slice(tmp_path, 50))
    layer = Layer.objects.get(slug="crime-incidents")
    assert layer.sensitive
    assert Case.objects.filter(layer=layer).count() == 50
    demo_load(cases_file=small, crime_file=crime_slice(tmp_path, 50))
    assert ImportRun.objects.filter(file_name="kcpd_crime_slice.csv").count() == 1
