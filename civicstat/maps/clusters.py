"""What the map shows in a viewport: clusters with counts when there are many cases, else points.

Clusters come from the cell rollup when every filter is one it knows (layer, service, service
group, department, status group): a viewport sums at most a few hundred cells' rows, whatever the
number of cases; without a service or department filter from `MapCellTotal`, a row per cell, layer
and status group. A filter on dates, areas, text or local status needs the cases
themselves; then the cases in view are grouped by the parent of their stored h3 cell (an integer
expression over an indexed column, never a geometry). Points are read only once the viewport
holds no more than `MAP_POINTS_LIMIT` cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import h3.api.basic_int as h3int
from django.conf import settings
from django.db import connection
from django.db.models import Count, ExpressionWrapper, F, FloatField, QuerySet
from django.utils import dateformat, timezone

from civicstat.cases.models import Case
from civicstat.cases.query import CaseFilter, cases, dimension_ids
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


def _located(f: CaseFilter) -> QuerySet[Case]:
    """The located cases `f` selects. With a date filter, the viewport is applied to
    `public_lat + 0`, which no index serves: the planner then walks the date index (few cases in a
    period) instead of the coordinate index (every case of a city-wide viewport). The viewport is
    always matched against the public point (`civicstat.cases.sensitive`)."""
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


def points(f: CaseFilter, limit: int) -> list[dict[str, Any]]:
    """The cases `f` selects as map points: only what a pin shows, never contact details."""
    rows = (
        _located(f)
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
    answer = clusters_from_rollup if rollup_can_answer(f) else clusters_from_cases
    found = answer(f, res)
    # The padded cells may hold cases just outside the viewport; the total is exact only when
    # counted on the cases, which is cheap once it is known to be small.
    rough = sum(c.count for c in found)
    if rough <= limit * 4:
        exact = _located(f).aggregate(n=Count("id"))["n"]
        if exact <= limit:
            return ViewAnswer("points", res, exact, [], points(f, limit))
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
