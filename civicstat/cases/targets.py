"""Judging closed cases against a request type's target days when staff change them.

A case is judged at ingest (`derive.within_target`): by the source's own verdict, else by its
target date, else by its request type's target days. Only the last depends on something staff
edit, so when a request type's target days change, its cases with neither of the source's own are
judged again here, and the rollups' on-time and late counts move by the difference, in the same
transaction: they stay equal to a rebuild, and no read path ever joins cases to request types.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from civicstat.cases.models import Case, CaseArea, Service
from civicstat.cases.rollups import RollupDelta
from civicstat.cases.signals import ChangeScope

DAY = 86400


def targets_apply(*, services: Sequence[Service]) -> int:
    """Judge `services`' closed cases that lack a source verdict and a target date against the
    services' current target days (none: no verdict); returns how many cases changed verdict."""
    from civicstat.cases.services import data_version_bump

    days = {s.pk: s.target_days for s in services}
    with transaction.atomic():
        rows = (
            Case.objects.filter(service_id__in=list(days), on_time__isnull=True,
                                expected_at__isnull=True, close_bucket__isnull=False)
            .order_by()
            .values_list("id", "layer_id", "service_id", "department_id", "status_group",
                         "requested_day", "closed_day", "close_bucket", "requested_at",
                         "closed_at", "within_target")
        )  # fmt: skip
        changed: list[tuple[Any, ...]] = []
        for (case_id, layer, service, dept, group, rday, cday, bucket, opened, closed,
             before) in rows.iterator(chunk_size=5000):  # fmt: skip
            target = days.get(service)
            after = None
            if target is not None and closed is not None:
                after = (closed - opened).total_seconds() <= target * DAY
            if after != before:
                changed.append((case_id, layer, service, dept, group, rday, cday, bucket,
                                before, after))  # fmt: skip
        if not changed:
            return 0
        areas: defaultdict[int, list[int]] = defaultdict(list)
        ids = [c[0] for c in changed]
        for start in range(0, len(ids), 5000):
            links = CaseArea.objects.filter(case_id__in=ids[start : start + 5000]).order_by()
            for case_id, area_id in links.values_list("case_id", "area_id"):
                areas[case_id].append(area_id)
        delta = RollupDelta()
        for case_id, layer, service, dept, group, rday, cday, bucket, before, after in changed:
            # Out with the old verdict and in with the new: every other count cancels out.
            for sign, verdict in ((-1, before), (1, after)):
                delta.add_case(sign=sign, layer_id=layer, service_id=service,
                               department_id=dept, area_ids=areas[case_id], status_group=group,
                               requested_day=rday, closed_day=cday, close_bucket=bucket,
                               within_target=verdict)  # fmt: skip
        for after in (True, False, None):
            picked = [c[0] for c in changed if c[9] is after]
            for start in range(0, len(picked), 5000):
                Case.objects.filter(pk__in=picked[start : start + 5000]).update(within_target=after)
        delta.apply()
        data_version_bump(
            ChangeScope(
                layers=frozenset(c[1] for c in changed),
                services=frozenset(c[2] or 0 for c in changed),
                departments=frozenset(c[3] or 0 for c in changed),
            )
        )
    return len(changed)
