"""Writes for measures: validating a definition, refreshing values, uploading manual values."""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from civicstat.cases.query import FilterError, dimension_ids, rollup_rows
from civicstat.cases.services import data_version, data_version_touch
from civicstat.cases.signals import ChangeScope
from civicstat.lib.periods import Period, fiscal_year_period, period_of
from civicstat.performance.calculations import ATTRIBUTE_CALCULATIONS, compute, measure_filter
from civicstat.performance.coverage import manual_partial
from civicstat.performance.models import (
    Calculation,
    Direction,
    Measure,
    MeasureTarget,
    MeasureValue,
    NoDataReason,
    StatusRule,
)
from civicstat.performance.numbers import parse_number
from civicstat.performance.scoring import score_of, status_of

log = logging.getLogger(__name__)


def measure_validate(*, measure: Measure) -> None:
    """Raise ValidationError, field by field, for a definition that cannot be computed."""
    errors: dict[str, str] = {}
    calc = measure.calculation
    for field in ("filters", "denominator_filters"):
        value = getattr(measure, field)
        if not isinstance(value, dict):
            errors[field] = (
                'Write the filters as a JSON object, such as {"service_group": "Animal"}.'
            )
            continue
        try:
            f = measure_filter(value)
            if calc not in ATTRIBUTE_CALCULATIONS and calc != Calculation.MANUAL:
                rollup_rows(f)  # the filter must be answerable from the rollups
        except FilterError as error:
            errors[field] = f"{error}."
    no_denominator = not measure.denominator_filters and not measure.fixed_denominator
    if calc == Calculation.RATE and "denominator_filters" not in errors and no_denominator:
        errors["denominator_filters"] = (
            "A rate needs a denominator: filters for the cases to divide by, or a fixed number."
        )
    if calc in ATTRIBUTE_CALCULATIONS and not re.fullmatch(r"[A-Za-z0-9_]+", measure.attribute):
        errors["attribute"] = "Name the case attribute to read (letters, digits and _ only)."
    if calc == Calculation.CUMULATIVE and not measure.start_date:
        errors["start_date"] = "A cumulative total needs the date it counts from."
    if (
        measure.fiscal_year_start_month is not None
        and not 1 <= measure.fiscal_year_start_month <= 12
    ):
        errors["fiscal_year_start_month"] = "Give a month from 1 (January) to 12 (December)."
    if measure.status_rule == StatusRule.THRESHOLDS:
        if measure.direction == Direction.TARGET:
            errors["status_rule"] = "Thresholds need a direction; use proximity for on-target."
        elif measure.on_track_band is None or measure.near_band is None:
            errors["near_band"] = "Thresholds need both the on-track and the near edges."
        elif (measure.near_band - measure.on_track_band) * (
            1 if measure.direction == Direction.DOWN else -1
        ) < 0:
            errors["near_band"] = (
                "The near edge must lie beyond the on-track edge, away from better."
            )
    if measure.status_rule == StatusRule.MANUAL and not measure.manual_status:
        errors["manual_status"] = "Choose the status to show."
    if errors:
        raise ValidationError(errors)


def _targets(measure: Measure) -> dict[date, float]:
    return dict(measure.targets.values_list("period_start", "value"))


def _status_and_score(
    measure: Measure, value: float | None, target: float | None
) -> tuple[str, float | None]:
    status = status_of(
        rule=measure.status_rule, direction=measure.direction, value=value, target=target,
        manual=measure.manual_status, on_track_band=measure.on_track_band,
        near_band=measure.near_band,
    )  # fmt: skip
    return status, score_of(direction=measure.direction, value=value, target=target)


def _score(measure: Measure, v: MeasureValue) -> None:
    """Status and score of a stored or drafted value: none for a partial period (not scored)."""
    if v.partial:
        v.status, v.score = "", None
    else:
        v.status, v.score = _status_and_score(measure, v.value, v.target)


