"""Figures read from the rollups: what pages show without scanning cases."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from civicstat.cases.models import DailyCaseCount, DailyCloseTime, Layer
from civicstat.cases.query import CaseFilter, rollup_rows
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
    rows = (
        rollup_rows(f or CaseFilter())
        .values("layer_id", "status_group")
        .annotate(n=Sum("opened"))
        .order_by()
    )
    by_layer: dict[int, dict[str, int]] = {}
    for row in rows:
        by_layer.setdefault(row["layer_id"], {})[row["status_group"]] = row["n"]
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
    counts = {
        row["bucket"]: row["n"]
        for row in rollup_rows(f, DailyCloseTime)
        .values("bucket")
        .annotate(n=Sum("count"))
        .order_by()
    }
    seconds = median(counts)
    return None if seconds is None else seconds / 86400


def opened_closed(f: CaseFilter) -> tuple[int, int]:
    agg = rollup_rows(f, DailyCaseCount).aggregate(o=Sum("opened"), c=Sum("closed"))
    return agg["o"] or 0, agg["c"] or 0
