"""The one query builder for cases: filters in, queryset out.

Every reader of cases (pages, APIs, feeds, measures) builds a `CaseFilter` and asks `cases()` or,
for counts and close times, `rollup_parts()` (whole months from the month tables, partial months
from the day tables), `rollup_rows()` (day rows only) or, to sum several spans of days in one query
per table, `rollup_tables()` with `span_conditions()`. Private services are excluded here and
nowhere else, so a filter means the same thing everywhere and nothing private leaks through a new
page. (The public-only tables this builder reads, the month counts by layer and department, the
departments' histograms and the map's cell totals, hold no private case to begin with: they are
rewritten when a request type changes.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from civicstat.cases.aliases import codes_merged, groups_merged
from civicstat.cases.models import (
    Area,
    Case,
    CloseTimeTotal,
    DailyCaseCount,
    DailyCloseTime,
    Department,
    DepartmentCloseTime,
    Layer,
    MonthlyCaseCount,
    MonthlyCloseHistogram,
    MonthlyCloseTime,
    MonthlyPublicCloseHistogram,
    MonthlyPublicCount,
    Service,
    ServiceAlias,
    ServiceGroupAlias,
    StatusGroup,
    StatusMapping,
)
from civicstat.cases.sensitive import PUBLIC_MARGIN_DEG
from civicstat.lib import params
from civicstat.lib.params import ParamError
from civicstat.lib.periods import month_split

# A filter value that names nothing or cannot be read; the message says what would work. The one
# error type of every request parameter's parser: views answer it with a 400.
FilterError = ParamError


@dataclass
class CaseFilter:
    layers: list[str] = field(default_factory=list)  # layer slugs
    services: list[str] = field(default_factory=list)  # service codes
    service_groups: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)  # department slugs
    status_group: str = ""  # "open", "closed" or "" for both
    statuses: list[str] = field(default_factory=list)  # local status codes
    requested_from: date | None = None  # inclusive, local days
    requested_to: date | None = None  # inclusive
    closed_from: date | None = None
    closed_to: date | None = None
    areas: list[int] = field(default_factory=list)  # Area ids
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    text: str = ""
    include_private: bool = False  # staff views only; never set from a public query string

    def is_empty(self) -> bool:
        return all(not getattr(self, f.name) for f in fields(self))


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def cases(f: CaseFilter) -> QuerySet[Case]:
    """The cases matching `f`, private services excluded unless `f.include_private`."""
    qs = Case.objects.all() if f.include_private else Case.objects.public()
    if f.layers:
        qs = qs.filter(layer__slug__in=f.layers)
    # A renamed category is one category: a filter on either name matches both (`cases.aliases`).
    if f.services:
        qs = qs.filter(service__code__in=codes_merged(f.services))
    if f.service_groups:
        qs = qs.filter(service__group__in=groups_merged(f.service_groups))
    if f.departments:
        qs = qs.filter(department__slug__in=f.departments)
    if f.status_group:
        qs = qs.filter(status_group=f.status_group)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.requested_from:
        qs = qs.filter(requested_at__gte=_local_start(f.requested_from))
    if f.requested_to:
        qs = qs.filter(requested_at__lt=_local_start(f.requested_to + timedelta(days=1)))
    if f.closed_from:
        qs = qs.filter(closed_at__gte=_local_start(f.closed_from))
    if f.closed_to:
        qs = qs.filter(closed_at__lt=_local_start(f.closed_to + timedelta(days=1)))
    if f.areas:
        qs = qs.filter(areas__in=f.areas)
    if f.bbox:
        # The public point decides (`civicstat.cases.sensitive`): a viewport matched on exact
        # points would, narrowed step by step, find a sensitive case's exact place. The exact
        # coordinates widened by the most a public point can differ narrow it first, on their index.
        west, south, east, north = f.bbox
        m = PUBLIC_MARGIN_DEG
        qs = qs.filter(lat__gte=south - m, lat__lte=north + m, lon__gte=west - m,
                       lon__lte=east + m, public_lat__gte=south, public_lat__lte=north,
                       public_lon__gte=west, public_lon__lte=east)  # fmt: skip
    if f.text:
        qs = qs.filter(_text_matches(f.text, include_private=f.include_private))
    return qs


def _text_matches(text: str, *, include_private: bool) -> Q:
    """A keyword: in the description, the address or the request type's name, or the whole case
    number ("#" before it or not), so one search box finds "pothole", "E 12th St" and a case."""
    address = Q(address__icontains=text)
    if not include_private:
        # A sensitive layer's address is not published, so it cannot be searched either.
        address &= Q(layer__sensitive=False)
    number = text.removeprefix("#").strip()
    return (
        Q(description__icontains=text)
        | address
        | Q(service__name__icontains=text)
        | Q(external_id__iexact=number or text)
    )


@dataclass(frozen=True)
class DimensionIds:
    """A filter's layers, services and departments as the ids rollup tables store.

    `None` means "not filtered"; an empty list means "nothing matches". `excluded_services` are the
    private services, left out unless the filter includes private cases.
    """

    excluded_services: list[int]
    layers: list[int] | None
    services: list[int] | None
    departments: list[int] | None


def dimension_ids(f: CaseFilter) -> DimensionIds:
    """The ids every rollup reader (daily counts, close times, map cells) filters on."""
    layers: list[int] | None = None
    services: list[int] | None = None
    departments: list[int] | None = None
    if f.layers:
        layers = list(Layer.objects.filter(slug__in=f.layers).values_list("id", flat=True))
    if f.services or f.service_groups:
        svc = Service.objects.all()
        if f.services:
            svc = svc.filter(code__in=codes_merged(f.services))
        if f.service_groups:
            svc = svc.filter(group__in=groups_merged(f.service_groups))
        services = list(svc.values_list("id", flat=True))
    if f.departments:
        depts = Department.objects.filter(slug__in=f.departments)
        departments = list(depts.values_list("id", flat=True))
    private = Service.objects.filter(private=True).order_by().values_list("id", flat=True)
    excluded = [] if f.include_private else list(private)
    return DimensionIds(excluded, layers, services, departments)


def rollup_rows(
    f: CaseFilter,
    model: type[DailyCaseCount] | type[DailyCloseTime] = DailyCaseCount,
    *,
    ids: DimensionIds | None = None,
) -> QuerySet[Any]:
    """The day rollup rows that sum to the same figures `cases(f)` would give, without scanning
    cases. `rollup_parts()` gives the same figures from far fewer rows over long spans.

    Rollups know layer, service, department, area, status group and days; a filter on anything else
    (text, bbox, local status, closed dates) cannot be answered from them and raises FilterError.
    """
    qs = _rollup_dimensions(f, model, ids)
    if f.requested_from:
        qs = qs.filter(day__gte=f.requested_from)
    if f.requested_to:
        qs = qs.filter(day__lte=f.requested_to)
    return qs


_MONTHLY: dict[type[Any], type[Any]] = {
    DailyCaseCount: MonthlyCaseCount,
    DailyCloseTime: MonthlyCloseTime,
}


def rollup_parts(
    f: CaseFilter,
    model: type[DailyCaseCount] | type[DailyCloseTime] = DailyCaseCount,
    *,
    months: bool = True,
    service_rows: bool = True,
) -> list[QuerySet[Any]]:
    """Rollup querysets whose rows together sum to the figures `cases(f)` would give: the whole
    months of f's requested days from the month table, the partial months at either end from the
    day table (`model`). Every row has a `day`: a month row's is its month's first day, so a
    caller groups by "day" and adds up what each part gives, whatever the grain.

    `months=False` reads days only, for figures months cannot divide into (weeks, day cut-offs).
    A month row's `day` must not be compared with a day inside its month: split the span instead.
    `service_rows=False`: the caller reads no request-type column (see `rollup_tables`).
    """
    if not months:
        return [rollup_rows(f, model)]
    month_rows, day_rows = span_conditions(f.requested_from, f.requested_to)
    undated = replace(f, requested_from=None, requested_to=None)
    in_months, in_days = rollup_tables(undated, model, service_rows=service_rows)
    parts = []
    if month_rows is not None:
        parts.append(in_months.filter(month_rows).annotate(day=F("month")))
    parts.extend(in_days.filter(span) for span in day_rows)
    return parts


def close_time_parts(
    f: CaseFilter, *, months: bool = True, service_rows: bool = True
) -> tuple[QuerySet[Any] | None, list[QuerySet[Any]]]:
    """f's close-time histograms as `rollup_parts(f, DailyCloseTime)` gives them, but the whole
    months packed (`MonthlyCloseHistogram`, a row per request type and month; None when f spans
    no whole month), and the partial months (every day when `months=False`) as day bucket rows.
    Both kinds of row have a `day`: a month row's is its month's first day.

    `service_rows=False` says the caller reads no request-type column: public close times whose
    filter names no request type then come packed per department (`MonthlyPublicCloseHistogram`).
    """
    if not months:
        return None, [rollup_rows(f, DailyCloseTime)]
    month_rows, day_rows = span_conditions(f.requested_from, f.requested_to)
    undated = replace(f, requested_from=None, requested_to=None)
    ids = dimension_ids(undated)
    packed = None
    if month_rows is not None:
        grain: type[Any] = MonthlyCloseHistogram
        if not service_rows and _public_grain(undated, ids):
            grain = MonthlyPublicCloseHistogram
        packed = _rollup_dimensions(undated, grain, ids).filter(month_rows).annotate(day=F("month"))
    days = _rollup_dimensions(undated, DailyCloseTime, ids)
    return packed, [days.filter(span) for span in day_rows]


def span_conditions(first: date | None, last: date | None) -> tuple[Q | None, list[Q]]:
    """Which rows hold the local days `first`..`last` (inclusive; None: unbounded): a condition on
    a month table's `month` for the whole months (None if there are none; an empty Q() for every
    month), and one on a day table's `day` for each partial month at either end.

    With `rollup_tables`, a reader sums several spans in one query per table, each span a filtered
    aggregate (`Sum("opened", filter=...)`), instead of one query per span and figure.
    """
    split = month_split(first, last)
    months = None
    if split.months is not None:
        low, high = split.months
        bounds = {"month__gte": low, "month__lte": high}
        months = Q(**{k: v for k, v in bounds.items() if v is not None})
    days = []
    for low, high in split.days:
        bounds = {"day__gte": low, "day__lte": high}
        days.append(Q(**{k: v for k, v in bounds.items() if v is not None}))
    return months, days


def rollup_tables(
    f: CaseFilter,
    model: type[DailyCaseCount] | type[DailyCloseTime] = DailyCaseCount,
    *,
    ids: DimensionIds | None = None,
    service_rows: bool = True,
) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The month table's and the day table's (`model`'s) rows for f's dimensions, of every date:
    the caller picks its days with `span_conditions`. f must give no requested dates, so none is
    silently dropped. `ids`: f's dimension ids, when the caller has them already.

    `service_rows=False` says the caller reads no request-type column: counts of public cases
    whose filter names no request type then come from `MonthlyPublicCount`, a row per month,
    layer and department instead of one per request type too (a layer's whole history at 1 M
    cases: about 4 k rows instead of 99 k)."""
    if f.requested_from or f.requested_to:
        raise ValueError("rollup_tables reads every date: pick the days with span_conditions")
    ids = ids or dimension_ids(f)  # once for both tables
    months: type[Any] = _MONTHLY[model]
    if not service_rows and model is DailyCaseCount and _public_grain(f, ids):
        months = MonthlyPublicCount
    return _rollup_dimensions(f, months, ids), _rollup_dimensions(f, model, ids)


