"""What the public survey pages read: each published item's latest value and its trend, grouped
by category, with the survey's provenance. Everything comes from stored values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civicstat.performance.models import Survey, SurveyItem, SurveyKind
from civicstat.performance.summaries import EMBED_OPTIONS, MeasureSummary, summarise


@dataclass
class ItemSummary:
    item: SurveyItem
    s: MeasureSummary

    @property
    def first(self) -> Any:
        """The item's earliest value: where its trend starts."""
        known = [v for v in self.s.values if v.value is not None]
        return known[0] if known else None

    @property
    def first_label(self) -> str:
        return self.s.period_label(self.first) if self.first else ""

    @property
    def change_since_first(self) -> float | None:
        first, latest = self.first, self.s.latest
        if first is None or latest is None or first is latest:
            return None
        assert first.value is not None and latest.value is not None
        return float(latest.value - first.value)


@dataclass
class CategorySummary:
    name: str
    items: list[ItemSummary] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"category-{self.items[0].item.position}" if self.items else "category"


@dataclass
class SurveySummary:
    survey: Survey
    categories: list[CategorySummary]

    @property
    def items(self) -> list[ItemSummary]:
        return [i for c in self.categories for i in c.items]

    @property
    def latest_label(self) -> str:
        """The latest survey year any item has (FY2019): the provenance line's year."""
        latest = [i.s.latest for i in self.items if i.s.latest is not None]
        if not latest:
            return ""
        newest = max(latest, key=lambda v: v.period_start)
        return self.items[0].s.period_label(newest)

    @property
    def first_label(self) -> str:
        first = [i.first for i in self.items if i.first is not None]
        if not first:
            return ""
        return self.items[0].s.period_label(min(first, key=lambda v: v.period_start))

    @property
    def withheld(self) -> bool:
        return any(i.s.withheld for i in self.items)


def survey_summaries(surveys: list[Survey] | None = None) -> list[SurveySummary]:
    """Every survey (or those given) with its published items, reading all values at once."""
    chosen = surveys if surveys is not None else list(Survey.objects.all())
    items = list(
        SurveyItem.objects.filter(survey__in=chosen, measure__published=True)
        .select_related("measure__goal__area", "survey")
        .order_by("survey", "position")
    )
    by_measure = {s.measure.pk: s for s in summarise([i.measure for i in items])}
    out = []
    for survey in chosen:
        categories: dict[str, CategorySummary] = {}
        for item in items:
            if item.survey_id == survey.pk:
                category = categories.setdefault(item.category, CategorySummary(item.category))
                category.items.append(ItemSummary(item, by_measure[item.measure.pk]))
        if categories:
            out.append(SurveySummary(survey, list(categories.values())))
    return out


def category_chart_spec(category: CategorySummary) -> dict[str, Any]:
    """Bars of each item's latest value, with a tick at its first value, so a glance shows both
    where residents stand and which way each item has moved."""
    rows = []
    for i in category.items:
        if i.s.latest is None:
            continue
        rows.append({"item": i.item.name, "latest": i.s.latest.value,
                     "period": i.s.latest_label, "first": i.first.value if i.first else None,
                     "first_period": i.first_label})  # fmt: skip
    index = any(i.item.kind == SurveyKind.INDEX_2005_EQ_100 for i in category.items)
    title = "Index (2005 = 100)" if index else "% of respondents"
    scale: dict[str, Any] = {"zero": True} if index else {"domain": [0, 100]}
    y = {"field": "item", "type": "nominal", "title": None, "sort": None,
         "axis": {"labelLimit": 220}}  # fmt: skip
    tooltip = [{"field": "item", "title": "Item"}, {"field": "period", "title": "Latest"},
               {"field": "latest", "title": "Value", "format": ".1f"},
               {"field": "first_period", "title": "First"},
               {"field": "first", "title": "First value", "format": ".1f"}]  # fmt: skip
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": f"{category.name}: each item's latest value, with its first value",
        "usermeta": EMBED_OPTIONS,
        "width": "container", "height": {"step": 22},
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "bar", "color": "#2d5a9e"}, "encoding": {
                "y": y, "x": {"field": "latest", "type": "quantitative", "title": title,
                              "scale": scale},
                "tooltip": tooltip}},
            {"mark": {"type": "tick", "color": "#b3261e", "thickness": 3, "size": 18},
             "encoding": {"y": y, "x": {"field": "first", "type": "quantitative"},
                          "tooltip": tooltip}},
        ],
    }  # fmt: skip
