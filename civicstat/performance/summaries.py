"""What the public pages read: each measure's latest value, change, status and score, and the
composite scores of goals and priority areas. Everything comes from stored values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from civicstat.lib.periods import period_of, periods_between
from civicstat.performance.models import Measure, MeasureTarget, MeasureValue, Status, StatusRule
from civicstat.performance.scoring import composite

# vega-embed and vega-tooltip would add <style> elements, which the site's CSP (style-src 'self')
# blocks; the spec's own embed options turn them off (performance.css styles the tooltip instead)
# without changing the shared chart runtime.
EMBED_OPTIONS = {"embedOptions": {"defaultStyle": False, "tooltip": {"disableDefaultStyle": True}}}
STATUS_COLOURS = {
    Status.ON_TRACK: "#1b7a3a", Status.NEAR: "#9a6400", Status.OFF_TRACK: "#b3261e",
    Status.NO_DATA: "#6b6b6b", Status.NONE: "#2d5a9e",
}  # fmt: skip
PARTIAL_LABEL = "Partial (not scored)"
PARTIAL_COLOUR = "#6a3d9a"


def status_label(v: MeasureValue) -> str:
    if v.partial:
        return PARTIAL_LABEL
    return Status(v.status).label if v.status in Status.values else ""


@dataclass
class MeasureSummary:
    measure: Measure
    values: list[MeasureValue]
    latest: MeasureValue | None = None
    previous: MeasureValue | None = None
    # The period in progress (or the one the data ends in), when it is the newest: shown marked,
    # never scored, never the "latest" a status or a composite score comes from.
    partial: MeasureValue | None = None
    # The newest stored period when it has no value: its note says why ("the data ends on …").
    missing: MeasureValue | None = None

    def __post_init__(self) -> None:
        if self.withheld:
            self.values = []  # nothing of it, not even a target-only period
        known = [v for v in self.values if v.value is not None and not v.partial]
        self.latest = known[-1] if known else None
        self.previous = known[-2] if len(known) > 1 else None
        # Stored periods only: a target-only projection (no pk) is not a period of data.
        stored = [v for v in self.values if v.pk is not None]
        newest = stored[-1] if stored else None
        since = self.latest.period_start if self.latest else None
        partial = [v for v in stored if v.partial and v.value is not None]
        if partial and (since is None or partial[-1].period_start > since):
            self.partial = partial[-1]
        if newest is not None and newest.value is None and newest.note:
            self.missing = newest

    @property
    def withheld(self) -> bool:
        """Being recomputed after a request type turned private or public: show no figures."""
        return self.measure.withheld

    @property
    def change(self) -> float | None:
        if self.latest is None or self.previous is None:
            return None
        assert self.latest.value is not None and self.previous.value is not None
        return self.latest.value - self.previous.value

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else Status.NO_DATA

    @property
    def status_label(self) -> str:
        return Status(self.status).label if self.status in Status.values else ""

    @property
    def score(self) -> float | None:
        return self.latest.score if self.latest else None

    def period_label(self, value: MeasureValue) -> str:
        m = self.measure
        return period_of(value.period_start, m.period, m.fiscal_start).label

    @property
    def partial_label(self) -> str:
        return self.period_label(self.partial) if self.partial else ""

    @property
    def missing_label(self) -> str:
        return self.period_label(self.missing) if self.missing else ""

    @property
    def latest_label(self) -> str:
        return self.period_label(self.latest) if self.latest else ""

    @property
    def previous_label(self) -> str:
        return self.period_label(self.previous) if self.previous else ""

    def rows(self) -> list[dict[str, Any]]:
        """One row per period, for tables, CSV and charts."""
        return [
            {
                "period": self.period_label(v),
                "start": v.period_start.isoformat(),
                "end": v.period_end.isoformat(),
                "value": v.value,
                "target": v.target,
                "status": v.status,
                "status_label": status_label(v),
                "score": v.score,
                "partial": v.partial,
                "no_data_reason": v.no_data_reason,
                "note": v.note,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "computed_at": v.computed_at.isoformat() if v.computed_at else None,
            }  # fmt: skip
            for v in self.values
        ]


@dataclass
class GroupSummary:
    """A goal's or a priority area's measures, composite score and status counts."""

    measures: list[MeasureSummary] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        return composite(m.score for m in self.measures)

    @property
    def unrated(self) -> int:
        """Measures with no status rule (a survey item, a plain count): in no count above."""
        return sum(1 for m in self.measures if m.measure.status_rule == StatusRule.NONE)

    @property
    def rated(self) -> int:
        return len(self.measures) - self.unrated

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(m.status for m in self.measures)
        return {"on_track": c[Status.ON_TRACK], "near": c[Status.NEAR],
                "off_track": c[Status.OFF_TRACK]}  # fmt: skip


def summarise(measures: Iterable[Measure]) -> list[MeasureSummary]:
    """Summaries of `measures`, reading all their values in one query and their targets in one
    more. A target for a period with no value yet (a projection, such as Walton County's FY2026)
    is listed as a period of its own, so the chart and the table show where the measure is
    meant to go; it never counts as the latest value. A withheld measure has no values."""
    measures = list(measures)
    by_id = {m.id: m for m in measures}
    by_measure: dict[int, list[MeasureValue]] = {m.id: [] for m in measures}
    shown = [m for m in measures if not m.withheld]
    for v in MeasureValue.objects.filter(measure__in=shown).order_by("period_start"):
        by_measure[v.measure_id].append(v)
    targets = MeasureTarget.objects.filter(measure__in=measures)
    reported = {(v.measure_id, v.period_start) for vs in by_measure.values() for v in vs}
    for measure_id, start, target in targets.values_list("measure_id", "period_start", "value"):
        if (measure_id, start) in reported:
            continue
        m = by_id[measure_id]
        by_measure[measure_id].append(MeasureValue(
            measure=m, period_start=start, period_end=period_of(start, m.period,
            m.fiscal_start).end, value=None, target=target, status=Status.NO_DATA,
        ))  # fmt: skip
    for values in by_measure.values():
        values.sort(key=lambda v: v.period_start)
    return [MeasureSummary(m, by_measure[m.id]) for m in measures]


def timeline_spec(summary: MeasureSummary, *, height: int = 260) -> dict[str, Any]:
    """A Vega-Lite chart of the values coloured by status, with the targets as a dashed line and
    hollow points (a target alone for a period, such as a projection, still shows)."""
    m = summary.measure
    data = [r for r in summary.rows() if r["value"] is not None or r["target"] is not None]
    if m.period in ("year", "quarter"):
        # Few periods, named by the fiscal calendar ("FY2024", "Q1 FY2024"): a date axis would
        # label them by calendar month.
        x: dict[str, Any] = {"field": "period", "type": "ordinal", "title": None, "sort": None,
                             "axis": {"labelAngle": 0, "labelOverlap": "greedy"}}  # fmt: skip
        if data:
            # Every period from the first to the last on the axis, so a gap (a survey not run
            # from FY2006 to FY2011) keeps its width instead of FY2005 sitting next to FY2012.
            first, last = (date.fromisoformat(data[i]["start"]) for i in (0, -1))
            every = periods_between(first, last, m.period, m.fiscal_start)
            x["scale"] = {"domain": [p.label for p in every]}
    else:
        x = {"field": "start", "type": "temporal", "title": None}
    y = {"field": "value", "type": "quantitative", "title": m.get_unit_display()}
    tooltip = [{"field": "period"}, {"field": "value", "format": ",.2f"},
               {"field": "target", "format": ",.2f"},
               {"field": "status_label", "title": "Status"},
               {"field": "note", "title": "Note"}]  # fmt: skip
    # A measure with no target gets no target layers: an empty layer is an unlabelled graphic
    # to a screen reader (axe-core: svg-img-alt).
    targeted = any(r["target"] is not None for r in data)
    targets = [
        {"mark": {"type": "line", "strokeDash": [6, 4], "color": "#444"}, "encoding": {
            "x": x, "y": {"field": "target", "type": "quantitative"}}},
        {"mark": {"type": "point", "shape": "diamond", "size": 70, "color": "#444"},
         "encoding": {"x": x, "y": {"field": "target", "type": "quantitative"},
                      "tooltip": tooltip}},
    ] if targeted else []  # fmt: skip
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": f"{m.title}: values per {m.period}{' with the target' if targeted else ''}",
        "usermeta": EMBED_OPTIONS,
        "width": "container", "height": height,
        # Labels and legend inside the container (a legend at the side left a phone's plot a
        # sliver): the legend goes above, in columns, and the plot takes what is left.
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {"legend": {"orient": "top", "columns": 3}},
        "data": {"values": data},
        "layer": [
            {"mark": {"type": "line", "color": "#2d5a9e"}, "encoding": {"x": x, "y": y}},
            *targets,
            {"mark": {"type": "point", "filled": True, "size": 60}, "encoding": {
                "x": x, "y": {"field": "value", "type": "quantitative"},
                "color": {"field": "status_label", "type": "nominal", "title": "Status",
                          "scale": {"domain": [*(Status(s).label for s in STATUS_COLOURS),
                                               PARTIAL_LABEL],
                                    "range": [*STATUS_COLOURS.values(), PARTIAL_COLOUR]}},
                "tooltip": tooltip}},
        ],
    }  # fmt: skip
