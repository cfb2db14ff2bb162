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


# The dated and area-filtered map (`civicstat.maps.timed`): the same sums over public request types
# as `MapCellTotal`, with a month, a day or an area in place of the viewport columns. A viewport
# finds its cells in `MapCellTotal` (by the centre's index range) and reads these rows by their
# unique key (res, cell, ...): no centre is stored twice.


class MapCellMonth(models.Model):
    """Public cases per cell, month requested (its first day), layer and status group."""

    res = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    month = models.DateField()
    layer_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    count = models.IntegerField(default=0)
    sum_lat = models.FloatField(default=0)
    sum_lon = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["res", "cell", "month", "layer_id", "status_group"],
                name="map_cell_month_unique",
            )
        ]

    def __str__(self) -> str:
        return f"cell {self.cell:x} (res {self.res}), {self.month:%Y-%m}: {self.count}"


class MapCellDay(models.Model):
    """Public cases per cell, day requested, layer and status group: read only for the partial
    months at either end of a window (whole months come from `MapCellMonth`)."""

    res = models.PositiveSmallIntegerField()
    cell = models.BigIntegerField()
    day = models.DateField()
    layer_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    count = models.IntegerField(default=0)
    sum_lat = models.FloatField(default=0)
    sum_lon = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["res", "cell", "day", "layer_id", "status_group"],
                name="map_cell_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"cell {self.cell:x} (res {self.res}), {self.day}: {self.count}"


class MapCellArea(models.Model):
    """Public cases per area, cell, layer and status group (a case counts in each area it lies in,
    as `cases.CaseArea` links it)."""

    res = models.PositiveSmallIntegerField()
    area_id = models.PositiveIntegerField()
    cell = models.BigIntegerField()
    layer_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    count = models.IntegerField(default=0)
    sum_lat = models.FloatField(default=0)
    sum_lon = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["res", "area_id", "cell", "layer_id", "status_group"],
                name="map_cell_area_unique",
            )
        ]

    def __str__(self) -> str:
        return f"cell {self.cell:x} (res {self.res}) in area {self.area_id}: {self.count}"
