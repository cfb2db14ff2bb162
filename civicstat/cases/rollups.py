"""Keeping the rollup tables current: deltas from case changes, and a rebuild from scratch.

Ingest adds each case's contributions (and takes away the old ones of a case that changed) in the
same transaction as the case itself, so the rollups never disagree with the cases they summarise.
The month tables get the same deltas, summed by month. `rebuild()` recomputes the day tables with
plain SQL over the cases table and the month tables from them; a test proves both ways agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction

from civicstat.cases.bulk import insert_rows, where_keys_in
from civicstat.cases.models import (
    CaseArea,
    CloseTimeTotal,
    DailyCaseCount,
    DailyCloseTime,
    DepartmentCloseTime,
    MonthlyCaseCount,
    MonthlyCloseHistogram,
    MonthlyCloseTime,
    MonthlyPublicCloseHistogram,
    MonthlyPublicCount,
    Service,
)
from civicstat.cases.models.core import Case
from civicstat.lib.histograms import merge, pack

CountKey = tuple[date, int, int, int, int, str]  # day, layer, service, department, area, group
_DIMS = ("day", "layer_id", "service_id", "department_id", "area_id")
CloseKey = tuple[date, int, int, int, int, int]  # day, layer, service, department, area, bucket
_TOTAL_KEY = ("area_id", "department_id", "bucket", "layer_id", "service_id")
_DEPARTMENT_KEY = ("area_id", "department_id", "bucket")
_PUBLIC_KEY = ("area_id", "layer_id", "month", "department_id", "status_group")
# The sums of a case-count row: cases opened, closed, and of those closed, on time and late.
_COUNT_SUMS = ("opened", "closed", "on_time", "late")
# A PostgreSQL transaction-level advisory lock held while packed histograms are read, added to
# and written back, so that two imports writing at once cannot both start from the same row.
_HISTOGRAM_LOCK = 0x43495649  # "CIVI"


class RollupDelta:
    """Changes to the rollups gathered over a batch, applied in one upsert per table."""

    def __init__(self) -> None:
        # opened, closed, on time, late
        self.counts: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.close_times: defaultdict[CloseKey, int] = defaultdict(int)

    def add_case(
        self,
        *,
        sign: int,
        layer_id: int,
        service_id: int | None,
        department_id: int | None,
        area_ids: Iterable[int],
        status_group: str,
        requested_day: date,
        closed_day: date | None,
        close_bucket: int | None,
        within_target: bool | None = None,
    ) -> None:
        """Count one case in (sign=1) or out of (sign=-1) every rollup row it belongs to."""
        service, department = service_id or 0, department_id or 0
        for area in (0, *area_ids):
            self.counts[(requested_day, layer_id, service, department, area, status_group)][0] += (
                sign
            )
            if closed_day is not None:
                key = (closed_day, layer_id, service, department, area, status_group)
                sums = self.counts[key]
                sums[1] += sign
                if within_target is not None:
                    sums[2 if within_target else 3] += sign
                if close_bucket is not None:
                    ckey = (closed_day, layer_id, service, department, area, close_bucket)
                    self.close_times[ckey] += sign

    def apply(self, day: Callable[[date], object] = connection.ops.adapt_datefield_value) -> None:
        """Upsert the deltas into the day and month tables; drop rows that fell to zero so the
        rollups equal a rebuild exactly."""
        private = set(_private_services()) if self.counts else set()
        months: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        public: defaultdict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for k, v in self.counts.items():
            month = k[0].replace(day=1)
            sums = months[(month, *k[1:])]
            for i, n in enumerate(v):
                sums[i] += n
            _, layer, service, department, area, group = k
            if service not in private:
                sums = public[(area, layer, month, department, group)]
                for i, n in enumerate(v):
                    sums[i] += n
        month_closes: defaultdict[CloseKey, int] = defaultdict(int)
        totals: defaultdict[tuple[int, ...], int] = defaultdict(int)
        by_department: defaultdict[tuple[int, ...], int] = defaultdict(int)
        for ck, n in self.close_times.items():
            month_closes[(ck[0].replace(day=1), *ck[1:])] += n
            _, layer, service, department, area, bucket = ck
            totals[(area, department, bucket, layer, service)] += n
            if service not in private:
                by_department[(area, department, bucket)] += n
        count_rows: dict[type[Any], list[Any]] = {
            DailyCaseCount: [(*k, *v) for k, v in self.counts.items() if any(v)],
            MonthlyCaseCount: [(*k, *v) for k, v in months.items() if any(v)],
        }
        close_rows: dict[type[Any], list[Any]] = {
            DailyCloseTime: [(*k, v) for k, v in self.close_times.items() if v],
            MonthlyCloseTime: [(*k, v) for k, v in month_closes.items() if v],
        }
        with connection.cursor() as cursor:
            for model, rows in count_rows.items():
                key = (_date_column(model), *_DIMS[1:], "status_group")
                _upsert(cursor, model, key, _COUNT_SUMS, _rows(rows, day))
            for model, closes in close_rows.items():
                key = (_date_column(model), *_DIMS[1:], "bucket")
                _upsert(cursor, model, key, ("count",), _rows(closes, day))
            _upsert(cursor, CloseTimeTotal, _TOTAL_KEY, ("count",),
                    [(*k, n) for k, n in totals.items() if n])  # fmt: skip
            _upsert(cursor, DepartmentCloseTime, _DEPARTMENT_KEY, ("count",),
                    [(*k, n) for k, n in by_department.items() if n])  # fmt: skip
            public_rows = [
                (a, layer, day(m), *rest, *v)
                for (a, layer, m, *rest), v in public.items()
                if any(v)
            ]
            _upsert(cursor, MonthlyPublicCount, _PUBLIC_KEY, _COUNT_SUMS, public_rows)
            _histograms_add(cursor, month_closes, private, day)
        self.counts.clear()
        self.close_times.clear()


def _upsert(
    cursor: Any, model: type[Any], key: tuple[str, ...], sums: tuple[str, ...], rows: list[Any]
) -> None:
    """Add `rows` (the `key` columns, then `sums`) to `model`'s rows, and delete the rows a
    negative delta took to zero."""
    if not rows:
        return
    table = model._meta.db_table
    added = ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s in sums)
    insert_rows(cursor, table, [*key, *sums], rows,
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}")  # fmt: skip
    gone = [r[: len(key)] for r in rows if any(v < 0 for v in r[len(key) :])]
    if gone:
        match = " AND ".join(f"{k} = %s" for k in key)
        zero = " AND ".join(f"{s} = 0" for s in sums)
        cursor.executemany(f"DELETE FROM {table} WHERE {match} AND {zero}", gone)


@dataclass(frozen=True)
class _Packed:
    """A table of packed month close-time histograms: its model, and whether it leaves private
    request types out (and so has no request-type column)."""

    model: type[Any]
    public_only: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        """Its unique key: rows are written in its order, so the index grows at one end."""
        return _unique_key(self.model)

    def key_of(self, close_key: CloseKey) -> tuple[Any, ...]:
        """A month close-time row's key in this table."""
        month, layer, service, department, area, _ = close_key
        values = {"month": month, "layer_id": layer, "service_id": service,
                  "department_id": department, "area_id": area}  # fmt: skip
        return tuple(values[k] for k in self.key)


