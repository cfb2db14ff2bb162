"""The one door for coordinates in the SODA API.

Every latitude, longitude and point the SODA API writes, and every `within_circle` / `within_box`
it filters on, reads the Case fields this module names, and nothing else in the package names
`lat` or `lon`. A sensitive layer (crime incidents) may publish only a generalised location: when
the cases app gives one (for instance `Case.public_lat` / `Case.public_lon`), `coordinate_fields`
is the one place to point at it, and the output and the filters follow together, so a filter can
never find a case by a place the output would not show.
"""

from __future__ import annotations

import math

from civicstat.cases.models import Layer

EARTH_METRES_PER_DEGREE = 111_320.0  # along a meridian; along a parallel times cos(latitude)


def coordinate_fields(layer: Layer) -> tuple[str, str]:
    """The Case fields holding the latitude and longitude `layer` publishes: the public point
    (`civicstat.cases.sensitive`), which is the exact one except on a sensitive layer."""
    return ("public_lat", "public_lon")


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of latitude, per degree of longitude) near `lat`: flat-earth distances,
    within 0.5 % over the few kilometres a 311 radius covers, in arithmetic both engines run."""
    return EARTH_METRES_PER_DEGREE, EARTH_METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 1e-6)
