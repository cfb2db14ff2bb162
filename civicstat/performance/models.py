"""Performance management: priority areas hold goals, goals hold measures, measures hold values.

A measure's definition (its calculation, filters, targets and status rule) is what staff edit and
what `export_measures` writes; its values are derived from the rollups by `measure_refresh`, except
for manual measures, whose values staff enter or upload.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from civicstat.cases.models import Department


class Unit(models.TextChoices):
    COUNT = "count", "Count"
    PERCENT = "percent", "Percent"
    DAYS = "days", "Days"
    DOLLARS = "dollars", "Dollars"
    NUMBER = "number", "Number"


class Direction(models.TextChoices):
    UP = "up", "Higher is better"
    DOWN = "down", "Lower is better"
    TARGET = "target", "On target is best"


class PeriodKind(models.TextChoices):
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class Calculation(models.TextChoices):
    COUNT = "count", "Count of cases opened"
    SUM = "sum", "Sum of a numeric attribute"
    AVERAGE = "average", "Average of a numeric attribute"
    RATE = "rate", "Rate: numerator cases / denominator cases (or a fixed denominator)"
    CLOSED_WITHIN = "closed_within", "% closed within target days"
    MEDIAN_DAYS = "median_days", "Median days to close"
    RECENT = "recent", "Most recent value of a numeric attribute"
    CUMULATIVE = "cumulative", "Cumulative count since the start date"
    MANUAL = "manual", "Manual or uploaded values"


class StatusRule(models.TextChoices):
    NONE = "none", "No status"
    MANUAL = "manual", "Set by hand"
    PROXIMITY = "proximity", "Proximity to the target"
    THRESHOLDS = "thresholds", "Thresholds"


class Status(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    NEAR = "near", "Near target"
    OFF_TRACK = "off_track", "Off track"
    NO_DATA = "no_data", "No data"
    NONE = "", "No status"


class NoDataReason(models.TextChoices):
    """Why a period has no value: a reader must never have to guess between "zero" and "unknown"."""

    NONE = "", "—"
    NO_CASES = "no_cases", "No cases matched"
    NO_DENOMINATOR = "no_denominator", "Nothing to divide by"
    DATA_ENDED = "data_ended", "The data ends before this period"
    BEFORE_DATA = "before_data", "The data begins after this period"
    NOT_REPORTED = "not_reported", "No value reported"


class PriorityArea(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("performance-area", args=[self.slug])


class Goal(models.Model):
    area = models.ForeignKey(PriorityArea, on_delete=models.CASCADE, related_name="goals")
    slug = models.SlugField()
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["area", "position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["area", "slug"], name="goal_unique_per_area")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("performance-goal", args=[self.area.slug, self.slug])


class MeasureQuerySet(models.QuerySet["Measure"]):
    def published(self) -> MeasureQuerySet:
        """The one place drafts are hidden: every public reader starts here."""
        return self.filter(published=True)


class Measure(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="measures")
    slug = models.SlugField(unique=True, help_text="The measure's stable address.")
    title = models.CharField(max_length=300)
    short_name = models.CharField(max_length=60, help_text="For cards and charts.")
    description = models.TextField(blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="measures",
        help_text="Staff of this department may edit the measure.",
    )  # fmt: skip
    position = models.PositiveSmallIntegerField(default=0)
    published = models.BooleanField(default=False, help_text="Drafts are invisible to the public.")

    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.COUNT)
    decimals = models.PositiveSmallIntegerField(default=0)
    direction = models.CharField(max_length=6, choices=Direction.choices, default=Direction.UP)
    period = models.CharField(max_length=7, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1–12; blank for the city's FISCAL_YEAR_START_MONTH."
    )
    start_date = models.DateField(
        null=True, blank=True, help_text="First day of the history (and of a cumulative total)."
    )

    calculation = models.CharField(max_length=14, choices=Calculation.choices)
    filters = models.JSONField(
        default=dict, blank=True,
        help_text='Case filters as on the cases API: {"service_group": "Animal", "layer": "…"}.',
    )  # fmt: skip
    denominator_filters = models.JSONField(
        default=dict, blank=True, help_text="Rate only: the cases to divide by."
    )
    fixed_denominator = models.FloatField(
        null=True, blank=True, help_text="Rate only: divide by this instead (per 1,000 residents…)."
    )
    target_days = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="% closed within: a fixed number of days; blank uses each service's target.",
    )  # fmt: skip
    attribute = models.CharField(
        max_length=100, blank=True, help_text="Sum, average, recent: the case attribute to read."
    )

    target = models.FloatField(null=True, blank=True, help_text="A standing target, if any.")
    status_rule = models.CharField(max_length=10, choices=StatusRule.choices, default="none")
    manual_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    on_track_band = models.FloatField(
        null=True, blank=True,
        help_text="Proximity: on track within this % of the target; thresholds: the on-track edge.",
    )  # fmt: skip
    near_band = models.FloatField(
        null=True, blank=True,
        help_text="Proximity: near within this % of the target; thresholds: the near edge.",
    )  # fmt: skip

    methods = models.TextField(blank=True, help_text="Markdown: how the data is collected.")
    analysis = models.TextField(blank=True, help_text="Markdown: what is happening and why.")
    updated_at = models.DateTimeField(auto_now=True)
    # The data version the stored values were computed at: a refresh queued for older data than
    # this skips the measure (an import queues one per batch).
    computed_version = models.BigIntegerField(default=0, editable=False)
    # The data version at which a request type whose cases the measure may count turned private
    # or public again: until its values are computed at this version or later (in that
    # transaction when they can be), the public sees "being recomputed" instead of figures that
    # may count the wrong cases (a refresh that read the data before the change stays withheld).
    withheld_version = models.BigIntegerField(default=0, editable=False)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        ordering = ["goal", "position", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("performance-measure", args=[self.slug])

    @property
    def withheld(self) -> bool:
        """Whether the stored values may predate a privacy change: the public must not see them."""
        return self.computed_version < self.withheld_version

    @property
    def fiscal_start(self) -> int:
        return self.fiscal_year_start_month or settings.FISCAL_YEAR_START_MONTH


class MeasureTarget(models.Model):
    """A target for one period, overriding the measure's standing target."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="targets")
    period_start = models.DateField()
    value = models.FloatField()

    class Meta:
        ordering = ["measure", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "period_start"], name="target_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.period_start}: {self.value}"


