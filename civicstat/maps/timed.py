"""The map's dated and per-area cell rollups (`MapCellMonth`, `MapCellDay`, `MapCellArea`).

`MapCellTotal` has no dates and no areas, so "last 30 days" or one council district used to group
the cases themselves (1–3.6 s a viewport at 10 M cases). These tables hold the same sums over
public request types per cell, layer and status group, with the month or day a case was requested
or each area it lies in. A window reads its whole months from the month table and only the partial
months at either end from the day table (`civicstat.lib.periods.month_split`, as the count
rollups do), so "last 365 days" sums about 12 month rows and at most 31 day rows a cell.

They are kept exact the way `MapCell` is: `CellDelta` (`civicstat.maps.cells`) counts each changed
case out as stored before and in as stored after, in the case's transaction, and hands the
changes to `TimedDelta`; `fill()` recomputes them set-based from the cases table (the rebuild, the
migration that adds them, a request type turning private or public). Private request types are
never in them, like `MapCellTotal`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import connection

from civicstat.cases.bulk import insert_rows
from civicstat.lib.geo import H3_RESOLUTION

DAY_TABLE, MONTH_TABLE, AREA_TABLE = "maps_mapcellday", "maps_mapcellmonth", "maps_mapcellarea"
_DAY_KEY = ("res", "cell", "day", "layer_id", "status_group")
_MONTH_KEY = ("res", "cell", "month", "layer_id", "status_group")
_AREA_KEY = ("res", "area_id", "cell", "layer_id", "status_group")
_SUMS = ("count", "sum_lat", "sum_lon")
COARSER = (5, 6, 7, 8)  # `cells.RESOLUTIONS` without the stored one (not imported: circular)


def as_date(value: object) -> date:
    """A date column as the driver returns it (SQLite gives ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class TimedDelta:
    """Changes to the dated and per-area tables gathered over a batch (`CellDelta` feeds it)."""

    def __init__(self) -> None:
        # res, cell, day, layer, service, group -> count, sum_lat, sum_lon
        self.days: defaultdict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        # res, area, cell, layer, service, group -> the same
        self.areas: defaultdict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    def add(
        self,
        *,
        sign: int,
        cells: Iterable[tuple[int, int]],
        lat: float,
        lon: float,
        layer: int,
        service: int,
        group: str,
        day: date,
        areas: Iterable[int],
    ) -> None:
        """Count one case in (1) or out (-1) at each of its (resolution, cell) pairs."""
        areas = list(areas)
        for res, cell in cells:
            for row in (
                self.days[(res, cell, day, layer, service, group)],
                *(self.areas[(res, area, cell, layer, service, group)] for area in areas),
            ):
                row[0] += sign
                row[1] += sign * lat
                row[2] += sign * lon

    def pending(self) -> bool:
        return bool(self.days or self.areas)

    def apply(self, cursor: Any, private: set[int]) -> None:
        """Sum the changes over public request types and add them to the three tables."""
        adapt = connection.ops.adapt_datefield_value
        days: defaultdict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        months: defaultdict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        areas: defaultdict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for (res, cell, day, layer, service, group), v in self.days.items():
            if service in private:
                continue
            month = adapt(day.replace(day=1))
            for target in (days[(res, cell, adapt(day), layer, group)],
                           months[(res, cell, month, layer, group)]):  # fmt: skip
                for i in range(3):
                    target[i] += v[i]
        for (res, area, cell, layer, service, group), v in self.areas.items():
            if service not in private:
                target = areas[(res, area, cell, layer, group)]
                for i in range(3):
                    target[i] += v[i]
        self.days.clear()
        self.areas.clear()
        for table, key, rows in ((DAY_TABLE, _DAY_KEY, days), (MONTH_TABLE, _MONTH_KEY, months),
                                 (AREA_TABLE, _AREA_KEY, areas)):  # fmt: skip
            _add(cursor, table, key, [(*k, int(v[0]), v[1], v[2]) for k, v in rows.items()
                                      if v[0] or v[1] or v[2]])  # fmt: skip


def _add(cursor: Any, table: str, key: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Add `rows` (key, then sums) to `table`; delete the rows a negative change took to no case.
    By key, not by a scan: these tables hold millions of rows at 10 M cases."""
    if not rows:
        return
    added = ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s in _SUMS)
    insert_rows(cursor, table, [*key, *_SUMS], rows,
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}")  # fmt: skip
    gone = [r[: len(key)] for r in rows if r[len(key)] < 0]
    if gone:
        match = " AND ".join(f"{k} = %s" for k in key)
        cursor.executemany(f"DELETE FROM {table} WHERE {match} AND count <= 0", gone)


def _first_of_month(vendor: str, column: str) -> str:
    if vendor == "sqlite":
        return f"substr({column}, 1, 8) || '01'"  # dates are ISO text: YYYY-MM-DD
    return f"CAST(date_trunc('month', {column}) AS date)"


def fill(cursor: Any, vendor: str) -> None:
    """Empty the three tables and fill them from the cases table with set-based INSERT … SELECT:
    the stored resolution from the cases (one pass each), the coarser ones from its rows, the
    months from the days. Table names are literal so that a migration can call it."""
    from civicstat.maps.cells import _parent_sql

    public = (
        "c.h3_cell IS NOT NULL AND (c.service_id IS NULL OR c.service_id NOT IN"
        " (SELECT id FROM cases_service WHERE private))"
    )
    sums = "COUNT(*), SUM(c.public_lat), SUM(c.public_lon)"
    summed = "SUM(count), SUM(sum_lat), SUM(sum_lon)"
    fine = H3_RESOLUTION
    # One pass over the cases in table order: SQLite would walk an index to save the GROUP BY's
    # sort and fetch every case out of order (the cell index at 10 M cases: minutes).
    case = "cases_case c NOT INDEXED" if vendor == "sqlite" else "cases_case c"
    for table in (DAY_TABLE, MONTH_TABLE, AREA_TABLE):
        cursor.execute(f"DELETE FROM {table}")
    day_cols, area_cols = ", ".join((*_DAY_KEY, *_SUMS)), ", ".join((*_AREA_KEY, *_SUMS))
    cursor.execute(
        f"INSERT INTO {DAY_TABLE} ({day_cols}) SELECT {fine}, c.h3_cell, c.requested_day,"
        f" c.layer_id, c.status_group, {sums} FROM {case} WHERE {public}"
        " GROUP BY c.h3_cell, c.requested_day, c.layer_id, c.status_group ORDER BY 2, 3, 4, 5"
    )
    cursor.execute(
        f"INSERT INTO {AREA_TABLE} ({area_cols}) SELECT {fine}, ca.area_id, c.h3_cell,"
        f" c.layer_id, c.status_group, {sums} FROM {case}"
        # The cases in table order, each one's links from the (case, area) index in the same
        # order: SQLite keeps a CROSS JOIN's order; PostgreSQL plans it as any inner join.
        f" CROSS JOIN cases_casearea ca WHERE ca.case_id = c.id AND {public}"
        " GROUP BY ca.area_id, c.h3_cell, c.layer_id, c.status_group ORDER BY 2, 3, 4, 5"
    )
    for res in COARSER:
        parent = _parent_sql(res).replace("h3_cell", "cell")
        cursor.execute(
            f"INSERT INTO {DAY_TABLE} ({day_cols}) SELECT {res}, {parent}, day, layer_id,"
            f" status_group, {summed} FROM {DAY_TABLE} WHERE res = {fine}"
            " GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5"
        )
        cursor.execute(
            f"INSERT INTO {AREA_TABLE} ({area_cols}) SELECT {res}, area_id, {parent}, layer_id,"
            f" status_group, {summed} FROM {AREA_TABLE} WHERE res = {fine}"
            " GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5"
        )
    month = _first_of_month(vendor, "day")
    cursor.execute(
        f"INSERT INTO {MONTH_TABLE} ({', '.join((*_MONTH_KEY, *_SUMS))}) SELECT res, cell,"
        f" {month}, layer_id, status_group, {summed} FROM {DAY_TABLE}"
        " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    )
