"""Turning one row of a city's file into a CaseRecord, or into a reason a person can act on."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from civicstat.cases.records import CaseRecord
from civicstat.ingest.mapping import Profile
from civicstat.lib.timeparse import compile_parser, describe

_PLACEHOLDER_TOLERANCE = 1e-4  # degrees, about 10 m
# Distinct date texts remembered per parser. A city's file names each day thousands of times (KC:
# 80 k rows, 5 k days), so parsing each text once takes date parsing off the profile; the bound
# keeps a file of all-distinct timestamps from growing it without end.
_PARSED_MAX = 100_000


def _remembered(parse: Callable[[str], datetime], zone: ZoneInfo) -> Callable[[str], datetime]:
    """`parse`, its result put in `zone`, kept by text (a failure is not kept: it raises again)."""
    seen: dict[str, datetime] = {}

    def parse_once(text: str) -> datetime:
        found = seen.get(text)
        if found is None:
            if len(seen) >= _PARSED_MAX:
                seen.clear()
            found = seen[text] = parse(text).replace(tzinfo=zone)
        return found

    return parse_once


class Reject(Exception):
    """The row cannot become a case; str() is the reason."""


@dataclass(slots=True)
class Normalized:
    layer: str
    service_code: str
    service_name: str
    service_group: str
    department: str
    record: CaseRecord


class RowNormalizer:
    def __init__(
        self, profile: Profile, header: list[str], zone: ZoneInfo, date_format: str | None = None
    ) -> None:
        self.profile = profile
        self.zone = profile.timezone or zone
        index = {name: i for i, name in enumerate(header)}
        self.col = {field: index[column] for field, column in profile.columns.items()}
        self.attr = [(key, index[column]) for key, column in profile.attributes.items()]
        self.rules = [(index[r.column], r.pattern, r.layer) for r in profile.layer_rules]
        formats = dict(profile.formats)
        if date_format:
            # One override for the file: a date-and-time format, or a date format.
            formats["datetime" if "%H" in date_format or "%I" in date_format else "date"] = (
                date_format
            )
        self.datetime_format = formats.get("datetime", "%Y-%m-%d %H:%M:%S")
        self.date_format = formats.get("date", "%Y-%m-%d")
        self.parse_datetime = _remembered(compile_parser(self.datetime_format), self.zone)
        self.parse_date = _remembered(compile_parser(self.date_format), self.zone)
        self.parse_time = _remembered(compile_parser(formats.get("time", "%H:%M")), self.zone)
        self.status_codes = ", ".join(sorted(profile.statuses))

    def _get(self, values: list[str], field: str) -> str:
        i = self.col.get(field)
        return values[i].strip() if i is not None else ""

    def _when(self, values: list[str], field: str, parse: Callable[[str], datetime],
              fmt: str) -> datetime | None:  # fmt: skip
        text = self._get(values, field)
        if not text:
            return None
        try:
            return parse(text)
        except ValueError:
            column = self.profile.columns[field]
            raise Reject(f"bad date in {column!r}: {text!r} is not in the form {describe(fmt)} "
                         f"({fmt}); pass --date-format if this file writes dates differently"
                         ) from None  # fmt: skip

    def __call__(self, values: list[str]) -> Normalized:
        p = self.profile
        external_id = self._get(values, "external_id")
        if not external_id:
            raise Reject(f"no case id in {p.columns['external_id']!r}")
        if len(external_id) > 64:
            raise Reject("the case id is longer than 64 characters")
        status = self._get(values, "status")
        rule = p.statuses.get(status)
        if rule is None:
            raise Reject(f"unknown status {status!r}; the mapping knows {self.status_codes} "
                         "(add it to [statuses])")  # fmt: skip

        if "requested_at" in self.col:
            requested = self._when(values, "requested_at", self.parse_datetime,
                                   self.datetime_format)  # fmt: skip
        else:
            requested = self._when(values, "requested_date", self.parse_date, self.date_format)
            if requested is not None and "requested_time" in self.col:
                clock = self._get(values, "requested_time")
                if clock:
                    try:
                        t = self.parse_time(clock)
                    except ValueError as exc:
                        raise Reject(
                            f"bad time in {p.columns['requested_time']!r}: {exc}"
                        ) from None
                    requested = requested.replace(hour=t.hour, minute=t.minute, second=t.second)
        if requested is None:
            raise Reject("no date the case was opened")

        closed = self._when(values, "closed_at", self.parse_datetime, self.datetime_format)
        if closed is None and "closed_date" in self.col:
            day = self._when(values, "closed_date", self.parse_date, self.date_format)
            if day is not None:
                # A close date with no time: the start of that day, but never before it opened.
                closed = max(datetime.combine(day.date(), time.min, tzinfo=self.zone), requested)

        lat, lon, approximate = self._location(values)
        layer = p.layer
        for column, pattern, target in self.rules:
            if pattern.search(values[column]):
                layer = target
                break
        service_name = self._get(values, "service_name")
        service_code = self._get(values, "service_code") or service_name
        record = CaseRecord(
            external_id=external_id,
            status=status,
            status_group=rule.group,
            requested_at=requested,
            description=self._get(values, "description"),
            address=" ".join(self._get(values, "address").split())[:255],
            zip_code=_clean_number(self._get(values, "zip_code"))[:10],
            lat=lat,
            lon=lon,
            location_approximate=approximate,
            updated_at=self._when(values, "updated_at", self.parse_datetime, self.datetime_format),
            closed_at=closed,
            expected_at=self._when(
                values, "expected_at", self.parse_datetime, self.datetime_format
            ),  # fmt: skip
            channel=self._get(values, "channel")[:50],
            attributes={k: v for k, i in self.attr if (v := values[i].strip())},
        )
        return Normalized(layer, service_code[:100], service_name[:255],
                          self._get(values, "service_group")[:150],
                          self._get(values, "department"), record)  # fmt: skip

    def _location(self, values: list[str]) -> tuple[float | None, float | None, bool]:
        p = self.profile
        lat_text, lon_text = self._get(values, "lat"), self._get(values, "lon")
        if not lat_text or not lon_text:
            if p.require_location and ("lat" in self.col or "lon" in self.col):
                raise Reject("no location: latitude or longitude is empty")
            return None, None, False
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise Reject(f"the location ({lat_text!r}, {lon_text!r}) is not a pair of numbers"
                         ) from None  # fmt: skip
        if not (math.isfinite(lat) and math.isfinite(lon)) or (lat == 0 and lon == 0):
            raise Reject(f"no location: ({lat_text}, {lon_text}) is not a real place")
        if p.bounds is not None:
            west, south, east, north = p.bounds
            if not (south <= lat <= north and west <= lon <= east):
                raise Reject(
                    f"the location ({lat}, {lon}) is outside the city "
                    f"(west {west}, south {south}, east {east}, north {north})"
                )
        approximate = any(
            abs(lat - plat) < _PLACEHOLDER_TOLERANCE and abs(lon - plon) < _PLACEHOLDER_TOLERANCE
            for plat, plon in p.placeholders
        )
        return lat, lon, approximate


def _clean_number(text: str) -> str:
    """Spreadsheet exports write "64109.0" for a ZIP code."""
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text
