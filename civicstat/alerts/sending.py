"""Outbox → emails → SMTP: compose what is due (instant, or digests at local times), then send.

Delivery is at most once per email. A delivery is claimed (state "sending") in its own committed
transaction before it goes to the mail server and marked sent after; a worker that dies between
the two leaves it "sending", and the next run marks it "uncertain" for staff instead of sending it
again, because a resent alert is what residents complain about. A refused connection or a 4xx
answer leaves it waiting with a growing delay: an SMTP outage delays mail, never loses it. A 5xx
answer for the recipient is a hard bounce: the address's subscriptions stop and staff see it.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mail_managers, mailers
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from civicstat.alerts.emails import alert_delivery
from civicstat.alerts.models import Delivery, Frequency, OutboxItem, Subscription
from civicstat.alerts.services import subscriber_disable

log = logging.getLogger(__name__)


def digest_due_at(frequency: str, now: datetime) -> datetime | None:
    """The latest digest time at or before `now` for this frequency, in the city's time zone."""
    if frequency == Frequency.INSTANT:
        return None
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time(settings.ALERTS_DIGEST_HOUR), tzinfo=zone)
    if at > local:
        at -= timedelta(days=1)
    if frequency == Frequency.WEEKLY:
        at -= timedelta(days=(at.weekday() - settings.ALERTS_DIGEST_WEEKDAY) % 7)
    return at


def compose_due(*, now: datetime | None = None) -> int:
    """Emails for every confirmed subscription with news that is due now; returns how many."""
    now = now or timezone.now()
    waiting = (
        OutboxItem.objects.filter(
            delivery__isnull=True,
            subscription__confirmed_at__isnull=False,
            subscription__subscriber__disabled_at__isnull=True,
        )
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    made = 0
    for subscription in Subscription.objects.filter(id__in=list(waiting)).select_related(
        "subscriber", "case", "area"
    ):
        due = digest_due_at(subscription.frequency, now)
        if due is not None and subscription.last_digest_at and subscription.last_digest_at >= due:
            continue
        with transaction.atomic():
            items = list(
                OutboxItem.objects.select_for_update(of=("self",))
                .filter(subscription=subscription, delivery__isnull=True)
                .select_related("case__layer", "case__service", "event")
            )
            if not items:
                continue
            delivery = alert_delivery(
                subscription=subscription, items=items, digest=due is not None
            )
            OutboxItem.objects.filter(id__in=[i.id for i in items]).update(delivery=delivery)
            if due is not None:
                subscription.last_digest_at = now
                subscription.save(update_fields=["last_digest_at"])
        made += 1
    return made


def send_due(*, now: datetime | None = None) -> int:
    """Send every delivery whose time has come; returns how many went out."""
    now = now or timezone.now()
    # Claims older than a few SMTP timeouts belong to a worker that died mid-send.
    mailer: dict[str, Any] = settings.MAILERS["default"]
    stale = now - timedelta(seconds=3 * int(mailer.get("OPTIONS", {}).get("timeout", 20)))
    Delivery.objects.filter(state=Delivery.State.SENDING, next_attempt_at__lt=stale).update(
        state=Delivery.State.UNCERTAIN
    )
    sent = 0
    due = Delivery.objects.filter(
        state=Delivery.State.PENDING, next_attempt_at__lte=now
    ).values_list("id", flat=True)
    for delivery_id in list(due[:1000]):
        if _send_one(delivery_id, now):
            sent += 1
    return sent


def _send_one(delivery_id: int, now: datetime) -> bool:
    with transaction.atomic():
        claimed = Delivery.objects.filter(id=delivery_id, state=Delivery.State.PENDING).update(
            state=Delivery.State.SENDING, next_attempt_at=now
        )
    if not claimed:
        return False  # another worker has it
    delivery = Delivery.objects.select_related("subscriber").get(id=delivery_id)
    message = _AlertMessage(
        subject=delivery.subject,
        body=delivery.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.subscriber.email],
        headers=_headers(delivery),
    )
    message.attach_alternative(delivery.html, "text/html")
    try:
        with mailers.default as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            _bounce(delivery, f"{codes[0]} recipient refused")
            return False
        _retry(delivery, now, f"recipient refused {codes}")
        return False
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600 and isinstance(error, smtplib.SMTPDataError):
            _bounce(delivery, f"{error.smtp_code} message refused")
            return False
        _retry(delivery, now, f"SMTP {error.smtp_code}")
        return False
    except (OSError, smtplib.SMTPException) as error:
        _retry(delivery, now, type(error).__name__)
        return False
    _mark_sent(delivery)
    return True


class _AlertMessage(EmailMultiAlternatives):
    """Headers up to RFC 5322's 998 characters: a List-Unsubscribe URL longer than the default 78
    would otherwise be RFC 2047-encoded, and mail clients would no longer offer one-click."""

    def message(self, *, policy: Any = email.policy.default) -> Any:
        return super().message(policy=(policy or email.policy.default).clone(max_line_length=998))


def _headers(delivery: Delivery) -> dict[str, str]:
    if not delivery.unsubscribe_url:
        return {}
    # RFC 8058: a mail client may unsubscribe with one POST, no login and no page to read.
    return {
        "List-Unsubscribe": f"<{delivery.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _mark_sent(delivery: Delivery) -> None:
    Delivery.objects.filter(id=delivery.id).update(
        state=Delivery.State.SENT, sent_at=timezone.now(), attempts=delivery.attempts + 1
    )


def _retry(delivery: Delivery, now: datetime, reason: str) -> None:
    attempts = delivery.attempts + 1
    delay = min(settings.ALERTS_RETRY_SECONDS * 2 ** (attempts - 1), 6 * 3600)
    Delivery.objects.filter(id=delivery.id).update(
        state=Delivery.State.PENDING,
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=reason[:500],
    )
    # The delivery id only: the address is personal data and stays out of logs.
    log.warning("alert delivery %s delayed %ss: %s", delivery.id, delay, reason)


def _bounce(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(id=delivery.id).update(
        state=Delivery.State.FAILED, attempts=delivery.attempts + 1, last_error=reason
    )
    subscriber_disable(subscriber=delivery.subscriber, reason=reason)
    log.warning("alert delivery %s bounced: %s; subscriber disabled", delivery.id, reason)
    _tell_staff(delivery, reason)


def _tell_staff(delivery: Delivery, reason: str) -> None:
    """Email MANAGERS (nobody when unset) where to look: ids and a link to the admin, never the
    address, which stays in the admin behind a login."""
    admin_url = f"{settings.SITE_URL}{reverse('admin:alerts_subscriber_changelist')}"
    try:
        mail_managers(
            f"Alert emails to subscriber #{delivery.subscriber_id} bounced",
            f"Alert delivery #{delivery.id} was refused for good ({reason}), so every alert of "
            f"subscriber #{delivery.subscriber_id} is stopped.\n\n"
            f"Disabled addresses: {admin_url}?bounced=yes\n"
            "Re-enable one there once the address works again.\n",
        )
    except (OSError, smtplib.SMTPException) as error:
        # The admin shows the bounce anyway; a mail server that is down must not undo it.
        log.warning("could not tell MANAGERS of delivery %s: %s", delivery.id, type(error).__name__)