def measure_values_draft(*, measure: Measure, last_day: date | None = None) -> list[MeasureValue]:
    """The values `measure_refresh` would store, unsaved: what the admin's preview shows. The
    measure itself may be unsaved (a definition being edited); manual measures have none."""
    now = timezone.now()
    targets = _targets(measure) if measure.pk else {}
    rows = []
    for point in compute(measure, last_day=last_day):
        v = MeasureValue(
            measure=measure, period_start=point.period.start, period_end=point.period.end,
            value=point.value, numerator=point.numerator, denominator=point.denominator,
            target=targets.get(point.period.start, measure.target), computed_at=now,
            partial=point.partial, data_through=point.data_through,
            no_data_reason=point.reason if point.value is None else "", note=point.note,
        )  # fmt: skip
        _score(measure, v)
        rows.append(v)
    return rows


def measure_refresh(*, measure: Measure, last_day: date | None = None) -> int:
    """Recompute the measure's values (or, when manual, their targets, status and score) and store
    them with the time and data version they were computed at. Returns how many periods it has.
    Partial periods are stored marked and unscored (`coverage`)."""
    now = timezone.now()
    version = data_version()  # read first: data arriving meanwhile queues another refresh
    targets = _targets(measure)
    with transaction.atomic():
        Measure.objects.filter(pk=measure.pk).update(computed_version=version)
        measure.computed_version = version
        data_version_touch()  # pages cached with the old values go stale at the commit
        if measure.calculation == Calculation.MANUAL:
            values = list(measure.values.all())
            for v in values:
                v.target = targets.get(v.period_start, measure.target)
                v.partial = manual_partial(v.period_end)
                v.no_data_reason = NoDataReason.NOT_REPORTED if v.value is None else ""
                v.note = (
                    "Partial: the period is still in progress." if v.partial
                    else "No value was reported for this period." if v.value is None else ""
                )  # fmt: skip
                _score(measure, v)
                v.computed_at = now
            MeasureValue.objects.bulk_update(values, [
                "target", "status", "score", "computed_at", "partial", "no_data_reason", "note",
            ])  # fmt: skip
            return len(values)
        rows = measure_values_draft(measure=measure, last_day=last_day)
        measure.values.all().delete()
        MeasureValue.objects.bulk_create(rows)
    return len(rows)


def measures_refresh(*, scope: ChangeScope | None = None, version: int = 0) -> int:
    """Refresh the measures a change could affect; returns how many were refreshed.

    With no `scope`, every measure. With one, only computed measures whose filters could select a
    case of the changed layers, services and departments (an area or status filter cannot rule a
    measure out: a case's areas and status are not part of the scope). A measure already computed
    at data `version` or later is skipped.
    """
    measures = Measure.objects.all()
    if version:
        measures = measures.filter(computed_version__lt=version)
    if scope is not None:
        if scope.is_empty():
            return 0
        measures = measures.exclude(calculation=Calculation.MANUAL)
    picked = [m for m in measures if scope is None or measure_affected(m, scope)]
    done = 0
    for measure in picked:
        try:
            measure_refresh(measure=measure)
            done += 1
        except FilterError as error:
            # A filter naming something gone (a request type made private): the others must
            # still be refreshed; this one keeps its values, withheld if a privacy change asked.
            log.warning("measure %s was not recomputed: %s", measure.slug, error)
    return done


def measures_privacy_follow(*, scope: ChangeScope | None) -> None:
    """In the transaction that turned request types private or public again (`scope`: what their
    cases are filed under; None: anything), after the data version moved: recompute each
    computed measure whose values could include or leave out those cases, or withhold it.

    Those computed from the rollups (a query or two each, ~10 ms at 10 M cases) are recomputed
    here. The sum, average and most recent value of an attribute scan the cases table (seconds
    at that size), so they are withheld until the queued refresh recomputes them, and so is a
    measure whose recompute fails (a filter naming the request type now private): the public
    sees "being recomputed", never figures computed with the old flags.
    """
    version = data_version()
    # Computed at this version already: by an earlier service of the same change.
    measures = Measure.objects.exclude(calculation=Calculation.MANUAL).filter(
        computed_version__lt=version
    )
    picked = [m for m in measures if scope is None or measure_affected(m, scope)]
    # All of them, recomputed here or not: values computed at an older version (a refresh that
    # read the data before this change and writes after it) are never shown.
    Measure.objects.filter(pk__in=[m.pk for m in picked]).update(withheld_version=version)
    for measure in picked:
        if measure.calculation in ATTRIBUTE_CALCULATIONS:
            continue
        try:
            with transaction.atomic():  # a savepoint: a failed recompute leaves nothing behind
                measure_refresh(measure=measure)
        except FilterError as error:  # it names the request type made private
            log.warning("measure %s is withheld: %s", measure.slug, error)
        except Exception:  # the privacy change must go through whatever a measure does
            log.exception("measure %s is withheld until it can be recomputed", measure.slug)


