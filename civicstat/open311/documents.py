"""Cases and services as GeoReport v2 documents (plain dicts; `formats` writes JSON or XML)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from civicstat.cases.models import Case, CaseEvent, EventKind, Layer, Service
from civicstat.cases.query import status_labels
from civicstat.open311.models import ServiceAttribute


def served_layers() -> list[str]:
    """The layers this server publishes (all of them unless OPEN311_LAYERS names some)."""
    return list(settings.OPEN311_LAYERS)


def served_services() -> QuerySet[Service]:
    qs = Service.objects.filter(private=False)
    if layers := served_layers():
        qs = qs.filter(layer__slug__in=layers)
    return qs


def last_note() -> Subquery:
    """When the case's latest note was recorded: a note is an update a syncing client needs."""
    notes = CaseEvent.objects.filter(case=OuterRef("pk"), kind=EventKind.NOTE)
    return Subquery(notes.order_by("-recorded_at").values("recorded_at")[:1])


def stamp(value: datetime | None) -> str | None:
    """A W3C datetime with the city's offset, as the spec's examples write them."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def service_doc(service: Service, has_attributes: bool) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": has_attributes,
        "type": "realtime",
        "keywords": "",
        "group": service.group,
    }


def attribute_doc(a: ServiceAttribute) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "variable": a.variable,
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": a.datatype_description,
        "order": a.order,
        "description": a.description,
    }
    if a.datatype in ("singlevaluelist", "multivaluelist"):
        doc["values"] = [
            {"key": str(v.get("key", "")), "name": str(v.get("name", ""))}
            for v in a.values
            if isinstance(v, dict)
        ]
    return doc


class RequestWriter:
    """Writes cases as requests, reading each layer's public status labels once."""

    def __init__(self, *, extensions: bool) -> None:
        self.extensions = extensions
        self.labels = status_labels()
        self.layers = dict(Layer.objects.values_list("id", "slug"))
        self.noted: dict[int, datetime] = {}

    def prepare(self, qs: QuerySet[Case]) -> QuerySet[Case]:
        qs = qs.select_related("service", "department")
        if self.extensions:
            qs = qs.prefetch_related(
                Prefetch("events", queryset=CaseEvent.objects.order_by("at", "id")), "areas"
            )
        return qs

    def docs(self, items: Iterable[Case]) -> list[dict[str, Any]]:
        cases = list(items)
        # One query for the page rather than a subquery per row: a note is an update too.
        self.noted = dict(
            CaseEvent.objects.filter(case_id__in=[c.id for c in cases], kind=EventKind.NOTE)
            .values("case_id").annotate(last=Max("recorded_at")).values_list("case_id", "last")
        )  # fmt: skip
        return [self.doc(c) for c in cases]

    def doc(self, c: Case) -> dict[str, Any]:
        attributes = c.attributes if isinstance(c.attributes, dict) else {}
        doc: dict[str, Any] = {
            "service_request_id": c.external_id,
            "status": c.status_group,
            "status_notes": self.labels.get((c.layer_id, c.status), c.status),
            "service_name": c.service.name if c.service else None,
            "service_code": c.service.code if c.service else "",
            "description": c.description,
            "agency_responsible": c.department.name if c.department else None,
            "service_notice": None,
            "requested_datetime": stamp(c.requested_at),
            "updated_datetime": stamp(
                c.closed_at
                if c.status_group == "closed" and c.closed_at
                else c.updated_at or c.requested_at
            ),  # fmt: skip
            "expected_datetime": stamp(c.expected_at),
            "address": c.address,
            "address_id": None,
            "zipcode": c.zip_code,
            "lat": None if c.location_approximate else c.lat,
            "long": None if c.location_approximate else c.lon,
            "media_url": attributes.get("media_url") or None,
        }
        if self.extensions:
            doc["notes"] = [self.note(c, e) for e in c.events.all()]
            districts = [a.name for a in c.areas.all() if a.kind == "council-district"]
            doc["extended_attributes"] = {
                "status_code": c.status,
                "layer": self.layers.get(c.layer_id, ""),
                "channel": c.channel,
                "district": districts[0] if districts else None,
                "closed_datetime": stamp(c.closed_at),
            }
        return doc

    def note(self, c: Case, e: CaseEvent) -> dict[str, Any]:
        label = self.labels.get((c.layer_id, e.status_to), e.status_to)
        return {
            "datetime": stamp(e.at),
            "type": e.kind,
            "status_code": e.status_to,
            "summary": e.note or label,
            "description": e.note,
        }
