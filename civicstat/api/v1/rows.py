"""A case as the query API writes it, in JSON, CSV and GeoJSON, a page at a time or streamed.

Rows are read with `values()` (no model instances: a bulk export of a million cases must not
build a million objects), from the query builder's queryset only, so private request types never
appear. Reporters' contact details are never selected. Times are written in the city's time zone
with their UTC offset.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from civicstat.api.v1.points import POINT_FIELDS, output_point
from civicstat.cases.models import Case
from civicstat.readlimits import QueryTimeout, query_time_limit

logger = logging.getLogger(__name__)

# The columns read for a row (the position's come from `points`).
COLUMNS: tuple[str, ...] = (
    "id", "external_id", "layer_id", "layer__slug", "service__code", "service__name",
    "service__group", "department__slug", "department__name", "status", "status_group",
    "description", "address", "zip_code", *POINT_FIELDS, "location_approximate", "requested_at",
    "updated_at", "closed_at", "closed_approximate", "expected_at", "channel", "layer__sensitive",
)  # fmt: skip

# What a row holds, in order: the names of `_fields`, the CSV header and the GeoJSON properties.
FIELDS: tuple[str, ...] = (
    "id", "layer", "service_code", "service_name", "service_group", "department",
    "department_name", "status", "status_label", "status_group", "description", "address",
    "zip_code", "lat", "lon", "location_approximate", "requested_at", "updated_at", "closed_at",
    "closed_approximate", "expected_at", "channel", "url",
)  # fmt: skip

FIELD_DESCRIPTIONS = {
    "id": "The case's id at its source (unique within its layer).",
    "layer": "The layer's slug (311 requests, code violations…).",
    "service_code": "The request type's code.",
    "service_name": "The request type's name.",
    "service_group": "The request type's group.",
    "department": "The responsible department's slug.",
    "department_name": "The responsible department's name.",
    "status": "The source's own status code.",
    "status_label": "The status as residents read it.",
    "status_group": "open or closed.",
    "description": "The public description.",
    "address": "The address the source gave.",
    "zip_code": "The ZIP code the source gave.",
    "lat": "Latitude (WGS 84) as published: generalised for sensitive layers.",
    "lon": "Longitude (WGS 84) as published: generalised for sensitive layers.",
    "location_approximate": "true: the source gave a placeholder point, not the real place.",
    "requested_at": "When the case was opened (city time, with offset).",
    "updated_at": "When the source last changed it.",
    "closed_at": "When it was closed.",
    "closed_approximate": "true: the source gave no closing time; closed_at is its last change.",
    "expected_at": "When the city expects to close it.",
    "channel": "How it was reported (phone, web, app…).",
    "url": "The case's public page.",
}


class RowWriter:
    """Turns `values(*COLUMNS)` rows into output rows with the chosen fields."""

    def __init__(self, *, fields: tuple[str, ...], labels: Mapping[tuple[int, str], str],
                 site: str) -> None:  # fmt: skip
        self.fields = fields
        self.labels = labels
        self.site = site.rstrip("/")
        # The city's zone, looked up once: `timezone.localtime` asks for the active zone each
        # time, through a context-local, and that was a tenth of an export's time.
        self.zone = ZoneInfo(settings.TIME_ZONE)
        # Only the chosen fields are worked out (an export writes millions of rows).
        self._getters = [_GETTERS[name] for name in fields]

    def _time(self, moment: datetime | str | None) -> str | None:
        if moment is None:
            return None
        if isinstance(moment, str):  # from the driver (`stream_rows`), were it to give text
            moment = datetime.fromisoformat(moment)
        if moment.tzinfo is None:  # SQLite's driver: UTC, as Django stores it, without a zone
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).isoformat()

    def _url(self, r: Mapping[str, Any]) -> str:
        external = r["external_id"]
        if not _URL_SAFE.fullmatch(external):  # most ids are digits: no need to quote them
            external = quote(external, safe="")
        return f"{self.site}/cases/{quote(r['layer__slug'])}/{external}"

    def row(self, r: Mapping[str, Any]) -> dict[str, Any]:
        return {name: get(self, r) for name, get in zip(self.fields, self._getters, strict=True)}

    def feature(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """A GeoJSON Feature: the position as its geometry (null when unknown), the rest as
        properties."""
        point = output_point(r)
        props = {k: v for k, v in self.row(r).items() if k not in ("lat", "lon")}
        geometry = {"type": "Point", "coordinates": [point[1], point[0]]} if point else None
        return {"type": "Feature", "geometry": geometry, "properties": props}

    def csv_line(self, r: Mapping[str, Any]) -> list[Any]:
        return [_csv_value(get(self, r)) for get in self._getters]


def _lat(w: RowWriter, r: Mapping[str, Any]) -> float | None:
    point = output_point(r)
    return point[0] if point else None


def _lon(w: RowWriter, r: Mapping[str, Any]) -> float | None:
    point = output_point(r)
    return point[1] if point else None


def _column(name: str) -> Callable[[RowWriter, Mapping[str, Any]], Any]:
    return lambda w, r: r[name]


def _time_of(name: str) -> Callable[[RowWriter, Mapping[str, Any]], Any]:
    return lambda w, r: w._time(r[name])


def _flag(name: str) -> Callable[[RowWriter, Mapping[str, Any]], Any]:
    return lambda w, r: bool(r[name])


_URL_SAFE = re.compile(r"[A-Za-z0-9_.-]+")
# How each field of FIELDS is written from a row of COLUMNS.
_GETTERS: dict[str, Callable[[RowWriter, Mapping[str, Any]], Any]] = {
    "id": _column("external_id"),
    "layer": _column("layer__slug"),
    "service_code": _column("service__code"),
    "service_name": _column("service__name"),
    "service_group": _column("service__group"),
    "department": _column("department__slug"),
    "department_name": _column("department__name"),
    "status": _column("status"),
    "status_label": lambda w, r: w.labels.get((r["layer_id"], r["status"]), r["status"]),
    "status_group": _column("status_group"),
    "description": _column("description"),
    # A sensitive layer's street address is as exact as its point: never published.
    "address": lambda w, r: "" if r["layer__sensitive"] else r["address"],
    "zip_code": _column("zip_code"),
    "lat": _lat,
    "lon": _lon,
    "location_approximate": _flag("location_approximate"),
    "requested_at": _time_of("requested_at"),
    "updated_at": _time_of("updated_at"),
    "closed_at": _time_of("closed_at"),
    "closed_approximate": _flag("closed_approximate"),
    "expected_at": _time_of("expected_at"),
    "channel": _column("channel"),
    "url": lambda w, r: w._url(r),
}


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_text(header: Iterable[str], lines: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(header))
    writer.writerows(lines)
    return out.getvalue()


# ---- Streaming a whole layer -------------------------------------------------------------------

CHUNK_ROWS = 2000  # rows fetched and encoded at a time: memory stays flat whatever the export


class ExportTooSlow(Exception):
    """An export's first rows could not be read within the public statement limit: answered 503
    before anything is sent."""


def stream_rows(qs: QuerySet[Case], *, first: list[dict[str, Any]] | None = None,
                deadline: float | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Every row of `qs` in id order, read `CHUNK_ROWS` at a time by keyset (`id > last`).

    Each chunk is its own short statement under `PUBLIC_QUERY_TIMEOUT_MS`, so no statement of an
    export runs for as long as the export does, and no transaction or server-side cursor is held
    open while a slow client reads. `first` is the first chunk, already read by `first_rows`
    before the response started. Past `deadline` (a `time.monotonic()` value) the stream stops
    with an error: the server then cuts the connection, and the client sees an incomplete
    transfer rather than a table that looks whole. The ORM's per-value conversion was most of an
    export's time, so the driver's values are read as they come (`RowWriter` copes with SQLite's
    times without their zone and its booleans as 0 and 1)."""
    chunk = first if first is not None else _chunk(qs, None)
    while chunk:
        yield from chunk
        if len(chunk) < CHUNK_ROWS:
            return
        if deadline is not None and time.monotonic() > deadline:
            logger.warning("export stopped after %s s (EXPORT_TIME_LIMIT_S)",
                           settings.EXPORT_TIME_LIMIT_S)  # fmt: skip
            raise ExportCut("the export ran past EXPORT_TIME_LIMIT_S")
        chunk = _chunk(qs, chunk[-1]["id"])


