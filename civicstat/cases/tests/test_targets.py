""" "% closed within target": each closed case judged against the city's own target for it (its
verdict, or its target date), else its request type's target days; counted in the rollups."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from civicstat.cases.models import Case, DailyCaseCount, Department, Layer, Service
from civicstat.cases.rollups import rebuild
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import ProfileError, load_profile
from civicstat.ingest.tests.helpers import read_source, rollup_state, run_import
from civicstat.maps.departments import department_services, departments_compare, window_for
from civicstat.performance.calculations import compute
from civicstat.performance.tests.factories import a_measure

pytestmark = pytest.mark.django_db

PROFILE = """
[source]
name = "Targets"
timezone = "America/Chicago"
require_location = false

[columns]
external_id = "id"
status = "status"
requested_at = "opened"
closed_at = "closed"
expected_at = "due"
service_code = "type"
department = "dept"

[on_time]
column = "verdict"
on_time = ["yes"]
late = ["No"]

[statuses]
open = { group = "open" }
closed = { group = "closed" }
"""
HEADER = ["id", "status", "opened", "closed", "due", "type", "dept", "verdict"]
# One department, every kind of target: (id, status, opened, closed, due, type, verdict).
ROWS = [
    # The city's verdict wins over its target date (it judged the case itself).
    (
        "FLAG-ON",
        "closed",
        "2024-03-01 09:00:00",
        "2024-03-30 09:00:00",
        "2024-03-02 09:00:00",
        "Pothole",
        "YES",
    ),
    ("FLAG-LATE", "closed", "2024-03-01 09:00:00", "2024-03-02 09:00:00", "", "Pothole", "no"),
    # No verdict: the target date decides.
    (
        "DATE-ON",
        "closed",
        "2024-03-04 09:00:00",
        "2024-03-05 09:00:00",
        "2024-03-06 09:00:00",
        "Pothole",
        "",
    ),
    (
        "DATE-LATE",
        "closed",
        "2024-03-04 09:00:00",
        "2024-03-09 09:00:00",
        "2024-03-06 09:00:00",
        "Pothole",
        "",
    ),
    # A verdict the mapping does not know: a warning, and the target date decides.
    (
        "ODD-FLAG",
        "closed",
        "2024-03-04 09:00:00",
        "2024-03-05 09:00:00",
        "2024-03-06 09:00:00",
        "Pothole",
        "maybe",
    ),
    # Neither: the request type's target days, once staff set them.
    ("STAFF-ON", "closed", "2024-03-10 09:00:00", "2024-03-12 09:00:00", "", "Sidewalk", ""),
    ("STAFF-LATE", "closed", "2024-03-10 09:00:00", "2024-03-15 09:00:00", "", "Sidewalk", ""),
    # No target at all, and an open case (not closed: never counted, whatever its flag).
    ("NO-TARGET", "closed", "2024-03-10 09:00:00", "2024-03-11 09:00:00", "", "Mural", ""),
    ("OPEN", "open", "2024-03-10 09:00:00", "", "2024-03-11 09:00:00", "Pothole", "no"),
]


def import_rows(tmp_path: Path, rows: list[tuple[str, ...]]) -> Any:
    (tmp_path / "targets.toml").write_text(PROFILE, encoding="utf-8")
    path = tmp_path / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows([(*r[:5], r[5], "Streets", r[6]) for r in rows])
    return import_file(path=path, profile=load_profile(path=tmp_path / "targets.toml"))


def verdicts() -> dict[str, bool | None]:
    return dict(Case.objects.values_list("external_id", "within_target"))


def one_by_one(**filters: Any) -> tuple[int, int]:
    """On time and late, counting the closed cases themselves."""
    closed = Case.objects.filter(status_group="closed", **filters)
    return (closed.filter(within_target=True).count(), closed.filter(within_target=False).count())


def streets(period: str = "all") -> Any:
    (row,) = [f for f in departments_compare(window_for(period)) if f.name == "Streets"]
    return row


def test_each_kind_of_target_judges_a_case_on_time_or_late(tmp_path, client):
    run = import_rows(tmp_path, ROWS)
    assert run.created == len(ROWS)
    assert verdicts() == {
        "FLAG-ON": True, "FLAG-LATE": False, "DATE-ON": True, "DATE-LATE": False,
        "ODD-FLAG": True, "STAFF-ON": None, "STAFF-LATE": None, "NO-TARGET": None, "OPEN": None,
    }  # fmt: skip
    assert dict(Case.objects.values_list("external_id", "on_time"))["OPEN"] is False
    (warning,) = [w for w in run.record_warnings.all() if "on-time verdict" in w.reason]
    assert (warning.external_id, warning.field, warning.value) == ("ODD-FLAG", "verdict", "maybe")
    assert "yes (on time) or no (late)" in warning.reason

    # Staff set the sidewalk's target: its cases with no target of the city's are judged by it.
    sidewalk = Service.objects.get(code="Sidewalk")
    sidewalk.target_days = 3
    sidewalk.save()
    assert verdicts()["STAFF-ON"] is True and verdicts()["STAFF-LATE"] is False
    for case_id, shown in (
        ("FLAG-LATE", "No, as the city judged it"),
        ("DATE-ON", "Yes, against its target date"),
        ("STAFF-LATE", "No, against the 3-day target for its request type"),
    ):
        page = client.get(Case.objects.get(external_id=case_id).get_absolute_url())
        assert shown in page.content.decode(), case_id
    page = client.get(Case.objects.get(external_id="NO-TARGET").get_absolute_url())
    assert "Closed within target" not in page.content.decode()
    incremental = rollup_state()
    rebuild()
    assert rollup_state() == incremental

    # A longer target, through a queryset update (the admin's list editing): both on time.
    Service.objects.filter(code="Sidewalk").update(target_days=10)
    assert verdicts()["STAFF-LATE"] is True
    assert (streets().on_time, streets().late) == one_by_one() == (5, 2)
    # No target any more: no verdict, and the counts go with it.
    sidewalk.refresh_from_db()
    sidewalk.target_days = None
    sidewalk.save()
    assert verdicts()["STAFF-ON"] is None and verdicts()["STAFF-LATE"] is None
    incremental = rollup_state()
    rebuild()
    assert rollup_state() == incremental
    # A city's verdict or target date is never overridden by staff's days.
    Service.objects.filter(code="Pothole").update(target_days=100)
    assert verdicts()["FLAG-LATE"] is False and verdicts()["DATE-LATE"] is False


def test_a_mixed_department_shows_the_share_of_its_cases_judged_one_by_one(tmp_path, client):
    _sidewalk(target_days=3)  # set before the import: its cases are judged as they arrive
    import_rows(tmp_path, ROWS)
    assert one_by_one() == (4, 3)
    for period in ("all", "year", "month"):
        row = streets(period)
        assert (row.on_time, row.late) == one_by_one(), period
        assert row.within_target == pytest.approx(4 / 7)
    # By request type on the department's page: Mural has no target, so no share.
    department = Department.objects.get(name="Streets")
    by_type = {f.name: f for f in department_services(department, window_for("all"))}
    assert (by_type["Pothole"].on_time, by_type["Pothole"].late) == one_by_one(
        service__code="Pothole"
    )
    assert (by_type["Sidewalk"].on_time, by_type["Sidewalk"].late) == (1, 1)
    assert by_type["Mural"].within_target is None

    page = client.get("/departments?period=all").content.decode()
    assert "57 %" in page and "of 7" in page and "judged against the city's own target" in page
    page = client.get(f"/departments/{department.slug}?period=all").content.decode()
    assert "60 %" in page and "50 %" in page  # Pothole 3 of 5, Sidewalk 1 of 2


def test_a_closed_within_measure_with_no_fixed_days_counts_the_cases_judged(tmp_path):
    _sidewalk(target_days=3)
    late_april = ("APRIL", "closed", "2024-04-01 09:00:00", "2024-04-09 09:00:00",
                  "2024-04-02 09:00:00", "Pothole", "")  # fmt: skip
    import_rows(tmp_path, [*ROWS, late_april])
    points = compute(a_measure("on-time", calculation="closed_within", unit="percent",
                               filters={"department": "streets"}))  # fmt: skip
    got = {p.period.start: (p.value, p.numerator, p.denominator) for p in points}
    assert got[date(2024, 3, 1)] == (pytest.approx(100 * 4 / 7), 4.0, 7.0)
    assert got[date(2024, 4, 1)] == (0.0, 0.0, 1.0)


def test_a_bad_on_time_section_is_refused_with_what_to_write(tmp_path):
    for section, message in (
        ('[on_time]\ncolumn = "v"\non_time = ["Y"]\n', "needs exactly"),
        ('[on_time]\ncolumn = "v"\non_time = ["Y"]\nlate = ["y"]\n', "both on time and late"),
        ('[on_time]\ncolumn = "v"\non_time = []\nlate = ["N"]\n', "on_time.on_time must be"),
    ):
        (tmp_path / "bad.toml").write_text(PROFILE.split("[on_time]")[0] + section + """
