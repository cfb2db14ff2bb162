from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from civicstat.cases.signals import cases_changed


@receiver(cases_changed, dispatch_uid="alerts-match")
def enqueue_matching(sender: object, **kwargs: Any) -> None:
    """New data: match it against the subscriptions, in the worker, not in the import."""
    from civicstat.alerts.tasks import match_alerts

    match_alerts.enqueue()
