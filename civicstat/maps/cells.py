"""Keeping the map's cell rollup (`MapCell`) current, and rebuilding it from the cases table.

`case_upsert` counts a changed case out (as stored before the update) and back in (as stored after
it) in the same transaction as the case, like the daily rollups, so the map never disagrees with
the cases. `rebuild()` recomputes every row with one grouped query per resolution; a test proves
the two agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import h3.api.basic_int as h3int
from django.db import connection, transaction

from civicstat.cases.bulk import insert_rows
from civicstat.cases.models import Case
from civicstat.lib.geo import H3_RESOLUTION
from civicstat.maps.models import MapCell

# Stored resolutions, coarse to fine: about 250, 36, 5, 0.7 and 0.1 km² a cell. The finest is the
# one `Case.h3_cell` is stored at, so its rows are the cases' own cells.
RESOLUTIONS = (5, 6, 7, 8, H3_RESOLUTION)
_KEY = ("res", "cell", "layer_id", "service_id", "department_id", "status_group")
Key = tuple[int, int, int, int, int, str]


def parent_cell(cell: int, res: int) -> int:
    """The h3 parent of a stored cell: the same bits with the finer digits unused (all ones)."""
    shift = 3 * (15 - res)
    return (((cell >> shift) << shift) | ((1 << shift) - 1)) - ((H3_RESOLUTION - res) << 52)


def _parent_sql(res: int) -> str:
    """`parent_cell` in SQL (both SQLite and PostgreSQL have integer shifts and `|`)."""
    shift = 3 * (15 - res)
    unused, res_field = (1 << shift) - 1, (H3_RESOLUTION - res) << 52
    return f"((((h3_cell >> {shift}) << {shift}) | {unused}) - {res_field})"


@lru_cache(maxsize=65536)
def cell_centre(cell: int) -> tuple[float, float]:
    lat, lon = h3int.cell_to_latlng(cell)
    return float(lat), float(lon)


class CellDelta:
    """Changes to `MapCell` gathered over a batch, written in one upsert."""

    def __init__(self) -> None:
        self.rows: defaultdict[Key, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    def count_stored(self, cursor: Any, case_ids: Sequence[int], *, sign: int) -> None:
        """Count these cases, as the cases table holds them now, in (1) or out (-1)."""
        table = Case._meta.db_table
        size = (connection.features.max_query_params or 5000) - 1
        for start in range(0, len(case_ids), min(size, 5000)):
            chunk = case_ids[start : start + min(size, 5000)]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                "SELECT h3_cell, lat, lon, layer_id, COALESCE(service_id, 0),"
                f" COALESCE(department_id, 0), status_group FROM {table}"
                f" WHERE id IN ({marks}) AND h3_cell IS NOT NULL",
                list(chunk),
            )
            for cell, lat, lon, layer, service, department, group in cursor.fetchall():
                for res in RESOLUTIONS:
                    row = self.rows[
                        (res, parent_cell(cell, res), layer, service, department, group)
                    ]
                    row[0] += sign
                    row[1] += sign * lat
                    row[2] += sign * lon

    def apply(self, cursor: Any) -> None:
        """Upsert the changes; drop rows that fell to zero so the table equals a rebuild."""
        changed = [(k, v) for k, v in self.rows.items() if v[0] or v[1] or v[2]]
        self.rows.clear()
        if not changed:
            return
        table = MapCell._meta.db_table
        insert_rows(
            cursor,
            table,
            [*_KEY, "lat", "lon", "count", "sum_lat", "sum_lon"],
            [(*k, *cell_centre(k[1]), int(v[0]), v[1], v[2]) for k, v in changed],
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET"
            f" count = {table}.count + excluded.count,"
            f" sum_lat = {table}.sum_lat + excluded.sum_lat,"
            f" sum_lon = {table}.sum_lon + excluded.sum_lon",
        )
        if any(v[0] < 0 for _, v in changed):
            cursor.execute(f"DELETE FROM {table} WHERE count <= 0")


def _grouped(cursor: Any, res: int) -> Iterator[tuple[Any, ...]]:
    cursor.execute(
        f"SELECT {_parent_sql(res)} AS cell, layer_id, COALESCE(service_id, 0),"
        " COALESCE(department_id, 0), status_group, COUNT(*), SUM(lat), SUM(lon)"
        f" FROM {Case._meta.db_table} WHERE h3_cell IS NOT NULL"
        " GROUP BY 1, 2, 3, 4, 5"
    )
    while rows := cursor.fetchmany(10_000):
        yield from rows


def rebuild() -> int:
    """Recompute the whole cell rollup from the cases table. Returns its row count."""
    table = MapCell._meta.db_table
    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        for res in RESOLUTIONS:
            # Read all groups first: one cursor cannot stream a SELECT while inserting.
            rows = [
                (res, cell, layer, service, department, group, *cell_centre(cell), n, slat, slon)
                for cell, layer, service, department, group, n, slat, slon in _grouped(cursor, res)
            ]
            insert_rows(cursor, table, [*_KEY, "lat", "lon", "count", "sum_lat", "sum_lon"], rows)
            total += len(rows)
    return total
