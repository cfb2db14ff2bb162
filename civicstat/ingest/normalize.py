"""Turning one record of a city's source into a CaseRecord, or into a reason a person can act on.

A record is a CSV row (strings in header order) or an object: a JSON line or a Socrata row, its
values typed as JSON typed them and with only the keys it has. A record without what every case
needs (its id, status and opening time, and its location when the mapping requires one) is
rejected; a bad value in any other column is left out of the case, with a warning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from civicstat.cases.records import CaseRecord
from civicstat.ingest.mapping import DATE_KINDS, Profile
from civicstat.lib.timeparse import compile_parser, describe

_PLACEHOLDER_TOLERANCE = 1e-4  # degrees, about 10 m
# Distinct date texts remembered per parser. A city's file names each day thousands of times (KC:
# 80 k rows, 5 k days), so parsing each text once takes date parsing off the profile; the bound
# keeps a file of all-distinct timestamps from growing it without end.
_PARSED_MAX = 100_000
_WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*\Z", re.IGNORECASE)
_LAT_LON_PAIR = re.compile(r"\s*\(\s*([^,\s]+)\s*,\s*([^,\s)]+)\s*\)\s*\Z")


def _first_of(parsers: Sequence[Callable[[str], datetime]]) -> Callable[[str], datetime]:
    """Tries each format in order; the error names what a person must fix."""
    if len(parsers) == 1:
        return parsers[0]

    def parse(text: str) -> datetime:
        errors = []
        for p in parsers:
            try:
                return p(text)
            except ValueError as exc:
                errors.append(str(exc))
        impossible = [e for e in errors if "is not a real" in e]
        raise ValueError(impossible[0] if impossible else errors[0])

    return parse


def _remembered(parse: Callable[[str], datetime], zone: ZoneInfo) -> Callable[[str], datetime]:
    """`parse`, a naive result put in `zone`, kept by text (a failure is not kept: it raises
    again)."""
    seen: dict[str, datetime] = {}

    def parse_once(text: str) -> datetime:
        found = seen.get(text)
        if found is None:
            if len(seen) >= _PARSED_MAX:
                seen.clear()
            parsed = parse(text)
            found = seen[text] = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
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
    area_codes: list[tuple[str, str]] = field(default_factory=list)  # (kind, code)
    # Values left out of the record: (the source's column, the value, why).
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    line: int = 0  # where the record is in its file or sync run


def as_text(value: Any) -> str:
    """A value of a JSON record as a text field holds it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def point_of(value: Any) -> tuple[str, str] | None:
    """(latitude, longitude) as text from a point column; None when it is empty.

    Takes GeoJSON (`{"type": "Point", "coordinates": [lon, lat]}`, as Socrata's point columns),
    Socrata's older location column (`{"latitude": "39.1", "longitude": "-94.5", …}`), and, in
    text, `POINT (lon lat)` (Socrata's CSV exports), `(lat, lon)` or either JSON form. Raises
    ValueError for anything else.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("not a point") from None
        elif m := _WKT_POINT.match(text):
            return m.group(2), m.group(1)
        elif m := _LAT_LON_PAIR.match(text):
            return m.group(1), m.group(2)
        else:
            raise ValueError("not a point")
    if value is None:
        return None
    if isinstance(value, dict):
        coordinates = value.get("coordinates")
        if value.get("type") == "Point" and isinstance(coordinates, list):
            if len(coordinates) < 2:
                return None
            return as_text(coordinates[1]), as_text(coordinates[0])
        if "latitude" in value or "longitude" in value:
            lat, lon = as_text(value.get("latitude")), as_text(value.get("longitude"))
            return (lat, lon) if lat or lon else None  # a location with only an address
    raise ValueError("not a point")


def location_problem(
    lat: float, lon: float, bounds: tuple[float, float, float, float] | None
) -> str | None:
    """Why a point cannot be a case's location (file imports and syncs check the same), or None."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or (lat == 0 and lon == 0):
        return f"no location: ({lat}, {lon}) is not a real place"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return f"no location: ({lat}, {lon}) is not a latitude and longitude"
    if bounds is not None:
        west, south, east, north = bounds
        if not (south <= lat <= north and west <= lon <= east):
            return (f"the location ({lat}, {lon}) is outside the city "
                    f"(west {west}, south {south}, east {east}, north {north})")  # fmt: skip
    return None


