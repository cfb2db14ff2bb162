"""Every Open311 answer passes the official schemas when a case or service lacks what is optional.

The Swagger file's definitions (swagger.json) have no null anywhere: a text the city does not hold
is "", and a time, a position or a media link it does not hold is left out. A case with no service,
department, description, address, position, closing time, expected time or media; a service with
no description, group, department or questions; and every answer that shows them, in JSON and XML.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import defusedxml.ElementTree as DET
import pytest
from django.utils import timezone

from civicstat.cases.models import Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.open311.models import ServiceAttribute, ServiceType

BASE = "/open311/v2"
DEFINITION = "swagger.json#/definitions/"


def bare(external_id: str, **extra: Any) -> CaseRecord:
    at = timezone.now() - timedelta(days=2)
    fields: dict[str, Any] = {"external_id": external_id, "status": "OPEN",
                              "status_group": "open", "requested_at": at, **extra}  # fmt: skip
    return CaseRecord(**fields)


@pytest.fixture
def gaps(city: dict[str, Any]) -> dict[str, Any]:
    """A service that says nothing about itself, and cases that hold nothing they need not."""
    layer = city["layer"]
    silent = Service.objects.create(layer=layer, code="QUIET", name="Quiet service")
    ServiceAttribute.objects.create(service=silent, code="WHAT", description="")
    batch = Service.objects.create(layer=layer, code="LATER", name="Batch service")
    ServiceType.objects.create(service=batch, type="batch")
    blackbox = Service.objects.create(layer=layer, code="BLIND", name="Blackbox service")
    ServiceType.objects.create(service=blackbox, type="blackbox")
    case_upsert(layer=layer, records=[
        bare("2001"),  # no service, department, description, address, zip code or position
        bare("2002", service_id=silent.id, lat=39.1, lon=-94.58, location_approximate=True),
        # Closed without a closing time, as some sources send them.
        bare("2003", service_id=silent.id, status="RESOL", status_group="closed"),
    ])  # fmt: skip
    return {"silent": silent, "batch": batch, "blackbox": blackbox}


def nulls(value: Any, path: str = "$") -> Iterator[str]:
    """The paths of every null in a document."""
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from nulls(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from nulls(child, f"{path}[{i}]")


def answer(client: Any, path: str, method: str = "get", **data: Any) -> Any:
    """The JSON answer, with its XML twin checked for a written-out None on the way."""
    call = getattr(client, method)
    response = call(f"{BASE}/{path}.json", data)
    assert response.status_code == 200, response.content
    twin = call(f"{BASE}/{path}.xml", data)
    assert twin.status_code == 200, twin.content
    texts = [element.text for element in DET.fromstring(twin.content).iter()]
    assert "None" not in texts and "null" not in texts, twin.content
    doc = response.json()
    assert list(nulls(doc)) == [], doc
    return doc


def test_requests_lacking_every_optional_field_pass_the_official_schema(client, gaps,
                                                                         schema_check):  # fmt: skip
    """The list, each request, with and without extensions: no null, and the strict Request
    definition holds for each one."""
    for extensions in ("false", "true"):
        docs = answer(client, "requests", service_request_id="2001,2002,2003",
                      extensions=extensions)  # fmt: skip
        assert sorted(d["service_request_id"] for d in docs) == ["2001", "2002", "2003"]
        assert schema_check("requests.json", docs) == []
        for doc in docs:
            assert schema_check(f"{DEFINITION}Request", doc) == [], doc
            [one] = answer(client, f"requests/{doc['service_request_id']}",
                           extensions=extensions)  # fmt: skip
            assert schema_check(f"{DEFINITION}Request", one) == [], one
    docs = answer(client, "requests", service_request_id="2001,2002,2003")
    by_id = {d["service_request_id"]: d for d in docs}
    assert by_id["2001"]["address"] == "" and "lat" not in by_id["2001"]
    assert by_id["2001"]["service_code"] == "" and by_id["2001"]["agency_responsible"] == ""
    assert "lat" not in by_id["2002"] and "long" not in by_id["2002"]  # approximate: not shown


def test_services_and_definitions_lacking_optional_fields_pass_the_official_schema(
    client, gaps, schema_check
):
    """A service with no description, group or department; a question with no description."""
    docs = answer(client, "services")
    assert schema_check("services.json", docs) == []
    for doc in docs:
        assert schema_check(f"{DEFINITION}Service", doc) == [], doc
    definition = answer(client, "services/QUIET")
    assert schema_check("service-definition.json", definition) == []
    assert schema_check(f"{DEFINITION}ServiceDefinition", definition) == [], definition


def test_discovery_holds_no_null(client, gaps, settings):
    """Discovery has no schema file; it still carries text, never null, even when its texts are
    set empty."""
    settings.OPEN311_CONTACT = ""
    settings.OPEN311_KEY_SERVICE = ""
    answer(client, "discovery")


@pytest.mark.parametrize("code", ["QUIET", "LATER", "BLIND"])
def test_post_answers_and_tokens_lacking_optional_fields_pass_the_official_schema(
    client, gaps, fixit_key, schema_check, code
):
    """A post with nothing but a key, a service and an address: realtime, batch and blackbox
    answers, the token's answer and the request it leads to all pass."""
    fields = {"api_key": fixit_key, "service_code": code, "address_string": "Somewhere"}
    [posted] = answer(client, "requests", method="post", **fields)
    assert schema_check(f"{DEFINITION}RequestResponse", posted) == [], posted
    if "token" in posted:
        [found] = answer(client, f"tokens/{posted['token']}")
        assert schema_check(f"{DEFINITION}TokenResponse", found) == [], found
        [request] = answer(client, f"requests/{found['service_request_id']}")
        assert schema_check(f"{DEFINITION}Request", request) == [], request
