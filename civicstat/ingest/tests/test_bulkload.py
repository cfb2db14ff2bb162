"""A first import loads in bulk and builds the rollups once: the same figures as batch by batch,
and a bulk load stopped half-way is caught up by the next import."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection

from civicstat.cases import bulkload
from civicstat.cases.models import (
    Case,
    DailyCaseCount,
    DailyCloseTime,
    MonthlyCaseCount,
    MonthlyCloseHistogram,
    MonthlyCloseTime,
)
from civicstat.cases.services import data_version
from civicstat.ingest import importer
from civicstat.ingest.models import ImportRun
from civicstat.ingest.tests.helpers import rollup_state, run_import
from civicstat.maps.models import MapCell

pytestmark = pytest.mark.django_db


def figures() -> tuple[set[tuple[Any, ...]], ...]:
    cells = {(r.res, r.cell, r.layer_id, r.service_id, r.department_id, r.status_group, r.count,
              round(r.sum_lat, 6), round(r.sum_lon, 6)) for r in MapCell.objects.all()}  # fmt: skip
    return (*rollup_state(), cells)


def missing_indexes() -> set[str]:
    """The indexes the loaded tables declare that the database does not have."""
    with connection.cursor() as cursor:
        return {
            str(index.name)
            for model in bulkload.LOADED
            for index in model._meta.indexes
            if index.name
            not in connection.introspection.get_constraints(cursor, model._meta.db_table)
        }


def forget_everything() -> None:
    Case.objects.all().delete()
    for model in (DailyCaseCount, DailyCloseTime, MonthlyCaseCount, MonthlyCloseTime,
                  MonthlyCloseHistogram, MapCell):  # fmt: skip
        model.objects.all().delete()


@pytest.fixture
def sample(data_dir):
    return data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz"


def test_a_bulk_load_ends_with_the_figures_batch_by_batch_would_give(sample, kc_areas):
    run_import(sample, bulk=False, batch_size=2000)
    kept = figures()
    assert all(kept)
    forget_everything()
    assert bulkload.should_defer()  # an empty database loads in bulk by default
    version = data_version()
    run = run_import(sample, batch_size=2000)
    assert (run.state, run.created, run.error) == (ImportRun.State.DONE, 10_000, "")
    assert figures() == kept
    assert not bulkload.is_stale()
    assert not missing_indexes()  # dropped for the load, built again after it
    assert data_version() > version  # pages and measures learn of the new data


def test_a_bulk_load_stopped_half_way_is_caught_up_by_the_next_import(
    sample, kc_areas, monkeypatch
):
    """The database fails once 4,000 cases are in: those stay, the rollups are marked stale, and
    the next import rebuilds them before it writes anything."""
    real = importer.case_upsert
    written = {"cases": 0}

    def failing(**kwargs: Any) -> Any:
        if written["cases"] >= 4000:
            raise DatabaseError("disk I/O error")
        result = real(**kwargs)
        written["cases"] += result.created
        return result

    monkeypatch.setattr(importer, "case_upsert", failing)
    run = run_import(sample, batch_size=2000)
    assert run.state == ImportRun.State.FAILED and "disk I/O error" in run.error
    assert Case.objects.count() == written["cases"] >= 4000
    assert bulkload.is_stale()
    assert not DailyCaseCount.objects.exists()  # nothing counted the written cases yet
    assert missing_indexes()  # the load writes without the secondary indexes

    monkeypatch.setattr(importer, "case_upsert", real)
    again = run_import(sample, batch_size=2000)  # not empty any more: batch by batch
    assert again.state == ImportRun.State.DONE
    assert not missing_indexes()  # the catch-up put them back
    assert (again.created, again.unchanged) == (10_000 - written["cases"], written["cases"])
    assert not bulkload.is_stale()
    total = sum(DailyCaseCount.objects.filter(area_id=0).values_list("opened", flat=True))
    assert total == 10_000


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite seeks the key regardless")
def test_a_bulk_load_keeps_planner_statistics_as_the_tables_grow(sample, kc_areas, monkeypatch):
    """PostgreSQL learns the cases table is no longer empty while the load runs, not after it."""
    monkeypatch.setattr(bulkload.GrowingStatistics, "FIRST", 2000)
    seen: list[float] = []
    real = bulkload.GrowingStatistics.written

    def watched(self: bulkload.GrowingStatistics, total: int) -> None:
        real(self, total)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s",
                           [Case._meta.db_table])  # fmt: skip
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(bulkload.GrowingStatistics, "written", watched)
    run = run_import(sample, batch_size=2000)
    assert run.created == 10_000
    # Refreshed at 2,000 cases, then at 4,000 and 8,000: each time the table had doubled.
    assert [n for n in seen if n > 0][:1] == [2000]
    assert max(seen) == 8000
