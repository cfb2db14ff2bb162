"""New data refreshes the computed measures: the receiver only enqueues the work. A request type
turning private or public again changes them at once, in its transaction. An edit of what the
performance pages show moves the data version, so no cached page outlives it."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from civicstat.cases.services import data_version_follows
from civicstat.cases.signals import ChangeScope, cases_changed, service_privacy_changed
from civicstat.performance.models import (
    Goal,
    Measure,
    MeasureTarget,
    MeasureValue,
    PriorityArea,
    Survey,
    SurveyItem,
)


@receiver(cases_changed, dispatch_uid="performance-refresh")
def refresh_on_new_data(sender: Any, **kwargs: Any) -> None:
    from civicstat.performance.tasks import measures_refresh_task

    version = int(kwargs.get("version") or 0)
    scope: ChangeScope | None = kwargs.get("scope")
    if scope is None:
        measures_refresh_task.enqueue(version=version)
    elif not scope.is_empty():  # a note moves no count: nothing to recompute
        measures_refresh_task.enqueue(
            version=version, layers=sorted(scope.layers), services=sorted(scope.services),
            departments=sorted(scope.departments),
        )  # fmt: skip


@receiver(service_privacy_changed, dispatch_uid="performance-privacy")
def follow_privacy(sender: Any, **kwargs: Any) -> None:
    """A request type turned private or public: its measures change in the same transaction."""
    from civicstat.performance.services import measures_privacy_follow

    measures_privacy_follow(scope=kwargs.get("scope"))


# Values and targets: saves only. Their bulk deletes (a refresh replaces every value) would lose
# Django's fast delete to a receiver; the services that make them move the version themselves.
data_version_follows(
    saved=[PriorityArea, Goal, Measure, MeasureTarget, MeasureValue, Survey, SurveyItem],
    deleted=[PriorityArea, Goal, Measure, Survey, SurveyItem],
    app="performance",
)
