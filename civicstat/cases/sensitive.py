"""Location privacy: where public outputs may put a case. The one place this is decided.

A layer marked `sensitive` (crime incidents) publishes its cases only at a generalised point: the
centre of the h3 resolution-9 cell the case lies in (cells of about 0.1 km², some 170 m across),
never the exact one. Every other layer publishes its exact point.

The decision is stored, not recomputed by each reader: `Case.public_lat` / `Case.public_lon` are
written by the case writer (`case_upsert`, through `public_point`) in the same statement as the
case, and rewritten for a whole layer by `layer_sensitivity_apply` in the transaction that changes
the layer's flag (its `save()`, or `Layer.objects.update(sensitive=…)`), together with the map's
cell sums and the data version, so no cached public answer outlives the change.

Rules for every public reader (pages, feeds, embeds, emails, Open311, the query API):

- read `public_lat` / `public_lon`, never `lat` / `lon`;
- filter a viewport with `cases.query.CaseFilter.bbox` (it filters on the public point);
- show `case.public_address` (or leave the address out for a layer whose `sensitive` is set),
  never `case.address`: a street address is as exact as a coordinate; a text search leaves a
  sensitive layer's addresses out (`cases.query.cases`) and the place search never offers them;
- measure a distance shown to the public from the public point (`public_distance_m`).

Exact coordinates stay for staff (the admin) and for matching a case to areas (at ingest) and to
the radius of a confirmed alert subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import connection, transaction

from civicstat.lib.geo import h3_cell_centre, haversine_m

if TYPE_CHECKING:
    from civicstat.cases.models import Case, Layer

# Farthest a public point lies from the exact one, in degrees (the circumradius of the largest
# resolution-9 cell is about 0.26 km; 0.01° is over 0.5 km even at 60° N). `cases()` filters a
# viewport on the exact coordinates widened by this (which the coordinate index serves) and then
# on the public point, so a viewport never reveals more than the public point does.
PUBLIC_MARGIN_DEG = 0.01


def public_point(
    *, sensitive: bool, lat: float | None, lon: float | None, cell: int | None
) -> tuple[float | None, float | None]:
    """Where public outputs put a case: its own point, or the centre of its h3 cell when its layer
    is sensitive (none when it has no cell: a placeholder or missing location)."""
    if not sensitive:
        return lat, lon
    if cell is None:
        return None, None
    return h3_cell_centre(cell)


def public_distance_m(case: Case, lat: float, lon: float, exact_m: float | None) -> float | None:
    """The distance to show between a watched point and a case: the exact one (as matched), or
    for a sensitive layer's case the distance to its public point."""
    if exact_m is None or not case.layer.sensitive:
        return exact_m
    if case.public_lat is None or case.public_lon is None:
        return None
    return haversine_m(lat, lon, case.public_lat, case.public_lon)


def layer_sensitivity_apply(*, layers: Sequence[Layer]) -> None:
    """Rewrite the public point of every case of `layers` after their `sensitive` flag changed,
    rebuild the map's cell sums from them and move the data version: in the caller's transaction
    (the one that changed the flags)."""
    from civicstat.cases.models import Case
    from civicstat.cases.services import data_version_touch
    from civicstat.maps.cells import rebuild

    table = Case._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for layer in layers:
            if not layer.sensitive:
                cursor.execute(
                    f"UPDATE {table} SET public_lat = lat, public_lon = lon WHERE layer_id = %s",
                    [layer.pk],
                )
                continue
            cursor.execute(
                f"UPDATE {table} SET public_lat = NULL, public_lon = NULL"
                " WHERE layer_id = %s AND h3_cell IS NULL",
                [layer.pk],
            )
            cursor.execute(
                f"SELECT DISTINCT h3_cell FROM {table} WHERE layer_id = %s AND h3_cell IS NOT NULL",
                [layer.pk],
            )
            cells = [row[0] for row in cursor.fetchall()]
            cursor.executemany(
                f"UPDATE {table} SET public_lat = %s, public_lon = %s"
                " WHERE layer_id = %s AND h3_cell = %s",
                [(*h3_cell_centre(cell), layer.pk, cell) for cell in cells],
            )
        # The cluster centres are sums of public points: a lone case's cluster sat on its point.
        rebuild()
        # No count moved, so nothing is recomputed; every cached page and ETag goes stale.
        data_version_touch()
