"""The place search over Kansas City's real address points (the demo's OpenAddresses file) and
the addresses of the KC 311 sample's cases: the queries a resident types, typos included."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicstat.ingest.demo import ADDRESSES_FILE
from civicstat.places.geocoder import places_find
from civicstat.places.models import AddressPoint
from civicstat.places.services import AddressFileError, addresses_from_cases, addresses_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def kc_index(kc_sample: None, db: None) -> None:
    report = addresses_load(path=ADDRESSES_FILE)
    assert report.read == 7882 and report.loaded + len(report.rejected) == report.read
    addresses_from_cases()


def _first(query: str) -> Any:
    found = places_find(query)
    assert found, f"nothing found for {query!r}"
    return found[0]


def test_a_house_number_and_street_finds_that_address_in_any_usual_spelling(kc_index: None) -> None:
    # 4305 Troost Ave: an address of the cases (the file's points are east of Troost).
    point = AddressPoint.objects.get(number="4305", street="TROOST AVE")
    for query in ("4305 Troost Ave", "4305 troost avenue", "4305 TROOST", "4305 Trost Ave"):
        hit = _first(query)
        assert (hit.kind, hit.name, hit.exact) == ("address", "4305 Troost Ave", True), query
        assert (hit.lat, hit.lon) == (point.lat, point.lon)
        assert hit.address_id == f"a{point.pk}"


def test_east_and_street_spelt_out_or_short_meet(kc_index: None) -> None:
    names = {_first(q).name for q in ("817 E Linwood Blvd", "817 East Linwood Boulevard",
                                      "817 e. linwood blvd.")}  # fmt: skip
    assert names == {"817 E Linwood Blvd"}


def test_a_numbered_street_without_its_suffix_is_found(kc_index: None) -> None:
    """ "414 E 12th", the README's example: City Hall is not among the demo's points, so the
    answer is a place on E 12th St worked out from its numbers, and says it is approximate."""
    hit = _first("414 E 12th")
    assert hit.kind == "address", places_find("414 E 12th")
    assert hit.kind == "address" and hit.name.startswith("414 E 12th St")
    assert not hit.exact and "approximate" in hit.name
    assert 39.0 < hit.lat < 39.2 and -94.7 < hit.lon < -94.4
    assert _first("E 12").name in {"E 12th St", "E 12th Ter"}


def test_a_street_alone_or_misspelt_finds_the_street(kc_index: None) -> None:
    for query in ("Troost Ave", "troost", "Trosot Ave", "Troost St"):
        hit = _first(query)
        assert (hit.kind, hit.name) == ("street", "Troost Ave"), query
        west, south, east, north = hit.bbox
        assert west <= hit.lon <= east and south <= hit.lat <= north
    assert _first("Main St").name == "Main St"


def test_a_zip_code_neighborhood_or_district_is_found_by_name(kc_index: None) -> None:
    zip_code = AddressPoint.objects.exclude(postcode="").values_list("postcode", flat=True)[0]
    hit = _first(zip_code[:5])
    assert (hit.kind, hit.name) == ("postcode", zip_code[:5])
    assert _first("District 4").name == "District 4"
    assert _first("Country Club Plaza").name == "Country Club Plaza"
    westport = {"Old Westport", "Plaza Westport"}  # KC has no neighborhood called just that
    assert _first("Westport").kind == "neighborhood" and _first("Westport").name in westport
    assert _first("westprt").name in westport  # one letter missing


def test_a_case_number_finds_the_case_and_its_page(kc_index: None) -> None:
    from civicstat.cases.models import Case

    case = Case.objects.public().filter(lat__isnull=False).first()
    assert case is not None
    hit = _first(case.external_id)
    assert hit.kind == "case" and hit.url == case.get_absolute_url()


def test_nonsense_finds_nothing_and_never_fails(kc_index: None) -> None:
    assert places_find("zzzz qqqq") == []
    assert places_find("   ") == []
    assert places_find("9" * 60) == []


def test_the_place_search_endpoint_answers_with_the_ranked_places(
    client: Any, kc_index: None
) -> None:
    found = client.get("/map/places.json", {"q": "4305 troost"}).json()["places"]
    assert found[0]["name"] == "4305 Troost Ave" and found[0]["address_id"].startswith("a")
    assert "approximate" not in found[0]
    found = client.get("/map/places.json", {"q": "414 E 12th"}).json()["places"]
    assert found[0]["approximate"] is True


def test_a_bad_file_is_refused_whole_and_bad_rows_are_reported_by_line(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("X,Y,ADDRESS\n1,2,3 Main St\n")
    with pytest.raises(AddressFileError, match="no LON, LAT, NUMBER, STREET column"):
        addresses_load(path=wrong)
    rows = tmp_path / "points.csv.gz"
    with gzip.open(rows, "wt") as out:
        out.write("LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH\n"
                  "-94.57,39.04,4305,TROOST AVE,,,,,64110,1,h1\n"
                  "-94.57,north,4307,TROOST AVE,,,,,,2,h2\n"
                  "-94.57,39.04,,TROOST AVE,,,,,,3,h3\n"
                  "0,0,1,MAIN ST,,,,,,4,h4\n"
                  "-94.57,39.04,4305,TROOST AVE,,,,,64110,1,h1\n")  # fmt: skip
    report = addresses_load(path=rows)
    assert report.read == 5 and report.loaded == 1
    assert report.rejected == [
        (3, "LAT 'north' is not a number"),
        (4, "NUMBER and STREET are both needed"),
        (5, "the point is 0, 0 (a missing location)"),
        (6, "the same address as line 2"),
    ]
    # Loaded again, the source's points are replaced, not added to.
    addresses_load(path=rows)
    assert AddressPoint.objects.filter(source="points.csv").count() == 1


def test_the_command_loads_files_and_cases_and_says_what_it_rejected(
    kc_sample: None, capsys: Any
) -> None:
    call_command("load_addresses", str(ADDRESSES_FILE), "--from-cases")
    out = capsys.readouterr().out
    assert "address_points_east_kc_openaddresses.csv: 7,882 read" in out
    assert "cases:" in out and "loaded" in out
    with pytest.raises(CommandError, match="give one or more"):
        call_command("load_addresses")