class RowNormalizer:
    """Reads records of one source. `header`: a CSV file's columns; None for records that are
    objects (JSON lines, Socrata rows), read by key."""

    def __init__(
        self, profile: Profile, header: list[str] | None, zone: ZoneInfo,
        date_format: str | None = None,
    ) -> None:  # fmt: skip
        self.profile = profile
        self.zone = profile.timezone or zone
        # A CSV row's values are found by position, an object's by name.
        key: Callable[[str], Any] = (
            str if header is None else {name: i for i, name in enumerate(header)}.__getitem__
        )
        self.col = {f: key(column) for f, column in profile.columns.items()}
        self.fixed = dict(profile.fixed)
        self.attr = [(name, key(column)) for name, column in profile.attributes.items()]
        self.rules = [(key(r.column), r.pattern, r.layer) for r in profile.layer_rules]
        self.area_columns = [(a.kind, key(a.column), a.column) for a in profile.areas]
        self.on_time = profile.on_time
        self.on_time_key = key(profile.on_time.column) if profile.on_time else None
        self.formats: dict[str, list[str]] = {}
        self.parsers: dict[str, Callable[[str], datetime]] = {}
        shared: dict[tuple[str, ...], Callable[[str], datetime]] = {}
        for name in DATE_KINDS:
            if name not in self.col and name not in self.fixed:
                continue
            formats = self.formats[name] = profile.formats_for(name, date_format)
            if tuple(formats) not in shared:
                # Columns read alike share one parser, and so its memory of texts already read.
                shared[tuple(formats)] = _remembered(
                    _first_of([compile_parser(f) for f in formats]), self.zone
                )
            self.parsers[name] = shared[tuple(formats)]
        self.status_codes = ", ".join(sorted(profile.statuses))
        if header is not None:
            # A CSV row holds every column, as text: the quicker reads (an import's hot path).
            self._get = self._get_position  # type: ignore[method-assign]
            self._text = self._text_position  # type: ignore[method-assign]
            self._attributes = self._attributes_position  # type: ignore[method-assign]

    def column(self, name: str) -> str:
        """The source's name for a field, for messages."""
        return self.profile.columns.get(name) or f"{name} (a fixed value)"

    def _get(self, values: Any, name: str) -> str:
        k = self.col.get(name)
        if k is None:
            return self.fixed.get(name, "")
        try:
            v = values[k]
        except (KeyError, IndexError):  # a JSON record without this key
            return ""
        return v.strip() if type(v) is str else as_text(v)

    def _get_position(self, values: list[str], name: str) -> str:
        k = self.col.get(name)
        return values[k].strip() if k is not None else self.fixed.get(name, "")

    def _text_position(self, values: list[str], k: int) -> str:
        return values[k].strip()

    def _attributes_position(self, values: list[str], warnings: Any) -> dict[str, Any]:
        return {name: v for name, k in self.attr if (v := values[k].strip())}

    def _when(self, values: Any, name: str, warnings: list[tuple[str, str, str]],
              required: bool = False) -> datetime | None:  # fmt: skip
        text = self._get(values, name)
        if not text:
            return None
        try:
            return self.parsers[name](text)
        except ValueError as exc:
            if "is not a real" in str(exc):
                detail = str(exc)  # the right form, but no such day or time
            else:
                forms = " or ".join(f"{describe(f)} ({f})" for f in self.formats[name])
                detail = f"{text!r} is not in the form {forms}"
            message = (f"bad date in {self.column(name)!r}: {detail}; add the form to [formats] "
                       "(or pass --date-format) if the source writes dates "
                       "differently")  # fmt: skip
            if required:
                raise Reject(message) from None
            warnings.append((self.column(name), text, f"{message}; the value was left out"))
            return None

    def __call__(self, values: Any) -> Normalized:
        p = self.profile
        warnings: list[tuple[str, str, str]] = []
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
            requested = self._when(values, "requested_at", warnings, required=True)
        else:
            requested = self._when(values, "requested_date", warnings, required=True)
            if requested is not None and "requested_time" in self.parsers:
                t = self._when(values, "requested_time", warnings)
                if t is not None:
                    requested = requested.replace(hour=t.hour, minute=t.minute, second=t.second)
        if requested is None:
            raise Reject("no date the case was opened")

        closed = self._when(values, "closed_at", warnings)
        if closed is None and "closed_date" in self.parsers:
            day = self._when(values, "closed_date", warnings)
            if day is not None:
                # A close date with no time: the start of that day, but never before it opened.
                closed = max(datetime.combine(day.date(), time.min, tzinfo=self.zone), requested)

        lat, lon, approximate = self._location(values, warnings)
        layer = p.layer
        for column, pattern, target in self.rules:
            if pattern.search(self._text(values, column)):
                layer = target
                break
        fit = self._fit
        service_name = fit(self._get(values, "service_name"), "service_name", 255, warnings)
        service_code = fit(self._get(values, "service_code"), "service_code", 100, warnings)
        record = CaseRecord(
            external_id=external_id,
            status=status,
            status_group=rule.group,
            requested_at=requested,
            description=self._get(values, "description"),
            address=fit(" ".join(self._get(values, "address").split()), "address", 255, warnings),
            zip_code=fit(_clean_number(self._get(values, "zip_code")), "zip_code", 10, warnings),
            lat=lat,
            lon=lon,
            location_approximate=approximate,
            updated_at=self._when(values, "updated_at", warnings),
            closed_at=closed,
            expected_at=self._when(values, "expected_at", warnings),
            on_time=self._on_time(values, warnings),
            channel=fit(self._get(values, "channel"), "channel", 50, warnings),
            attributes=self._attributes(values, warnings),
        )
        areas = []
        for kind, k, column in self.area_columns:
            if code := _clean_number(self._text(values, k)):
                if len(code) > 50:
                    warnings.append((column, code[:200], "an area code longer than 50 characters; "
                                                         "left out"))  # fmt: skip
                else:
                    areas.append((kind, code))
        service_group = fit(self._get(values, "service_group"), "service_group", 150, warnings)
        code = service_code or service_name[:100]
        # A source that writes request types as codes ("Non_Agg_Assault_Dome") gets the profile's
        # readable names; the code stays the key a re-import matches on.
        if readable := p.service_names.get(code):
            service_name, service_group = readable.name, readable.group or service_group
        return Normalized(layer, code, service_name, service_group,
                          fit(self._get(values, "department"), "department", 150, warnings),
                          record, areas, warnings)  # fmt: skip

    def _on_time(self, values: Any, warnings: list[tuple[str, str, str]]) -> bool | None:
        """The city's own verdict on the case ([on_time]); a value the mapping does not list is
        left out, with a warning, and the case is judged by its target date if it has one."""
        if self.on_time is None:
            return None
        text = self._text(values, self.on_time_key)
        try:
            return self.on_time.verdict(text)
        except KeyError:
            warnings.append((self.on_time.column, text[:200],
                             f"not an on-time verdict the mapping knows: {self.on_time.described()}"
                             "; add it to [on_time] if it is one. No verdict was taken from "
                             "it"))  # fmt: skip
            return None

    def _fit(self, text: str, name: str, limit: int, warnings: list[tuple[str, str, str]]) -> str:
        """`text` cut to what its column holds; the cut is a value left out, so it is said."""
        if len(text) <= limit:
            return text
        warnings.append((self.column(name), text[:200], f"longer than {limit} characters: the "
                                                        "rest was left out"))  # fmt: skip
        return text[:limit]

    def _text(self, values: Any, k: Any) -> str:
        try:
            v = values[k]
        except (KeyError, IndexError):
            return ""
        return v.strip() if type(v) is str else as_text(v)

    def _attributes(self, values: Any, warnings: list[tuple[str, str, str]]) -> dict[str, Any]:
        """The extra columns, each as the source typed it (a JSON true stays true)."""
        found: dict[str, Any] = {}
        for name, k in self.attr:
            try:
                v = values[k]
            except (KeyError, IndexError):
                continue
            if type(v) is str:
                v = v.strip()
                if v:
                    found[name] = v
            elif isinstance(v, float) and not math.isfinite(v):
                # NaN has no JSON form, and PostgreSQL refuses it in a JSON column.
                warnings.append((self.profile.attributes[name], str(v), "not a number a JSON "
                                 "column can hold; the value was left out"))  # fmt: skip
            elif v is not None:
                found[name] = v
        return found

    def _location(self, values: Any, warnings: list[tuple[str, str, str]]
                  ) -> tuple[float | None, float | None, bool]:  # fmt: skip
        p = self.profile
        lat_text, lon_text = self._get(values, "lat"), self._get(values, "lon")
        where = f"{self.column('lat')}, {self.column('lon')}"
        if (not lat_text or not lon_text) and "location" in self.col:
            where = self.column("location")
            try:
                raw = values[self.col["location"]]
            except (KeyError, IndexError):
                raw = None
            try:
                lat_text, lon_text = point_of(raw) or ("", "")
            except ValueError:
                return self._no_location(
                    f"the location {as_text(raw)[:100]!r} is not a point", where, raw, warnings
                )
        if not lat_text or not lon_text:
            if p.require_location and {"lat", "lon", "location"} & self.col.keys():
                raise Reject("no location: latitude or longitude is empty")
            return None, None, False
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            return self._no_location(
                f"the location ({lat_text!r}, {lon_text!r}) is not a pair of numbers",
                where, f"{lat_text}, {lon_text}", warnings,
            )  # fmt: skip
        problem = location_problem(lat, lon, p.bounds)
        if problem:
            return self._no_location(problem, where, f"{lat_text}, {lon_text}", warnings)
        approximate = any(
            abs(lat - plat) < _PLACEHOLDER_TOLERANCE and abs(lon - plon) < _PLACEHOLDER_TOLERANCE
            for plat, plon in p.placeholders
        )
        return lat, lon, approximate

    def _no_location(self, problem: str, where: str, value: Any,
                     warnings: list[tuple[str, str, str]]) -> tuple[None, None, bool]:  # fmt: skip
        """A location that cannot be used rejects the row when the mapping requires one; else
        the case is kept without it."""
        if self.profile.require_location:
            raise Reject(problem)
        warnings.append((where, as_text(value), f"{problem}; the location was left out"))
        return None, None, False


def _clean_number(text: str) -> str:
    """Spreadsheet exports write "64109.0" for a ZIP code."""
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text
