"""Checking a posted service request before anything is written, and what the POST answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from civicstat.cases.models import Case, Service, StatusGroup, StatusMapping
from civicstat.cases.records import CaseRecord
from civicstat.lib import params
from civicstat.maps.places import address_find
from civicstat.open311.documents import served_services
from civicstat.open311.formats import Open311Error
from civicstat.open311.models import (
    Datatype,
    RequestToken,
    ServiceAttribute,
    ServiceKind,
    ServiceType,
)
from civicstat.open311.params import one, when
from civicstat.places.geocoder import address_point_find, places_find

MAX_DESCRIPTION = 4000
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_CONTACT = {"first_name": 100, "last_name": 100, "email": 254, "phone": 50, "device_id": 100,
            "account_id": 100}  # fmt: skip


@dataclass
class Posted:
    service: Service
    record: CaseRecord
    contact: dict[str, str]
    kind: str = ServiceKind.REALTIME


def service_kind(service: Service) -> str:
    """The service's Open311 type; realtime unless staff chose otherwise."""
    found = ServiceType.objects.filter(service=service).values_list("type", flat=True).first()
    return found or ServiceKind.REALTIME


def post_answer(*, kind: str, case: Case, token: RequestToken) -> dict[str, Any]:
    """The one element of a POST's answer: a realtime service gives the id (and a token), a batch
    service only the token to look the id up by, a blackbox service neither."""
    doc: dict[str, Any] = {}
    if kind == ServiceKind.REALTIME:
        doc["service_request_id"] = case.external_id
    if kind in (ServiceKind.REALTIME, ServiceKind.BATCH):
        doc["token"] = token.token
    # No account_id: CivicStat keeps no reporter accounts, and the official schema has no null.
    doc["service_notice"] = ""
    return doc


def check_text(query: Mapping[str, Any]) -> None:
    """Every name and value free of control characters (values may hold tabs and line breaks)."""
    for name in query:
        params.plain("a parameter's name", name)
        found = query.getlist(name) if hasattr(query, "getlist") else [query[name]]
        for value in found:
            params.plain(name, str(value), free_text=True)


def _location(query: Mapping[str, Any]) -> tuple[float | None, float | None, str]:
    lat, lon = one(query, "lat"), one(query, "long")
    address = one(query, "address_string")[:255]
    known = None
    if address_id := one(query, "address_id"):
        # The addresses the map's place search finds (/map/places.json gives their ids): points
        # of the address index ("a123"), or the older ids of addresses known from cases.
        known = address_point_find(address_id) or address_find(address_id)
        if known is None:
            raise Open311Error(400, f"unknown address_id {address_id[:64]!r}; find an address's "
                                    "id with /map/places.json?q=, or send lat and long or "
                                    "address_string")  # fmt: skip
    if lat or lon:
        if not (lat and lon):
            raise Open311Error(400, "lat and long must both be decimal degrees (WGS 84)")
        lat_f = params.decimal("lat", lat, low=-90, high=90)
        lon_f = params.decimal("long", lon, low=-180, high=180)
        return lat_f, lon_f, address or (known.name if known else "")
    if known is not None:
        return known.lat, known.lon, address or known.name
    if address:
        # Located by the place search when it knows the address; kept as text when it does not.
        found = [p for p in places_find(address, limit=1) if p.kind == "address" and p.exact]
        if found:
            return found[0].lat, found[0].lon, address
        return None, None, address
    raise Open311Error(400, "a location is required: give lat and long, address_string or "
                            "address_id")  # fmt: skip


def _attributes(query: Mapping[str, Any], service: Service) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for name in query:
        if match := _ATTRIBUTE.match(name):
            values = query.getlist(name) if hasattr(query, "getlist") else [query[name]]
            given.setdefault(match.group(1), []).extend(str(v).strip() for v in values)
    out: dict[str, Any] = {}
    defined = {a.code: a for a in ServiceAttribute.objects.filter(service=service)}
    for code in given:
        if code not in defined:
            raise Open311Error(400, f"attribute {code!r} is not asked by service {service.code}; "
                                    f"see services/{service.code}.json")  # fmt: skip
    for code, a in defined.items():
        values = [v for v in given.get(code, []) if v]
        if not values:
            if a.required and a.variable:
                raise Open311Error(400, f"attribute[{code}] is required: {a.description[:100]}")
            continue
        out[code] = _attribute_value(a, values)
    return out


def _attribute_value(a: ServiceAttribute, values: list[str]) -> Any:
    if a.datatype in (Datatype.SINGLE, Datatype.MULTI):
        unknown = [v for v in values if v not in a.value_keys()]
        if unknown or (a.datatype == Datatype.SINGLE and len(values) > 1):
            keys = ", ".join(sorted(a.value_keys()))
            raise Open311Error(
                400,
                f"attribute[{a.code}] takes "
                f"{'one' if a.datatype == Datatype.SINGLE else 'some'} of: {keys}",
            )
        return values if a.datatype == Datatype.MULTI else values[0]
    if len(values) > 1:
        raise Open311Error(400, f"attribute[{a.code}] takes one value")
    value = values[0][:MAX_DESCRIPTION]
    if a.datatype == Datatype.NUMBER:
        # Finite only: a JSON document cannot hold NaN or Infinity, and PostgreSQL refuses it.
        return params.decimal(f"attribute[{a.code}]", value, low=-1e12, high=1e12)
    if a.datatype == Datatype.DATETIME:
        return when(f"attribute[{a.code}]", value).isoformat()
    return value


def _contact(query: Mapping[str, Any]) -> dict[str, str]:
    contact = {name: one(query, name) for name in _CONTACT}
    for name, limit in _CONTACT.items():
        if len(contact[name]) > limit:
            raise Open311Error(400, f"{name} may be at most {limit} characters")
    if contact["email"]:
        try:
            validate_email(contact["email"])
        except ValidationError:
            raise Open311Error(400, "email is not a valid email address") from None
    return contact


def read_post(query: Mapping[str, Any]) -> Posted:
    """The service, case and contact a POST describes; raises Open311Error on anything wrong."""
    check_text(query)
    code = one(query, "service_code")
    if not code:
        raise Open311Error(400, "service_code is required; see services.json for the list")
    service = served_services().select_related("layer").filter(code=code).first()
    if service is None:
        raise Open311Error(404, f"unknown service_code {code!r}; see services.json for the list")
    description = one(query, "description")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description may be at most {MAX_DESCRIPTION:,} characters "
                                f"(it has {len(description):,})")  # fmt: skip
    lat, lon, address = _location(query)
    attributes = _attributes(query, service)
    if media_url := one(query, "media_url")[:500]:
        attributes["media_url"] = media_url
    status = (
        StatusMapping.objects.filter(layer_id=service.layer_id, group=StatusGroup.OPEN)
        .order_by("id").values_list("code", flat=True).first()
    ) or "open"  # fmt: skip
    now = timezone.now()
    record = CaseRecord(external_id="api-", status=status, status_group=StatusGroup.OPEN,
                        requested_at=now, updated_at=now, service_id=service.id,
                        department_id=service.department_id, description=description,
                        address=address, lat=lat, lon=lon, channel="Open311 API",
                        attributes=attributes)  # fmt: skip
    return Posted(service=service, record=record, contact=_contact(query),
                  kind=service_kind(service))  # fmt: skip