def _public_grain(f: CaseFilter, ids: DimensionIds) -> bool:
    """Whether the public-only tables (summed over request types) hold what f selects."""
    return not f.include_private and ids.services is None


def close_time_history(f: CaseFilter, *, ids: DimensionIds | None = None) -> QuerySet[Any]:
    """The whole-history close-time histogram's rows (`CloseTimeTotal`) for f's dimensions: what
    the month and day tables sum to over every date, in far fewer rows. f must give no dates."""
    if f.requested_from or f.requested_to:
        raise ValueError("close_time_history has no dates: read a span from rollup_tables")
    return _rollup_dimensions(f, CloseTimeTotal, ids)


def department_close_history(f: CaseFilter) -> QuerySet[Any] | None:
    """The departments' whole-history close-time histograms (`DepartmentCloseTime`: a row per
    department and bucket) for f, when they can answer it: public cases, no filter but areas.
    None otherwise; `close_time_history` answers any filter."""
    if replace(f, areas=[], status_group="") != CaseFilter() or f.status_group == StatusGroup.OPEN:
        return None
    return _area_rows(f, DepartmentCloseTime)


def grouped_rows(qs: QuerySet[Any], *, binary: bool = False) -> list[tuple[Any, ...]]:
    """The rows of a grouped `values_list` rollup query, read with the driver's own cursor: the
    ORM's per-value conversion took longer than the database took to group tens of thousands of
    rows (a median's month and bucket rows, a whole history's close-time histogram). The driver
    still gives dates as dates.

    `binary`: rows that carry packed histograms (`MonthlyCloseHistogram`) come from PostgreSQL in
    binary. As text each bytea travels as hex, twice its bytes, and is decoded again (water
    leaks' 3.8 k rows at 10 M cases: 13 ms as text, 6 in binary). Django's cursors bind on the
    client, which cannot ask for binary results, so those are read through a psycopg cursor of
    their own on the same connection and transaction."""
    try:
        sql, params = qs.order_by().query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing
        return []
    db = connections[qs.db]
    if binary and db.vendor == "postgresql":
        import psycopg

        db.ensure_connection()
        with psycopg.Cursor(db.connection) as raw:
            return raw.execute(sql, params, binary=True).fetchall()
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _rollup_dimensions(
    f: CaseFilter, model: type[Any], ids: DimensionIds | None = None
) -> QuerySet[Any]:
    """`model`'s rows for f's area, layers, services, departments and status group (any dates).
    `ids`: f's dimension ids, when the caller has them already."""
    if f.text or f.bbox or f.statuses or f.closed_from or f.closed_to:
        raise FilterError("text, bbox, local status and closed-date filters need the cases table")
    qs = _area_rows(f, model)
    ids = ids or dimension_ids(f)
    if ids.excluded_services and model not in _PUBLIC_ONLY:  # they hold none of them
        qs = qs.exclude(service_id__in=ids.excluded_services)
    if ids.layers is not None:
        qs = qs.filter(layer_id__in=ids.layers)
    if ids.services is not None:
        qs = qs.filter(service_id__in=ids.services)
    if ids.departments is not None:
        qs = qs.filter(department_id__in=ids.departments)
    if f.status_group:
        if model in _CLOSE_TIMES:
            if f.status_group != StatusGroup.CLOSED:
                return qs.none()
        else:
            qs = qs.filter(**{"status_group": f.status_group})
    return qs


