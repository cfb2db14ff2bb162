from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse


class StatusGroup(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class EventKind(models.TextChoices):
    CREATED = "created", "Opened"
    STATUS_CHANGED = "status_changed", "Status changed"
    NOTE = "note", "Note"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class LayerQuerySet(models.QuerySet["Layer"]):
    def update(self, **kwargs: Any) -> int:
        """An update that may change `sensitive` moves every public location of the layers' cases
        in its transaction, as `save()` does through the signals (`cases.receivers`)."""
        if "sensitive" not in kwargs:
            return super().update(**kwargs)
        from civicstat.cases.sensitive import layer_sensitivity_apply

        with transaction.atomic(using=self.db):
            before = dict(self.select_for_update().values_list("pk", "sensitive"))
            count = super().update(**kwargs)
            changed = [
                layer for layer in Layer.objects.using(self.db).filter(pk__in=before)
                if layer.sensitive != before[layer.pk]
            ]  # fmt: skip
            if changed:
                layer_sensitivity_apply(layers=changed)
        return count


class Layer(models.Model):
    """A kind of case shown on its own: 311 requests, code violations, crime incidents."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100, help_text='Plural, as on the map: "311 requests".')
    noun = models.CharField(max_length=50, help_text='One item: "request", "violation".')
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on pages.")
    sensitive = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Publish its cases only at a generalised place (the centre of their h3 "
        "resolution-9 cell, about 0.1 km²) and without their address, in every public page, "
        "feed, embed, email and API. Staff still see the exact point.",
    )

    objects = LayerQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The flag and every public location that follows it change together (`cases.receivers`).
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)


class StatusMapping(models.Model):
    """How one layer's local status code reads to the public and whether it counts as open."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="statuses")
    code = models.CharField(max_length=50, help_text='As the source writes it: "RESOL".')
    group = models.CharField(max_length=6, choices=StatusGroup.choices)
    label = models.CharField(max_length=100, help_text='As residents read it: "Resolved".')

    class Meta:
        ordering = ["layer", "code"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "code"], name="status_code_unique_per_layer")
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.label} ({self.group})"


class Department(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=150, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DepartmentAlias(models.Model):
    """Another spelling a source uses for a department ("Parks & Rec" for "Parks and Rec")."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=150, unique=True)

    class Meta:
        verbose_name_plural = "department aliases"

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet["Service"]):
    def update(self, **kwargs: Any) -> int:
        """An update that may change `private` (`bulk_update` too) brings the public figures in
        line in its transaction, as `save()` does through the signals (`cases.receivers`); one
        that may change `target_days` judges the services' cases again (`cases.targets`)."""
        if "target_days" in kwargs:
            from civicstat.cases.targets import targets_apply

            with transaction.atomic(using=self.db):
                ids = list(self.values_list("pk", flat=True))
                count = self._update_private(**kwargs)
                targets_apply(services=list(Service.objects.using(self.db).filter(pk__in=ids)))
            return count
        return self._update_private(**kwargs)

    def _update_private(self, **kwargs: Any) -> int:
        if "private" not in kwargs:
            return super().update(**kwargs)
        from civicstat.cases.receivers import privacy_changes_apply

        with transaction.atomic(using=self.db):
            # Locked first, so no concurrent change slips between "before" and the update.
            before = dict(self.select_for_update(of=("self",)).values_list("pk", "private"))
            count = super().update(**kwargs)
            changed = [
                s for s in Service.objects.using(self.db).filter(pk__in=before)
                if s.private != before[s.pk]
            ]  # fmt: skip
            if changed:
                privacy_changes_apply(services=changed)
        return count


class Service(models.Model):
    """A request type: what a case is about."""

    layer = models.ForeignKey(Layer, on_delete=models.PROTECT, related_name="services")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    group = models.CharField(max_length=150, blank=True, help_text="Service group or category.")
    description = models.TextField(blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    target_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days the city aims to close a case of this type in."
    )
    private = models.BooleanField(
        default=False,
        help_text="Cases of a private service never appear in any public page, feed or API.",
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["layer", "name"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "code"], name="service_code_unique_per_layer")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One transaction for the flag and the public figures that follow it (`cases.receivers`),
        # from the shell's autocommit too: no moment when one has changed and the other not.
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)


class Area(models.Model):
    """A council district, neighborhood or other boundary that cases fall in."""

    kind = models.SlugField(help_text='"council-district", "neighborhood"…')
    slug = models.SlugField()
    name = models.CharField(max_length=150)
    code = models.CharField(max_length=50, blank=True, help_text="The source's own id.")
    geometry = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon, WGS 84.")

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="area_unique_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class CaseQuerySet(models.QuerySet["Case"]):
    def public(self) -> CaseQuerySet:
        """The one place private services are excluded: every public reader starts here."""
        return self.exclude(service__private=True)


