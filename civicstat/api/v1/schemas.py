"""What the query API answers, as OpenAPI schemas (pydantic), and the query parameters it reads.

The views read their parameters through the project's one parser (`cases.query.parse_filters`,
`civicstat.lib.params`), so a filter means here what it means on the map; the parameters are
declared for the OpenAPI description only (`openapi_extra`).
"""

from __future__ import annotations

from typing import Any

from ninja import Schema

from civicstat.api.v1.aggregates import DIMENSIONS
from civicstat.api.v1.facets import FACETS
from civicstat.api.v1.listing import MAX_SIZE, SORTS
from civicstat.api.v1.rows import FIELDS


class Error(Schema):
    error: str


class CaseRow(Schema):
    id: str | None = None
    layer: str | None = None
    service_code: str | None = None
    service_name: str | None = None
    service_group: str | None = None
    department: str | None = None
    department_name: str | None = None
    status: str | None = None
    status_label: str | None = None
    status_group: str | None = None
    description: str | None = None
    address: str | None = None
    zip_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    location_approximate: bool | None = None
    requested_at: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None
    closed_approximate: bool | None = None
    expected_at: str | None = None
    channel: str | None = None
    url: str | None = None


class FacetValue(Schema):
    value: str | None
    label: str
    count: int
    selected: bool
    toggle_url: str | None


class CasesPage(Schema):
    count: int
    rows: list[CaseRow]
    next: str | None
    next_url: str | None
    facets: dict[str, list[FacetValue]] | None = None


class Facets(Schema):
    count: int
    facets: dict[str, list[FacetValue]]


class Aggregates(Schema):
    by: list[str]
    period: dict[str, Any]
    definitions: dict[str, str]
    rows: list[dict[str, Any]]


class LayerOut(Schema):
    slug: str
    name: str
    noun: str
    description: str
    open: int
    closed: int
    csv_url: str
    geojson_url: str


class ServiceOut(Schema):
    code: str
    name: str
    group: str
    description: str
    layer: str
    department: str | None
    target_days: int | None


class DepartmentOut(Schema):
    slug: str
    name: str


class MeasureOut(Schema):
    slug: str
    title: str
    short_name: str
    description: str
    unit: str
    period: str
    direction: str
    department: str | None
    priority_area: str
    goal: str
    url: str
    values_url: str


class MeasureValues(Schema):
    definition: dict[str, Any]
    values: list[dict[str, Any]]


# ---- Query parameters, for the OpenAPI description --------------------------------------------


def param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


_LIST = "; several: comma-separated or repeated"
FILTER_PARAMS = [
    param("layer", "Layer slug" + _LIST),
    param("service", "Request type code" + _LIST),
    param("service_group", "Request type group" + _LIST),
    param("department", "Department slug" + _LIST),
    param("status", "open, closed or all",
           {"type": "string", "enum": ["open", "closed", "all"]}),
    param("local_status", "The source's own status code" + _LIST),
    param("since", "Opened on or after this day (YYYY-MM-DD, city time)",
           {"type": "string", "format": "date"}),
    param("until", "Opened on or before this day", {"type": "string", "format": "date"}),
    param("closed_since", "Closed on or after this day", {"type": "string", "format": "date"}),
    param("closed_until", "Closed on or before this day", {"type": "string", "format": "date"}),
    param("days", "Opened in the last N days, today included",
           {"type": "integer", "minimum": 1, "maximum": 36600}),
    param("area", "Area id or kind:slug (council-district:district-3)" + _LIST),
    param("bbox", "west,south,east,north in degrees"),
    param("q", "Text in the description or address"),
]  # fmt: skip
FIELDS_PARAM = param("_fields", f"Fields to return, comma-separated: {', '.join(FIELDS)}")
LIST_PARAMS = [
    FIELDS_PARAM,
    param("_sort", "Sort ascending by", {"type": "string", "enum": list(SORTS)}),
    param("_sort_desc", "Sort descending by (default: requested_at, newest first)",
           {"type": "string", "enum": list(SORTS)}),
    param("_size", f"Rows per page, 1 to {MAX_SIZE} (default 100)",
           {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}),
    param("_next", "The cursor from the previous page's `next`"),
]  # fmt: skip
FACET_PARAM = {
    **param("facet", "Facet by (repeatable)",
             {"type": "array", "items": {"type": "string", "enum": list(FACETS)}}),
    "style": "form", "explode": True,
}  # fmt: skip
AGGREGATE_PARAMS = [
    {**param("by", f"Group by one or two of {', '.join(DIMENSIONS)} (comma-separated)"),
     "required": True},
    param("area_kind", "With by=area: the kind of area (default council-district)"),
]  # fmt: skip


def responses(content_type: str, description: str) -> dict[int, Any]:
    """OpenAPI responses of a download in `content_type`, with the JSON error answers. Keyed by
    numbers, as django-ninja keys its own: a "200" beside its 200 would be written twice."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        200: {"description": description,
                "content": {content_type: {"schema": {"type": "string"}}}},
        400: {"description": "A parameter that cannot be read", "content": error},
        429: {"description": "Too many requests from this address", "content": error},
        503: {"description": "The query took too long", "content": error},
    }  # fmt: skip
