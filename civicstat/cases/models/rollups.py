"""Rollups: what dashboards, department figures and measures read instead of scanning cases.

Two grains of the same figures: days (`Daily…`) and months (`Monthly…`, `month` = the month's first
day). Day rows are nearly one per case per area (a whole layer's history reads almost as many rows
as it has cases); a month row sums up to a month of them, so readers take whole months from the
month tables and only partial months (window edges, weeks) from the day tables
(`cases.query.rollup_parts`).

They are derived data, rebuilt by `manage.py rebuild_rollups`, so their dimension columns are plain
integers rather than foreign keys, with 0 meaning "none" (a case with no service) or, for
`area_id`, "all areas": a case counts once in the area-0 rows and once more in the rows of each
area it lies in.
"""

from __future__ import annotations

from django.db import models

DIMENSIONS = ("day", "layer_id", "service_id", "department_id", "area_id")
# The unique keys lead with (area, day): every read names an area (0 = all) and most a day range,
# so the key doubles as the layer/time index. Two more indexes serve service and department
# filters. Each index is paid for on every import (rollup rows outnumber cases), so there are no
# others.
_KEY = ("area_id", "day", "layer_id", "service_id", "department_id")


class DailyCaseCount(models.Model):
    """Cases opened on `day` (by current status group), and cases closed on `day`: of those,
    `on_time` closed within their target and `late` did not (`Case.within_target`)."""

    day = models.DateField()
    layer_id = models.PositiveIntegerField()
    service_id = models.PositiveIntegerField()
    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    opened = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0, db_default=0)
    late = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=[*_KEY, "status_group"], name="daily_case_count_unique")
        ]
        indexes = [
            models.Index(fields=["area_id", "department_id", "day"]),
            models.Index(fields=["area_id", "service_id", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.opened} opened, {self.closed} closed"


class DailyCloseTime(models.Model):
    """How many cases closed on `day` took a time falling in histogram `bucket` to close."""

    day = models.DateField()
    layer_id = models.PositiveIntegerField()
    service_id = models.PositiveIntegerField()
    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    bucket = models.SmallIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=[*_KEY, "bucket"], name="daily_close_time_unique")
        ]
        indexes = [
            models.Index(fields=["area_id", "department_id", "day"]),
            models.Index(fields=["area_id", "service_id", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.count} closed in bucket {self.bucket}"


# The month tables are read for whole histories and long windows: one area (0 = all), usually every
# month, and a service group, a department, a layer or nothing. The unique key (which the upsert
# needs anyway) leads with (area, service), so a service filter can seek its services. One covering
# index per table leads with (area, department) and holds every column a read uses, so a department
# filter seeks and a layer-wide or all-departments read scans the area's index entries without
# visiting the table (a department's close-time histogram over 13 years at 1 M cases: 133 ms
# through the key, 9 ms through a covering index). The close-time one puts bucket before month:
# the department comparison groups by (department, bucket) and then reads it in order instead of
# sorting 761 k rows (570 ms → 154 ms at 1 M cases; a department's "% closed within" per month
# goes from 36 to 109 ms). No other index: each one is paid for on every import.
_MONTH_KEY = ("area_id", "service_id", "month", "layer_id", "department_id")


class _MonthCounts(models.Model):
    """Cases opened in `month` (by current status group), and cases closed in `month`: of those,
    `on_time` closed within their target and `late` did not."""

    month = models.DateField()  # the first day of the month
    layer_id = models.PositiveIntegerField()
    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    status_group = models.CharField(max_length=6)
    opened = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0, db_default=0)
    late = models.IntegerField(default=0, db_default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.opened} opened, {self.closed} closed"


class MonthlyCaseCount(_MonthCounts):
    """Cases opened in `month` (by current status group), and cases closed in `month`, per
    request type."""

    service_id = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[*_MONTH_KEY, "status_group"], name="monthly_case_count_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=[
                    *("area_id", "department_id", "month", "layer_id", "service_id"),
                    *("status_group", "opened", "closed", "on_time", "late"),
                ],
                name="monthly_case_count_cover",
            )
        ]


