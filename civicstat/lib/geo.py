"""Geometry helpers with no database: distances, h3 cells and point-in-polygon for many points."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import h3.api.basic_int as h3int
import numpy as np
import shapely

EARTH_RADIUS_M = 6_371_008.8
H3_RESOLUTION = 9  # cells of ~0.1 km²: fine enough for a 250 m alert radius, coarse enough to index


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def circle_bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """The smallest (west, south, east, north) box holding a circle on the sphere.

    The circle's widest point is not on its centre's parallel but nearer the pole, so the longitude
    reach is asin(sin(d) / cos(lat)), not d / cos(lat), which would cut off a sliver at each side.
    """
    d = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(d)
    reach = math.sin(d) / max(math.cos(math.radians(lat)), 1e-12)
    dlon = 180.0 if reach >= 1 else math.degrees(math.asin(reach))  # a circle around a pole
    return (lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def h3_cell(lat: float, lon: float, resolution: int = H3_RESOLUTION) -> int:
    return int(h3int.latlng_to_cell(lat, lon, resolution))


@functools.lru_cache(maxsize=65536)
def h3_cell_centre(cell: int) -> tuple[float, float]:
    """The centre (lat, lon) of an h3 cell, rounded to 6 decimals (about 0.1 m): where a
    sensitive layer's case is published (`civicstat.cases.sensitive`)."""
    lat, lon = h3int.cell_to_latlng(cell)
    return round(float(lat), 6), round(float(lon), 6)


def valid_lat_lon(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


class PolygonIndex:
    """Finds which of many polygons contain each of many points, in one vectorised call."""

    def __init__(self, shapes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """`shapes` pairs an id with a GeoJSON geometry (Polygon or MultiPolygon)."""
        self.ids = np.array([sid for sid, _ in shapes], dtype=np.int64)
        self.geoms = np.array([shapely.geometry.shape(g) for _, g in shapes], dtype=object)
        # Prepared polygons answer contains() without re-indexing their edges for every point.
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms) if len(self.geoms) else None

    def containing(
        self, lats: Sequence[float | None], lons: Sequence[float | None]
    ) -> list[list[int]]:
        """For each point, the ids of the polygons that contain it (empty for a missing point)."""
        result: list[list[int]] = [[] for _ in lats]
        if self.tree is None or not result:
            return result
        xs = np.array([lon if lon is not None else np.nan for lon in lons], dtype=float)
        ys = np.array([lat if lat is not None else np.nan for lat in lats], dtype=float)
        # Bounding boxes first (the tree), then the exact test on the few candidates.
        point_idx, geom_idx = self.tree.query(shapely.points(xs, ys))
        inside = shapely.contains_xy(self.geoms[geom_idx], xs[point_idx], ys[point_idx])
        for p, g in zip(point_idx[inside].tolist(), geom_idx[inside].tolist(), strict=True):
            result[p].append(int(self.ids[g]))
        return result
