"""A small town for the SODA and catalogue tests.

Alice's city ran a Socrata portal; its 311 layer has potholes and graffiti (Public Works), a
leaking main (Water) and an elder-abuse line that is private. Six cases, with times chosen to sit
either side of midnight and of a month's end in city time (America/Chicago).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from civicstat.api.soda.datasets import default_identifier
from civicstat.cases.models import Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, department_resolve, layer_ensure

CHICAGO = ZoneInfo("America/Chicago")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


@dataclass
class Town:
    layer: Layer
    dataset_id: str
    private: Service


@pytest.fixture
def town(db: None, settings: Any) -> Town:
    settings.TIME_ZONE = "America/Chicago"
    settings.SODA_IP_RATE = ""
    settings.SODA_APP_TOKEN_RATE = ""
    statuses = {"OPEN": ("open", "Received"), "RESOL": ("closed", "Resolved")}
    layer = layer_ensure(slug="requests", name="311 requests", noun="request", statuses=statuses)
    works = department_resolve(name="Public Works")
    water = department_resolve(name="Water Services")
    assert works is not None and water is not None
    pothole = Service.objects.create(layer=layer, code="POT", name="Pothole", group="Streets",
                                     department=works)  # fmt: skip
    graffiti = Service.objects.create(layer=layer, code="GRAF", name="Graffiti", group="Streets",
                                      department=works)  # fmt: skip
    main = Service.objects.create(layer=layer, code="MAIN", name="Water main leak",
                                  group="Water", department=water)  # fmt: skip
    abuse = Service.objects.create(layer=layer, code="ABUSE", name="Elder abuse", group="Social",
                                   department=works, private=True)  # fmt: skip

    def record(external_id: str, service: Service, at: datetime, closed: datetime | None,
               lat: float | None, lon: float | None, address: str = "414 E 12th St",
               description: str = "") -> CaseRecord:  # fmt: skip
        return CaseRecord(
            external_id=external_id, status="RESOL" if closed else "OPEN",
            status_group="closed" if closed else "open", requested_at=at, updated_at=closed or at,
            closed_at=closed, service_id=service.id, department_id=service.department_id,
            description=description or f"case {external_id}", address=address, lat=lat, lon=lon,
        )  # fmt: skip

    case_upsert(layer=layer, records=[
        record("1001", pothole, local(2024, 1, 31, 23, 30), local(2024, 2, 2, 9, 0),
               39.1000, -94.5800, description="Deep pothole by the bus stop"),
        record("1002", pothole, local(2024, 2, 1, 0, 30), None, 39.1010, -94.5790),
        record("1003", graffiti, local(2024, 2, 14, 12, 0), local(2024, 2, 15, 12, 0),
               39.2000, -94.7000, description="Tag on the 100% Beef sign"),
        record("1004", main, local(2024, 3, 3, 8, 15), None, None, None, address=""),
        record("1005", pothole, local(2024, 3, 9, 17, 45), None, 39.1002, -94.5801),
        record("9001", abuse, local(2024, 2, 10, 10, 0), None, 39.1001, -94.5799),
    ])  # fmt: skip
    return Town(layer, default_identifier("requests"), abuse)
