"""What the map shows in a viewport: clusters with counts when there are many cases, else points.

Clusters come from the cell rollup when every filter is one it knows (layer, service, service
group, department, status group): a viewport sums at most a few hundred cells' rows, whatever the
number of cases; without a service or department filter from `MapCellTotal`, a row per cell, layer
and status group. Requested dates or areas (with at most a layer and status group filter besides)
come from the dated and per-area cell tables (`civicstat.maps.timed`, `timed_can_answer`). Any
other filter (text, local status, closed dates, dates and areas together, a request type, service
group or department with dates or areas, areas of two kinds) needs the cases themselves; then the
cases in view are grouped by the parent of their stored h3 cell (an integer expression over an
indexed column, never a geometry). Points are read only once the viewport holds no more than
`MAP_POINTS_LIMIT` cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import h3.api.basic_int as h3int
from django.conf import settings
from django.db import connection
from django.db.models import Exists, ExpressionWrapper, F, FloatField, OuterRef, QuerySet
from django.utils import dateformat, timezone

from civicstat.cases.models import Area, Case, CaseArea
from civicstat.cases.query import CaseFilter, cases, dimension_ids
from civicstat.lib.periods import month_split
from civicstat.maps import timed
from civicstat.maps.cells import RESOLUTIONS, _parent_sql, cell_centre
from civicstat.maps.models import MapCell, MapCellTotal

MAX_CELLS_IN_VIEW = 300  # about one cluster per 60 px square on a desktop screen
_EDGE_KM = {res: float(h3int.average_hexagon_edge_length(res, "km")) for res in RESOLUTIONS}
_AREA_KM2 = {res: float(h3int.average_hexagon_area(res, "km^2")) for res in RESOLUTIONS}


@dataclass
class Cluster:
    lat: float
    lon: float
    count: int
    open: int


@dataclass
class ViewAnswer:
    kind: str  # "clusters" or "points"
    resolution: int
    total: int  # cases in the viewport
    clusters: list[Cluster]
    points: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resolution": self.resolution,
            "in_view": self.total,
            "clusters": [
                {"lat": round(c.lat, 6), "lon": round(c.lon, 6), "count": c.count, "open": c.open}
                for c in self.clusters
            ],
            "points": self.points,
        }


def resolution_for(bbox: tuple[float, float, float, float]) -> int:
    """The finest stored resolution at which the viewport holds no more than MAX_CELLS_IN_VIEW."""
    west, south, east, north = bbox
    mid = math.radians((south + north) / 2)
    width_km = (east - west) * 111.32 * math.cos(mid)
    height_km = (north - south) * 110.57
    area = max(width_km * height_km, 1e-6)
    for res in reversed(RESOLUTIONS):
        if area / _AREA_KM2[res] <= MAX_CELLS_IN_VIEW:
            return res
    return RESOLUTIONS[0]


def geometry_bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """West, south, east, north of a GeoJSON Polygon or MultiPolygon."""
    rings = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        rings = [rings]
    xs = [x for polygon in rings for ring in polygon for x, *_ in ring]
    ys = [y for polygon in rings for ring in polygon for _, y, *_ in ring]
    return (min(xs), min(ys), max(xs), max(ys))


def rollup_can_answer(f: CaseFilter) -> bool:
    return not (
        f.requested_from or f.requested_to or f.closed_from or f.closed_to or f.areas
        or f.text or f.statuses or f.include_private
    )  # fmt: skip


def timed_can_answer(f: CaseFilter) -> bool:
    """Whether the dated and per-area tables hold what `f` selects: requested dates or areas of
    one kind (not both), with at most layers and a status group besides. They sum request types
    and departments out, and hold no closed date, text or local status: each of those, and dates
    with areas, goes to the cases table (`clusters_from_cases`)."""
    if f.text or f.statuses or f.include_private or f.closed_from or f.closed_to:
        return False
    if f.services or f.service_groups or f.departments:
        return False
    if bool(f.requested_from or f.requested_to) == bool(f.areas):
        return False  # neither (`MapCellTotal` answers) or both
    # Areas of different kinds overlap (the count rollups refuse them too, `query._area_rows`).
    return (
        len(f.areas) < 2
        or Area.objects.filter(id__in=f.areas).values("kind").distinct().count() == 1
    )


def _padded(bbox: tuple[float, float, float, float], res: int) -> tuple[float, ...]:
    """The viewport grown by one cell edge: a cell whose centre lies just outside still shows."""
    west, south, east, north = bbox
    pad_lat = _EDGE_KM[res] / 110.57
    pad_lon = _EDGE_KM[res] / (111.32 * max(0.01, math.cos(math.radians((south + north) / 2))))
    return (west - pad_lon, south - pad_lat, east + pad_lon, north + pad_lat)


def clusters_from_rollup(f: CaseFilter, res: int) -> list[Cluster]:
    """Clusters of the cases `f` selects (its bbox the viewport), summed from the cell rollup.

    Plain SQL: this runs on every pan and zoom, and building it through the ORM cost more than
    running it.
    """
    assert f.bbox is not None  # noqa: S101 - callers always pass a viewport
    west, south, east, north = _padded(f.bbox, res)
    where = ["res = %s", "lat >= %s", "lat <= %s", "lon >= %s", "lon <= %s"]
    params: list[Any] = [res, south, north, west, east]

    def among(column: str, ids: list[int], *, negate: bool = False) -> None:
        ids = ids or [-1]  # "IN ()" is not SQL; no id is -1, so nothing matches
        where.append(f"{column} {'NOT ' if negate else ''}IN ({', '.join(['%s'] * len(ids))})")
        params.extend(ids)

    # The map is public whatever the filter says: private services are always left out.
    ids = dimension_ids(replace(f, include_private=False))
    table = MapCell._meta.db_table
    if ids.services is None and ids.departments is None:
        table = MapCellTotal._meta.db_table  # public services only, summed over all of them
    elif ids.excluded_services:
        among("service_id", ids.excluded_services, negate=True)
    if ids.layers is not None:
        among("layer_id", ids.layers)
    if ids.services is not None:
        among("service_id", ids.services)
    if ids.departments is not None:
        among("department_id", ids.departments)
    if f.status_group:
        where.append("status_group = %s")
        params.append(f.status_group)
    sql = (
        "SELECT cell, SUM(count), SUM(sum_lat), SUM(sum_lon),"
        " SUM(CASE WHEN status_group = 'open' THEN count ELSE 0 END)"
        f" FROM {table} WHERE {' AND '.join(where)} GROUP BY cell"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Cluster(slat / n, slon / n, int(n), int(o or 0)) for _, n, slat, slon, o in rows if n]


def _in_view(f: CaseFilter, res: int) -> list[int]:
    """The cells at `res` whose centres lie in f's padded viewport (as `clusters_from_rollup`
    picks them), from `MapCellTotal`'s index."""
    assert f.bbox is not None  # noqa: S101
    west, south, east, north = _padded(f.bbox, res)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT cell FROM {MapCellTotal._meta.db_table} WHERE res = %s"
            " AND lat >= %s AND lat <= %s AND lon >= %s AND lon <= %s",
            [res, south, north, west, east],
        )
        return [r[0] for r in cursor.fetchall()]


