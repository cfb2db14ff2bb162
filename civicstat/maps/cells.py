"""Keeping the map's cell rollup (`MapCell`) current, and rebuilding it from the cases table.

`case_upsert` counts a changed case out (as stored before the update) and back in (as stored after
it) in the same transaction as the case, like the daily rollups, so the map never disagrees with
the cases. `rebuild()` recomputes every row with one grouped query per resolution; a test proves
the two agree. The sums are of the cases' public points (`civicstat.cases.sensitive`): a cell
holding one case of a sensitive layer must not place its cluster on the exact point.
`MapCellTotal` (public services only, service and department summed out) gets the same deltas,
and is rebuilt from `MapCell` whenever a service turns private or public. So do the dated and
per-area tables (`civicstat.maps.timed`), rebuilt from the cases on such a change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import h3.api.basic_int as h3int
from django.db import connection, transaction

from civicstat.cases.bulk import insert_rows
from civicstat.cases.models import Case, CaseArea
from civicstat.lib.geo import H3_RESOLUTION
from civicstat.maps import timed
from civicstat.maps.models import MapCell, MapCellTotal

# Stored resolutions, coarse to fine: about 250, 36, 5, 0.7 and 0.1 km² a cell. The finest is the
# one `Case.h3_cell` is stored at, so its rows are the cases' own cells.
RESOLUTIONS = (5, 6, 7, 8, H3_RESOLUTION)
_KEY = ("res", "cell", "layer_id", "service_id", "department_id", "status_group")
Key = tuple[int, int, int, int, int, str]
_TOTAL_KEY = ("res", "cell", "layer_id", "status_group")
_SUMS = ("count", "sum_lat", "sum_lon")


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
        self.timed = timed.TimedDelta()  # the dated and per-area tables

    def count_stored(
        self,
        cursor: Any,
        case_ids: Sequence[int],
        *,
        sign: int,
        areas: Mapping[int, Iterable[int]] | None = None,
    ) -> None:
        """Count these cases, as the cases table holds them now, in (1) or out (-1). `areas`: each
        case's area ids when the caller is about to change its `CaseArea` links (an import counts
        a case in before linking it); else the stored links are read."""
        table = Case._meta.db_table
        size = (connection.features.max_query_params or 5000) - 1
        for start in range(0, len(case_ids), min(size, 5000)):
            chunk = case_ids[start : start + min(size, 5000)]
            marks = ", ".join(["%s"] * len(chunk))
            linked = areas if areas is not None else _links(cursor, chunk, marks)
            cursor.execute(
                "SELECT h3_cell, public_lat, public_lon, layer_id, COALESCE(service_id, 0),"
                f" COALESCE(department_id, 0), status_group, requested_day, id FROM {table}"
                f" WHERE id IN ({marks}) AND h3_cell IS NOT NULL",
                list(chunk),
            )
            for cell, lat, lon, layer, service, department, group, day, case in cursor.fetchall():
                parents = [(res, parent_cell(cell, res)) for res in RESOLUTIONS]
                for res, parent in parents:
                    row = self.rows[(res, parent, layer, service, department, group)]
                    row[0] += sign
                    row[1] += sign * lat
                    row[2] += sign * lon
                self.timed.add(sign=sign, cells=parents, lat=lat, lon=lon, layer=layer,
                               service=service, group=group, day=timed.as_date(day),
                               areas=linked.get(case, ()))  # fmt: skip

    def apply(self, cursor: Any) -> None:
        """Upsert the changes; drop rows that fell to zero so the tables equal a rebuild."""
        changed = [(k, v) for k, v in self.rows.items() if v[0] or v[1] or v[2]]
        self.rows.clear()
        # A case moved to another day or area only changes the dated and per-area tables.
        if not changed and not self.timed.pending():
            return
        private = set(_private_services(cursor))
        self.timed.apply(cursor, private)
        if not changed:
            return
        totals: defaultdict[tuple[int, int, int, str], list[float]] = defaultdict(
            lambda: [0, 0.0, 0.0]
        )
        for (res, cell, layer, service, _, group), v in changed:
            if service not in private:
                total = totals[(res, cell, layer, group)]
                total[0] += v[0]
                total[1] += v[1]
                total[2] += v[2]
        _add(cursor, MapCell._meta.db_table, _KEY,
             [(*k, *cell_centre(k[1]), int(v[0]), v[1], v[2]) for k, v in changed])  # fmt: skip
        _add(cursor, MapCellTotal._meta.db_table, _TOTAL_KEY,
             [(*k, *cell_centre(k[1]), int(v[0]), v[1], v[2]) for k, v in totals.items()
              if v[0] or v[1] or v[2]])  # fmt: skip


def _add(cursor: Any, table: str, key: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Add `rows` (key, centre, sums) to `table`'s rows; delete the ones that fell to zero."""
    if not rows:
        return
    added = ", ".join(f"{s} = {table}.{s} + excluded.{s}" for s in _SUMS)
    insert_rows(cursor, table, [*key, "lat", "lon", *_SUMS], rows,
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}")  # fmt: skip
    if any(r[len(key) + 2] < 0 for r in rows):
        cursor.execute(f"DELETE FROM {table} WHERE count <= 0")


def _links(cursor: Any, case_ids: Sequence[int], marks: str) -> dict[int, list[int]]:
    """The stored area links of these cases."""
    cursor.execute(
        f"SELECT case_id, area_id FROM {CaseArea._meta.db_table} WHERE case_id IN ({marks})",
        list(case_ids),
    )
    linked: defaultdict[int, list[int]] = defaultdict(list)
    for case, area in cursor.fetchall():
        linked[case].append(area)
    return linked


def _private_services(cursor: Any) -> list[int]:
    from civicstat.cases.models import Service

    cursor.execute(f"SELECT id FROM {Service._meta.db_table} WHERE private = %s", [True])
    return [row[0] for row in cursor.fetchall()]


def totals_rebuild(cursor: Any) -> int:
    """Recompute `MapCellTotal` from `MapCell`, leaving out the private services' rows."""
    table = MapCellTotal._meta.db_table
    cursor.execute(f"DELETE FROM {table}")
    private = _private_services(cursor)
    hidden = f" WHERE service_id NOT IN ({', '.join(['%s'] * len(private))})" if private else ""
    cursor.execute(
        f"INSERT INTO {table} (res, cell, layer_id, status_group, lat, lon, count, sum_lat,"
        " sum_lon) SELECT res, cell, layer_id, status_group, MIN(lat), MIN(lon), SUM(count),"
        f" SUM(sum_lat), SUM(sum_lon) FROM {MapCell._meta.db_table}{hidden}"
        " GROUP BY res, cell, layer_id, status_group ORDER BY res, cell, layer_id, status_group",
        private,
    )
    cursor.execute(f"SELECT COUNT(*) FROM {table}")
    return int(cursor.fetchone()[0])


def _grouped(cursor: Any, res: int) -> Iterator[tuple[Any, ...]]:
    cursor.execute(
        f"SELECT {_parent_sql(res)} AS cell, layer_id, COALESCE(service_id, 0),"
        " COALESCE(department_id, 0), status_group, COUNT(*), SUM(public_lat), SUM(public_lon)"
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
        totals_rebuild(cursor)
        timed.fill(cursor, connection.vendor)
    return total
