"""Area outlines light enough for a phone: simplified (Douglas–Peucker, shapely) and rounded.

The council districts as stored are 208 kB of GeoJSON at 15 decimals (a nanometre); a map draws
them a pixel wide. Dropping the vertices that move an outline less than a metre and keeping 5
decimals (a metre) makes them 44 kB, and nobody can see the difference even at the map's
deepest zoom.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping, shape

# Degrees: about a metre. Half a pixel at zoom 17, where a pixel is 1.2 m at this latitude.
MAP_TOLERANCE = 0.00001
DECIMALS = 5  # about a metre too: finer digits cost bytes and show nothing


def rounded(coordinates: Any, decimals: int = DECIMALS) -> Any:
    """GeoJSON coordinates (any nesting) rounded, as lists."""
    if coordinates and isinstance(coordinates[0], (int, float)):
        return [round(float(v), decimals) for v in coordinates[:2]]
    return [rounded(part, decimals) for part in coordinates]


def simplified(geometry: dict[str, Any], tolerance: float = MAP_TOLERANCE) -> dict[str, Any]:
    """A GeoJSON geometry with the vertices that move it less than `tolerance` dropped.

    Topology is kept (no ring collapses or crosses itself), so a small area stays an area; an
    outline that cannot be read is given back as it was rather than dropped."""
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return geometry
    if geom.is_empty:
        return geometry
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    out = mapping(shapely.simplify(geom, tolerance, preserve_topology=True))
    if out["type"] == "GeometryCollection":  # make_valid can add stray lines: keep the polygons
        parts = [mapping(g) for g in shape(out).geoms if g.geom_type.endswith("Polygon")]
        polys = [p["coordinates"] if p["type"] == "MultiPolygon" else [p["coordinates"]]
                 for p in parts]  # fmt: skip
        every = [poly for group in polys for poly in group]
        return _tidy({"type": "MultiPolygon", "coordinates": rounded(every)})
    return _tidy({"type": out["type"], "coordinates": rounded(out["coordinates"])})


def _ring_ok(ring: list[list[float]]) -> bool:
    return len({tuple(p) for p in ring}) >= 3


def _tidy(geometry: dict[str, Any]) -> dict[str, Any]:
    """Rounding to a metre can shrink a sliver of a hole to a line: such rings are dropped (a
    polygon whose outer ring went is dropped whole), so the outline stays valid GeoJSON."""

    def polygon(rings: list[Any]) -> list[Any]:
        if not rings or not _ring_ok(rings[0]):
            return []
        return [rings[0], *(r for r in rings[1:] if _ring_ok(r))]

    if geometry["type"] == "Polygon":
        return {**geometry, "coordinates": polygon(geometry["coordinates"])}
    if geometry["type"] == "MultiPolygon":
        kept = [p for p in (polygon(rings) for rings in geometry["coordinates"]) if p]
        return {**geometry, "coordinates": kept}
    return geometry
