from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path
from typing import Any

from civicstat.cases.models import (
    CloseTimeTotal,
    DailyCaseCount,
    DailyCloseTime,
    DepartmentCloseTime,
    MonthlyCaseCount,
    MonthlyCloseHistogram,
    MonthlyCloseTime,
    MonthlyPublicCloseHistogram,
    MonthlyPublicCount,
)
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile
from civicstat.ingest.models import ImportRun, SyncRun
from civicstat.lib.histograms import unpack


def run_import(path: Path, profile: str = "kansas-city", **kwargs: Any) -> ImportRun:
    return import_file(path=path, profile=load_profile(name=profile), **kwargs)


def read_source(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The file as the csv module reads it: the independent truth tests compare against."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def count_by(rows: list[dict[str, str]], column: str) -> Counter[str]:
    return Counter(row[column] for row in rows)


def rollup_state() -> tuple[set[tuple[Any, ...]], ...]:
    """Every row of the rollup tables, to compare two ways of building them."""
    counts = set(DailyCaseCount.objects.values_list(
        "day", "layer_id", "service_id", "department_id", "area_id", "status_group", "opened",
        "closed", "on_time", "late"))  # fmt: skip
    closes = set(DailyCloseTime.objects.values_list(
        "day", "layer_id", "service_id", "department_id", "area_id", "bucket", "count"
    ))  # fmt: skip
    month_counts = set(MonthlyCaseCount.objects.values_list(
        "month", "layer_id", "service_id", "department_id", "area_id", "status_group", "opened",
        "closed", "on_time", "late"))  # fmt: skip
    month_closes = set(MonthlyCloseTime.objects.values_list(
        "month", "layer_id", "service_id", "department_id", "area_id", "bucket", "count"
    ))  # fmt: skip
    totals = set(CloseTimeTotal.objects.values_list(
        "area_id", "department_id", "bucket", "layer_id", "service_id", "count"
    ))  # fmt: skip
    departments = set(DepartmentCloseTime.objects.values_list(
        "area_id", "department_id", "bucket", "count"
    ))  # fmt: skip
    public = set(MonthlyPublicCount.objects.values_list(
        "area_id", "layer_id", "month", "department_id", "status_group", "opened", "closed",
        "on_time", "late"))  # fmt: skip
    # A packed histogram's entries, one per bucket, as MonthlyCloseTime's rows are.
    packed = {
        (*key, bucket, n)
        for *key, blob in MonthlyCloseHistogram.objects.values_list(
            "month", "layer_id", "service_id", "department_id", "area_id", "counts"
        )
        for bucket, n in unpack(blob).items()
    }
    public_packed = {
        (*key, bucket, n)
        for *key, blob in MonthlyPublicCloseHistogram.objects.values_list(
            "month", "layer_id", "department_id", "area_id", "counts"
        )
        for bucket, n in unpack(blob).items()
    }
    return (counts, closes, month_counts, month_closes, totals, departments, public, packed,
            public_packed)  # fmt: skip


def assert_accounted(run: ImportRun | SyncRun) -> None:
    """Every record the source sent has one fate, and every reject and warning is kept."""
    read = run.fetched if isinstance(run, SyncRun) else run.rows_read
    assert read == run.created + run.updated + run.unchanged + run.rejected, (
        f"{read} read but {run.created} created + {run.updated} updated + {run.unchanged} "
        f"unchanged + {run.rejected} rejected"
    )
    assert run.rejects.count() == run.rejected
    assert run.record_warnings.count() == run.warnings
