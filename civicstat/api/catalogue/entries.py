"""What the catalogue lists: each layer of cases (a SODA dataset), the performance measures and
their values, each resident survey, and the areas. One description per entry, read by the page
(/data), Socrata's catalogue API (/api/catalog/v1) and the DCAT-US catalogue (/data.json), so
the three agree.

Figures come from the rollups (row counts) and from the cases' time index (first and last
opened), never from a scan of the cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Sum
from django.urls import reverse
from django.utils import timezone

from civicstat.api.soda.datasets import Dataset, all_datasets
from civicstat.cases.models import Area, DataVersion
from civicstat.cases.query import CaseFilter, cases, rollup_parts
from civicstat.performance.models import Measure, MeasureValue, Survey


@dataclass
class Download:
    label: str
    url: str
    media_type: str


@dataclass
class Entry:
    identifier: str  # the SODA id for a layer; a slug otherwise
    title: str
    description: str
    kind: str  # "cases", "measures", "survey" or "areas"
    rows: int | None
    first: date | None
    last: date | None
    updated: datetime | None
    page: str  # the entry's page in the catalogue
    columns: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # field, type, name, about
    downloads: list[Download] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    dataset: Dataset | None = None
    elsewhere: tuple[str, str] | None = None  # (label, url): where the site shows it to residents


def _updated() -> datetime | None:
    return DataVersion.objects.values_list("changed_at", flat=True).first()


def layer_figures(dataset: Dataset) -> tuple[int, date | None, date | None]:
    """Public cases of the layer (from the rollups), and the local days of the first and last
    opened (from the cases' time index)."""
    f = CaseFilter(layers=[dataset.layer.slug])
    rows = 0
    for part in rollup_parts(f, service_rows=False):
        rows += part.aggregate(n=Sum("opened"))["n"] or 0
    # Walks the time index from either end to the first public case of the layer: no scan.
    times = cases(f).values_list("requested_at", flat=True)
    first = times.order_by("requested_at").first()
    last = times.order_by("-requested_at").first()
    return rows, _local_day(first), _local_day(last)


def _local_day(at: datetime | None) -> date | None:
    return timezone.localtime(at).date() if at else None


def layer_entry(dataset: Dataset, updated: datetime | None) -> Entry:
    from civicstat.api.soda.views import columns_metadata

    rows, first, last = layer_figures(dataset)
    base = f"/resource/{dataset.identifier}"
    return Entry(
        identifier=dataset.identifier,
        title=dataset.name,
        description=dataset.description
        or f"Every public {dataset.layer.noun} the city's system has sent CivicStat, one row each.",
        kind="cases",
        rows=rows,
        first=first,
        last=last,
        updated=updated,
        page=reverse("data-dataset", args=[dataset.identifier]),
        columns=[
            (c["fieldName"], c["dataTypeName"], c["name"], c["description"])
            for c in columns_metadata(dataset)
        ],  # fmt: skip
        downloads=[
            Download("CSV (first 1,000 rows; page with $offset)", f"{base}.csv", "text/csv"),
            Download("JSON", f"{base}.json", "application/json"),
            Download("GeoJSON", f"{base}.geojson", "application/vnd.geo+json"),
        ],
        keywords=["311", dataset.layer.noun, "service requests"],
        dataset=dataset,
    )


def measures_entry(updated: datetime | None) -> Entry | None:
    published = Measure.objects.filter(published=True)
    count = published.count()
    if not count:
        return None
    values = MeasureValue.objects.filter(measure__published=True).aggregate(
        n=Count("id"), first=Min("period_start"), last=Max("period_start")
    )
    downloads = [Download("Every measure's definition (JSON)",
                          reverse("performance-definitions"), "application/json")]  # fmt: skip
    for m in published.order_by("position", "title")[:50]:
        downloads.append(
            Download(
                f"{m.title}: values (CSV)",
                reverse("performance-measure-csv", args=[m.slug]),
                "text/csv",
            )
        )
    return Entry(
        identifier="performance-measures",
        title="Performance measures and their values",
        description=f"The city's {count} published performance measures, with each period's "
        "value and target.",
        kind="measures",
        rows=values["n"],
        first=values["first"],
        last=values["last"],
        updated=updated,
        page=reverse("data-dataset", args=["performance-measures"]),
        elsewhere=("The measures on the performance pages", reverse("performance")),
        columns=[
            ("period_start", "calendar_date", "Period start", "First day of the period."),
            ("value", "number", "Value", "The measure's value for the period."),
            ("target", "number", "Target", "What the city aims for."),
        ],  # fmt: skip
        downloads=downloads,
        keywords=["performance", "measures", "targets"],
    )


def survey_entries(updated: datetime | None) -> list[Entry]:
    """Each resident survey with published items: its values, a row per item and year."""
    found = []
    for survey in Survey.objects.order_by("name"):
        values = MeasureValue.objects.filter(
            measure__survey_item__survey=survey, measure__published=True, value__isnull=False
        ).aggregate(n=Count("id"), first=Min("period_start"), last=Max("period_end"))
        if not values["n"]:
            continue
        items = survey.items.filter(measure__published=True).count()
        found.append(Entry(
            identifier=f"survey-{survey.slug}",
            title=survey.name,
            description=f"{items} items of the survey by {survey.conducted_by}, each year's "
            f"share of respondents (or index), as published in {survey.report}.",
            kind="survey",
            rows=values["n"],
            first=values["first"],
            last=values["last"] - timedelta(days=1) if values["last"] else None,
            updated=survey.imported_at or updated,
            page=reverse("data-dataset", args=[f"survey-{survey.slug}"]),
            elsewhere=("The survey's page, with charts", survey.get_absolute_url()),
            columns=[
                ("category", "text", "Category", "The survey's grouping of questions."),
                ("item", "text", "Item", "The question or topic, as the report names it."),
                ("kind", "text", "Kind", "What the value is: a percentage or an index."),
                ("period", "text", "Period", "The survey year (fiscal year)."),
                ("period_start", "calendar_date", "Period start", "First day of the year."),
                ("period_end", "calendar_date", "Period end", "The day after its last day."),
                ("value", "number", "Value", "The published figure for the year."),
                ("measure", "text", "Measure", "The performance measure that tracks the item."),
            ],  # fmt: skip
            downloads=[Download("CSV (every item and year)",
                                reverse("performance-survey-csv", args=[survey.slug]),
                                "text/csv")],  # fmt: skip
            keywords=["survey", "resident satisfaction", "performance"],
        ))  # fmt: skip
    return found


def areas_entry(updated: datetime | None) -> Entry | None:
    count = Area.objects.count()
    if not count:
        return None
    kinds = sorted(set(Area.objects.values_list("kind", flat=True)))
    return Entry(
        identifier="areas",
        title="Areas: " + ", ".join(k.replace("-", " ") + "s" for k in kinds),
        description="The boundaries cases are counted in, as GeoJSON polygons (WGS 84).",
        kind="areas",
        rows=count,
        first=None,
        last=None,
        updated=updated,
        page=reverse("data-dataset", args=["areas"]),
        elsewhere=("The areas on the map", reverse("map")),
        columns=[
            ("kind", "text", "Kind", "council-district, neighborhood…"),
            ("name", "text", "Name", "As the city names it."),
            ("geometry", "polygon", "Boundary", "GeoJSON Polygon or MultiPolygon."),
        ],  # fmt: skip
        downloads=[
            Download("GeoJSON", reverse("map-areas") + "?detail=full", "application/vnd.geo+json")
        ],
        keywords=["boundaries", "districts", "neighborhoods"],
    )


def entries() -> list[Entry]:
    updated = _updated()
    found = [layer_entry(d, updated) for d in all_datasets()]
    for extra in (measures_entry(updated), *survey_entries(updated), areas_entry(updated)):
        if extra is not None:
            found.append(extra)
    return found


def soql_example(entry: Entry) -> str:
    """A SoQL query worth copying for the dataset: opened per month, the latest first."""
    if entry.dataset is None:
        return ""
    names = {spec.name: name for name, spec in entry.dataset.columns.items()}
    when = names["requested_datetime"]
    return (f"SELECT date_trunc_ym({when}) AS month, count(*) AS opened "
            f"GROUP BY month ORDER BY month DESC LIMIT 12")  # fmt: skip


def as_json_safe(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value
