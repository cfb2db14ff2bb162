"""Importing Kansas City's real 311 export through the `kansas-city` profile."""

from __future__ import annotations

import csv
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, F

from civicstat.cases.models import Case, CaseArea, CaseEvent, Department, Layer, Service
from civicstat.ingest.demo import CASES_FILE
from civicstat.ingest.mapping import load_profile
from civicstat.ingest.tests.helpers import count_by, read_source, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(data_dir):
    return data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz"


def test_it_imports_every_row_of_the_sample_with_the_statuses_of_the_source(sample, kc_areas):
    run = run_import(sample)
    source = read_source(sample)
    assert (run.rows_read, run.created, run.rejected) == (10_000, 10_000, 0)
    assert Counter(Case.objects.values_list("status", flat=True)) == count_by(source, "STATUS")


def test_departments_match_the_source_with_aliases_merged(sample, kc_areas):
    run_import(sample)
    source = count_by(read_source(sample), "DEPARTMENT")
    expected = Counter()
    aliases = {"Parks & Rec": "Parks and Rec", "Parks & Recreation": "Parks and Rec",
               "NHS": "Neighborhoods and Housing Services",
               "NCS": "Neighborhood and Community Services", "KCPD": "Police (KCPD)"}  # fmt: skip
    for name, n in source.items():
        expected[aliases.get(name, name)] += n
    imported = Counter(dict(Department.objects.annotate(n=Count("cases")).values_list("name", "n")))
    assert +imported == expected
    assert not Department.objects.filter(name__in=["Parks & Rec", "Parks & Recreation"]).exists()


def _violation(row: dict[str, str]) -> bool:
    """The profile's two layer rules: a code violation by its category or its request type."""
    return "violation" in row["CATEGORY"].lower() or "violation" in row["REQUEST TYPE"].lower()


def test_violations_go_to_their_own_layer(sample, kc_areas):
    run_import(sample)
    source = read_source(sample)
    # By category until the 2015 renaming, by request type after it ("Property Violations" filed
    # under "Mowing / Weeds" and the like).
    violations = sum(1 for row in source if _violation(row))
    assert Case.objects.filter(layer__slug="code-violations").count() == violations
    after_2015 = [r for r in source if _violation(r) and r["CREATION YEAR"] >= "2016"]
    assert after_2015 and not any("violation" in r["CATEGORY"].lower() for r in after_2015)
    assert Layer.objects.get(slug="code-violations").noun == "violation"


def test_closed_dates_without_a_time_never_precede_the_opening(sample, kc_areas):
    """KC writes closed dates without a time; a same-day close must not look negative."""
    run_import(sample)
    assert not Case.objects.filter(closed_at__lt=F("requested_at")).exists()
    assert Case.objects.filter(closed_at=F("requested_at")).exists()


def test_a_known_case_reads_as_in_the_export(kc_areas, tmp_path):
    """Case 2007000141: a streetlight on Harrison St, opened 01/04/2007 2:31 PM, resolved 01/11."""
    source = read_source(CASES_FILE)[:50]
    path = tmp_path / "head.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(source[0]))
        writer.writeheader()
        writer.writerows(source)
    run_import(path)
    case = Case.objects.get(external_id="2007000141")
    local = case.requested_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2007, 1, 4, 14, 31)
    assert case.closed_at.astimezone(local.tzinfo).date().isoformat() == "2007-01-11"
    assert case.status == "RESOL" and case.status_group == "closed"
    assert case.service.name == "Street Light Malfunctioning"
    # Filed under the category's name since June 2015; the export's own name kept.
    assert case.service.group == "Lights / Signals"
    assert case.attributes["source_service_group"] == "Street Light"
    assert case.department.name == "Public Works"
    assert case.address == "2729 HARRISON ST" and case.zip_code == "64109"
    assert case.channel == "PHONE"
    assert case.attributes["work_group"] == "Public Works-Street and Traffic-Streetlights"
    assert list(case.events.values_list("kind", "status_to")) == [("created", "RESOL")]
    # The export says district 4, as districts were drawn in 2007; the polygons are the 2012 ones.
    assert sorted(case.areas.values_list("name", flat=True)) == ["District 3", "Longfellow"]


def test_each_case_lands_in_the_neighborhood_and_district_the_city_recorded(sample, kc_areas):
    """Point-in-polygon against the real boundaries agrees with the city's own columns."""
    run_import(sample)
    source = {row["CASE ID"]: row for row in read_source(sample)}
    links = CaseArea.objects.values_list("case__external_id", "area__kind", "area__name")
    neighborhood, district = {}, {}
    for external_id, kind, name in links:
        (neighborhood if kind == "neighborhood" else district)[external_id] = name
    named = {cid: row for cid, row in source.items() if row["nbh_name"]}
    same_nbh = sum(1 for cid, row in named.items() if neighborhood.get(cid) == row["nbh_name"])
    with_district = {cid: row for cid, row in source.items() if row["COUNCIL DISTRICT"]}
    same_district = sum(
        1 for cid, row in with_district.items()
        if district.get(cid) == f"District {int(float(row['COUNCIL DISTRICT']))}"
    )  # fmt: skip
    # The city's columns came from its own geocoder, some against older boundaries (the 2012
    # districts are loaded here); nearly every case must still agree with the polygons.
    assert same_nbh / len(named) > 0.99
    assert same_district / len(with_district) > 0.95
    # Rows the city left without a neighborhood fall in its unnamed polygons: no area is invented.
    unnamed = [cid for cid, row in source.items() if not row["nbh_name"]]
    assert sum(1 for cid in unnamed if cid in neighborhood) < len(unnamed) * 0.3


def test_services_are_created_once_per_request_type(sample, kc_areas):
    run_import(sample)
    source = read_source(sample)
    renamed = load_profile(name="kansas-city").request_types  # one request type, two codes
    kinds = {(_violation(r), renamed.get(r["REQUEST TYPE"], r["REQUEST TYPE"])) for r in source}
    assert Service.objects.count() == len(kinds)
    assert Service.objects.filter(name="Street Light Malfunctioning").count() == 1


@pytest.mark.slow
def test_the_whole_demo_file_matches_the_source_by_status_and_department(kc_areas):
    run = run_import(CASES_FILE)
    source = read_source(CASES_FILE)
    assert (run.rows_read, run.created, run.rejected) == (80_203, 80_203, 0)
    assert Counter(Case.objects.values_list("status", flat=True)) == count_by(source, "STATUS")
    by_dept = Counter(dict(Department.objects.annotate(n=Count("cases")).values_list("name", "n")))
    assert by_dept["Public Works"] == count_by(source, "DEPARTMENT")["Public Works"] == 17_943
    parks = count_by(source, "DEPARTMENT")
    assert by_dept["Parks and Rec"] == parks["Parks and Rec"] + parks["Parks & Rec"] + parks[
        "Parks & Recreation"]  # fmt: skip
    assert CaseEvent.objects.count() == 80_203
