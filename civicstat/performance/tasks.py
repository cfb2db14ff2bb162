from __future__ import annotations

from django.tasks import task

from civicstat.cases.signals import ChangeScope
from civicstat.performance.services import measures_refresh


@task()
def measures_refresh_task(
    version: int = 0,
    layers: list[int] | None = None,
    services: list[int] | None = None,
    departments: list[int] | None = None,
) -> int:
    """Recompute the measures that new data at `version` could affect (all of them when no
    layers are given), skipping those already computed at that version or later; returns how
    many were recomputed."""
    scope = None
    if layers is not None:
        scope = ChangeScope(frozenset(layers), frozenset(services or ()),
                            frozenset(departments or ()))  # fmt: skip
    return measures_refresh(scope=scope, version=version)