class Case(models.Model):
    """One request, violation or incident, as its source last described it."""

    # No single-column indexes on the foreign keys: the composite indexes below lead with them,
    # and every extra index slows the bulk upserts of an import.
    layer = models.ForeignKey(Layer, on_delete=models.PROTECT, related_name="cases", db_index=False)
    external_id = models.CharField(max_length=64, help_text="The id the source gives the case.")
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    status = models.CharField(max_length=50, help_text="The source's local status code.")
    status_group = models.CharField(max_length=6, choices=StatusGroup.choices)
    description = models.TextField(blank=True)
    address = models.CharField(max_length=255, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    # Where public outputs put the case (`civicstat.cases.sensitive`): the exact point, or for a
    # sensitive layer the centre of its h3 cell. Every public reader uses these, never lat/lon.
    public_lat = models.FloatField(null=True, blank=True, editable=False)
    public_lon = models.FloatField(null=True, blank=True, editable=False)
    location_approximate = models.BooleanField(
        default=False,
        help_text="The source gave a placeholder point (such as City Hall), not the real place.",
    )
    h3_cell = models.BigIntegerField(null=True, blank=True, editable=False)
    areas = models.ManyToManyField(Area, through="CaseArea", blank=True, related_name="cases")
    requested_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_approximate = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The source gave no closing time: `closed_at` is when it last changed the case.",
    )
    expected_at = models.DateTimeField(null=True, blank=True)
    # The source's own verdict on the case against its target (Kansas City's "EXCEEDED EST
    # TIMEFRAME", Boston's "ontime"), as the mapping's [on_time] reads it; None: it gives none.
    on_time = models.BooleanField(null=True, blank=True)
    channel = models.CharField(max_length=50, blank=True, help_text="Phone, web, app…")
    attributes = models.JSONField(default=dict, blank=True)
    # Derived at ingest in the city's time zone, because SQLite cannot convert zones in SQL and
    # rollups group by local day; `close_bucket` is the close-time histogram bucket.
    requested_day = models.DateField(editable=False)
    closed_day = models.DateField(null=True, blank=True, editable=False)
    close_bucket = models.SmallIntegerField(null=True, blank=True, editable=False)
    # Whether a closed case closed within its target, counted by "% closed within target": the
    # source's verdict, else its target date, else the request type's target days (set by staff);
    # None for an open case or one with no target. Derived at ingest, and again for a request
    # type's cases when staff change its target days (`cases.targets`), so rollups need no join.
    within_target = models.BooleanField(null=True, blank=True, editable=False)
    # A fingerprint of the source's fields: a re-import skips a row whose fingerprint is unchanged.
    fingerprint = models.BigIntegerField(default=0, editable=False)
    ingested_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["layer", "external_id"], name="case_unique_per_layer"),
            models.CheckConstraint(
                condition=Q(status_group__in=["open", "closed"]), name="case_status_group_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["layer", "status_group", "requested_at"]),
            models.Index(fields=["service", "requested_at"]),
            models.Index(fields=["department", "requested_at"]),
            models.Index(fields=["-requested_at"], name="case_recent"),
            models.Index(fields=["lat", "lon"]),
            # A cell's cases, and of them a period's: the map's points for a dated filter read
            # only the cases of the period in the cells in view (`civicstat.maps.clusters`).
            models.Index(fields=["h3_cell", "requested_day"], name="case_cell_day"),
        ]

    def __str__(self) -> str:
        return f"{self.layer.noun.capitalize()} {self.external_id}"

    def get_absolute_url(self) -> str:
        return reverse("case-detail", args=[self.layer.slug, self.external_id])

    @property
    def public_address(self) -> str:
        """The address public outputs show: none for a sensitive layer (`cases.sensitive`)."""
        return "" if self.layer.sensitive else self.address

    @property
    def status_label(self) -> str:
        labels: dict[str, str] = getattr(self, "_status_labels", {})
        return labels.get(self.status, self.status)

    @property
    def days_to_close(self) -> float | None:
        if self.closed_at is None or self.status_group != StatusGroup.CLOSED:
            return None
        return max(0.0, (self.closed_at - self.requested_at).total_seconds() / 86400)


class CaseArea(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, db_index=False)  # unique index leads
    area = models.ForeignKey(Area, on_delete=models.CASCADE, db_index=False)  # (area, case) index

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "area"], name="case_area_unique")]
        indexes = [models.Index(fields=["area", "case"])]

    def __str__(self) -> str:
        return f"case {self.case_id} in area {self.area_id}"


class CaseEvent(models.Model):
    """One step in a case's history. Ids only grow, so a reader can resume after the last it saw."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(help_text="When it happened, by the source's clock.")
    status_from = models.CharField(max_length=50, blank=True)
    status_to = models.CharField(max_length=50, blank=True)
    note = models.TextField(blank=True)
    label = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text='What the source called this entry, in words ("Follow-on request closed").',
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.label or self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class CaseContact(models.Model):
    """The reporter's contact details. Personal data: kept apart, never in any public output."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="contact")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"Contact for case {self.case_id}"

    def __repr__(self) -> str:
        # Keep personal data out of tracebacks and debug logs.
        return f"<CaseContact case={self.case_id}>"


class DataVersion(models.Model):
    """A counter bumped whenever cases change: the key for caches and ETags of public pages."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)
    # When cases themselves last changed (an import, a sync, a write): what pages call "data as
    # of". `changed_at` also moves for edits that change no case (a measure recomputed).
    cases_changed_at = models.DateTimeField(null=True, blank=True)
    # Set while a bulk load writes cases without their rollups (`civicstat.cases.bulkload`).
    rollups_stale = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"data version {self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
