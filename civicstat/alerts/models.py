"""Subscribers, their subscriptions, the matcher's cursor, the outbox and the mail queue.

A subscriber's email address is personal data: it lives on `Subscriber` only, every other row points
at it, and deleting the subscriber (unsubscribe from everything) deletes all of it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from civicstat.cases.models import Area, Case, CaseEvent
from civicstat.lib import email_address

# The smallest radius a resident may watch: a smaller circle follows one house's requests rather
# than a neighbourhood's. Forms, services, feeds and the README all use this number.
MIN_RADIUS_M = 250


class Frequency(models.TextChoices):
    INSTANT = "instant", "As it happens"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


class SubscriptionKind(models.TextChoices):
    CASE = "case", "Follow a case"
    RADIUS = "radius", "Around a place"
    AREA = "area", "In an area"


class Subscriber(models.Model):
    """One email address. Created unconfirmed; only a confirmation email goes to it until then."""

    email = models.EmailField(help_text="Where alerts go: as typed, its domain in IDNA form.")
    # One row per mailbox however it is spelt (`Bob@X.org`, `bob@x.org`): see lib/email_address.
    email_key = models.CharField(max_length=254, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when mail to this address bounced permanently."
    )
    bounce_reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        # Never the address: __str__ ends up in logs, admin history and tracebacks.
        return f"Subscriber #{self.pk}"

    __repr__ = __str__

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email_key = email_address.email_key(self.email)
        if (fields := kwargs.get("update_fields")) is not None and "email" in fields:
            kwargs["update_fields"] = {*fields, "email_key"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # The admin's form has no key field, so Django's unique check would not see a clash.
        key = email_address.email_key(self.email)
        if Subscriber.objects.filter(email_key=key).exclude(pk=self.pk).exists():
            raise ValidationError({"email": "Another subscriber has this address."})


class Subscription(models.Model):
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    kind = models.CharField(max_length=6, choices=SubscriptionKind.choices)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.CASCADE)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    place = models.CharField(max_length=255, blank=True, help_text="What the person typed.")
    # The h3 cell of the centre at the resolution chosen for the radius (see matching.py).
    center_cell = models.BigIntegerField(null=True, blank=True, editable=False)
    layers = models.JSONField(default=list, blank=True, help_text="Layer slugs; empty for all.")
    services = models.JSONField(default=list, blank=True, help_text="Service codes.")
    service_groups = models.JSONField(default=list, blank=True)
    include_closed = models.BooleanField(default=False, help_text="Also tell when a case closes.")
    frequency = models.CharField(max_length=7, choices=Frequency.choices, default=Frequency.INSTANT)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last confirmed or changed: the matcher's index reloads just these (matcher.py).
    changed_at = models.DateTimeField(auto_now=True, db_index=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="subscription_shape",
                condition=(
                    Q(kind="case", case__isnull=False)
                    | Q(kind="area", area__isnull=False)
                    | Q(kind="radius", lat__isnull=False, lon__isnull=False, radius_m__gt=0)
                ),
            )
        ]
        indexes = [
            models.Index(fields=["kind", "confirmed_at"]),
            # For expiring sign-ups nobody confirmed, without reading the confirmed ones.
            models.Index(
                fields=["created_at"],
                condition=Q(confirmed_at__isnull=True),
                name="subscription_unconfirmed",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == SubscriptionKind.CASE:
            return f"Follow case #{self.case_id}"
        if self.kind == SubscriptionKind.AREA:
            return f"Area #{self.area_id}"
        return f"{self.radius_m} m around {self.lat:.4f}, {self.lon:.4f}"


class MatcherCursor(models.Model):
    """The last CaseEvent id the matcher has handled. One row."""

    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"after event {self.last_event_id}"


class IndexVersion(models.Model):
    """Bumped whenever the set of confirmed radius subscriptions changes: the matcher's in-memory
    index is rebuilt when it sees a new version. One row."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"index version {self.version}"


class Delivery(models.Model):
    """One email to send, rendered when queued. The queue the sender works through."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "Confirmation"
        ALERT = "alert", "Alert"
        DIGEST = "digest", "Digest"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Handed to the mail server"
        SENT = "sent", "Sent"
        UNCERTAIN = "uncertain", "Interrupted while sending (not resent)"
        FAILED = "failed", "Failed for good"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=7, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField()
    unsubscribe_url = models.URLField(max_length=500, blank=True)
    state = models.CharField(max_length=9, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"


class OutboxItem(models.Model):
    """One thing a subscription must be told about. The unique constraint is what makes a duplicate
    alert impossible: a retried matcher batch inserts nothing new.

    `kind` is "opened" or "closed" for place and area watches, and "event:<id>" for a followed
    case, whose every event is news.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.CASCADE)
    kind = models.CharField(max_length=40)
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.CASCADE)
    distance_m = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "case", "kind"], name="outbox_once_per_subscription"
            )
        ]
        indexes = [models.Index(fields=["subscription", "delivery"])]

    def __str__(self) -> str:
        return f"{self.kind} case #{self.case_id} for subscription #{self.subscription_id}"