class ExportCut(Exception):
    """Raised inside a streaming export: the connection is closed without the stream's end."""


def first_rows(qs: QuerySet[Case]) -> list[dict[str, Any]]:
    """The export's first chunk, read before the response starts, so that a filter the database
    cannot answer in time is a 503 and not a stream that stalls on its first row."""
    try:
        return _chunk(qs, None)
    except QueryTimeout as error:
        raise ExportTooSlow(str(error)) from error


def _chunk(qs: QuerySet[Case], after: int | None) -> list[dict[str, Any]]:
    page = qs if after is None else qs.filter(id__gt=after)
    query = page.order_by("id").values_list(*COLUMNS)[:CHUNK_ROWS]
    try:
        sql, params = query.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing
        return []
    limit = query_time_limit(settings.PUBLIC_QUERY_TIMEOUT_MS)
    with limit, connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def csv_stream(writer: RowWriter, rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    out = io.StringIO()
    lines = csv.writer(out)
    lines.writerow(writer.fields)
    for n, r in enumerate(rows, 1):
        lines.writerow(writer.csv_line(r))
        if n % CHUNK_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def geojson_stream(writer: RowWriter, rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    yield '{"type": "FeatureCollection", "features": ['
    parts: list[str] = []
    first = True
    for r in rows:
        parts.append(("" if first else ",\n") + json.dumps(writer.feature(r)))
        first = False
        if len(parts) >= CHUNK_ROWS:
            yield "".join(parts)
            parts.clear()
    yield "".join(parts) + "]}\n"


def gzipped(chunks: Iterable[str]) -> Iterator[bytes]:
    """The chunks as one gzip stream, compressed as they come."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    for chunk in chunks:
        if data := packer.compress(chunk.encode()):
            yield data
    yield packer.flush()


def encoded(chunks: Iterable[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode()
