"""What the emails say: rendered into a `Delivery` when queued, so the sender only sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from civicstat.alerts.models import Delivery, OutboxItem, Subscription, SubscriptionKind
from civicstat.alerts.tokens import confirm_token, manage_token, unsubscribe_token
from civicstat.cases.query import status_labels
from civicstat.cases.sensitive import public_distance_m
from civicstat.lib.geo import circle_bbox

# The public map lives in another app; its path is fixed, so links are built without its URL name.
MAP_PATH = "/map"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def watch_query(subscription: Subscription) -> dict[str, str]:
    """The subscription as the query-string filter grammar of `civicstat.cases.query`."""
    query: dict[str, str] = {}
    if subscription.layers:
        query["layer"] = ",".join(subscription.layers)
    if subscription.services:
        query["service"] = ",".join(subscription.services)
    if subscription.service_groups:
        query["service_group"] = ",".join(subscription.service_groups)
    if subscription.kind == SubscriptionKind.AREA and subscription.area is not None:
        query["area"] = f"{subscription.area.kind}:{subscription.area.slug}"
    if subscription.kind == SubscriptionKind.RADIUS:
        assert subscription.lat is not None and subscription.lon is not None  # noqa: S101
        box = circle_bbox(subscription.lat, subscription.lon, float(subscription.radius_m or 0))
        query["bbox"] = ",".join(f"{v:.5f}" for v in box)
    return query


def feed_urls(subscription: Subscription) -> dict[str, str]:
    """The watch as Atom and RSS feed addresses (the exact circle, not the map's box); none for
    a followed case, whose news is its own page."""
    if subscription.kind == SubscriptionKind.CASE:
        return {}
    query = {k: v for k, v in watch_query(subscription).items() if k != "bbox"}
    if subscription.kind == SubscriptionKind.RADIUS:
        query.update(lat=f"{subscription.lat:.5f}", lon=f"{subscription.lon:.5f}",
                     radius=str(subscription.radius_m))  # fmt: skip
    encoded = urlencode(query)
    return {
        "atom_url": absolute(f"{reverse('alerts-feed')}?{encoded}"),
        "rss_url": absolute(f"{reverse('alerts-feed-rss')}?{encoded}"),
    }


def describe(subscription: Subscription) -> str:
    if subscription.kind == SubscriptionKind.CASE:
        return f"case {subscription.case.external_id if subscription.case else ''}"
    if subscription.kind == SubscriptionKind.AREA:
        return str(subscription.area.name if subscription.area else "an area")
    place = subscription.place or f"{subscription.lat:.5f}, {subscription.lon:.5f}"
    return f"{subscription.radius_m} m around {place}"


def _links(subscription: Subscription) -> dict[str, str]:
    return {
        "unsubscribe_url": absolute(
            reverse("alerts-unsubscribe", args=[unsubscribe_token(subscription.pk)])
        ),
        "manage_url": absolute(
            reverse("alerts-manage", args=[manage_token(subscription.subscriber_id)])
        ),
    }


def confirmation_delivery(*, subscription: Subscription) -> Delivery:
    context = {
        "subscription": subscription,
        "what": describe(subscription),
        "confirm_url": absolute(reverse("alerts-confirm", args=[confirm_token(subscription.pk)])),
        "days": settings.ALERTS_CONFIRM_DAYS,
        "city": settings.CITY_NAME,
    }
    return Delivery.objects.create(
        subscriber_id=subscription.subscriber_id,
        subscription=subscription,
        kind=Delivery.Kind.CONFIRM,
        subject=f"Confirm your alert: {describe(subscription)}"[:255],
        text=render_to_string("alerts/email/confirm.txt", context),
        html=render_to_string("alerts/email/confirm.html", context),
        next_attempt_at=timezone.now(),
    )


def alert_delivery(
    *, subscription: Subscription, items: Sequence[OutboxItem], digest: bool
) -> Delivery:
    """One email listing a subscription's news, grouped by type, at most ALERTS_MAX_ITEMS."""
    labels = status_labels()
    limit = settings.ALERTS_MAX_ITEMS
    ordered = sorted(items, key=lambda i: (_group_of(i), i.case.requested_at))
    shown = ordered[:limit]
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in shown:
        case = item.case
        groups.setdefault(_group_of(item), []).append(
            {
                "case": case,
                "status": labels.get((case.layer_id, case.status), case.status),
                "news": _news(item),
                "note": item.event.note if item.event is not None else "",
                "distance": public_distance_m(
                    case, subscription.lat or 0.0, subscription.lon or 0.0, item.distance_m
                ),
                "url": absolute(case.get_absolute_url()),
            }
        )
    query = watch_query(subscription)
    earliest = min((i.case.requested_at for i in items), default=timezone.now())
    query["since"] = timezone.localtime(earliest - timedelta(days=1)).date().isoformat()
    context = {
        "subscription": subscription,
        "what": describe(subscription),
        "groups": groups,
        "count": len(items),
        "more": len(items) - len(shown),
        "map_url": absolute(f"{MAP_PATH}?{urlencode(query)}"),
        "digest": digest,
        "city": settings.CITY_NAME,
        **_links(subscription),
        **feed_urls(subscription),
    }
    noun = "update" if len(items) == 1 else "updates"
    links = _links(subscription)
    return Delivery.objects.create(
        subscriber_id=subscription.subscriber_id,
        subscription=subscription,
        kind=Delivery.Kind.DIGEST if digest else Delivery.Kind.ALERT,
        subject=f"{len(items)} {noun}: {describe(subscription)}"[:255],
        text=render_to_string("alerts/email/alert.txt", context),
        html=render_to_string("alerts/email/alert.html", context),
        unsubscribe_url=links["unsubscribe_url"],
        next_attempt_at=timezone.now(),
    )


def _group_of(item: OutboxItem) -> str:
    case = item.case
    return case.service.name if case.service is not None else case.layer.name


def _news(item: OutboxItem) -> str:
    if item.kind == "opened":
        return "New"
    if item.kind == "closed":
        return "Closed"
    if item.event is not None:
        return item.event.get_kind_display()
    return item.kind