_PUBLIC_ONLY = (MonthlyPublicCount, MonthlyPublicCloseHistogram)
_CLOSE_TIMES = (
    DailyCloseTime, MonthlyCloseTime, MonthlyCloseHistogram, MonthlyPublicCloseHistogram,
    CloseTimeTotal,
)  # fmt: skip


def _area_rows(f: CaseFilter, model: type[Any]) -> QuerySet[Any]:
    """`model`'s rows for f's areas (area 0, "all areas", when it names none)."""
    if (
        len(f.areas) > 1
        and Area.objects.filter(id__in=f.areas).values("kind").distinct().count() > 1
    ):
        raise FilterError("rollups can combine areas of one kind only (they may overlap otherwise)")
    everything: QuerySet[Any] = model.objects.all()
    return everything.filter(area_id__in=f.areas) if f.areas else everything.filter(area_id=0)


def status_labels() -> dict[tuple[int, str], str]:
    """Every layer's public status labels, by (layer id, local status code)."""
    return {
        (layer_id, code): label
        for layer_id, code, label in StatusMapping.objects.values_list("layer_id", "code", "label")
    }


def attach_status_labels(items: list[Case]) -> None:
    """Give each case its public status label (`case.status_label`) with one query for all."""
    labels = status_labels()
    for case in items:
        case._status_labels = {case.status: labels.get((case.layer_id, case.status), case.status)}  # type: ignore[attr-defined]


