"""What a client reads from a remote, before it becomes CivicStat cases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.utils import timezone
from django.utils.dateparse import parse_datetime


@dataclass
class RemoteCase:
    external_id: str
    service_code: str
    service_name: str
    status_code: str
    status_group: str
    status_label: str
    requested_at: datetime
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    expected_at: datetime | None = None
    agency: str = ""
    description: str = ""
    address: str = ""
    zip_code: str = ""
    lat: float | None = None
    lon: float | None = None
    channel: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    notes: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, text, label)


@dataclass
class Page:
    cases: list[RemoteCase]
    cursor: dict[str, Any]  # where to resume once this page is saved
    skipped: int = 0


class Client(Protocol):
    def pages(self, cursor: dict[str, Any]) -> Iterator[Page]: ...

    def final_cursor(self) -> dict[str, Any]: ...


def moment(value: Any) -> datetime | None:
    """A remote datetime; one without a zone is read in the city's zone."""
    if not value:
        return None
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def text(value: Any, limit: int = 10_000) -> str:
    return "" if value is None else str(value).strip()[:limit]


def later(a: str | None, b: datetime | None) -> str | None:
    """The later of a stored ISO cursor and a datetime, as ISO."""
    if b is None:
        return a
    if a is None or (moment(a) or b) < b:
        return b.isoformat()
    return a