[statuses]
open = { group = "open" }
""", encoding="utf-8")  # fmt: skip
        with pytest.raises(ProfileError, match=message):
            load_profile(path=tmp_path / "bad.toml")


def test_kansas_citys_own_judgement_of_each_case_is_counted(data_dir, kc_areas, tmp_path):
    """The city's EXCEEDED EST TIMEFRAME: N on time, Y late, for every closed case."""
    path = data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz"
    run_import(path, bulk=False)
    imported = set(Case.objects.values_list("external_id", flat=True))
    closed = {"RESOL", "CANC", "DUP"}
    expected: Counter[tuple[str, str]] = Counter()
    aliases = load_profile(name="kansas-city").departments
    for r in read_source(path):
        flag = r["EXCEEDED EST TIMEFRAME"].strip()
        if (r["CASE ID"].strip() in imported and r["STATUS"] in closed
                and r["CLOSED DATE"].strip() and flag in ("Y", "N")):  # fmt: skip
            name = " ".join(r["DEPARTMENT"].split())
            department = aliases.get(name, name) or "Unassigned"
            expected[(department, "late" if flag == "Y" else "on_time")] += 1
    assert sum(expected.values()) > 9000
    figures = {f.name: f for f in departments_compare(window_for("all"))}
    for name, f in figures.items():
        assert (f.on_time, f.late) == (expected[(name, "on_time")], expected[(name, "late")]), name
    with_share = [f for f in figures.values() if f.within_target is not None]
    assert len(with_share) >= 5
    # Read from the rollups only, and equal to a rebuild from the cases.
    total = DailyCaseCount.objects.filter(area_id=0)
    assert sum(total.values_list("on_time", flat=True)) == sum(
        n for (_, kind), n in expected.items() if kind == "on_time"
    )
    incremental = rollup_state()
    rebuild()
    assert rollup_state() == incremental


