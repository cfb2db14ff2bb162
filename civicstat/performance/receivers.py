"""New data refreshes the computed measures: the receiver only enqueues the work."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from civicstat.cases.signals import cases_changed


@receiver(cases_changed, dispatch_uid="performance-refresh")
def refresh_on_new_data(sender: Any, **kwargs: Any) -> None:
    from civicstat.performance.tasks import measures_refresh_task

    measures_refresh_task.enqueue(version=int(kwargs.get("version") or 0))