def measure_affected(measure: Measure, scope: ChangeScope) -> bool:
    """Whether a change within `scope` could move any of the measure's values."""
    if measure.calculation == Calculation.MANUAL:
        return False
    filters = [measure.filters]
    if measure.calculation == Calculation.RATE and not measure.fixed_denominator:
        filters.append(measure.denominator_filters)
    for stored in filters:
        try:
            ids = dimension_ids(measure_filter(stored))
        except FilterError:
            return True  # the refresh reports what is wrong with the filter
        if (
            _overlaps(ids.layers, scope.layers)
            and _overlaps(ids.services, scope.services)
            and _overlaps(ids.departments, scope.departments)
        ):
            return True
    return False


def _overlaps(wanted: list[int] | None, changed: frozenset[int]) -> bool:
    """None: the filter does not name this dimension, so any change to it counts."""
    return wanted is None or not changed.isdisjoint(wanted)


# ---- Manual and uploaded values -----------------------------------------------------------------


@dataclass
class ValueRow:
    period: Period
    value: float | None


def read_period(text: str, measure: Measure) -> Period:
    """A period from "2024-03-15" (any day in it), "2024-03" (a month) or "FY2024" (a year)."""
    text = text.strip()
    kind, month = measure.period, measure.fiscal_start
    if m := re.fullmatch(r"FY ?(\d{4})", text, re.IGNORECASE):
        if kind != "year":
            raise ValueError(f"{text!r} is a fiscal year, but this measure reports by {kind}")
        return fiscal_year_period(int(m[1]), month)
    try:
        month_only = re.fullmatch(r"\d{4}-\d{2}", text)
        day = date.fromisoformat(f"{text}-01" if month_only else text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a period; write a date in it (2024-03-15), a month (2024-03) or a "
            "fiscal year (FY2024)"
        ) from None
    return period_of(day, kind, month)


def read_values_csv(*, measure: Measure, text: str) -> list[ValueRow]:
    """Rows of a values CSV (columns: period, value), all checked; ValueError names the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"period", "value"} <= columns:
        raise ValueError("the CSV needs a header row with the columns period and value")
    rows: list[ValueRow] = []
    seen: set[date] = set()
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
        try:
            period = read_period(row["period"], measure)
            value, _ = parse_number(row["value"])
        except ValueError as error:
            raise ValueError(f"line {line}: {error}") from None
        if period.start in seen:
            raise ValueError(f"line {line}: {period.label} appears twice")
        seen.add(period.start)
        rows.append(ValueRow(period, value))
    if not rows:
        raise ValueError("the CSV has no values under its header")
    return rows


def measure_values_set(*, measure: Measure, rows: list[ValueRow]) -> int:
    """Store entered values (a manual measure's), replacing those of the same periods."""
    if measure.calculation != Calculation.MANUAL:
        raise ValueError(
            f"{measure.slug} is computed from the data; only manual measures take values"
        )
    now = timezone.now()
    with transaction.atomic():
        for row in rows:
            MeasureValue.objects.update_or_create(
                measure=measure, period_start=row.period.start,
                defaults={"period_end": row.period.end, "value": row.value, "computed_at": now,
                          "source": MeasureValue.Source.MANUAL},
            )  # fmt: skip
        measure_refresh(measure=measure)
    return len(rows)


def measure_targets_set(*, measure: Measure, targets: dict[date, float]) -> None:
    """Replace the measure's per-period targets."""
    with transaction.atomic():
        data_version_touch()
        measure.targets.all().delete()
        MeasureTarget.objects.bulk_create(
            MeasureTarget(measure=measure, period_start=start, value=value)
            for start, value in targets.items()
        )
