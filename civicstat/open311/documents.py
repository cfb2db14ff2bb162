"""Cases and services as GeoReport v2 documents (plain dicts; `formats` writes JSON or XML)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils import timezone

from civicstat.cases.models import Case, CaseArea, CaseEvent, EventKind, Layer, Service
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
    """A W3C datetime with the city's offset, as the spec's examples write them.

    In the city's zone (no request ever activates another): `timezone.localtime` looks the current
    zone up in a context-local on every call, a third of an uncached 1,000-case answer's time."""
    if value is None:
        return None
    return value.astimezone(timezone.get_default_timezone()).isoformat(timespec="seconds")


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


# What a request document needs of a case, read as plain rows: building model instances for a
# page of 1,000 requests took most of the response time.
_FIELDS = (
    "id", "external_id", "layer_id", "status", "status_group", "description", "requested_at",
    "updated_at", "closed_at", "expected_at", "address", "zip_code", "public_lat", "public_lon",
    "location_approximate", "attributes", "channel", "service__name", "service__code",
    "department__name",
)  # fmt: skip


class RequestWriter:
    """Writes cases as requests, reading each layer's public status labels once."""

    def __init__(self, *, extensions: bool) -> None:
        self.extensions = extensions
        self.labels = status_labels()
        self.layers = dict(Layer.objects.values_list("id", "slug"))
        # A sensitive layer's cases go out at their public point only, and without an address
        # (`civicstat.cases.sensitive`).
        self.sensitive = set(Layer.objects.filter(sensitive=True).values_list("id", flat=True))

    def prepare(self, qs: QuerySet[Case]) -> QuerySet[Case, dict[str, Any]]:
        rows: QuerySet[Case, dict[str, Any]] = qs.values(*_FIELDS)
        return rows

    def docs(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        page = list(rows)
        ids = [r["id"] for r in page]
        # One query for the page rather than a subquery per row: a note updates a request too.
        noted = dict(
            CaseEvent.objects.filter(case_id__in=ids, kind=EventKind.NOTE)
            .values("case_id").annotate(last=Max("recorded_at")).values_list("case_id", "last")
        )  # fmt: skip
        events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        districts: dict[int, str] = {}
        if self.extensions:
            for e in (
                CaseEvent.objects.filter(case_id__in=ids)
                .order_by("case_id", "at", "id")
                .values("case_id", "at", "kind", "status_to", "note")
            ):
                events[e["case_id"]].append(dict(e))
            for case_id, name in (
                CaseArea.objects.filter(case_id__in=ids, area__kind="council-district")
                .order_by("case_id", "area__name")
                .values_list("case_id", "area__name")
            ):
                districts.setdefault(case_id, name)
        docs = []
        for r in page:
            doc = self.doc(r, noted.get(r["id"]))
            if self.extensions:
                doc["notes"] = [self.note(r, e) for e in events[r["id"]]]
                doc["extended_attributes"] = {
                    "status_code": r["status"],
                    "layer": self.layers.get(r["layer_id"], ""),
                    "channel": r["channel"],
                    "district": districts.get(r["id"]),
                    "closed_datetime": stamp(r["closed_at"]),
                }
            docs.append(doc)
        return docs

    def doc(self, r: dict[str, Any], last_note: datetime | None) -> dict[str, Any]:
        attributes = r["attributes"] if isinstance(r["attributes"], dict) else {}
        closed = r["status_group"] == "closed" and r["closed_at"]
        updated = r["closed_at"] if closed else r["updated_at"] or r["requested_at"]
        if last_note and (updated is None or last_note > updated):
            updated = last_note
        approximate = r["location_approximate"]
        # A text the case lacks is "" (the official schema has no null); a time, a position or a
        # link it lacks stays None, which JSON leaves out and XML writes as an empty element.
        return {
            "service_request_id": r["external_id"],
            "status": r["status_group"],
            "status_notes": self.labels.get((r["layer_id"], r["status"]), r["status"]),
            "service_name": r["service__name"] or "",
            "service_code": r["service__code"] or "",
            "description": r["description"] or "",
            "agency_responsible": r["department__name"] or "",
            "service_notice": "",
            "requested_datetime": stamp(r["requested_at"]),
            "updated_datetime": stamp(updated),
            "expected_datetime": stamp(r["expected_at"]),
            "address": "" if r["layer_id"] in self.sensitive else r["address"] or "",
            "address_id": None,
            "zipcode": r["zip_code"] or "",
            "lat": None if approximate else r["public_lat"],
            "long": None if approximate else r["public_lon"],
            "media_url": attributes.get("media_url") or None,
        }

    def note(self, r: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
        label = self.labels.get((r["layer_id"], e["status_to"]), e["status_to"])
        return {
            "datetime": stamp(e["at"]),
            "type": e["kind"],
            "status_code": e["status_to"],
            "summary": e["note"] or label,
            "description": e["note"],
        }
