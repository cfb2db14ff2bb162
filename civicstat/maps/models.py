"""The map's cell rollup: case counts per h3 cell at a few resolutions, kept current by ingest.

A cluster query at low zoom sums a few hundred of these rows instead of grouping millions of
cases. Rows carry the dimensions the map filters on without dates (layer, service, department,
status group); a date, area, text or local-status filter goes to the cases table instead
(`civicstat.maps.clusters`). `lat`/`lon` is the cell's centre, so a viewport selects rows by an
index range; `sum_lat`/`sum_lon` place the cluster at the mean of its cases.

`MapCellTotal` is the same with service and department summed out, over public services only: the
map with no service or department filter (the one most people see) reads a row or two per cell
instead of one per service, department and status in it (at 1 M cases, 27 k rows for a zoom-15
viewport, 36 ms; a few hundred rows from this table).
"""

from __future__ import annotations

from django.db import models


class MapCell(models.Model):
    res = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    lat = models.FloatField()
    lon = models.FloatField()
    layer_id = models.PositiveIntegerField()
    service_id = models.PositiveIntegerField()  # 0: no service
    department_id = models.PositiveIntegerField()  # 0: no department
    status_group = models.CharField(max_length=6)
    count = models.IntegerField(default=0)
    sum_lat = models.FloatField(default=0)
    sum_lon = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["res", "cell", "layer_id", "service_id", "department_id", "status_group"],
                name="map_cell_unique",
            )
        ]
        indexes = [models.Index(fields=["res", "lat", "lon"])]

    def __str__(self) -> str:
        return f"cell {self.cell:x} (res {self.res}): {self.count}"


class MapCellTotal(models.Model):
    """Cases of public services per cell, layer and status group (`cases.Service.private` cases
    are never in it; a change of that flag rebuilds it, `civicstat.maps.receivers`)."""

    res = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    lat = models.FloatField()
    lon = models.FloatField()
    layer_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    count = models.IntegerField(default=0)
    sum_lat = models.FloatField(default=0)
    sum_lon = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["res", "cell", "layer_id", "status_group"], name="map_cell_total_unique"
            )
        ]
        indexes = [models.Index(fields=["res", "lat", "lon"], name="map_cell_total_view")]

    def __str__(self) -> str:
        return f"cell {self.cell:x} (res {self.res}): {self.count} public"