# ---- Reading filters from a query string -------------------------------------------------------

_PARAMS = {
    "layer": "layers", "service": "services", "service_group": "service_groups",
    "department": "departments", "status": "status_group", "local_status": "statuses",
    "since": "requested_from", "until": "requested_to", "closed_since": "closed_from",
    "closed_until": "closed_to", "area": "areas", "bbox": "bbox", "q": "text", "days": "days",
}  # fmt: skip
PARAMETERS = tuple(_PARAMS)


def _known(
    name: str, given: list[str], known: set[str], also: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    """`given`, when each is `known` (listed in the message) or `also` (an old name of one)."""
    unknown = [g for g in given if g not in known and g not in also]
    if unknown:
        listed = ", ".join(sorted(known)[:30]) or "none yet"
        raise FilterError(f"unknown {name} {', '.join(map(repr, unknown))}; known: {listed}")
    return given


def parse_filters(query: Mapping[str, Any]) -> CaseFilter:
    """A CaseFilter from request parameters, checking every value; raises FilterError."""
    f = CaseFilter()
    if layers := params.items(query, "layer"):
        f.layers = _known("layer", layers, set(Layer.objects.values_list("slug", flat=True)))
    if services := params.items(query, "service"):
        known = set(Service.objects.filter(private=False).values_list("code", flat=True))
        old = set(ServiceAlias.objects.filter(code__in=known).values_list("old_code", flat=True))
        f.services = _known("service", services, known, also=old)
    if groups := params.items(query, "service_group"):
        known = set(Service.objects.filter(private=False).values_list("group", flat=True))
        old = set(ServiceGroupAlias.objects.filter(group__in=known).values_list("name", flat=True))
        f.service_groups = _known("service group", groups, known, also=old)
    if departments := params.items(query, "department"):
        known = set(Department.objects.values_list("slug", flat=True))
        f.departments = _known("department", departments, known)
    if status := params.items(query, "status"):
        if len(status) != 1 or status[0] not in ("open", "closed", "all"):
            raise FilterError("status must be open, closed or all")
        f.status_group = "" if status[0] == "all" else status[0]
    f.statuses = params.items(query, "local_status")
    for param in ("since", "until", "closed_since", "closed_until"):
        if value := params.items(query, param):
            setattr(f, _PARAMS[param], params.day(param, value[0]))
    if days := params.items(query, "days"):
        count = params.whole("days", days[0], low=1, high=36600)
        f.requested_from = timezone.localdate() - timedelta(days=count - 1)
    if f.requested_from and f.requested_to and f.requested_from > f.requested_to:
        raise FilterError("since must not be after until")
    if areas := params.items(query, "area"):
        f.areas = _parse_areas(areas)
    if bbox := params.items(query, "bbox"):
        f.bbox = params.bbox("bbox", bbox)
    # Not split at commas as lists are: "414 E 12th St, Kansas City" is one address.
    f.text = " ".join(" ".join(params.values(query, "q")).split())[:200]
    return f


def _parse_areas(given: list[str]) -> list[int]:
    """Areas as ids or as kind:slug ("neighborhood:longfellow")."""
    ids: list[int] = []
    for item in given:
        kind, sep, slug = item.partition(":")
        if sep:
            area_id = Area.objects.filter(kind=kind, slug=slug).values_list("id", flat=True).first()
        elif params.is_id(item):
            area_id = Area.objects.filter(id=int(item)).values_list("id", flat=True).first()
        else:
            area_id = None
        if area_id is None:
            raise FilterError(f"unknown area {item!r}; give an id or kind:slug such as "
                              "council-district:district-3")  # fmt: skip
        ids.append(area_id)
    return ids
