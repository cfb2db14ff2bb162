"""What a client reads from a remote, before it becomes CivicStat cases, and how it reads values.

Real servers write the same thing many ways: numbers as strings, `"null"`, `""` or `"none"` for
nothing, a key twice. A value that cannot be read is left out of the case with a warning, never
stored as text it is not (`"null"`) and never dropped without a word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from civicstat.ingest.normalize import as_text

# Texts servers write for "no value".
NOTHING = frozenset({"", "null", "none"})


class Doc(dict[str, Any]):
    """A JSON object or XML element as read, knowing which keys the source gave more than once
    (json.loads and dict() keep the last silently)."""

    duplicates: dict[str, int]

    def __init__(self, pairs: Any = ()) -> None:
        super().__init__()
        self.duplicates = {}
        for key, value in pairs:
            if key in self:
                self.duplicates[key] = self.duplicates.get(key, 1) + 1
            self[key] = value


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
    closed_at: datetime | None = None  # only when the remote says when it closed
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
    # Values left out: (the remote's key, the value, why).
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    line: int = 0  # the record's number in its run


@dataclass
class Rejected:
    """A record that cannot become a case, and why."""

    reason: str
    external_id: str = ""
    raw: str = ""


@dataclass
class Page:
    records: list[Any]  # RemoteCase or Normalized, and Rejected, in the order the source sent them
    cursor: dict[str, Any]  # where to resume once this page is saved


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in NOTHING)


def raw_text(doc: Any, limit: int = 2000) -> str:
    try:
        text = json.dumps(doc, ensure_ascii=False, default=str)
    except ValueError:
        text = repr(doc)
    return text[:limit]


def moment(value: Any) -> datetime | None:
    """A remote datetime (or a date, read as its midnight); one without a zone is read in the
    city's zone. None for nothing and for what is not a date."""
    if blank(value) or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = parse_datetime(text)
        if parsed is None and (day := parse_date(text)) is not None:
            parsed = datetime.combine(day, time.min)  # noqa: DTZ001 - made aware below
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def later(a: str | None, b: datetime | None) -> str | None:
    """The later of a stored ISO cursor and a datetime, as ISO."""
    if b is None:
        return a
    if a is None or (moment(a) or b) < b:
        return b.isoformat()
    return a


class Values:
    """Reads one remote document's values, keeping what had to be left out and why."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.warnings: list[tuple[str, str, str]] = []
        for key, times in getattr(doc, "duplicates", {}).items():
            self.warn(key, doc[key], f"the key {key!r} is given {times} times; the last value "
                                     "was kept")  # fmt: skip

    def warn(self, key: str, value: Any, reason: str) -> None:
        self.warnings.append((key, as_text(value)[:200], reason))

    def get(self, key: str) -> Any:
        value = self.doc.get(key)
        return None if blank(value) else value

    def text(self, key: str, limit: int = 10_000, *, doc: dict[str, Any] | None = None) -> str:
        value = (doc if doc is not None else self.doc).get(key)
        if blank(value):
            return ""
        found = as_text(value)
        if len(found) > limit:
            self.warn(key, found, f"longer than {limit:,} characters: the rest was left out")
            found = found[:limit]
        return found

    def when(self, key: str, *, doc: dict[str, Any] | None = None) -> datetime | None:
        value = (doc if doc is not None else self.doc).get(key)
        if blank(value):
            return None
        found = moment(value)
        if found is None:
            self.warn(key, value, "not a date and time (such as 2024-05-01T13:45:00-05:00); "
                                  "the value was left out")  # fmt: skip
        return found

    def number(self, *keys: str) -> float | None:
        """The first of `keys` with a value, as a number (servers write "39.1" as often as 39.1)."""
        for key in keys:
            value: Any = self.doc.get(key)
            if blank(value):
                continue
            try:
                if isinstance(value, bool):
                    raise TypeError(value)
                return float(value)  # float() itself ignores surrounding spaces
            except (TypeError, ValueError):
                self.warn(key, value, "not a number; the value was left out")
                return None
        return None

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.doc.get(key)
        if blank(value):
            return {}
        if not isinstance(value, dict):
            self.warn(key, value, "not an object of keys and values; left out")
            return {}
        return value
