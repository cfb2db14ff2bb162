"""Resident surveys: a survey's trend tables, in a long format, imported as yearly measures.

The file has one row per item and survey year: `category, item, measure, survey_period,
period_end_year, value` (Kansas City's, as transcribed from ETC Institute's report, is the
example). `measure` is the item's kind (`pct_satisfied`, `pct_excellent_or_good`,
`index_2005_eq_100`); `survey_period` is the survey's year as the report writes it ("2018-19" or
"2005") and `period_end_year` the year it ends in, which names the fiscal year the value is filed
under (FY2019). Each item becomes a manual measure, filed under the priority area its category is
linked to, with the survey's provenance in its Methods narrative.

A file with any bad row imports nothing: every rejected row is reported with its line and reason,
so the person fixing the file sees all of them at once, and no survey is left half-updated.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from civicstat.lib.periods import fiscal_year_period
from civicstat.performance.models import (
    Calculation,
    Direction,
    Goal,
    Measure,
    MeasureValue,
    PeriodKind,
    PriorityArea,
    StatusRule,
    Survey,
    SurveyItem,
    SurveyKind,
    Unit,
)
from civicstat.performance.services import measure_refresh

COLUMNS = ("category", "item", "measure", "survey_period", "period_end_year", "value")
PERCENT_KINDS = {SurveyKind.PCT_SATISFIED, SurveyKind.PCT_EXCELLENT_OR_GOOD}
# What each kind means, for the item's description and Methods narrative.
KIND_TEXT = {
    SurveyKind.PCT_SATISFIED: "The share of respondents who said they were satisfied or very "
    "satisfied.",
    SurveyKind.PCT_EXCELLENT_OR_GOOD: "The share of respondents who rated it excellent or good.",
    SurveyKind.INDEX_2005_EQ_100: "A composite index of satisfaction with the major city "
    "services, set to 100 in 2005; a higher number means more satisfied residents than in 2005.",
}
KIND_SUFFIX = {
    SurveyKind.PCT_SATISFIED: "% satisfied",
    SurveyKind.PCT_EXCELLENT_OR_GOOD: "% excellent or good",
    SurveyKind.INDEX_2005_EQ_100: "index, 2005 = 100",
}
_PERIOD = re.compile(r"(?P<first>\d{4})(?:-(?P<second>\d{2}|\d{4}))?")
FIRST_YEAR = 1950  # no survey is older; an earlier year is a typing slip


class SurveyError(ValueError):
    """A survey file that cannot be imported; `rejected` lists its bad rows."""

    def __init__(self, message: str, rejected: list[Rejected] | None = None, read: int = 0):
        super().__init__(message)
        self.rejected = rejected or []
        self.read = read


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class SurveyRow:
    line: int
    category: str
    item: str
    kind: SurveyKind
    survey_period: str
    fiscal_year: int
    value: float


@dataclass
class SurveyReading:
    """The file's rows: every one either valid or rejected (`read` = both counts added up)."""

    rows: list[SurveyRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def read(self) -> int:
        return len(self.rows) + len(self.rejected)


@dataclass(frozen=True)
class SurveyImported:
    survey: Survey
    items: int
    categories: int
    values: int
    first_year: int
    last_year: int
    removed: int  # items of an earlier import no longer in the file


def _fiscal_year(period: str, end_year: str) -> int:
    """The fiscal year a survey year is filed under; ValueError says what is wrong."""
    match = _PERIOD.fullmatch(period)
    if not match:
        raise ValueError(
            f"unknown survey period {period!r}: write it as the report does, 2018-19 or 2005"
        )
    first = int(match["first"])
    second = match["second"]
    if second is None:
        derived = first
    else:
        derived = int(second) if len(second) == 4 else first // 100 * 100 + int(second)
        if derived != first + 1:
            raise ValueError(f"unknown survey period {period!r}: its two years must be consecutive")
    if end_year and end_year != str(derived):
        raise ValueError(
            f"survey period {period!r} ends in {derived}, but period_end_year says {end_year!r}"
        )
    if not FIRST_YEAR <= derived <= timezone.localdate().year + 1:
        raise ValueError(f"unknown survey period {period!r}: {derived} is not a survey year")
    return derived


def _value(text: str, kind: SurveyKind) -> float:
    cleaned = text.strip().rstrip("%").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"value {text!r} is not a number")
    if kind in PERCENT_KINDS and not 0 <= value <= 100:
        raise ValueError(f"value {text.strip()} is a percentage ({kind.value}) outside 0–100")
    if kind == SurveyKind.INDEX_2005_EQ_100 and value < 0:
        raise ValueError(f"value {text.strip()} is an index below 0")
    return value


