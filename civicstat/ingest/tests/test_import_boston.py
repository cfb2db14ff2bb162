"""Importing Boston's real 311 data, and its deliberately broken variants."""

from __future__ import annotations

from collections import Counter

import pytest

from civicstat.cases.models import Case
from civicstat.ingest.models import ImportRun, RejectedRow
from civicstat.ingest.tests.helpers import count_by, read_source, run_import

pytestmark = pytest.mark.django_db

CITY_HALL = (42.3594, -71.0587)


@pytest.fixture
def boston(data_dir):
    return data_dir / "boston"


def test_it_imports_the_csv_with_the_statuses_and_departments_of_the_source(boston):
    run = run_import(boston / "boston311-100.csv", "boston")
    source = read_source(boston / "boston311-100.csv")
    assert (run.rows_read, run.created, run.rejected) == (100, 100, 0)
    assert Counter(Case.objects.values_list("status", flat=True)) == count_by(source, "case_status")
    by_dept = Counter(Case.objects.values_list("department__name", flat=True))
    assert by_dept == count_by(source, "subject")


def test_json_lines_give_the_same_cases_as_the_csv(boston):
    run_import(boston / "boston311-100.csv", "boston")
    from_csv = set(Case.objects.values_list("external_id", "status", "lat", "lon", "requested_at"))
    Case.objects.all().delete()
    run = run_import(boston / "boston311-100.jsonl", "boston")
    assert run.created == 100
    assert set(Case.objects.values_list("external_id", "status", "lat", "lon",
                                        "requested_at")) == from_csv  # fmt: skip


def test_city_hall_placeholder_points_are_flagged_approximate_and_match_no_area(boston, kc_areas):
    run_import(boston / "boston311-100.csv", "boston")
    source = read_source(boston / "boston311-100.csv")
    placeholders = sum(
        1 for r in source if (float(r["latitude"]), float(r["longitude"])) == CITY_HALL
    )
    assert placeholders == 19
    approximate = Case.objects.filter(location_approximate=True)
    assert approximate.count() == 19
    assert not approximate.exclude(h3_cell=None).exists()
    assert not approximate.filter(areas__isnull=False).exists()
    assert Case.objects.filter(location_approximate=False).exclude(h3_cell=None).count() == 81


def test_target_dates_become_expected_times_in_bostons_zone(boston):
    run_import(boston / "boston311-100.csv", "boston")
    case = Case.objects.get(external_id="101004143000")
    # open_dt 2022-01-21 13:47:00 in Boston is 18:47 UTC.
    assert case.requested_at.isoformat() == "2022-01-21T18:47:00+00:00"
    assert case.expected_at.isoformat() == "2022-02-04T18:47:30+00:00"
    assert case.status_group == "open" and case.closed_at is None


def test_a_row_with_an_extra_field_is_rejected_with_its_line_and_the_rest_imported(boston):
    run = run_import(boston / "boston311-100-bad.tsv", "boston")
    assert (run.rows_read, run.created, run.rejected) == (100, 99, 1)
    reject = RejectedRow.objects.get(run=run)
    assert reject.line == 41
    assert reject.external_id == "101004113615"
    assert "30 fields but the header has 29" in reject.reason
    assert not Case.objects.filter(external_id="101004113615").exists()


def test_non_ascii_text_arrives_intact(boston):
    run = run_import(boston / "boston311-100-with-nonascii.csv", "boston")
    assert run.created == 100 and run.rejected == 0
    assert Case.objects.get(external_id="101004115281").address.startswith("211 Sàratoga St")


def test_day_first_dates_are_rejected_with_a_hint_not_misread(boston):
    run = run_import(boston / "boston311-dmy-100.csv", "boston")
    assert run.created == 0 and run.rejected == 100
    reason = RejectedRow.objects.filter(run=run).first().reason
    assert "bad date in 'open_dt'" in reason
    assert "2022-01-21 13:47:00" not in reason  # the example shows the expected form, not data
    assert "--date-format" in reason


def test_day_first_dates_import_with_the_right_format(boston):
    run = run_import(boston / "boston311-dmy-100.csv", "boston", date_format="%d/%m/%Y %H:%M:%S")
    assert run.created == 100 and run.rejected == 0
    case = Case.objects.get(external_id="101004143000")
    assert case.requested_at.isoformat() == "2022-01-21T18:47:00+00:00"


def test_an_unreadable_byte_rejects_only_its_row(tmp_path, boston):
    lines = (boston / "boston311-100.csv").read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b"St", b"S\xe9t", 1)
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\n".join(lines))
    run = run_import(path, "boston")
    assert (run.created, run.rejected) == (99, 1)
    assert "not valid utf-8-sig" in RejectedRow.objects.get(run=run).reason


def test_each_kind_of_bad_value_gets_a_reason_a_person_can_act_on(tmp_path, boston):
    source = (boston / "boston311-100.csv").read_text(encoding="utf-8").splitlines()
    header, rows = source[0], source[1:6]
    cells = [r.split(",") for r in rows]
    col = header.split(",")
    cells[0][col.index("case_status")] = "Pending"
    cells[1][col.index("latitude")] = ""
    cells[2][col.index("latitude")], cells[2][col.index("longitude")] = "40.7128", "-74.0060"
    cells[3][col.index("open_dt")] = "2022-13-45 10:00:00"
    cells[4][col.index("case_enquiry_id")] = ""
    path = tmp_path / "broken.csv"
    path.write_text("\n".join([header, *(",".join(c) for c in cells)]), encoding="utf-8")
    run = run_import(path, "boston")
    rejects = RejectedRow.objects.filter(run=run).order_by("line")
    reasons = list(rejects.values_list("reason", flat=True))
    assert run.created == 0 and len(reasons) == 5
    assert reasons[0].startswith("unknown status 'Pending'; the mapping knows Closed, Open")
    assert reasons[1].startswith("no location")
    assert reasons[2].startswith("the location (40.7128, -74.006) is outside the city")
    assert reasons[3].startswith("bad date in 'open_dt'")
    assert reasons[4].startswith("no case id")
    assert ImportRun.objects.get().state == "done"
