"""manage.py send_alerts: match new events, compose what is due, send. Run it every few minutes
(cron or the scheduler): digests go out on the first run after their local time. Each run also
deletes the sign-ups nobody confirmed within ALERTS_CONFIRM_DAYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.sending import compose_due, send_due
from civicstat.alerts.services import subscriptions_expire


class Command(BaseCommand):
    help = "Match new case events to alert subscriptions, then compose and send due emails."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = subscriptions_expire()
        added = match_new_events()
        composed = compose_due()
        sent = send_due()
        self.stdout.write(f"{added} new items, {composed} emails composed, {sent} sent, "
                          f"{expired} unconfirmed sign-ups expired")  # fmt: skip