def timed_rows(f: CaseFilter, cells: list[int] | None, res: int) -> list[tuple[Any, ...]]:
    """(cell, count, sum_lat, sum_lon, open) of the cases `f` selects in `cells` (None: every
    cell), summed from the per-area table, or from the month table for f's whole months and the
    day table for the partial months at either end. f must pass `timed_can_answer`."""
    if cells is not None and not cells:
        return []
    ids = dimension_ids(replace(f, include_private=False))
    common = "res = %s"
    params: list[Any] = [res]
    if cells is not None:
        common += f" AND cell IN ({', '.join(['%s'] * len(cells))})"
        params.extend(cells)
    if ids.layers is not None:
        layers = ids.layers or [-1]  # no layer is -1: nothing matches
        common += f" AND layer_id IN ({', '.join(['%s'] * len(layers))})"
        params.extend(layers)
    if f.status_group:
        common += " AND status_group = %s"
        params.append(f.status_group)
    parts: list[tuple[str, str, list[Any]]] = []
    if f.areas:
        marks = ", ".join(["%s"] * len(f.areas))
        parts.append((timed.AREA_TABLE, f" AND area_id IN ({marks})", list(f.areas)))
    else:
        day = connection.ops.adapt_datefield_value
        split = month_split(f.requested_from, f.requested_to)
        spans = [("month", timed.MONTH_TABLE, split.months)] if split.months else []
        spans += [("day", timed.DAY_TABLE, span) for span in split.days]
        for column, table, (low, high) in spans:
            where, bounds = "", []
            for op, value in ((">=", low), ("<=", high)):
                if value is not None:
                    where += f" AND {column} {op} %s"
                    bounds.append(day(value))
            parts.append((table, where, bounds))
    union = " UNION ALL ".join(
        f"SELECT cell, count, sum_lat, sum_lon, status_group FROM {table} WHERE {common}{where}"
        for table, where, _ in parts
    )
    sql = (
        f"SELECT cell, SUM(count), SUM(sum_lat), SUM(sum_lon), SUM(CASE WHEN status_group ="
        f" 'open' THEN count ELSE 0 END) FROM ({union}) AS t GROUP BY cell"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [p for _, _, bounds in parts for p in (*params, *bounds)])
        return list(cursor.fetchall())


