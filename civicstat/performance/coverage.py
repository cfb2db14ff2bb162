"""Which periods the data covers: where each layer's data ends, which periods are partial, and
why a period has no value.

A period is *partial* when the data does not reach its last day: the period still in progress, or
the one a layer's data ends in (Kansas City's 311 export ends on 9 Sep 2020; its code violations in
2015). A partial period is shown, marked, but never scored: nine days of September are not a
September. A period that starts after the data of every layer a measure reads has ended has no
value at all (a count of 0 there would claim that nothing happened), and says so; so has a period
that ends before the first case of those layers (a layer loaded from 2015 cannot count 2010).

Where a layer's data ends comes from the rollups, never from a scan of the cases: the month of its
latest opened case from the small public month table, then the day from that month's day rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db.models import Max, Min
from django.utils import timezone

from civicstat.cases.models import DailyCaseCount, Layer, MonthlyPublicCount, Service
from civicstat.cases.query import FilterError, dimension_ids, parse_filters
from civicstat.performance.models import Calculation, Measure, NoDataReason

if TYPE_CHECKING:
    from civicstat.performance.calculations import Point


def day_text(day: date) -> str:
    """ "9 Sep 2020": unambiguous for readers on either side of the Atlantic."""
    return f"{day.day} {day:%b %Y}"


def layer_spans() -> dict[int, tuple[date, date]]:
    """Each layer's first and last day with a public case opened on it (layers with none are left
    out).

    One grouped read of the public month table (a few thousand rows at a million cases), then one
    month of day rows per layer and end, through the day table's (area, day) key.
    """
    months = (
        MonthlyPublicCount.objects.filter(area_id=0, opened__gt=0)
        .values_list("layer_id")
        .annotate(first=Min("month"), last=Max("month"))
        .order_by()
    )
    private = list(Service.objects.filter(private=True).values_list("id", flat=True))
    out: dict[int, tuple[date, date]] = {}
    for layer_id, first_month, last_month in months:
        ends = []
        for month, edge in ((first_month, Min("day")), (last_month, Max("day"))):
            next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            rows = DailyCaseCount.objects.filter(
                area_id=0, day__gte=month, day__lt=next_month, layer_id=layer_id, opened__gt=0
            ).exclude(service_id__in=private)
            ends.append(rows.aggregate(edge=edge)["edge"] or month)
        out[layer_id] = (ends[0], ends[1])
    return out


def layer_last_days() -> dict[int, date]:
    """Each layer's last day with a public case opened on it: where its data ends."""
    return {layer: last for layer, (_, last) in layer_spans().items()}


def measure_layers(measure: Measure) -> list[int] | None:
    """The layers whose cases the measure can count (its filters' and its denominator's); None
    when its filters cannot be read (the refresh reports why)."""
    stored = [measure.filters]
    if measure.calculation == Calculation.RATE and not measure.fixed_denominator:
        stored.append(measure.denominator_filters)
    layers: set[int] = set()
    for filters in stored:
        try:
            ids = dimension_ids(parse_filters(dict(filters)))
        except FilterError:
            return None
        if ids.layers is not None:
            layers.update(ids.layers)
        elif ids.services is not None:
            # A request type belongs to one layer: a measure of potholes ends with its layer.
            services = Service.objects.filter(id__in=ids.services)
            layers.update(services.values_list("layer_id", flat=True).distinct())
        else:
            layers.update(Layer.objects.values_list("id", flat=True))
    return sorted(layers)


def _names(layer_ids: list[int]) -> str:
    names = list(Layer.objects.filter(id__in=layer_ids).values_list("name", flat=True))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def mark_coverage(
    measure: Measure, points: list[Point], *, today: date | None = None
) -> list[Point]:
    """`points` with each period marked partial or past the end of the data, as module doc says."""
    today = today or timezone.localdate()
    layers = measure_layers(measure)
    spans = layer_spans()
    known = [spans[i] for i in layers or [] if i in spans]
    data_start = min(first for first, _ in known) if known else None
    data_end = max(last for _, last in known) if known else None
    out = []
    for p in points:
        period = p.period
        if data_start is not None and period.last_day < data_start:
            assert layers is not None
            note = f"No data: the data of {_names(layers)} begins on {day_text(data_start)}."
            p = replace(p, value=None, numerator=None, reason=NoDataReason.BEFORE_DATA, note=note)
        elif data_end is not None and period.start > data_end:
            assert layers is not None
            note = f"No data: the data of {_names(layers)} ends on {day_text(data_end)}."
            p = replace(p, value=None, numerator=None, reason=NoDataReason.DATA_ENDED,
                        note=note, data_through=data_end)  # fmt: skip
        elif data_end is not None and period.last_day > data_end:
            note = f"Partial: the data ends on {day_text(data_end)}. {p.note}"
            p = replace(p, partial=True, data_through=data_end, note=note.strip())
        elif period.last_day >= today:
            through = min(data_end, today) if data_end else today
            note = f"Partial: the period is still in progress. {p.note}"
            p = replace(p, partial=True, data_through=through, note=note.strip())
        out.append(p)
    return out


def manual_partial(period_end: date, *, today: date | None = None) -> bool:
    """Whether an entered value's period (ending the day before `period_end`) is still running."""
    return period_end > (today or timezone.localdate())
