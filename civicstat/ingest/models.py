from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from civicstat.ingest.mapping import ProfileError, source_profile


class ImportRun(models.Model):
    """One import of one file (or, later, one sync of a source): what it read and what it did."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    profile = models.CharField(max_length=100)
    file_name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(
        default=0, help_text="Values left out of stored rows, and notes about the whole file."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.profile}) at {self.started_at:%Y-%m-%d %H:%M}"


def _one_run(name: str) -> models.CheckConstraint:
    """A row of a run's record belongs to an import run or to a sync run, never both."""
    return models.CheckConstraint(
        condition=Q(run__isnull=False, sync_run__isnull=True)
        | Q(run__isnull=True, sync_run__isnull=False),
        name=name,
    )


class RejectedRow(models.Model):
    """A record a run could not take, with where it is and why, so a person can fix the source."""

    run = models.ForeignKey(
        ImportRun, on_delete=models.CASCADE, related_name="rejects", null=True, blank=True
    )
    sync_run = models.ForeignKey(
        "SyncRun", on_delete=models.CASCADE, related_name="rejects", null=True, blank=True
    )
    line = models.PositiveIntegerField(
        help_text="Line in the file where the row starts; in a sync or an Open311 file, the "
        "record's number in the run."
    )
    external_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500)
    raw = models.TextField(blank=True, help_text="The row as read (at most 2,000 characters).")

    class Meta:
        ordering = ["run", "sync_run", "line"]
        constraints = [_one_run("rejectedrow_of_one_run")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class RecordWarning(models.Model):
    """A value a run left out of a record it stored, and why; or, with no line, a note about the
    whole run (a time zone not set)."""

    run = models.ForeignKey(
        ImportRun, on_delete=models.CASCADE, related_name="record_warnings", null=True, blank=True
    )
    sync_run = models.ForeignKey(
        "SyncRun", on_delete=models.CASCADE, related_name="record_warnings", null=True, blank=True
    )
    line = models.PositiveIntegerField(
        null=True, blank=True, help_text="As for a rejected row; empty for the whole run."
    )
    external_id = models.CharField(max_length=64, blank=True)
    field = models.CharField(
        max_length=100, blank=True, help_text="The source's column or key that was left out."
    )
    value = models.CharField(max_length=200, blank=True, help_text="The value left out.")
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["run", "sync_run", "line", "id"]
        constraints = [_one_run("recordwarning_of_one_run")]

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "the whole run"
        return f"{where}: {self.reason}"


def bounds_parse(text: str) -> tuple[float, float, float, float] | None:
    """`west,south,east,north` as numbers; None for an empty text; ValidationError otherwise."""
    if not text.strip():
        return None
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise ValidationError(
            "Give four numbers, west,south,east,north, such as -94.77,38.80,-94.38,39.37."
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValidationError("West must be less than east and south less than north.")
    return (west, south, east, north)


def bounds_validate(text: str) -> None:
    bounds_parse(text)


FIRST_LOOKBACK = timedelta(days=90)


class SyncSource(models.Model):
    """A remote CivicStat keeps itself current from: an Open311 server, SeeClickFix, or a dataset
    on a Socrata portal."""

    class Kind(models.TextChoices):
        OPEN311 = "open311", "Open311 GeoReport v2"
        SEECLICKFIX = "seeclickfix", "SeeClickFix API v2"
        SOCRATA = "socrata", "Socrata dataset (SODA)"

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    name = models.SlugField(unique=True, help_text="Used by `manage.py sync_source NAME`.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(
        help_text="Open311: the endpoint base, ending in /. SeeClickFix: the API base, "
        "such as https://seeclickfix.com/api/v2/. Socrata: the dataset's API endpoint, such as "
        "https://data.example.gov/resource/abcd-1234.json (or its page on the portal)."
    )
    jurisdiction = models.CharField(
        max_length=100, blank=True, help_text="Open311 jurisdiction_id, or SeeClickFix place_url."
    )
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.JSON)
    updated_after = models.BooleanField(
        default=True,
        help_text="The remote supports updated_after (else it is read by 90-day date windows).",
    )
    layer = models.ForeignKey(
        "cases.Layer", on_delete=models.PROTECT, help_text="The layer its cases go into."
    )
    start_date = models.DateField(
        null=True,
        blank=True,
        help_text="A first sync reads what changed from this date on (blank: the last 90 days). "
        "To bring in a city's whole history, give the date its records begin.",
    )
    bounds = models.CharField(
        max_length=100,
        blank=True,
        validators=[bounds_validate],
        help_text="west,south,east,north: a case placed outside (or at 0, 0) keeps no location, "
        "with a warning in its run. Blank: only (0, 0) is checked.",
    )
    app_token = models.CharField(
        max_length=100,
        blank=True,
        help_text="Socrata: an app token from the portal (sent as X-App-Token), so that the "
        "portal does not throttle the sync.",
    )
    mapping = models.TextField(
        blank=True,
        help_text="Socrata: how the dataset's fields map onto cases, as TOML, written as a "
        "mapping file for import_cases (see README, “A mapping for another city”). Its layer "
        "defaults to the layer above.",
    )
    every_minutes = models.PositiveIntegerField(default=15, help_text="The scheduler's interval.")
    enabled = models.BooleanField(default=True)
    cursor = models.JSONField(
        default=dict, blank=True, help_text="Where the next sync starts: kept across failures."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.SOCRATA:
            if not self.mapping.strip():
                raise ValidationError({"mapping": "A Socrata source needs a mapping of its fields"})
            try:
                source_profile(self)
            except ProfileError as exc:
                raise ValidationError({"mapping": str(exc)}) from None

    def first_sync_from(self, now: datetime) -> datetime:
        """Where a sync with no cursor starts: the start date's midnight in the city's zone."""
        if self.start_date is None:
            return now - FIRST_LOOKBACK
        return timezone.make_aware(datetime.combine(self.start_date, time.min))

    def bounds_box(self) -> tuple[float, float, float, float] | None:
        return bounds_parse(self.bounds)


class SyncRun(models.Model):
    """One sync of one source: what it fetched and did, how long it took, where it stopped."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(SyncSource, on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(
        default=0, help_text="Values left out of stored records, and notes about the whole run."
    )
    events = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    cursor_before = models.JSONField(default=dict, blank=True)
    cursor_after = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
