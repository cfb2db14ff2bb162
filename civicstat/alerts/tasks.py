"""Background work: match new events, then compose and send what is due."""

from __future__ import annotations

from django.tasks import task

from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.sending import compose_due, send_due


@task()
def match_alerts() -> int:
    """Match every new case event, then send what became due."""
    added = match_new_events()
    deliver_alerts.enqueue()
    return added


@task()
def deliver_alerts() -> int:
    compose_due()
    return send_due()
