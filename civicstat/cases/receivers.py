"""Reactions to edits of the cases core's reference data, whoever makes them (admin, shell, code).

A service turning private (or public again) changes what every public output may show: the
public-only rollups (the departments' histograms, the month counts by layer and department) are
rebuilt here, the apps that keep public-only figures hear of it in the same transaction
(`service_privacy_changed`), and the data version moves so no cached response outlives the
change.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from civicstat.cases.models import Area, Department, Layer, Service, StatusMapping
from civicstat.cases.rollups import public_rollups_rebuild
from civicstat.cases.signals import service_privacy_changed


@receiver(pre_save, sender=Service, dispatch_uid="cases-service-privacy-before")
def _privacy_before(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    stored = None
    if instance.pk is not None:
        stored = Service.objects.filter(pk=instance.pk).values_list("private", flat=True).first()
    instance._private_before = stored  # type: ignore[attr-defined]


@receiver(post_save, sender=Service, dispatch_uid="cases-service-privacy-after")
def _privacy_after(sender: type[Service], instance: Service, created: bool, **kwargs: Any) -> None:
    from civicstat.cases.services import data_version_bump

    before = getattr(instance, "_private_before", None)
    if created or before is None or before == instance.private:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        public_rollups_rebuild(cursor)
    service_privacy_changed.send(sender=Service, service=instance)
    # Anything computed from public cases may have moved: refresh all of it.
    data_version_bump(None)


# Names, labels and outlines the public pages show: an edit (in the admin or anywhere) moves the
# data version, so no cached page keeps the old one.
@receiver(post_save, sender=Layer, dispatch_uid="cases-pages-layer")
@receiver(post_save, sender=Department, dispatch_uid="cases-pages-department")
@receiver(post_save, sender=Service, dispatch_uid="cases-pages-service")
@receiver(post_save, sender=StatusMapping, dispatch_uid="cases-pages-status")
@receiver(post_save, sender=Area, dispatch_uid="cases-pages-area")
@receiver(post_delete, sender=Layer, dispatch_uid="cases-pages-layer-gone")
@receiver(post_delete, sender=Department, dispatch_uid="cases-pages-department-gone")
@receiver(post_delete, sender=Service, dispatch_uid="cases-pages-service-gone")
@receiver(post_delete, sender=StatusMapping, dispatch_uid="cases-pages-status-gone")
@receiver(post_delete, sender=Area, dispatch_uid="cases-pages-area-gone")
def _pages_stale(sender: Any, **kwargs: Any) -> None:
    from civicstat.cases.services import data_version_touch

    data_version_touch()