# The farthest a point lies from the centre of its stored cell, with room to spare (the largest
# resolution-9 cell's circumradius is about 0.26 km); and the most cells worth listing in a query.
_CELL_REACH_KM = 0.3
_MAX_CANDIDATE_CELLS = 2000


def _reach(bbox: tuple[float, ...], sign: int) -> tuple[float, float, float, float]:
    """The viewport grown (sign 1) or shrunk (-1) by a cell's reach."""
    west, south, east, north = bbox
    dlat = _CELL_REACH_KM / 110.57
    dlon = _CELL_REACH_KM / (111.32 * max(0.01, math.cos(math.radians((south + north) / 2))))
    return (west - sign * dlon, south - sign * dlat, east + sign * dlon, north + sign * dlat)


def _fine_counts(f: CaseFilter) -> tuple[list[int], int] | None:
    """For a viewport with few cases (`timed_can_answer` filters): the stored (finest) cells that
    hold a case `f` selects and may lie in view, and how many of those cases certainly lie in view
    (their cells lie wholly inside it; a sensitive layer's public point is its cell's centre).
    None when too many cells lie in reach to list."""
    assert f.bbox is not None  # noqa: S101
    fine = RESOLUTIONS[-1]
    west, south, east, north = _reach(f.bbox, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT cell FROM {MapCellTotal._meta.db_table} WHERE res = %s AND lat >= %s"
            " AND lat <= %s AND lon >= %s AND lon <= %s",
            [fine, south, north, west, east],
        )
        reach = [r[0] for r in cursor.fetchall()]
    if len(reach) > _MAX_CANDIDATE_CELLS:
        return None
    counts = {row[0]: int(row[1]) for row in timed_rows(f, reach, fine) if row[1]}
    w, s, e, n = _reach(f.bbox, -1)
    inside = sum(
        count for cell, count in counts.items()
        if s <= cell_centre(cell)[0] <= n and w <= cell_centre(cell)[1] <= e
    )  # fmt: skip
    return sorted(counts), inside


def _city_wide(f: CaseFilter) -> int:
    """How many cases `f` selects in the whole city (its viewport aside), from the coarsest rows."""
    return sum(int(row[1]) for row in timed_rows(f, None, RESOLUTIONS[0]))


def clusters_from_timed(f: CaseFilter, res: int) -> list[Cluster]:
    """Clusters of the cases `f` selects in its viewport, from the dated or per-area tables."""
    cells = _in_view(f, res)
    rows = timed_rows(f, cells, res)
    return [Cluster(slat / n, slon / n, int(n), int(o or 0)) for _, n, slat, slon, o in rows if n]


