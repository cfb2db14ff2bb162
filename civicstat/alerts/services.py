"""Writes to the alerts app: subscribe, confirm, change, unsubscribe, forget, outbox, deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from civicstat.alerts.matching import center_cell
from civicstat.alerts.models import (
    MIN_RADIUS_M,
    Delivery,
    Frequency,
    IndexVersion,
    Subscriber,
    Subscription,
    SubscriptionKind,
)
from civicstat.cases.models import Area, Case
from civicstat.lib.email_address import email_key, email_normalize


class SubscribeError(ValueError):
    """A subscription that cannot be made; the message says why."""


def radius_check(radius_m: int | None) -> None:
    """Raise SubscribeError unless `radius_m` is a radius a resident may watch."""
    limit = settings.ALERTS_MAX_RADIUS_M
    if radius_m is None or not MIN_RADIUS_M <= radius_m <= limit:
        raise SubscribeError(f"Choose a radius from {MIN_RADIUS_M} to {limit} metres.")


def index_version_bump() -> None:
    """Tell matchers that the confirmed radius subscriptions changed."""
    if not IndexVersion.objects.filter(pk=1).update(version=F("version") + 1):
        IndexVersion.objects.create(pk=1, version=1)


def subscription_create(
    *,
    email: str,
    kind: str,
    case: Case | None = None,
    area: Area | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_m: int | None = None,
    place: str = "",
    layers: list[str] | None = None,
    services: list[str] | None = None,
    service_groups: list[str] | None = None,
    include_closed: bool = False,
    frequency: str = Frequency.INSTANT,
) -> Subscription:
    """An unconfirmed subscription and its confirmation email, queued to send."""
    from civicstat.alerts.emails import confirmation_delivery

    if kind == SubscriptionKind.RADIUS:
        radius_check(radius_m)
    address = email_normalize(email)
    if len(address) > 254:
        raise SubscribeError("This email address is too long.")
    with transaction.atomic():
        # Locked, so that a second sign-up for the address waits and the count below stays true.
        subscriber, _ = Subscriber.objects.select_for_update().get_or_create(
            email_key=email_key(address), defaults={"email": address}
        )
        _make_room(subscriber=subscriber)
        subscription = Subscription.objects.create(
            subscriber=subscriber,
            kind=kind,
            case=case,
            area=area,
            lat=lat,
            lon=lon,
            radius_m=radius_m,
            place=place[:255],
            center_cell=(
                center_cell(lat, lon, radius_m)
                if kind == SubscriptionKind.RADIUS
                and lat is not None
                and lon is not None
                and radius_m
                else None
            ),
            layers=layers or [],
            services=services or [],
            service_groups=service_groups or [],
            include_closed=include_closed,
            frequency=frequency,
        )
        confirmation_delivery(subscription=subscription)
    return subscription


def unconfirmed_cutoff(now: datetime | None = None) -> datetime:
    """Sign-ups made before this and still unconfirmed have expired: their link no longer works."""
    return (now or timezone.now()) - timedelta(days=settings.ALERTS_CONFIRM_DAYS)


def _make_room(*, subscriber: Subscriber) -> None:
    """Room for one more alert at this address, within ALERTS_MAX_SUBSCRIPTIONS.

    Expired sign-ups go first. At the limit, the oldest sign-up still unconfirmed gives way: a
    sign-up nobody confirmed (anyone may type anyone's address) must never lock the mailbox's
    owner out. Only confirmed alerts hold the address at its limit."""
    limit = settings.ALERTS_MAX_SUBSCRIPTIONS
    pending = subscriber.subscriptions.filter(confirmed_at__isnull=True)
    pending.filter(created_at__lt=unconfirmed_cutoff()).delete()
    excess = subscriber.subscriptions.count() - limit + 1
    if excess <= 0:
        return
    if subscriber.subscriptions.filter(confirmed_at__isnull=False).count() >= limit:
        raise SubscribeError(
            f"An address can hold at most {limit} alerts; "
            "use the “manage my alerts” link in any alert email to remove some."
        )
    oldest = pending.order_by("created_at", "id").values_list("id", flat=True)[:excess]
    Subscription.objects.filter(id__in=list(oldest)).delete()


def subscriptions_expire(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete the sign-ups nobody confirmed within ALERTS_CONFIRM_DAYS, and the addresses left
    with no alert; returns how many sign-ups went. For the periodic run (`send_alerts`)."""
    expired = Subscription.objects.filter(
        confirmed_at__isnull=True, created_at__lt=unconfirmed_cutoff(now)
    )
    subscribers = expired.order_by().values_list("subscriber_id", flat=True).distinct()
    removed = 0
    while ids := list(subscribers[:batch]):
        with transaction.atomic():
            # Locked as a sign-up locks them: one for the address waits instead of adding an
            # alert to a subscriber about to be deleted.
            list(Subscriber.objects.select_for_update().filter(id__in=ids).values_list("id"))
            _, counts = expired.filter(subscriber_id__in=ids).delete()
            removed += counts.get(Subscription._meta.label, 0)
            Subscriber.objects.filter(id__in=ids, subscriptions__isnull=True).delete()
    return removed


def subscription_confirm(*, subscription: Subscription, at: datetime | None = None) -> None:
    """Start sending alerts for this subscription. Confirming twice changes nothing."""
    if subscription.confirmed_at is not None:
        return
    with transaction.atomic():
        subscription.confirmed_at = at or timezone.now()
        subscription.last_digest_at = subscription.confirmed_at
        subscription.save(update_fields=["confirmed_at", "last_digest_at", "changed_at"])
        if subscription.kind == SubscriptionKind.RADIUS:
            index_version_bump()


def subscription_update(
    *,
    subscription: Subscription,
    frequency: str,
    radius_m: int | None = None,
    include_closed: bool,
    filters: dict[str, list[str]] | None = None,
) -> None:
    """Change how often and what: `filters` holds new `layers`, `services` and `service_groups`
    (empty lists for everything); None leaves them as they are."""
    if subscription.kind == SubscriptionKind.RADIUS and radius_m is not None:
        radius_check(radius_m)
    with transaction.atomic():
        subscription.frequency = frequency
        subscription.include_closed = include_closed
        if filters is not None and subscription.kind != SubscriptionKind.CASE:
            subscription.layers = filters.get("layers", [])
            subscription.services = filters.get("services", [])
            subscription.service_groups = filters.get("service_groups", [])
        if subscription.kind == SubscriptionKind.RADIUS and radius_m:
            subscription.radius_m = radius_m
            assert subscription.lat is not None and subscription.lon is not None  # noqa: S101
            subscription.center_cell = center_cell(subscription.lat, subscription.lon, radius_m)
        subscription.save()
        if subscription.kind == SubscriptionKind.RADIUS:
            index_version_bump()


def subscription_delete(*, subscription: Subscription) -> None:
    """Stop one alert; the address is forgotten too when it was the last one."""
    with transaction.atomic():
        subscriber = subscription.subscriber
        was_radius = subscription.kind == SubscriptionKind.RADIUS
        subscription.delete()
        if not subscriber.subscriptions.exists():
            subscriber.delete()
        if was_radius:
            index_version_bump()


def subscriber_forget(*, subscriber: Subscriber) -> None:
    """Unsubscribe from everything: the address and all that points at it are deleted."""
    with transaction.atomic():
        subscriber.delete()
        index_version_bump()


def subscriber_disable(*, subscriber: Subscriber, reason: str) -> None:
    """A hard bounce: nothing more goes to this address until staff re-enable it."""
    with transaction.atomic():
        subscriber.disabled_at = timezone.now()
        subscriber.bounce_reason = reason[:255]
        subscriber.save(update_fields=["disabled_at", "bounce_reason"])
        Delivery.objects.filter(subscriber=subscriber, state=Delivery.State.PENDING).update(
            state=Delivery.State.FAILED, last_error="address bounced"
        )
        index_version_bump()


def subscriber_enable(*, subscriber: Subscriber) -> None:
    """Staff say the address accepts mail again: its alerts resume with news from now on."""
    with transaction.atomic():
        subscriber.disabled_at = None
        subscriber.bounce_reason = ""
        subscriber.save(update_fields=["disabled_at", "bounce_reason"])
        # Back in the matcher's index: workers load changed subscriptions by `changed_at`.
        subscriber.subscriptions.update(changed_at=timezone.now())
        index_version_bump()