def survey_read(text: str) -> SurveyReading:
    """Check every row of a long-format survey file. Raises SurveyError only when the file as a
    whole cannot be read (no header, missing columns); bad rows are returned as rejected."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [(c or "").strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise SurveyError(
            f"the file needs a header row with the columns {', '.join(COLUMNS)}; "
            f"missing: {', '.join(missing)}"
        )
    reading = SurveyReading()
    kinds: dict[tuple[str, str], tuple[SurveyKind, int]] = {}
    seen: dict[tuple[str, str, int], int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        category, item = " ".join(row["category"].split()), " ".join(row["item"].split())
        try:
            if not category or not item:
                raise ValueError("the category and the item must both be filled in")
            try:
                kind = SurveyKind(row["measure"])
            except ValueError:
                raise ValueError(
                    f"unknown measure {row['measure']!r}: use one of "
                    f"{', '.join(k.value for k in SurveyKind)}"
                ) from None
            year = _fiscal_year(row["survey_period"], row["period_end_year"])
            value = _value(row["value"], kind)
            first_kind = kinds.setdefault((category, item), (kind, line))
            if first_kind[0] != kind:
                raise ValueError(
                    f"{item!r} is {first_kind[0].value} on line {first_kind[1]}; an item has "
                    "one measure"
                )
            first = seen.setdefault((category, item, year), line)
            if first != line:
                raise ValueError(
                    f"duplicate: {item!r} ({category}) already has a value for "
                    f"{row['survey_period']} on line {first}"
                )
        except ValueError as error:
            reading.rejected.append(Rejected(line, str(error)))
            continue
        reading.rows.append(SurveyRow(line, category, item, kind, row["survey_period"],
                                      year, value))  # fmt: skip
    if not reading.rows and not reading.rejected:
        raise SurveyError("the file has no rows under its header")
    return reading


def _methods(survey: Survey, kind: SurveyKind, periods: list[tuple[int, str]]) -> str:
    years = ", ".join(f"FY{year} ({label})" if label != str(year) else f"FY{year}"
                      for year, label in periods)  # fmt: skip
    report = f"[{survey.report}]({survey.report_url})" if survey.report_url else survey.report
    parts = [
        f"From the **{survey.name}**, conducted by {survey.conducted_by}; the figures are those "
        f"published in {report}.",
        KIND_TEXT[kind],
        "Each survey year is filed under the fiscal year it ends in (the 2018-19 survey is "
        f"FY2019). Survey years here: {years}.",
        "These are residents' answers, not the city's records, and no target is set for them.",
    ]
    if survey.notes:
        parts.append(survey.notes)
    return "\n\n".join(parts)


def _unique_slug(base: str, own: Measure | None) -> str:
    base = base[:50].strip("-") or "survey-item"
    candidate, n = base, 2
    taken = Measure.objects.exclude(pk=own.pk) if own else Measure.objects.all()
    while taken.filter(slug=candidate).exists():
        suffix = f"-{n}"
        candidate, n = f"{base[: 50 - len(suffix)].strip('-')}{suffix}", n + 1
    return candidate


def survey_import(
    *, text: str, slug: str, name: str, conducted_by: str, report: str, report_url: str = "",
    notes: str = "", areas: dict[str, str], default_area: str = "",
    item_areas: dict[str, str] | None = None,
    fiscal_year_start_month: int | None = None, published: bool = True,
) -> SurveyImported:  # fmt: skip
    """Import (or re-import) a survey: all of it in one transaction, or nothing.

    `areas` links each category to a priority area's slug; `item_areas` links single items
    (by name, in any category) elsewhere than their category; `default_area` takes the rest.
    Raises SurveyError listing every rejected row, or naming what else is wrong.
    """
    reading = survey_read(text)
    if reading.rejected:
        raise SurveyError(
            f"{len(reading.rejected)} of {reading.read} rows rejected; nothing was imported",
            reading.rejected, reading.read,
        )  # fmt: skip
    item_areas = item_areas or {}
    wanted = {*areas.values(), *item_areas.values()} | ({default_area} if default_area else set())
    known = {a.slug: a for a in PriorityArea.objects.filter(slug__in=wanted)}
    if unknown := sorted(wanted - set(known)):
        raise SurveyError(f"unknown priority area {', '.join(map(repr, unknown))}; nothing was "
                          "imported")  # fmt: skip
    categories = list(dict.fromkeys(r.category for r in reading.rows))
    linked = {r.category for r in reading.rows if r.item not in item_areas}
    if unlinked := [c for c in categories if c in linked and c not in areas and not default_area]:
        raise SurveyError(
            "these categories are linked to no priority area (give --area CATEGORY=AREA or "
            f"--default-area): {'; '.join(unlinked)}; nothing was imported"
        )
    if extra := sorted(set(areas) - set(categories)):
        raise SurveyError(f"no row has the category {', '.join(map(repr, extra))}; check its "
                          "spelling; nothing was imported")  # fmt: skip
    if extra_items := sorted(set(item_areas) - {r.item for r in reading.rows}):
        raise SurveyError(f"no row has the item {', '.join(map(repr, extra_items))}; check its "
                          "spelling; nothing was imported")  # fmt: skip
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,50}", slug):
        raise SurveyError(f"the survey's slug {slug!r} must be letters, digits, - and _ only")
    by_item: dict[tuple[str, str], list[SurveyRow]] = {}
    for r in reading.rows:
        by_item.setdefault((r.category, r.item), []).append(r)
    now = timezone.now()
    with transaction.atomic():
        survey = Survey.objects.filter(slug=slug).first() or Survey(slug=slug)
        survey.name, survey.conducted_by, survey.report = name, conducted_by, report
        survey.report_url, survey.notes, survey.imported_at = report_url, notes, now
        _clean(survey, "the survey")
        survey.save()
        old = {(i.category, i.name): i for i in survey.items.select_related("measure")}
        goals: dict[str, Goal] = {}
        for position, ((category, item_name), rows) in enumerate(by_item.items()):
            area = known[item_areas.get(item_name) or areas.get(category) or default_area]
            if area.slug not in goals:
                goals[area.slug], _ = Goal.objects.update_or_create(
                    area=area, slug=slug[:50],
                    defaults={"title": f"Residents' ratings in the {name}"[:300],
                              "description": f"Items of the {name}, by {conducted_by}.",
                              "position": 90},
                )  # fmt: skip
            item = old.pop((category, item_name), None)
            measure = item.measure if item else Measure()
            _survey_measure(measure, survey, goals[area.slug], rows, published, position,
                            fiscal_year_start_month)  # fmt: skip
            measure.values.all().delete()
            MeasureValue.objects.bulk_create(
                MeasureValue(
                    measure=measure,
                    period_start=(
                        p := fiscal_year_period(r.fiscal_year, measure.fiscal_start)
                    ).start,
                    period_end=p.end,
                    value=r.value,
                    source=MeasureValue.Source.MANUAL,
                    computed_at=now,
                )  # fmt: skip
                for r in rows
            )
            SurveyItem.objects.update_or_create(
                measure=measure,
                defaults={"survey": survey, "category": category, "name": item_name,
                          "kind": rows[0].kind, "position": position},
            )  # fmt: skip
            measure_refresh(measure=measure)  # status and score, and the data version moves
        for gone in old.values():
            gone.measure.delete()  # its item goes with it
        # Goals this survey made that lost their last item (a category linked elsewhere now).
        Goal.objects.filter(slug=slug[:50], measures=None).delete()
    years = [r.fiscal_year for r in reading.rows]
    return SurveyImported(survey, len(by_item), len(categories), len(reading.rows),
                          min(years), max(years), len(old))  # fmt: skip


def _clean(obj: Survey | Measure, what: str) -> None:
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise SurveyError(f"{what}: {messages}; nothing was imported") from None


def _survey_measure(
    measure: Measure, survey: Survey, goal: Goal, rows: list[SurveyRow], published: bool,
    position: int, fiscal_year_start_month: int | None,
) -> None:  # fmt: skip
    """Set the item's measure from its rows and save it."""
    first = rows[0]
    kind = first.kind
    percent = kind in PERCENT_KINDS
    index_word = " index" if kind == SurveyKind.INDEX_2005_EQ_100 else ""
    measure.slug = _unique_slug(slugify(f"{first.item}{index_word}"), measure if measure.pk
                                else None)  # fmt: skip
    measure.goal, measure.department = goal, None
    measure.title = f"{first.item} ({KIND_SUFFIX[kind]})"[:300]
    measure.short_name = first.item if len(first.item) <= 60 else first.item[:59] + "…"
    measure.description = f"{survey.name}, {first.category}: {first.item}. {KIND_TEXT[kind]}"
    measure.position, measure.published = 100 + position, published
    measure.unit = Unit.PERCENT if percent else Unit.NUMBER
    measure.decimals = 1 if percent else 0
    measure.direction, measure.period = Direction.UP, PeriodKind.YEAR
    measure.fiscal_year_start_month = fiscal_year_start_month
    measure.calculation, measure.status_rule = Calculation.MANUAL, StatusRule.NONE
    measure.target = measure.on_track_band = measure.near_band = None
    periods = sorted({(r.fiscal_year, r.survey_period) for r in rows})
    measure.methods = _methods(survey, kind, periods)
    _clean(measure, f"the item {first.item!r}")
    measure.save()