def clusters_from_cases(f: CaseFilter, res: int) -> list[Cluster]:
    """Clusters of the cases `f` selects, grouped by the parent cell of each case's h3 cell."""
    assert f.bbox is not None  # noqa: S101
    inner = _located(f).values("h3_cell", "status_group", "public_lat", "public_lon").order_by()
    sql, params = inner.query.sql_with_params()
    # A CTE names the inner columns the same way on both engines.
    grouped = (
        f"WITH t(c, g, la, lo) AS ({sql}) SELECT {_parent_sql(res).replace('h3_cell', 't.c')},"
        " COUNT(*), SUM(t.la), SUM(t.lo), SUM(CASE WHEN t.g = 'open' THEN 1 ELSE 0 END)"
        " FROM t GROUP BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(grouped, params)
        rows = cursor.fetchall()
    return [Cluster(slat / n, slon / n, int(n), int(o or 0)) for _, n, slat, slon, o in rows if n]


def _located(f: CaseFilter, *, cells: list[int] | None = None) -> QuerySet[Case]:
    """The located cases `f` selects. With a date filter, the viewport is applied to
    `public_lat + 0`, which no index serves: the planner then walks the date index (few cases in a
    period) instead of the coordinate index (every case of a city-wide viewport). `cells`: the
    stored (finest) cells that hold every case f can select in its viewport (`_fine_counts`):
    read by the cell and day index alone (dates on `requested_day`, the same local days; areas as
    an EXISTS per case; the viewport on the public point, which has no index). The viewport is
    always matched against the public point (`civicstat.cases.sensitive`)."""
    if cells is not None:
        assert f.bbox is not None  # noqa: S101
        west, south, east, north = f.bbox
        qs = cases(replace(f, requested_from=None, requested_to=None, areas=[], bbox=None))
        qs = qs.filter(h3_cell__in=cells, public_lat__gte=south, public_lat__lte=north,
                       public_lon__gte=west, public_lon__lte=east)  # fmt: skip
        if f.requested_from:
            qs = qs.filter(requested_day__gte=f.requested_from)
        if f.requested_to:
            qs = qs.filter(requested_day__lte=f.requested_to)
        if f.areas:
            linked = CaseArea.objects.filter(case_id=OuterRef("pk"), area_id__in=f.areas)
            qs = qs.filter(Exists(linked))
        return qs
    if not (f.bbox and (f.requested_from or f.requested_to)):
        return cases(f).filter(h3_cell__isnull=False)
    west, south, east, north = f.bbox
    return (
        cases(replace(f, bbox=None))
        .filter(h3_cell__isnull=False)
        .annotate(lat_0=ExpressionWrapper(F("public_lat") + 0, FloatField()),
                  lon_0=ExpressionWrapper(F("public_lon") + 0, FloatField()))
        .filter(lat_0__gte=south, lat_0__lte=north, lon_0__gte=west, lon_0__lte=east)
    )  # fmt: skip


def points(f: CaseFilter, limit: int, *, cells: list[int] | None = None) -> list[dict[str, Any]]:
    """The cases `f` selects as map points: only what a pin shows, never contact details."""
    rows = (
        _located(f, cells=cells)
        .order_by("-requested_at", "-id")
        .values("external_id", "layer__slug", "public_lat", "public_lon", "status_group",
                "service__name", "layer__noun", "layer__sensitive", "address",
                "requested_at")[:limit]
    )  # fmt: skip
    return [
        {
            "id": r["external_id"],
            "layer": r["layer__slug"],
            "lat": r["public_lat"],
            "lon": r["public_lon"],
            "status": r["status_group"],
            "title": r["service__name"] or r["layer__noun"].capitalize(),
            "address": "" if r["layer__sensitive"] else r["address"],
            # In the city's time zone (TIME_ZONE), as every page shows it: a case opened at 9 pm
            # in Kansas City is on the next day in UTC.
            "opened": (opened := timezone.localtime(r["requested_at"])).date().isoformat(),
            "opened_text": dateformat.format(opened, "M j, Y, g:i a"),
        }
        for r in rows
    ]


def view(f: CaseFilter) -> ViewAnswer:
    """What the map shows for filter `f` in its viewport `f.bbox`."""
    assert f.bbox is not None  # noqa: S101
    res = resolution_for(f.bbox)
    limit = settings.MAP_POINTS_LIMIT
    candidates: list[int] | None = None
    if rollup_can_answer(f):
        found = clusters_from_rollup(f, res)
    elif timed_can_answer(f):
        cells = _in_view(f, res)
        found = [Cluster(slat / n, slon / n, int(n), int(o or 0))
                 for _, n, slat, slon, o in timed_rows(f, cells, res) if n]  # fmt: skip
        dated = bool(f.requested_from or f.requested_to)
        if sum(c.count for c in found) > limit * 4:
            pass  # clusters, as below
        elif dated and _city_wide(f) <= limit * 4:
            pass  # the period holds few cases city-wide: the date index walks them (below)
        elif (fine := _fine_counts(f)) is not None:
            # The finest cells say which cells hold the selected cases, and a lower bound of
            # those in view: past the limit, the clusters stand without reading a case; else
            # the points are read from those cells alone (by the cell and day index).
            candidates, inside = fine
            if inside > limit:
                return ViewAnswer("clusters", res, sum(c.count for c in found), found, [])
    else:
        found = clusters_from_cases(f, res)
    # The padded cells may hold cases just outside the viewport; whether the viewport holds few
    # enough for points is known only from the cases, which is cheap once it is known to be small:
    # one more case than the limit, in any order (the scan stops there), says it holds too many.
    rough = sum(c.count for c in found)
    if rough <= limit * 4:
        located = _located(f, cells=candidates).order_by().values_list("id", flat=True)
        if len(located[: limit + 1]) <= limit:
            shown = points(f, limit, cells=candidates)
            return ViewAnswer("points", res, len(shown), [], shown)
    return ViewAnswer("clusters", res, rough, found, [])


def baseline_clusters(f: CaseFilter, res: int) -> list[Cluster]:
    """The plain way, for the benchmark: GROUP BY rounded coordinates of the cases in view."""
    digits = {5: 1, 6: 1, 7: 2, 8: 2, 9: 3}[res]
    qs = _located(replace(f))
    sql, params = (
        qs.values("public_lat", "public_lon", "status_group").order_by().query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH t(la, lo, g) AS ({sql}) SELECT ROUND(CAST(t.la AS NUMERIC), {digits}),"
            f" ROUND(CAST(t.lo AS NUMERIC), {digits}), COUNT(*), SUM(t.la), SUM(t.lo),"
            " SUM(CASE WHEN t.g = 'open' THEN 1 ELSE 0 END) FROM t GROUP BY 1, 2",
            params,
        )
        rows = cursor.fetchall()
    return [Cluster(slat / n, slon / n, int(n), int(o)) for _, _, n, slat, slon, o in rows]


__all__ = ["Cluster", "ViewAnswer", "baseline_clusters", "cell_centre", "resolution_for", "view"]
