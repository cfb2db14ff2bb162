"""After an import the database plans the zoomed-in map on the coordinate index: the statistics of
the tables the map reads count every case, not a sample of the first thousand index entries.

The city here has eight small layers and one that holds most of its cases, as Kansas City's 311
requests outnumber its code violations. A sample of the layer index's first thousand entries sees
the small layers only and guesses a layer holds about 125 cases; SQLite then reads the zoomed-in
map by walking the big layer (11,000 cases) instead of the few cases in the viewport.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicstat.cases import bulkload
from civicstat.cases.models import Case
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile

pytestmark = pytest.mark.django_db

SMALL_LAYERS = [f"small-{n}" for n in range(8)]
SMALL = 125  # cases in each small layer: together about the sample SQLite takes
CASES = 12_000
VIEW = "-94.600,39.100,-94.590,39.110"  # a few blocks: a few dozen cases, shown as points

MAPPING = """
[source]
name = "Many small layers"
format = "csv"
layer = "requests"
{layers}
[columns]
external_id = "id"
status = "status"
requested_at = "opened"
lat = "lat"
lon = "lon"
service_code = "type"
service_name = "type"
description = "kind"

[formats]
datetime = "%Y-%m-%d %H:%M:%S"

[statuses]
OPEN = {{ group = "open", label = "Open" }}
CLOSED = {{ group = "closed", label = "Closed" }}
{rules}
"""


def mapping_file(tmp_path: Path, small_layers: list[str]) -> Path:
    layers = "".join(f'[layers.{s}]\nname = "{s}"\nnoun = "case"\n'
                     for s in [*small_layers, "requests"])  # fmt: skip
    rules = "".join(f'[[layer_rules]]\ncolumn = "kind"\npattern = "^{s}$"\nlayer = "{s}"\n'
                    for s in small_layers)  # fmt: skip
    path = tmp_path / "city.toml"
    path.write_text(MAPPING.format(layers=layers, rules=rules), encoding="utf-8")
    return path


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    return mapping_file(tmp_path, SMALL_LAYERS)


@pytest.fixture
def one_layer(tmp_path: Path) -> Path:
    """Every case in one layer (on PostgreSQL each layer made takes a new id for good)."""
    return mapping_file(tmp_path, [])


def city_file(path: Path, *, count: int, first: int = 0) -> Path:
    """`count` cases spread over a 30 km square; the first 1,000 in the small layers."""
    rng = random.Random(first)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "status", "opened", "lat", "lon", "type", "kind"])
        for n in range(first, first + count):
            kind = SMALL_LAYERS[n % len(SMALL_LAYERS)] if n < SMALL * len(SMALL_LAYERS) else "x"
            out.writerow([n, rng.choice(["OPEN", "CLOSED"]),
                          f"2024-{1 + n % 12:02d}-{1 + n % 28:02d} 10:00:00",
                          f"{39.0 + rng.random() * 0.3:.6f}", f"{-94.7 + rng.random() * 0.3:.6f}",
                          f"T{n % 20}", kind])  # fmt: skip
    return path


def imported(path: Path, mapping: Path, bulk: bool | None = None) -> None:
    run = import_file(path=path, profile=load_profile(path=mapping), bulk=bulk)
    assert (run.rejected, run.error) == (0, "")


def zoomed_in_plans(client) -> list[str]:
    """How the database reads the cases for the map of a few blocks of the big layer."""
    caches["responses"].clear()
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/map/view.json", {"layer": "requests", "bbox": VIEW}).json()
    assert answer["kind"] == "points" and answer["in_view"] > 0
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and '"cases_case"' in sql:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plans += [row[3] for row in cursor.fetchall() if " cases_case " in f"{row[3]} "]
    assert plans, "the map read no cases"
    return plans


COORDINATES = next(str(i.name) for i in Case._meta.indexes if list(i.fields) == ["lat", "lon"])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN is SQLite's")
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk first import", "batch by batch"])
def test_after_an_import_the_zoomed_in_map_reads_the_coordinate_index(
    client, tmp_path, mapping, bulk
):
    """A first import (in bulk or not) leaves statistics that count the big layer, and a small
    import after it does not replace them with a sample."""
    imported(city_file(tmp_path / "all.csv", count=CASES), mapping, bulk=bulk)
    assert all(COORDINATES in plan for plan in zoomed_in_plans(client))

    imported(city_file(tmp_path / "more.csv", count=20, first=CASES), mapping)
    assert all(COORDINATES in plan for plan in zoomed_in_plans(client))


def test_an_import_that_grows_the_cases_a_lot_leaves_statistics_that_count_them(
    tmp_path, one_layer
):
    """Batch by batch into an empty table: the planner learns how many cases there are (on
    PostgreSQL too, where autovacuum may not have looked yet)."""
    imported(city_file(tmp_path / "all.csv", count=4000), one_layer, bulk=False)
    assert statistics_count(Case._meta.db_table) == 4000


def statistics_count(table: str) -> float:
    """The rows the planner believes `table` holds (SQLite: the least of its indexes' counts)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
            return min(int(stat.split()[0]) for (stat,) in cursor.fetchall())
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return float(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="autovacuum moves PostgreSQL's counts")
def test_an_import_that_changes_little_keeps_the_statistics_it_has(tmp_path, mapping):
    """Analysing every case in full costs a pass over every index: not after each small import,
    which does not replace them with a sample either."""
    imported(city_file(tmp_path / "all.csv", count=2000), mapping, bulk=False)
    assert bulkload.map_statistics_refresh() == []  # nothing outgrown right after the import
    imported(city_file(tmp_path / "more.csv", count=100, first=2000), mapping)
    assert statistics_count(Case._meta.db_table) == 2000
