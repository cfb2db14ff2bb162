from __future__ import annotations

from django.tasks import task

from civicstat.performance.services import measures_refresh


@task()
def measures_refresh_task() -> int:
    """Recompute every computed measure's history from the rollups; returns how many."""
    return measures_refresh()
