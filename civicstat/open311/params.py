"""Reading GeoReport v2 parameters: an empty parameter counts as absent, bad ones say why.

Built on the site's one parser (`civicstat.lib.params`); its ParamError is answered, like
Open311Error, with the spec's error list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from civicstat.lib import params
from civicstat.lib.timeparse import out_of_range
from civicstat.open311.formats import Open311Error

MAX_DAYS = 90
MAX_REQUESTS = 1000


def one(query: Mapping[str, Any], name: str) -> str:
    # Free text: a description may hold line breaks; numbers and dates are read strictly below.
    return params.text(query, name, free_text=True)


def many(query: Mapping[str, Any], name: str) -> list[str]:
    return [part.strip() for part in one(query, name).split(",") if part.strip()]


def when(name: str, text: str) -> datetime:
    """A W3C datetime; a date alone means its local midnight, no zone means the city's zone."""
    try:
        if not text.isascii():  # parse_datetime's \d reads any script's digits
            raise ValueError(text)
        value = parse_datetime(text)
        if value is None and (day := parse_date(text)) is not None:
            value = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - made aware below
    except ValueError:
        value = None
    if value is None:
        raise Open311Error(400, f"{name}={text[:40]!r} is not a date and time; write it as W3C "
                                "format, such as 2010-01-01T00:00:00Z")  # fmt: skip
    if problem := out_of_range(name, text, value.date()):
        raise Open311Error(400, problem)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def jurisdiction_check(query: Mapping[str, Any]) -> None:
    expected = settings.OPEN311_JURISDICTION
    given = one(query, "jurisdiction_id")
    if expected and given and given != expected:
        raise Open311Error(404, f"unknown jurisdiction_id {given!r}; this server is {expected!r}")


@dataclass
class RequestsQuery:
    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str = ""
    agencies: list[str] = field(default_factory=list)
    page: int = 1
    page_size: int = MAX_REQUESTS
    extensions: bool = False


def requests_query(query: Mapping[str, Any]) -> RequestsQuery:
    """The GET requests parameters, with the spec's defaults (the last 90 days, at most 1,000)."""
    q = RequestsQuery(extensions=one(query, "extensions").lower() == "true")
    if ids := many(query, "service_request_id"):
        # The spec: service_request_id overrides every other parameter.
        q.ids = ids
        return q
    q.service_codes = many(query, "service_code")
    if start := one(query, "start_date"):
        q.start = when("start_date", start)
    if end := one(query, "end_date"):
        q.end = when("end_date", end)
    if updated_after := one(query, "updated_after"):
        q.updated_after = when("updated_after", updated_after)
    if updated_before := one(query, "updated_before"):
        q.updated_before = when("updated_before", updated_before)
    if q.start and q.end:
        if q.start > q.end:
            raise Open311Error(400, "start_date must not be after end_date")
        if q.end - q.start > timedelta(days=MAX_DAYS):
            raise Open311Error(400, f"start_date and end_date may be at most {MAX_DAYS} days apart")
    elif q.start:
        q.end = q.start + timedelta(days=MAX_DAYS)
    elif q.end:
        q.start = q.end - timedelta(days=MAX_DAYS)
    elif not (q.updated_after or q.updated_before):
        # A client keeping in sync asks by update time; only a plain query gets the 90-day default.
        q.start = timezone.now() - timedelta(days=MAX_DAYS)
    statuses = {s.lower() for s in many(query, "status")}
    if statuses - {"open", "closed", "both", "all"}:
        raise Open311Error(400, "status must be open, closed or both")
    if len(statuses) == 1 and statuses <= {"open", "closed"}:
        q.status = statuses.pop()
    if bbox := many(query, "bbox"):
        q.bbox = params.bbox("bbox", bbox)
    q.text = one(query, "q")[:200]
    q.agencies = many(query, "agency_responsible")
    if page := one(query, "page"):
        q.page = params.whole("page", page, low=1, high=1_000_000)
    if size := one(query, "page_size"):
        q.page_size = params.whole("page_size", size, low=1, high=MAX_REQUESTS)
    return q
