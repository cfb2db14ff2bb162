"""Rows written as Socrata writes them: JSON with every value a string (numbers too), floating
timestamps in city time without a zone (`2014-10-13T00:00:00.000`), null fields left out; CSV
with a header row; GeoJSON features whose geometry is the first point selected. And the
`X-SODA2-Fields` / `X-SODA2-Types` headers that describe the columns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from civicstat.api.soda.query import OutColumn
from civicstat.api.soda.translate import city_zone

CONTENT_TYPES = {
    "json": "application/json;charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/vnd.geo+json;charset=utf-8",
}


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


@lru_cache(maxsize=8192)  # grouped answers repeat each month's start hundreds of times
def _stamp(value: Any, kind: str) -> str | None:
    if not isinstance(value, datetime):
        return None if value is None else str(value)
    if kind == "fixed_timestamp":
        utc = value.astimezone(UTC) if timezone.is_aware(value) else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    local = value.astimezone(city_zone()) if timezone.is_aware(value) else value
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def value_of(row: dict[str, Any], column: OutColumn) -> Any:
    """The column's value in JSON's shape, or None to leave it out."""
    if column.kind == "point":
        lat, lon = (row[k] for k in column.keys)
        if lat is None or lon is None:
            return None
        return {"type": "Point", "coordinates": [float(lon), float(lat)]}
    value = row[column.keys[0]]
    if value is None or value == "":
        return None
    if column.kind == "checkbox":
        return bool(value)
    if column.kind in ("number", "meta_data") and not isinstance(value, datetime):
        return _number(value)
    if "timestamp" in column.kind or isinstance(value, datetime):
        return _stamp(value, "fixed_timestamp" if column.kind == "meta_data" else column.kind)
    return str(value)


def soda_types(columns: list[OutColumn]) -> list[str]:
    return [c.kind for c in columns]


def json_body(rows: list[dict[str, Any]], columns: list[OutColumn]) -> bytes:
    out = []
    for row in rows:
        item = {}
        for column in columns:
            value = value_of(row, column)
            if value is not None:
                item[column.name] = value
        out.append(item)
    return json.dumps(out, indent=1, ensure_ascii=False).encode()


def csv_body(rows: list[dict[str, Any]], columns: list[OutColumn]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        line = []
        for column in columns:
            value = value_of(row, column)
            if isinstance(value, dict):  # a point, as Socrata's CSV writes one
                lon, lat = value["coordinates"]
                value = f"POINT ({lon} {lat})"
            elif isinstance(value, bool):
                value = "true" if value else "false"
            line.append("" if value is None else value)
        writer.writerow(line)
    return buffer.getvalue().encode()


def geojson_body(rows: list[dict[str, Any]], columns: list[OutColumn]) -> bytes:
    geometry_column = next((c for c in columns if c.kind == "point"), None)
    features = []
    for row in rows:
        properties = {}
        geometry = None
        for column in columns:
            value = value_of(row, column)
            if column is geometry_column:
                geometry = value
            elif isinstance(value, dict):
                properties[column.name] = json.dumps(value)
            elif value is not None:
                properties[column.name] = value
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    body = {
        "type": "FeatureCollection",
        "features": features,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    }
    return json.dumps(body, ensure_ascii=False).encode()


BODIES = {"json": json_body, "csv": csv_body, "geojson": geojson_body}


def rows_response(fmt: str, rows: list[dict[str, Any]], columns: list[OutColumn]) -> HttpResponse:
    response = HttpResponse(BODIES[fmt](rows, columns), content_type=CONTENT_TYPES[fmt])
    response["X-SODA2-Fields"] = json.dumps([c.name for c in columns])
    response["X-SODA2-Types"] = json.dumps(soda_types(columns))
    return response


def error_response(status: int, code: str, message: str, query: str = "") -> HttpResponse:
    """Socrata's error body: {"code", "error": true, "message", "data": {"query"}}."""
    body = {"code": code, "error": True, "message": message, "data": {"query": query}}
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type=CONTENT_TYPES["json"])  # fmt: skip
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response
