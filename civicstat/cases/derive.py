"""What `case_upsert` works out from a record before writing it, row by row and cheaply.

An import derives these for every case: the local days it opened and closed on, its close-time
bucket, its h3 cell and areas, a fingerprint for skipping unchanged rows on a re-import, and each
value as the database driver takes it. They ran to a quarter of a bulk import's time, mostly in
converting the same few thousand datetimes (a city's file names each day thousands of times) to
text again and again, so instants are converted once and remembered.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.db import connection

from civicstat.cases.models import StatusGroup
from civicstat.cases.records import CaseRecord
from civicstat.cases.sensitive import public_point
from civicstat.lib.geo import h3_cell
from civicstat.lib.quantiles import bucket_of

_REMEMBERED_MAX = 200_000  # distinct instants kept; a bound on memory, not a tuning knob
_instants: dict[datetime, str] = {}


def instant_text(value: datetime | None) -> str:
    """An aware datetime as naive UTC text, the way Django stores datetimes in SQLite."""
    if value is None:
        return ""
    text = _instants.get(value)
    if text is None:
        if len(_instants) >= _REMEMBERED_MAX:
            _instants.clear()
        # str() drops zero microseconds, as Django's adapter does.
        text = _instants[value] = str(value.astimezone(UTC).replace(tzinfo=None))
    return text


def _local_day(value: datetime, zone: ZoneInfo) -> date:
    return value.date() if value.tzinfo is zone else value.astimezone(zone).date()


class Derived:
    """The columns computed from a record: local days, close bucket, cell, areas, fingerprint."""

    __slots__ = ("area_ids", "attributes_json", "cell", "close_bucket", "closed_day",
                 "fingerprint", "public_lat", "public_lon", "requested_day",
                 "within_target")  # fmt: skip
    closed_day: date | None
    close_bucket: int | None
    within_target: bool | None

    def __init__(
        self,
        r: CaseRecord,
        zone: ZoneInfo,
        area_ids: list[int],
        target_days: int | None = None,
        *,
        sensitive: bool = False,
    ) -> None:
        """`target_days`: the target staff set on the case's request type, if any; `sensitive`:
        the layer publishes only a generalised point (`civicstat.cases.sensitive`)."""
        located = r.lat is not None and r.lon is not None and not r.location_approximate
        # A placeholder point gets no cell and no areas: it must not match a radius or a district.
        # Areas the source names by code hold whatever the point.
        self.area_ids = area_ids if located else []
        if r.area_ids:
            self.area_ids = list(dict.fromkeys([*self.area_ids, *r.area_ids]))
        self.cell = h3_cell(r.lat, r.lon) if located else None  # type: ignore[arg-type]
        self.public_lat, self.public_lon = public_point(
            sensitive=sensitive, lat=r.lat, lon=r.lon, cell=self.cell
        )
        self.requested_day = _local_day(r.requested_at, zone)
        if r.status_group == StatusGroup.CLOSED and r.closed_at is not None:
            self.closed_day = _local_day(r.closed_at, zone)
            self.close_bucket = bucket_of((r.closed_at - r.requested_at).total_seconds())
            self.within_target = within_target(r, target_days)
        else:
            self.closed_day = None
            self.close_bucket = None
            self.within_target = None
        self.attributes_json = json.dumps(r.attributes)
        self.fingerprint = fingerprint(r, self.attributes_json)


def within_target(r: CaseRecord, target_days: int | None) -> bool | None:
    """Whether a closed case closed within its target: the source's own verdict when it gives
    one (the city judged its case), else against the source's target date, else against the
    request type's target days; None when none of them applies."""
    if r.on_time is not None:
        return r.on_time
    if r.closed_at is None:
        return None
    if r.expected_at is not None:
        return r.closed_at <= r.expected_at
    if target_days is not None:
        return (r.closed_at - r.requested_at).total_seconds() <= target_days * 86400
    return None


def fingerprint(r: CaseRecord, attributes_json: str) -> int:
    """A 64-bit digest of every field a source sets: a re-import skips a case whose digest is
    unchanged. The same on every engine (instants as UTC text)."""
    text = "\x1f".join((
        str(r.service_id), str(r.department_id), r.status, r.status_group, r.description,
        r.address, r.zip_code, repr(r.lat), repr(r.lon), "1" if r.location_approximate else "0",
        instant_text(r.requested_at), instant_text(r.updated_at), instant_text(r.closed_at),
        instant_text(r.expected_at), r.channel, attributes_json,
    ))  # fmt: skip
    # Fields added later count only when set, so that the cases stored before them keep their
    # fingerprint and a re-import of the same file still changes nothing.
    if r.closed_approximate:
        text += "\x1fclosed~"
    if r.on_time is not None:
        text += "\x1fon_time:" + ("1" if r.on_time else "0")
    if r.area_ids:
        text += "\x1fareas:" + ",".join(map(str, sorted(r.area_ids)))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Adapt:
    """Python values to what this database's driver takes, without Django's per-value checks.

    Django's own adapters check time zones and settings on every call; an import adapts millions
    of values, so this does the same conversion directly for the two engines CivicStat runs on.
    """

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"

    def dt(self, value: datetime | None) -> object:
        if value is None or not self.sqlite:
            return value
        return instant_text(value)

    def day(self, value: date | None) -> object:
        if value is None or not self.sqlite:
            return value
        return value.isoformat()

    def json(self, value: object, text: str | None = None) -> object:
        """`value` for a JSON column; `text`, its json.dumps() if already made."""
        if self.sqlite:
            return json.dumps(value) if text is None else text
        return connection.ops.adapt_json_value(value, None)
