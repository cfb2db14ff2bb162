"""Figures read from the rollups (whole months from the month tables): what pages show without
scanning cases."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from civicstat.cases.models import DailyCaseCount, DailyCloseTime, Layer
from civicstat.cases.query import CaseFilter, rollup_parts
from civicstat.lib.quantiles import median


@dataclass
class LayerTotals:
    layer: Layer
    open: int
    closed: int

    @property
    def total(self) -> int:
        return self.open + self.closed


def layer_totals(f: CaseFilter | None = None) -> list[LayerTotals]:
    """Cases per layer, open and closed now, for the layers that have any or are configured."""
    by_layer: dict[int, dict[str, int]] = {}
    for part in rollup_parts(f or CaseFilter()):
        rows = part.values_list("layer_id", "status_group").annotate(n=Sum("opened")).order_by()
        for layer_id, group, n in rows:
            counts = by_layer.setdefault(layer_id, {})
            counts[group] = counts.get(group, 0) + n
    return [
        LayerTotals(
            layer,
            by_layer.get(layer.id, {}).get("open", 0),
            by_layer.get(layer.id, {}).get("closed", 0),
        )  # fmt: skip
        for layer in Layer.objects.all()
    ]


def median_days_to_close(f: CaseFilter) -> float | None:
    """Median days from opened to closed of the cases `f` selects that closed, from histograms."""
    counts: dict[int, int] = {}
    for part in rollup_parts(f, DailyCloseTime):
        for bucket, n in part.values_list("bucket").annotate(n=Sum("count")).order_by():
            counts[bucket] = counts.get(bucket, 0) + n
    seconds = median(counts)
    return None if seconds is None else seconds / 86400


def opened_closed(f: CaseFilter) -> tuple[int, int]:
    opened = closed = 0
    for part in rollup_parts(f, DailyCaseCount):
        agg = part.aggregate(o=Sum("opened"), c=Sum("closed"))
        opened, closed = opened + (agg["o"] or 0), closed + (agg["c"] or 0)
    return opened, closed
