from __future__ import annotations

from django.tasks import task

from civicstat.cases.services import data_version
from civicstat.performance.models import RefreshState
from civicstat.performance.services import measures_refresh


@task()
def measures_refresh_task(version: int = 0) -> int:
    """Recompute every computed measure from the rollups, unless a refresh since `version` (the
    data version that queued this one) already has; returns how many were recomputed."""
    done = RefreshState.objects.filter(pk=1).values_list("data_version", flat=True).first() or 0
    if version and done >= version:
        return 0
    current = data_version()  # read first: data arriving during the refresh queues another
    count = measures_refresh()
    RefreshState.objects.update_or_create(pk=1, defaults={"data_version": current})
    return count
