"""The one door every coordinate of the query API goes out through.

A sensitive layer (crime incidents) may only leave at a generalised location, and that decision
belongs in one place: every query that reads a case's position selects `POINT_FIELDS`, and every
row that writes one out asks `output_point`. Connecting the generalisation (for example
`Case.public_lat` / `public_lon`) means changing this module only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# The columns a case's published position is read from (names as `QuerySet.values()` gives them):
# its public point, the exact one except on a sensitive layer (`civicstat.cases.sensitive`).
POINT_FIELDS: tuple[str, ...] = ("public_lat", "public_lon")


def output_point(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """The position to publish for a case row that holds `POINT_FIELDS`: (lat, lon) in WGS 84,
    or None when the case has no usable position."""
    lat, lon = row.get(POINT_FIELDS[0]), row.get(POINT_FIELDS[1])
    if lat is None or lon is None:
        return None
    lat, lon = float(lat), float(lon)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (lat, lon)
