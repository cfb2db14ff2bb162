"""Reactions to edits of the cases core's reference data, whoever makes them (admin, shell, code).

A service turning private (or public again) changes what every public output may show: the
public-only rollups (the departments' histograms, the month counts by layer and department) are
rebuilt here, the data version moves so no cached response outlives the change, and the apps that
keep public-only figures hear of it in the same transaction (`service_privacy_changed`).
`Service.save()` runs in a transaction of its own, and `Service.objects…update(private=…)` (with
`bulk_update`) comes here too, so the flag and every figure change together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from civicstat.cases.models import (
    Area,
    Department,
    Layer,
    MonthlyCaseCount,
    Service,
    ServiceAlias,
    ServiceGroupAlias,
    StatusMapping,
)
from civicstat.cases.rollups import public_rollups_rebuild
from civicstat.cases.sensitive import layer_sensitivity_apply
from civicstat.cases.services import data_version_follows
from civicstat.cases.signals import ChangeScope, service_privacy_changed


@receiver(pre_save, sender=Service, dispatch_uid="cases-service-privacy-before")
def _privacy_before(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    stored = None
    if instance.pk is not None:
        rows = Service.objects.filter(pk=instance.pk)
        if connection.in_atomic_block:  # always, through Service.save(); not in a raw save_base
            # Locked until the save commits: a concurrent edit waits, so "before" stays true.
            rows = rows.select_for_update()
        stored = rows.values_list("private", flat=True).first()
    instance._private_before = stored  # type: ignore[attr-defined]


@receiver(post_save, sender=Service, dispatch_uid="cases-service-privacy-after")
def _privacy_after(sender: type[Service], instance: Service, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_private_before", None)
    if created or before is None or before == instance.private:
        return
    privacy_changes_apply(services=[instance])


@receiver(pre_save, sender=Service, dispatch_uid="cases-service-target-before")
def _target_before(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    stored: list[int | None] = []  # empty: no stored row to compare with
    if instance.pk is not None:
        rows = Service.objects.filter(pk=instance.pk).values_list("target_days", flat=True)
        stored = list(rows[:1])
    instance._target_before = stored  # type: ignore[attr-defined]


@receiver(post_save, sender=Service, dispatch_uid="cases-service-target-after")
def _target_after(sender: type[Service], instance: Service, created: bool, **kwargs: Any) -> None:
    """Staff changed a request type's target days: its cases are judged again, rollups and all
    (`cases.targets`), in the save's transaction."""
    before = getattr(instance, "_target_before", [])
    if created or not before or before[0] == instance.target_days:
        return
    from civicstat.cases.targets import targets_apply

    targets_apply(services=[instance])


def privacy_changes_apply(*, services: Sequence[Service]) -> None:
    """Bring every public figure in line with `services`' new `private` flags, in the caller's
    transaction (the one that changed them)."""
    from civicstat.cases.services import data_version_bump

    with transaction.atomic():
        with connection.cursor() as cursor:
            public_rollups_rebuild(cursor)
        scope = privacy_scope(services=services)
        # Moved before the receivers run, so what they recompute is stamped with the new version
        # and the refresh queued for it (after the commit) skips it.
        data_version_bump(scope)
        for service in services:
            service_privacy_changed.send(sender=Service, service=service, scope=scope)


def privacy_scope(*, services: Sequence[Service]) -> ChangeScope:
    """The layers, services and departments whose public counts moved: the services' own, and
    those their cases are filed under (a case's department need not be its service's)."""
    ids = [s.pk for s in services]
    filed = MonthlyCaseCount.objects.filter(area_id=0, service_id__in=ids)
    pairs = set(filed.order_by().values_list("layer_id", "department_id").distinct())
    return ChangeScope(
        layers=frozenset([*(s.layer_id for s in services), *(layer for layer, _ in pairs)]),
        services=frozenset(ids),
        departments=frozenset(
            [*(s.department_id or 0 for s in services), *(dept for _, dept in pairs)]
        ),
    )


@receiver(pre_save, sender=Layer, dispatch_uid="cases-layer-sensitive-before")
def _sensitive_before(sender: type[Layer], instance: Layer, **kwargs: Any) -> None:
    stored = None
    if instance.pk is not None:
        rows = Layer.objects.filter(pk=instance.pk)
        if connection.in_atomic_block:  # always, through Layer.save()
            rows = rows.select_for_update()  # an import batch of the layer waits (FOR SHARE)
        stored = rows.values_list("sensitive", flat=True).first()
    instance._sensitive_before = stored  # type: ignore[attr-defined]


@receiver(post_save, sender=Layer, dispatch_uid="cases-layer-sensitive-after")
def _sensitive_after(sender: type[Layer], instance: Layer, created: bool, **kwargs: Any) -> None:
    """A layer marked sensitive (or no longer) moves its cases' public points in the same
    transaction, with the data version (`civicstat.cases.sensitive`)."""
    before = getattr(instance, "_sensitive_before", None)
    if created or before is None or before == instance.sensitive:
        return
    layer_sensitivity_apply(layers=[instance])


# Names, labels and outlines the public pages show: an edit (in the admin or anywhere) moves the
# data version, so no cached page keeps the old one.
data_version_follows(
    saved=[Layer, Department, Service, StatusMapping, Area, ServiceAlias, ServiceGroupAlias],
    deleted=[Layer, Department, Service, StatusMapping, Area, ServiceAlias, ServiceGroupAlias],
    app="cases",
)