def test_bostons_verdicts_and_target_dates_are_counted(data_dir):
    """Boston's ontime flag (ONTIME / OVERDUE) and target_dt agree on every closed case with a
    target; it writes ONTIME on closed cases with no target date too, counted as it says."""
    path = data_dir / "boston" / "boston311-100.csv"
    run_import(path, "boston")
    rows = read_source(path)
    expected: Counter[tuple[str, bool]] = Counter()
    for r in rows:
        if r["case_status"] == "Closed":
            if r["target_dt"]:
                assert (r["closed_dt"] <= r["target_dt"]) == (r["ontime"] == "ONTIME")
            expected[(r["subject"], r["ontime"] == "ONTIME")] += 1
    assert sum(n for (_, ok), n in expected.items() if ok) == 80
    assert sum(n for (_, ok), n in expected.items() if not ok) == 5
    for f in departments_compare(window_for("all")):
        assert (f.on_time, f.late) == (expected[(f.name, True)], expected[(f.name, False)])
    assert not Case.objects.filter(status_group="open").exclude(within_target=None).exists()


def _sidewalk(*, target_days: int) -> Service:
    layer, _ = Layer.objects.get_or_create(
        slug="311-requests", defaults={"name": "311 requests", "noun": "request"}
    )
    streets = Department.objects.create(slug="streets", name="Streets")
    return Service.objects.create(layer=layer, code="Sidewalk", name="Sidewalk",
                                  department=streets, target_days=target_days)  # fmt: skip
