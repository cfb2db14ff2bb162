"""Importing the same source again: nothing changes, except what the source changed."""

from __future__ import annotations

import csv
from collections import Counter
from typing import Any

import pytest

from civicstat.cases.models import Case, CaseArea, CaseEvent
from civicstat.cases.rollups import rebuild
from civicstat.ingest.tests.helpers import read_source, rollup_state, run_import

pytestmark = pytest.mark.django_db


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def sample(data_dir):
    return data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz"


def test_importing_the_same_file_twice_changes_nothing(sample, kc_areas):
    run_import(sample)
    cases = set(Case.objects.values_list("id", "status", "fingerprint", "ingested_at"))
    events, links, rollups = CaseEvent.objects.count(), CaseArea.objects.count(), rollup_state()
    second = run_import(sample)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 10_000)
    assert set(Case.objects.values_list("id", "status", "fingerprint", "ingested_at")) == cases
    assert (CaseEvent.objects.count(), CaseArea.objects.count()) == (events, links)
    assert rollup_state() == rollups


def test_a_changed_status_becomes_an_event_and_moves_the_rollups(sample, tmp_path, kc_areas):
    source = read_source(sample)
    rows = [r for r in source if r["STATUS"] == "OPEN"][:5]
    rows += [r for r in source if r["STATUS"] == "RESOL"][:395]
    run_import(write_csv(tmp_path / "day1.csv", rows))
    opened = next(r for r in rows if r["STATUS"] == "OPEN")
    resolved = next(r for r in rows if r["STATUS"] == "RESOL")
    opened.update({"STATUS": "RESOL", "CLOSED DATE": "08/20/2020"})
    resolved.update({"STATUS": "OPEN", "CLOSED DATE": ""})
    run = run_import(write_csv(tmp_path / "day2.csv", rows))
    assert (run.created, run.updated, run.unchanged) == (0, 2, 398)

    closed_case = Case.objects.get(external_id=opened["CASE ID"])
    event = closed_case.events.latest("id")
    assert (event.kind, event.status_from, event.status_to) == ("closed", "OPEN", "RESOL")
    assert (
        closed_case.status_group == "closed" and closed_case.closed_day.isoformat() == "2020-08-20"
    )
    reopened = Case.objects.get(external_id=resolved["CASE ID"]).events.latest("id")
    assert (reopened.kind, reopened.status_from, reopened.status_to) == (
        "reopened",
        "RESOL",
        "OPEN",
    )

    incremental = rollup_state()
    rebuild()
    assert rollup_state() == incremental


def test_rebuilt_rollups_equal_the_incrementally_maintained_ones(sample, kc_areas, tmp_path):
    """Import, change a tenth of the cases (status, service, location), import again, compare."""
    rows = read_source(sample)[:3000]
    run_import(write_csv(tmp_path / "a.csv", rows))
    for i, row in enumerate(rows[::10]):
        if i % 3 == 0:
            row.update({"STATUS": "OPEN", "CLOSED DATE": ""})
        elif i % 3 == 1:
            row["REQUEST TYPE"] = "Pothole"
        else:
            row["LATITUDE"], row["LONGITUDE"] = "39.0997", "-94.5786"  # downtown, another area
    run = run_import(write_csv(tmp_path / "b.csv", rows))
    assert run.updated == 300
    incremental = rollup_state()
    assert all(incremental)
    month_closes, packed, public_packed = incremental[3], incremental[-2], incremental[-1]
    assert packed == month_closes  # a month's packed histogram holds its bucket rows, no more
    by_department = Counter[tuple[Any, ...]]()
    for month, layer, _, department, area, bucket, n in month_closes:
        by_department[(month, layer, department, area, bucket)] += n
    assert public_packed == {(*k, n) for k, n in by_department.items()}  # no private type here
    rebuild()
    assert rollup_state() == incremental


def test_a_case_named_twice_in_one_file_ends_as_its_last_row(sample, tmp_path, kc_areas):
    rows = read_source(sample)[:3]
    twice = dict(rows[0], STATUS="CANC")
    run = run_import(write_csv(tmp_path / "dup.csv", [*rows, twice]))
    assert run.rows_read == 4 and Case.objects.count() == 3
    assert Case.objects.get(external_id=rows[0]["CASE ID"]).status == "CANC"
