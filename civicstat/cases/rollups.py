"""Keeping the rollup tables current: deltas from case changes, and a rebuild from scratch.

Ingest adds each case's contributions (and takes away the old ones of a case that changed) in the
same transaction as the case itself, so the rollups never disagree with the cases they summarise.
`rebuild()` recomputes them with plain SQL over the cases table; a test proves both agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.db import connection, transaction

from civicstat.cases.bulk import insert_rows
from civicstat.cases.models import CaseArea, DailyCaseCount, DailyCloseTime
from civicstat.cases.models.core import Case

CountKey = tuple[date, int, int, int, int, str]  # day, layer, service, department, area, group
_DIMS = ("day", "layer_id", "service_id", "department_id", "area_id")
CloseKey = tuple[date, int, int, int, int, int]  # day, layer, service, department, area, bucket


class RollupDelta:
    """Changes to the rollups gathered over a batch, applied in one upsert per table."""

    def __init__(self) -> None:
        self.counts: defaultdict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
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
    ) -> None:
        """Count one case in (sign=1) or out of (sign=-1) every rollup row it belongs to."""
        service, department = service_id or 0, department_id or 0
        for area in (0, *area_ids):
            self.counts[(requested_day, layer_id, service, department, area, status_group)][0] += (
                sign
            )
            if closed_day is not None:
                key = (closed_day, layer_id, service, department, area, status_group)
                self.counts[key][1] += sign
                if close_bucket is not None:
                    ckey = (closed_day, layer_id, service, department, area, close_bucket)
                    self.close_times[ckey] += sign

    def apply(self, day: Callable[[date], object] = connection.ops.adapt_datefield_value) -> None:
        """Upsert the deltas; drop rows that fell to zero so rollups equal a rebuild exactly."""
        counts: list[Any] = [(*k, v[0], v[1]) for k, v in self.counts.items() if v[0] or v[1]]
        closes: list[Any] = [(*k, v) for k, v in self.close_times.items() if v]
        with connection.cursor() as cursor:
            if counts:
                table = DailyCaseCount._meta.db_table
                insert_rows(
                    cursor,
                    table,
                    [*_DIMS, "status_group", "opened", "closed"],
                    _rows(counts, day),
                    f"ON CONFLICT ({', '.join(_DIMS)}, status_group) DO UPDATE SET"
                    f" opened = {table}.opened + excluded.opened,"
                    f" closed = {table}.closed + excluded.closed",
                )
                gone = [r[:6] for r in counts if r[6] < 0 or r[7] < 0]
                if gone:
                    cursor.executemany(
                        f"DELETE FROM {table} WHERE day = %s AND layer_id = %s AND service_id = %s"
                        " AND department_id = %s AND area_id = %s AND status_group = %s"
                        " AND opened = 0 AND closed = 0",
                        _rows(gone, day),
                    )
            if closes:
                table = DailyCloseTime._meta.db_table
                insert_rows(
                    cursor,
                    table,
                    [*_DIMS, "bucket", "count"],
                    _rows(closes, day),
                    f"ON CONFLICT ({', '.join(_DIMS)}, bucket) DO UPDATE SET"
                    f" count = {table}.count + excluded.count",
                )
                gone_c = [r[:6] for r in closes if r[6] < 0]
                if gone_c:
                    cursor.executemany(
                        f"DELETE FROM {table} WHERE day = %s AND layer_id = %s AND service_id = %s"
                        " AND department_id = %s AND area_id = %s AND bucket = %s AND count = 0",
                        _rows(gone_c, day),
                    )
        self.counts.clear()
        self.close_times.clear()


def _rows(rows: list[Any], day: Callable[[date], object]) -> list[Any]:
    return [(day(r[0]), *r[1:]) for r in rows]


def rebuild() -> tuple[int, int]:
    """Recompute both rollup tables from the cases table alone. Returns their row counts."""
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
            f"SELECT c.requested_day AS day, {head}, c.status_group AS g, 1 AS o, 0 AS x {src}"
        )
        counted.append(
            f"SELECT c.closed_day AS day, {head}, c.status_group AS g, 0 AS o, 1 AS x {src}"
            " WHERE c.closed_day IS NOT NULL"
        )
        timed.append(
            f"SELECT c.closed_day AS day, {head}, c.close_bucket AS b {src}"
            " WHERE c.close_bucket IS NOT NULL"
        )
    columns = "day, layer_id, service_id, department_id, area_id"
    counts_table = DailyCaseCount._meta.db_table
    close_table = DailyCloseTime._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {counts_table}")
        cursor.execute(f"DELETE FROM {close_table}")
        cursor.execute(
            f"INSERT INTO {counts_table} ({columns}, status_group, opened, closed)"
            f" SELECT {columns}, g, SUM(o), SUM(x) FROM ({' UNION ALL '.join(counted)}) AS parts"
            f" GROUP BY {columns}, g"
        )
        cursor.execute(
            f"INSERT INTO {close_table} ({columns}, bucket, count)"
            f" SELECT {columns}, b, COUNT(*) FROM ({' UNION ALL '.join(timed)}) AS parts"
            f" GROUP BY {columns}, b"
        )
    return DailyCaseCount.objects.count(), DailyCloseTime.objects.count()