class MonthlyPublicCount(_MonthCounts):
    """`MonthlyCaseCount` summed over request types, public request types only: a row per month,
    layer, department, area and status group.

    Readers that need no request type (a layer's or a department's counts: a measure of a whole
    layer, the department comparison) read this instead of a row per request type (area 0 at 1 M
    cases: about 4 k rows instead of 102 k). Cases of private request types are left out when it
    is written, so marking a request type private (or public again) rebuilds it
    (`cases.receivers`).
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area_id", "layer_id", "month", "department_id", "status_group"],
                name="monthly_public_count_unique",
            )
        ]


class MonthlyCloseTime(models.Model):
    """How many cases closed in `month` took a time falling in histogram `bucket` to close."""

    month = models.DateField()  # the first day of the month
    layer_id = models.PositiveIntegerField()
    service_id = models.PositiveIntegerField()
    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    bucket = models.SmallIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[*_MONTH_KEY, "bucket"], name="monthly_close_time_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=[
                    *("area_id", "department_id", "bucket", "month", "layer_id", "service_id"),
                    "count",
                ],
                name="monthly_close_time_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.count} closed in bucket {self.bucket}"


class _PackedCloseTimes(models.Model):
    """A month's close-time histogram packed in one value (`civicstat.lib.histograms`)."""

    month = models.DateField()  # the first day of the month
    layer_id = models.PositiveIntegerField()
    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    counts = models.BinaryField()

    class Meta:
        abstract = True


class MonthlyCloseHistogram(_PackedCloseTimes):
    """`MonthlyCloseTime`'s rows of one month, layer, request type, department and area, packed
    into one value: what measures read a long history of medians and "% closed within" from, a
    row per request type and month instead of one per bucket too (water leaks' medians at 1 M
    cases: 3 k rows instead of 33 k)."""

    service_id = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=list(_MONTH_KEY), name="monthly_close_histogram_unique")
        ]
        # Beside the unique key (request types), one index per other dimension a measure filters
        # on; without the layer's, a whole layer's history scanned every row of its area.
        indexes = [
            models.Index(
                fields=["area_id", "department_id", "month"], name="monthly_close_histogram_dept"
            ),
            models.Index(
                fields=["area_id", "layer_id", "month"], name="monthly_close_histogram_layer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: close times of request type {self.service_id}"


class MonthlyPublicCloseHistogram(_PackedCloseTimes):
    """`MonthlyCloseHistogram` summed over request types, public request types only: a packed
    histogram per month, layer, department and area.

    A department's or a layer's close times over years, which no request type narrows, read this:
    Public Works at 1 M cases has 24 k request-type months and 210 of these. Cases of private
    request types are left out when it is written, so marking a request type private (or public
    again) rebuilds it (`cases.receivers`), as `MonthlyPublicCount`.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area_id", "department_id", "month", "layer_id"],
                name="monthly_public_close_histogram_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["area_id", "layer_id", "month"], name="monthly_public_histogram_layer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: close times in department {self.department_id}"


class _WholeHistoryCloseTime(models.Model):
    """How many cases, over the whole history, took a time in histogram `bucket` to close."""

    department_id = models.PositiveIntegerField()
    area_id = models.PositiveIntegerField()
    bucket = models.SmallIntegerField()
    count = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.count} closed in bucket {self.bucket}"


class CloseTimeTotal(_WholeHistoryCloseTime):
    """How many cases, over the whole history, took a time in histogram `bucket` to close.

    The month table's rows for a whole history are nearly one per closed case (a month of one
    service spreads over as many buckets as it has cases); without the month they are one per
    service and bucket at most, however many cases there are (KC demo: 63 k → 27 k rows for all
    areas; 1 M cases: 761 k → 90 k). The department comparison over all time reads this.
    """

    layer_id = models.PositiveIntegerField()
    service_id = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area_id", "department_id", "bucket", "layer_id", "service_id"],
                name="close_time_total_unique",
            )
        ]
        # The key with the count: a whole area's histogram is read without visiting the table.
        indexes = [
            models.Index(
                fields=["area_id", "department_id", "bucket", "layer_id", "service_id", "count"],
                name="close_time_total_cover",
            )
        ]


class DepartmentCloseTime(_WholeHistoryCloseTime):
    """How many cases of each department, over the whole history, took a time in `bucket` to
    close: `CloseTimeTotal` summed over layers and request types, public request types only.

    The department comparison over all time with no filter, the page most visitors open, reads
    this: a row per department and bucket (KC demo: 2.9 k rows for all areas instead of 27 k).
    Cases of private request types are left out when it is written, so marking a request type
    private (or public again) rebuilds it (`cases.receivers`).
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area_id", "department_id", "bucket"], name="department_close_time_unique"
            )
        ]
        # The key with the count: an area's histograms are read without visiting the table.
        indexes = [
            models.Index(
                fields=["area_id", "department_id", "bucket", "count"],
                name="department_close_time_cover",
            )
        ]
