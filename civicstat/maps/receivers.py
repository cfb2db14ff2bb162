"""The map's public totals follow a service turning private or public."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.dispatch import receiver

from civicstat.cases.signals import service_privacy_changed
from civicstat.maps import timed
from civicstat.maps.cells import totals_rebuild


@receiver(service_privacy_changed, dispatch_uid="maps-totals-privacy")
def _totals_follow_privacy(**kwargs: Any) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        totals_rebuild(cursor)
        # The dated and per-area tables keep no request type to leave out: they are filled again
        # from the cases (set-based; a rare staff action, tens of seconds at 10 M cases).
        timed.fill(cursor, connection.vendor)