_PACKED = (_Packed(MonthlyCloseHistogram), _Packed(MonthlyPublicCloseHistogram, public_only=True))


def _histograms_add(
    cursor: Any, month_closes: dict[CloseKey, int], private: set[int], day: Callable[[date], object]
) -> None:
    """Add month close-time deltas to the packed histograms: read the rows they touch, add, write
    them back; a row whose counts all fell to zero is deleted."""
    if not any(month_closes.values()):
        return
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HISTOGRAM_LOCK])
    for packed in _PACKED:
        deltas: defaultdict[tuple[Any, ...], defaultdict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        for close_key, n in month_closes.items():
            if n and not (packed.public_only and close_key[2] in private):
                deltas[packed.key_of(close_key)][close_key[5]] += n
        _packed_add(cursor, packed, deltas, day)


def _packed_add(
    cursor: Any,
    packed: _Packed,
    deltas: Mapping[tuple[Any, ...], Mapping[int, int]],
    day: Callable[[date], object],
) -> None:
    table, key = packed.model._meta.db_table, packed.key
    at = key.index("month")

    def adapted(k: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*k[:at], day(k[at]), *k[at + 1 :])

    keys = [adapted(k) for k in deltas]
    stored: dict[tuple[Any, ...], bytes] = {}
    per_query = max(1, (connection.features.max_query_params or 5000) // len(key))
    for start in range(0, len(keys), per_query):
        where, params = where_keys_in(key, keys[start : start + per_query])
        cursor.execute(f"SELECT {', '.join(key)}, counts FROM {table} WHERE {where}", params)
        for *row_key, counts in cursor.fetchall():
            row_key[at] = as_date(row_key[at])
            stored[tuple(row_key)] = counts
    rows, gone = [], []
    for k, delta in deltas.items():
        counts = merge(stored.get(k), delta)
        if any(counts.values()):
            rows.append((*adapted(k), pack(counts)))
        elif k in stored:
            gone.append(adapted(k))
    names = ", ".join(key)
    insert_rows(cursor, table, [*key, "counts"], rows,
                f"ON CONFLICT ({names}) DO UPDATE SET counts = excluded.counts")  # fmt: skip
    if gone:
        match = " AND ".join(f"{k} = %s" for k in key)
        cursor.executemany(f"DELETE FROM {table} WHERE {match}", gone)


def as_date(value: object) -> date | None:
    """A date column as the driver returns it (SQLite gives text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _packed_rebuild(cursor: Any, packed: _Packed) -> None:
    """Write one packed-histogram table again from `MonthlyCloseTime`."""
    histograms_fill(cursor, source=str(MonthlyCloseTime._meta.db_table),
                    target=str(packed.model._meta.db_table), key=packed.key,
                    public_only=packed.public_only)  # fmt: skip


def histograms_fill(
    cursor: Any, *, source: str, target: str, key: Sequence[str], public_only: bool
) -> int:
    """Empty `target` and pack into it the bucket rows of `source` (a table of MonthlyCloseTime's
    columns), summed by `key` (public request types only if `public_only`); the tables are named
    so that a migration can call it. Returns the rows written.

    The bucket rows are read in key order through a server-side cursor on PostgreSQL (at 10 M
    cases they do not fit in memory), and each key's histogram is written once it is complete.
    """
    names = ", ".join(key)
    where = "count <> 0"
    if public_only:
        where += f" AND service_id NOT IN (SELECT id FROM {Service._meta.db_table} WHERE private)"
    cursor.execute(f"DELETE FROM {target}")
    written = 0
    batch: list[tuple[Any, ...]] = []
    current: tuple[Any, ...] = ()
    counts: dict[int, int] = {}
    with connection.chunked_cursor() as reader:
        reader.execute(f"SELECT {names}, bucket, SUM(count) FROM {source} WHERE {where}"
                       f" GROUP BY {names}, bucket ORDER BY {names}, bucket")  # fmt: skip
        while chunk := reader.fetchmany(50_000):
            for *row_key, bucket, n in chunk:
                if tuple(row_key) != current:
                    if counts:
                        batch.append((*current, pack(counts)))
                    current, counts = tuple(row_key), {}
                if n:
                    counts[bucket] = n
            if len(batch) >= 5_000:
                insert_rows(cursor, target, [*key, "counts"], batch)
                written, batch = written + len(batch), []
    if counts:
        batch.append((*current, pack(counts)))
    insert_rows(cursor, target, [*key, "counts"], batch)
    return written + len(batch)


def _private_services() -> list[int]:
    return list(Service.objects.filter(private=True).order_by().values_list("id", flat=True))


def public_rollups_rebuild(cursor: Any) -> None:
    """Write the public-only rollups again from the tables they sum (`DepartmentCloseTime` from
    `CloseTimeTotal`, `MonthlyPublicCount` from `MonthlyCaseCount`, `MonthlyPublicCloseHistogram`
    from `MonthlyCloseTime`): after a request type turned private or public again, or after those
    tables were rebuilt."""
    _public_rebuild(cursor, DepartmentCloseTime, CloseTimeTotal, _DEPARTMENT_KEY, ("count",))
    _public_rebuild(cursor, MonthlyPublicCount, MonthlyCaseCount, _PUBLIC_KEY, _COUNT_SUMS)
    for packed in _PACKED:
        if packed.public_only:
            _packed_rebuild(cursor, packed)


def _public_rebuild(
    cursor: Any, model: type[Any], source: type[Any], key: tuple[str, ...], sums: tuple[str, ...]
) -> None:
    table, columns = model._meta.db_table, ", ".join(key)
    cursor.execute(f"DELETE FROM {table}")
    cursor.execute(
        f"INSERT INTO {table} ({columns}, {', '.join(sums)})"
        f" SELECT {columns}, {', '.join(f'SUM({s})' for s in sums)} FROM {source._meta.db_table}"
        f" WHERE service_id NOT IN (SELECT id FROM {Service._meta.db_table} WHERE private)"
        f" GROUP BY {columns} ORDER BY {columns}"
    )


def _date_column(model: type[Any]) -> str:
    return "month" if model in (MonthlyCaseCount, MonthlyCloseTime) else "day"


def _rows(rows: list[Any], day: Callable[[date], object]) -> list[Any]:
    return [(day(r[0]), *r[1:]) for r in rows]


def rebuild(*, exclusive: bool = False) -> tuple[int, int, int, int]:
    """Recompute every rollup table from the cases table alone. Returns their row counts: day
    counts, day close times, month counts, month close times.

    Rows are written in the order of each table's unique key, so its index grows at one end. The
    tables' other indexes are dropped and built again after the rows are in (a sort each instead
    of a random insert per row), where readers cannot see it: on SQLite the transaction hides it,
    and on PostgreSQL only when `exclusive` (a first import), as DROP INDEX locks out readers of
    the table until the rebuild commits.
    """
    from civicstat.cases.bulkload import indexes_drop, indexes_restore

    case = Case._meta.db_table
    link = CaseArea._meta.db_table
    dims = (
        "c.layer_id AS layer_id, COALESCE(c.service_id, 0) AS service_id,"
        " COALESCE(c.department_id, 0) AS department_id"
    )
    # Each case counts in area 0 ("all areas") and in every area it lies in.
    sources = [
        (f"FROM {case} c", "0"),
        (f"FROM {case} c JOIN {link} ca ON ca.case_id = c.id", "ca.area_id"),
    ]
    counted, timed = [], []
    for src, area in sources:
        head = f"{dims}, {area} AS area_id"
        counted.append(
            f"SELECT c.requested_day AS day, {head}, c.status_group AS g, 1 AS o, 0 AS x,"
            f" 0 AS t, 0 AS l {src}"
        )
        # NULL (no target) is neither: CASE WHEN takes it as false on both sides.
        counted.append(
            f"SELECT c.closed_day AS day, {head}, c.status_group AS g, 0 AS o, 1 AS x,"
            " CASE WHEN c.within_target THEN 1 ELSE 0 END AS t,"
            f" CASE WHEN NOT c.within_target THEN 1 ELSE 0 END AS l {src}"
            " WHERE c.closed_day IS NOT NULL"
        )
        timed.append(
            f"SELECT c.closed_day AS day, {head}, c.close_bucket AS b {src}"
            " WHERE c.close_bucket IS NOT NULL"
        )
    dimensions = "layer_id, service_id, department_id, area_id"
    columns = f"day, {dimensions}"
    day_key = ", ".join(_unique_key(DailyCaseCount)[:-1])  # without status_group / bucket
    month = _first_of_month("day")
    month_key = ", ".join(month if k == "month" else k for k in _unique_key(MonthlyCaseCount)[:-1])
    tables = (DailyCaseCount, DailyCloseTime, MonthlyCaseCount, MonthlyCloseTime)
    counts_table, close_table, month_counts, month_closes = (m._meta.db_table for m in tables)
    total_table, total_key = CloseTimeTotal._meta.db_table, ", ".join(_TOTAL_KEY)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (counts_table, close_table, month_counts, month_closes, total_table):
            cursor.execute(f"DELETE FROM {table}")
        sorted_build = exclusive or connection.vendor == "sqlite"
        also = (CloseTimeTotal, DepartmentCloseTime, MonthlyCloseHistogram,
                MonthlyPublicCloseHistogram)  # fmt: skip
        if sorted_build:
            indexes_drop((*tables, *also))
        cursor.execute(
            f"INSERT INTO {counts_table} ({columns}, status_group, opened, closed, on_time, late)"
            f" SELECT {columns}, g, SUM(o), SUM(x), SUM(t), SUM(l)"
            f" FROM ({' UNION ALL '.join(counted)}) AS parts"
            f" GROUP BY {day_key}, g ORDER BY {day_key}, g"
        )
        cursor.execute(
            f"INSERT INTO {close_table} ({columns}, bucket, count)"
            f" SELECT {columns}, b, COUNT(*) FROM ({' UNION ALL '.join(timed)}) AS parts"
            f" GROUP BY {day_key}, b ORDER BY {day_key}, b"
        )
        # A month's rows are its days' rows summed: the day tables were just rebuilt from cases.
        cursor.execute(
            f"INSERT INTO {month_counts} (month, {dimensions}, status_group, opened, closed,"
            " on_time, late)"
            f" SELECT {month}, {dimensions}, status_group, SUM(opened), SUM(closed),"
            " SUM(on_time), SUM(late)"
            f" FROM {counts_table} GROUP BY {month_key}, status_group"
            f" ORDER BY {month_key}, status_group"
        )
        cursor.execute(
            f"INSERT INTO {month_closes} (month, {dimensions}, bucket, count)"
            f" SELECT {month}, {dimensions}, bucket, SUM(count)"
            f" FROM {close_table} GROUP BY {month_key}, bucket ORDER BY {month_key}, bucket"
        )
        cursor.execute(
            f"INSERT INTO {total_table} ({total_key}, count) SELECT {total_key}, SUM(count)"
            f" FROM {month_closes} GROUP BY {total_key} ORDER BY {total_key}"
        )
        public_rollups_rebuild(cursor)  # the public packed histograms among them
        for packed in _PACKED:
            if not packed.public_only:
                _packed_rebuild(cursor, packed)
        if sorted_build:
            indexes_restore((*tables, *also))
    day_counts, day_closes, month_count_rows, month_close_rows = (m.objects.count() for m in tables)
    return day_counts, day_closes, month_count_rows, month_close_rows


def _unique_key(model: type[Any]) -> tuple[str, ...]:
    """The columns of the model's unique constraint, in its order."""
    (unique,) = model._meta.constraints
    return tuple(unique.fields)


def _first_of_month(column: str) -> str:
    """SQL for the first day of `column`'s month, as the engine stores a date."""
    if connection.vendor == "sqlite":
        return f"substr({column}, 1, 8) || '01'"  # dates are ISO text: YYYY-MM-DD
    return f"CAST(date_trunc('month', {column}) AS date)"
