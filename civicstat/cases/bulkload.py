"""Bulk loads: a first import writes cases only, then builds the rollups once from them.

Keeping the rollups and the map's cell counts current batch by batch costs more than writing the
cases themselves (each case touches about six rollup rows). When the database holds no cases
yet, the importer writes every batch with `case_upsert(deferred=True)` and then calls
`catch_up()`, which rebuilds both with one `INSERT … SELECT … GROUP BY` each. The rollups are
marked stale in the database before the first batch, so a load that is stopped half-way (a crash,
a killed process) is caught up by the next import or by `manage.py rebuild_rollups`.

The tables a load fills lose their secondary indexes for its duration too: inserting a case into
seven B-trees in no particular order cost more than the insert itself, and building an index once
over a full table is a sort. Unique constraints stay (the upserts look cases up by them), and
`catch_up()` puts back whatever index is missing before it clears the stale mark.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper

from civicstat.cases.models import Case, CaseArea, CaseEvent, DataVersion

# The tables a bulk load writes row by row; the rollups and map cells are rebuilt in one go.
LOADED: tuple[type[models.Model], ...] = (Case, CaseArea, CaseEvent)


def should_defer() -> bool:
    """Whether an import should load in bulk: only into a database without cases, where a
    rebuild reads nothing but what the import itself wrote."""
    return not Case.objects.exists()


def defer() -> None:
    """Mark the rollups stale and drop the loaded tables' secondary indexes, committed before any
    deferred batch is written."""
    with transaction.atomic():
        if not DataVersion.objects.filter(pk=1).update(rollups_stale=True):
            DataVersion.objects.create(pk=1, version=0, rollups_stale=True)
        indexes_drop(LOADED)


def _existing(model: type[models.Model]) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, model._meta.db_table))


def _settle_constraints() -> None:
    """PostgreSQL refuses to alter a table with foreign-key checks still deferred in the open
    transaction ("pending trigger events"), as when a caller deleted cases earlier in it: run
    those checks now (they stay deferred for the rest of the transaction)."""
    if connection.vendor == "postgresql":
        connection.check_constraints()


def indexes_drop(tables: Iterable[type[models.Model]]) -> None:
    """Drop the indexes the models declare in `Meta.indexes` (not their unique constraints)."""
    _settle_constraints()
    with connection.cursor() as cursor:
        for model in tables:
            present = _existing(model)
            for index in model._meta.indexes:
                if index.name in present:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(str(index.name))}")


def indexes_restore(tables: Iterable[type[models.Model]]) -> None:
    """Create whichever of the models' `Meta.indexes` are missing."""
    editor = connection.schema_editor()  # only to write the SQL: not entered, runs nothing
    _settle_constraints()
    with connection.cursor() as cursor:
        for model in tables:
            present = _existing(model)
            for index in model._meta.indexes:
                if index.name not in present:
                    cursor.execute(str(index.create_sql(model, editor)))


def is_stale() -> bool:
    return DataVersion.objects.filter(pk=1, rollups_stale=True).exists()


def planner_statistics_refresh(*, full: bool = False) -> None:
    """Give the database's query planner fresh table statistics after an import.

    Without them SQLite picks indexes by their shape alone: it read a service's close-time
    histogram by scanning the covering index of a whole area (761 k rows at 1 M cases, 408 ms)
    instead of seeking the service in the unique key (100 ms). SQLite samples at most a thousand
    rows per index (`analysis_limit`), which takes milliseconds whatever the size; PostgreSQL's
    autovacuum keeps statistics current by itself, so it is asked for every table only after a
    bulk load (`full`), when every table has just grown from nothing. The tables the map reads
    cases through are never sampled, on either engine: see `map_statistics_refresh`.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            for table in connection.introspection.table_names(cursor):
                if table not in _MAP_TABLES:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        elif full:
            cursor.execute("ANALYZE")
            return
    map_statistics_refresh(full=full)


# The tables the map reads cases through: their indexes lead with columns of few values (layer,
# department, area), whose rows a sample of the first thousand index entries cannot count. A
# sampled ANALYZE saw 1,001 cases in a layer of 140,102, and SQLite's zoomed-in map then read the
# whole layer instead of the coordinate index (280 k cases: p95 5.0 s, against 0.7 s after a full
# ANALYZE, which took 0.9 s). They are analysed in full, and only once their size has moved away
# from what their statistics counted, since a full pass reads every index.
MAP_READ: tuple[type[models.Model], ...] = (Case, CaseArea)
_MAP_TABLES = frozenset(m._meta.db_table for m in MAP_READ)
STALE = 1.25  # statistics are stale once the table holds this many times more rows, or fewer


def map_statistics_refresh(*, full: bool = False) -> list[str]:
    """Analyse in full each table the map reads whose planner statistics are stale (every one
    with `full`), on either engine; returns the tables analysed."""
    analysed = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")  # SQLite's default: every row
        for table in sorted(_MAP_TABLES):
            if full or _stale(cursor, table):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
                analysed.append(table)
    return analysed


def _stale(cursor: CursorWrapper, table: str) -> bool:
    """Whether `table` holds more than STALE times the rows its statistics counted, or fewer than
    their STALE-th part (emptied and loaded again, as a database is between tests)."""
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
    rows = cursor.fetchone()[0]
    counted = 0.0
    if connection.vendor == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
            # The smallest count: a sampled ANALYZE (an older release's) estimates each index's
            # size differently, and any of them may be far below the table's.
            counts = [int(stat.split()[0]) for (stat,) in cursor.fetchall()]
            counted = min(counts, default=0)
    elif connection.vendor == "postgresql":
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        counted = max(0.0, cursor.fetchone()[0])  # -1: never analysed
    return bool(rows > STALE * counted or rows * STALE < counted)


class GrowingStatistics:
    """Planner statistics for the tables a bulk load fills, refreshed each time they double.

    A first import starts from empty tables, and each batch looks its cases up by the unique key.
    PostgreSQL plans those lookups from its statistics; where autovacuum does not refresh them in
    time (or is off) it keeps planning for an empty table and scans it: a 10 M-case load fell from
    3,000 to 1,100 rows/s by 3.5 M cases, and recovered at once after an ANALYZE. SQLite seeks the
    unique key whatever its statistics say, so this does nothing there.
    """

    FIRST = 50_000  # cases written before the first refresh

    def __init__(self) -> None:
        self.at = 0

    def written(self, total: int) -> None:
        """Tell it how many cases the load has written so far."""
        if connection.vendor != "postgresql" or total < max(self.FIRST, 2 * self.at):
            return
        with connection.cursor() as cursor:
            for model in LOADED:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.at = total


def catch_up() -> tuple[int, int, int, int] | None:
    """Rebuild the rollups and map cells if a bulk load left them stale, and tell the apps that
    the data changed. Returns the rollups' row counts (as `rollups.rebuild`), or None when there
    was nothing to catch up."""
    from civicstat.cases import rollups
    from civicstat.cases.services import data_version_bump
    from civicstat.maps import cells

    if not is_stale():
        return None
    with transaction.atomic():
        indexes_restore(LOADED)
        counts = rollups.rebuild(exclusive=True)
        cells.rebuild()
        DataVersion.objects.filter(pk=1).update(rollups_stale=False)
        data_version_bump()
    planner_statistics_refresh(full=True)
    return counts
