"""A small city for the Open311 tests: one layer, three public services and a private one.

Alice is department staff; the mobile app "FixIt" holds an API key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from civicstat.cases.models import Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, department_resolve, layer_ensure
from civicstat.open311.models import ServiceAttribute
from civicstat.open311.services import api_key_issue

SCHEMAS = Path(__file__).resolve().parents[3] / "tests" / "data" / "open311" / "jsonschema"
STATUSES = {
    "OPEN": ("open", "Received"),
    "ASSIG": ("open", "Crew assigned"),
    "RESOL": ("closed", "Resolved"),
    "DUP": ("closed", "Duplicate request"),
}


def layer_make(slug: str = "requests") -> Layer:
    return layer_ensure(slug=slug, name="311 requests", noun="request", statuses=STATUSES)


def service_make(layer: Layer, code: str, name: str, *, private: bool = False) -> Service:
    department = department_resolve(name="Public Works")
    return Service.objects.create(layer=layer, code=code, name=name, group="Streets",
                                  department=department, private=private,
                                  description=f"Report {name.lower()}")  # fmt: skip


def record(external_id: str, service: Service, *, days_ago: float = 1, status: str = "OPEN",
           **extra: Any) -> CaseRecord:  # fmt: skip
    group = STATUSES[status][0]
    at = timezone.now() - timedelta(days=days_ago)
    return CaseRecord(external_id=external_id, status=status, status_group=group,
                      requested_at=at, updated_at=at, service_id=service.id,
                      department_id=service.department_id, description=f"case {external_id}",
                      address="414 E 12th St", zip_code="64106", lat=39.1, lon=-94.58,
                      closed_at=at + timedelta(hours=5) if group == "closed" else None,
                      **extra)  # fmt: skip


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    layer = layer_make()
    pothole = service_make(layer, "POT", "Potholes")
    graffiti = service_make(layer, "GRAF", "Graffiti")
    abuse = service_make(layer, "ABUSE", "Elder abuse", private=True)
    ServiceAttribute.objects.bulk_create([
        ServiceAttribute(service=pothole, code="SIZE", datatype="singlevaluelist", required=True,
                         order=1, description="How big is it?",
                         values=[{"key": "S", "name": "Small"}, {"key": "L", "name": "Large"}]),
        ServiceAttribute(service=pothole, code="LANES", datatype="multivaluelist", order=2,
                         description="Which lanes?",
                         values=[{"key": "N", "name": "North"}, {"key": "S", "name": "South"}]),
        ServiceAttribute(service=pothole, code="DEPTH", datatype="number", order=3,
                         description="Depth in cm"),
        ServiceAttribute(service=pothole, code="SEEN", datatype="datetime", order=4,
                         description="When did you see it?"),
        ServiceAttribute(service=pothole, code="NEAR", datatype="string", order=5,
                         description="Nearest landmark"),
        ServiceAttribute(service=pothole, code="MORE", datatype="text", order=6,
                         description="Anything else?"),
        ServiceAttribute(service=pothole, code="NOTE", datatype="string", order=7,
                         variable=False, description="Crews fill potholes within 3 days."),
    ])  # fmt: skip
    case_upsert(layer=layer, records=[
        record("1001", pothole, days_ago=1),
        record("1002", pothole, days_ago=3, status="RESOL"),
        record("1003", graffiti, days_ago=10, status="ASSIG"),
        record("1004", graffiti, days_ago=200),
        record("9001", abuse, days_ago=1),
    ])  # fmt: skip
    return {"layer": layer, "pothole": pothole, "graffiti": graffiti, "abuse": abuse}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counts live in the cache, keyed by the API key's id, which a rolled-back test
    hands out again: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def fixit_key(db: None) -> str:
    """The raw API key of the FixIt app."""
    return api_key_issue(name="FixIt")[1]


@pytest.fixture(scope="session")
def schema_check() -> Callable[[str, Any], list[str]]:
    """Validate a document against one of the official schemas (or one of their definitions);
    returns the error messages."""
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(contents, DRAFT4)))
    registry: Registry[Any] = Registry().with_resources(resources)

    def check(name: str, document: Any) -> list[str]:
        # A name with a fragment picks a definition, such as swagger.json#/definitions/X; a
        # reference to it keeps its file as the base of the `#/definitions/…` inside it.
        validator = Draft4Validator({"$ref": name}, registry=registry,
                                    format_checker=Draft4Validator.FORMAT_CHECKER)  # fmt: skip
        return [e.message for e in validator.iter_errors(document)]

    return check