class MeasureValue(models.Model):
    """A measure's value for one period, computed from the rollups (or entered, when manual)."""

    class Source(models.TextChoices):
        COMPUTED = "computed", "Computed"
        MANUAL = "manual", "Entered or uploaded"

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="values")
    period_start = models.DateField()
    period_end = models.DateField(help_text="The day after the period's last day.")
    value = models.FloatField(null=True, blank=True, help_text="Blank: no data for the period.")
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    score = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.COMPUTED)
    computed_at = models.DateTimeField()
    # A period the data does not cover to its last day (still in progress, or the one the data
    # ends in) is shown as partial and never scored: a third of a month is not a month.
    partial = models.BooleanField(
        default=False, help_text="The data does not cover the whole period: not scored."
    )
    data_through = models.DateField(
        null=True, blank=True,
        help_text="Partial or no data: the last day the measure's data covers.",
    )  # fmt: skip
    no_data_reason = models.CharField(
        max_length=14, choices=NoDataReason.choices, blank=True, default=""
    )
    note = models.CharField(
        max_length=300, blank=True, help_text="Why a period is partial or has no value."
    )

    class Meta:
        ordering = ["measure", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "period_start"], name="value_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.period_start}: {self.value}"


class StaffProfile(models.Model):
    """Which departments' measures a staff member may edit in the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="performance_profile"
    )
    departments = models.ManyToManyField(Department, blank=True, related_name="staff")

    def __str__(self) -> str:
        return str(self.user)


class SurveyKind(models.TextChoices):
    """What a survey item's yearly figure is; the long-format file's `measure` column."""

    PCT_SATISFIED = "pct_satisfied", "% satisfied or very satisfied"
    PCT_EXCELLENT_OR_GOOD = "pct_excellent_or_good", "% rating it excellent or good"
    INDEX_2005_EQ_100 = "index_2005_eq_100", "Index (2005 = 100)"


class Survey(models.Model):
    """A resident survey imported from its trend tables: its items are manual yearly measures,
    each filed under a priority area, so it is read where the area's other measures are."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    conducted_by = models.CharField(max_length=200, help_text="Who ran it: ETC Institute…")
    report = models.CharField(max_length=300, help_text="The report the figures come from.")
    report_url = models.URLField(blank=True)
    notes = models.TextField(blank=True, help_text="Markdown: anything else on the method.")
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("performance-survey", args=[self.slug])


class SurveyItem(models.Model):
    """One question of a survey, in a category, with its figures kept by its measure."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="items")
    category = models.CharField(max_length=200)
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=24, choices=SurveyKind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    measure = models.OneToOneField(Measure, on_delete=models.CASCADE, related_name="survey_item")

    class Meta:
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "category", "name"], name="survey_item_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.name}"
