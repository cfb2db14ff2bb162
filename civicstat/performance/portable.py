"""Measure definitions as plain data (YAML files, the JSON API): what a city keeps in version
control and shares with another city. Values computed from data are not part of a definition;
manual values and targets are, because nothing else could bring them back."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from civicstat.cases.models import Department
from civicstat.performance.models import Calculation, Goal, Measure, PriorityArea
from civicstat.performance.services import (
    ValueRow,
    measure_refresh,
    measure_targets_set,
    measure_validate,
    measure_values_set,
    read_period,
)

FORMAT_VERSION = 1
MEASURE_FIELDS = (
    "title", "short_name", "description", "published", "position", "unit", "decimals",
    "direction", "period", "fiscal_year_start_month", "start_date", "calculation", "filters",
    "denominator_filters", "fixed_denominator", "target_days", "attribute", "target",
    "status_rule", "manual_status", "on_track_band", "near_band", "methods", "analysis",
)  # fmt: skip


class DefinitionError(ValueError):
    """A definition that cannot be imported; the message says where and why."""


def measure_definition(measure: Measure) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": measure.slug}
    for name in MEASURE_FIELDS:
        value = getattr(measure, name)
        if value in (None, "", {}) and name not in ("published",):
            continue
        out[name] = value.isoformat() if isinstance(value, date) else value
    if measure.department_id:
        out["department"] = measure.department.slug  # type: ignore[union-attr]
    targets = {t.period_start.isoformat(): t.value for t in measure.targets.all()}
    if targets:
        out["targets"] = targets
    if measure.calculation == Calculation.MANUAL:
        out["values"] = {v.period_start.isoformat(): v.value for v in measure.values.all()}
    return out


def definitions_export(
    areas: list[PriorityArea] | None = None, *, published_only: bool = False
) -> dict[str, Any]:
    """Every priority area (or the ones given) with its goals and measures, drafts included
    unless `published_only` (what the public API shows)."""
    chosen = areas if areas is not None else list(PriorityArea.objects.all())
    measures = Measure.objects.published() if published_only else Measure.objects.all()
    return {
        "version": FORMAT_VERSION,
        "priority_areas": [
            {
                "slug": a.slug,
                "name": a.name,
                "description": a.description,
                "position": a.position,
                "goals": [
                    {
                        "slug": g.slug,
                        "title": g.title,
                        "description": g.description,
                        "position": g.position,
                        "measures": [measure_definition(m) for m in measures.filter(goal=g)],
                    }
                    for g in a.goals.all()
                ],
            }  # fmt: skip
            for a in chosen
        ],
    }


def definitions_import(data: Any) -> int:
    """Create or update the areas, goals and measures in `data`; all of it or nothing.
    Returns how many measures were imported. Raises DefinitionError naming the bad item."""
    if not isinstance(data, dict) or not isinstance(data.get("priority_areas"), list):
        raise DefinitionError("the file must be a mapping with a priority_areas list")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise DefinitionError(
            f"this is format version {data.get('version')}; {FORMAT_VERSION} is read"
        )
    imported: list[Measure] = []
    with transaction.atomic():
        for a in data["priority_areas"]:
            where = f"priority area {a.get('slug')!r}"
            area = _save(PriorityArea, where, {"slug": a.get("slug")},
                         name=a.get("name", ""), description=a.get("description", ""),
                         position=a.get("position", 0))  # fmt: skip
            for g in a.get("goals") or []:
                where_g = f"{where}, goal {g.get('slug')!r}"
                goal = _save(Goal, where_g, {"area": area, "slug": g.get("slug")},
                             title=g.get("title", ""), description=g.get("description", ""),
                             position=g.get("position", 0))  # fmt: skip
                for m in g.get("measures") or []:
                    imported.append(_measure(goal, f"{where_g}, measure {m.get('slug')!r}", m))
        for measure in imported:
            measure_refresh(measure=measure)
    return len(imported)


def _save(model: Any, where: str, keys: dict[str, Any], **fields: Any) -> Any:
    obj = model.objects.filter(**keys).first() or model(**keys)
    for name, value in fields.items():
        setattr(obj, name, value)
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise DefinitionError(f"{where}: {_flatten(error)}") from None
    obj.save()
    return obj


def _flatten(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
    return " ".join(error.messages)


def _measure(goal: Goal, where: str, m: dict[str, Any]) -> Measure:
    unknown = set(m) - {*MEASURE_FIELDS, "slug", "department", "targets", "values"}
    if unknown:
        raise DefinitionError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    department = None
    if m.get("department"):
        department = Department.objects.filter(slug=m["department"]).first()
        if department is None:
            raise DefinitionError(f"{where}: unknown department {m['department']!r}")
    slug = str(m.get("slug") or "")
    measure = Measure.objects.filter(slug=slug).first() or Measure(slug=slug)
    defaults = Measure()
    for name in MEASURE_FIELDS:
        setattr(measure, name, m.get(name, getattr(defaults, name)))
    measure.goal, measure.department = goal, department
    try:
        measure.full_clean(validate_unique=False, validate_constraints=False)
        measure_validate(measure=measure)
    except ValidationError as error:
        raise DefinitionError(f"{where}: {_flatten(error)}") from None
    measure.save()
    try:
        targets = {read_period(str(k), measure).start: float(v)
                   for k, v in (m.get("targets") or {}).items()}  # fmt: skip
        measure_targets_set(measure=measure, targets=targets)
        if measure.calculation == Calculation.MANUAL and m.get("values"):
            rows = [ValueRow(read_period(str(k), measure), None if v is None else float(v))
                    for k, v in m["values"].items()]  # fmt: skip
            measure_values_set(measure=measure, rows=rows)
    except (TypeError, ValueError) as error:
        raise DefinitionError(f"{where}: {error}") from None
    return measure
