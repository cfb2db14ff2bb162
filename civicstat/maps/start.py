"""Where a map opens: `MAP_CENTER` if set, else the extent of the city's areas, else the extent
of its cases, else the whole world. No city is built in.

The extents come once per data version from the cache: the areas' from their outlines, the
cases' from the map's cell rollup (a few thousand rows at most, never the cases table), leaving
out the cases far outside the bulk of them, so that a few misplaced points (a bad geocode in
another state) do not zoom the map out to a continent.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from typing import Any

import h3.api.basic_int as h3int
from django.conf import settings
from django.core.cache import cache

from civicstat.cases.areas import has_outline
from civicstat.cases.models import Area
from civicstat.cases.query import CaseFilter
from civicstat.cases.services import data_version
from civicstat.maps.clusters import (
    clusters_from_cases,
    clusters_from_rollup,
    geometry_bounds,
    rollup_can_answer,
)
from civicstat.maps.models import MapCellTotal

Bounds = tuple[float, float, float, float]  # west, south, east, north

WORLD: dict[str, Any] = {"center": [20.0, 0.0], "zoom": 3, "source": "world"}
_RES = 7  # cells of about 5 km²: fine enough for a city's edge, few enough to read at once
_CORE_TRIM = 0.05  # the share of cases outside the core at each edge (see `_fenced`)
_MIN_SPAN = 0.05  # degrees, about 5 km: the least span of the core a fence is drawn from
_EDGE_KM = float(h3int.average_hexagon_edge_length(_RES, "km"))


def areas_extent() -> Bounds | None:
    """The extent of the council districts (the outlines maps draw), else of every area. Areas
    known only by a code a file carries have no outline and no extent."""
    outlines = [
        g for g in Area.objects.order_by().values_list("kind", "geometry") if has_outline(g[1])
    ]
    districts = [g for kind, g in outlines if kind == "council-district"]
    bounds = [geometry_bounds(g) for g in districts or [g for _, g in outlines]]
    if not bounds:
        return None
    return (min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds))  # fmt: skip


def _fenced(values: list[tuple[float, int]]) -> tuple[float, float]:
    """The lowest and highest value (weights: cases per cell) within the fences: the span of the
    middle 90 % of the cases, and as much again on either side (at least _MIN_SPAN)."""
    ordered = sorted(values)
    cut = int(sum(n for _, n in ordered) * _CORE_TRIM)

    def first_past(items: list[tuple[float, int]]) -> float:
        seen = 0
        for value, n in items:
            seen += n
            if seen > cut:
                return value
        return items[-1][0]

    low, high = first_past(ordered), first_past(ordered[::-1])
    span = max(high - low, _MIN_SPAN)
    kept = [value for value, _ in ordered if low - span <= value <= high + span]
    return kept[0], kept[-1]


def cases_extent() -> Bounds | None:
    """The extent of the public cases on the map, from the mean position of each cell's cases."""
    rows = [
        (sum_lat / count, sum_lon / count, count)
        for sum_lat, sum_lon, count in MapCellTotal.objects.filter(res=_RES, count__gt=0)
        .order_by().values_list("sum_lat", "sum_lon", "count")
    ]  # fmt: skip
    return _extent(rows)


def _extent(rows: list[tuple[float, float, int]]) -> Bounds | None:
    """The fenced extent of cells given as (mean lat, mean lon, cases)."""
    if not rows:
        return None
    south, north = _fenced([(lat, n) for lat, _, n in rows])
    west, east = _fenced([(lon, n) for _, lon, n in rows])
    # Each cell's cases lie around its mean, up to about an edge away: grow the box by one, which
    # also gives a single cell's cases a view of their street, not of one building.
    pad_lat = _EDGE_KM / 110.57
    pad_lon = _EDGE_KM / (111.32 * max(0.01, math.cos(math.radians((south + north) / 2))))
    return (west - pad_lon, south - pad_lat, east + pad_lon, north + pad_lat)


def map_start() -> dict[str, Any]:
    """The first view of every map, for the scripts: `bounds` ([[south, west], [north, east]]) to
    fit, or a `zoom`; always a `center` ([lat, lon]) and its `source`."""
    if settings.MAP_CENTER is not None:
        lat, lon, zoom = settings.MAP_CENTER
        return {"center": [lat, lon], "zoom": zoom, "source": "setting"}
    key = f"map-start:{data_version()}"
    found: dict[str, Any] | None = cache.get(key)
    if found is None:
        found = WORLD
        for source, extent in (("areas", areas_extent), ("cases", cases_extent)):
            if (bounds := extent()) is not None:
                west, south, east, north = bounds
                found = {
                    "bounds": [[south, west], [north, east]],
                    "center": [(south + north) / 2, (west + east) / 2],
                    "source": source,
                }
                break
        cache.set(key, found, 3600)
    return found


def filter_start(f: CaseFilter, query: str) -> dict[str, Any]:
    """The first view of a map of the cases `f` selects (an embed of one department's or one
    area's cases): the extent of those cases, from the same per-cell clusters the map draws at
    resolution 7 (summed from the cell rollup when its filters allow, else grouped from the cases
    by their stored cell), never the whole city when the filter holds a corner of it. No filter,
    or no located case, opens where every map opens (`map_start`)."""
    if not query:
        return map_start()
    # The query is the client's (any length, any characters): hashed, so the key suits any cache.
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    key = f"map-start:{data_version()}:{digest}"
    found: dict[str, Any] | None = cache.get(key)
    if found is None:
        world = replace(f, bbox=(-180.0, -90.0, 180.0, 90.0))
        answer = clusters_from_rollup if rollup_can_answer(f) else clusters_from_cases
        bounds = _extent([(c.lat, c.lon, c.count) for c in answer(world, _RES)])
        if bounds is None:
            found = map_start()
        else:
            west, south, east, north = bounds
            found = {
                "bounds": [[south, west], [north, east]],
                "center": [(south + north) / 2, (west + east) / 2],
                "source": "filter",
            }
        cache.set(key, found, 3600)
    return found
