"""A small town for the query API's tests.

One layer of 311 requests; Public Works answers potholes and graffiti, Parks answers fallen trees;
elder-abuse reports are a private request type. Two council districts split the town east and
west. Cases are opened on fixed days (in the city's time) so counts by month are known.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from civicstat.cases.models import Area, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, department_resolve, layer_ensure

STATUSES = {"OPEN": ("open", "Received"), "RESOL": ("closed", "Resolved")}
WEST, EAST = (39.10, -94.60), (39.10, -94.50)


def _square(lat: float, lon: float, half: float) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]  # fmt: skip
    return {"type": "Polygon", "coordinates": [ring]}


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(settings.TIME_ZONE))


def record(external_id: str, service: Service, opened: datetime, *, close_days: float | None = None,
           at: tuple[float, float] | None = WEST, **extra: Any) -> CaseRecord:  # fmt: skip
    closed = close_days is not None
    return CaseRecord(
        external_id=external_id, status="RESOL" if closed else "OPEN",
        status_group="closed" if closed else "open", requested_at=opened, updated_at=opened,
        closed_at=opened + timedelta(days=close_days) if close_days is not None else None,
        service_id=service.id, department_id=service.department_id,
        description=extra.pop("description", f"case {external_id}"),
        address="414 E 12th St", zip_code="64106",
        lat=at[0] if at else None, lon=at[1] if at else None, **extra,
    )  # fmt: skip


@pytest.fixture
def town(db: None, settings: Any) -> dict[str, Any]:
    settings.PUBLIC_READ_RATE = ""  # a test of the limit sets its own
    return town_build()


def town_build() -> dict[str, Any]:
    layer = layer_ensure(slug="requests", name="311 requests", noun="request", statuses=STATUSES)
    works = department_resolve(name="Public Works")
    parks = department_resolve(name="Parks")
    assert works and parks
    pothole = Service.objects.create(layer=layer, code="POT", name="Potholes", group="Streets",
                                     department=works, target_days=3)  # fmt: skip
    graffiti = Service.objects.create(layer=layer, code="GRAF", name="Graffiti", group="Streets",
                                      department=works)  # fmt: skip
    tree = Service.objects.create(layer=layer, code="TREE", name="Fallen tree", group="Trees",
                                  department=parks)  # fmt: skip
    abuse = Service.objects.create(layer=layer, code="ABUSE", name="Elder abuse", group="Social",
                                   department=works, private=True)  # fmt: skip
    west = Area.objects.create(kind="council-district", slug="west", name="West district",
                               geometry=_square(*WEST, 0.04))  # fmt: skip
    east = Area.objects.create(kind="council-district", slug="east", name="East district",
                               geometry=_square(*EAST, 0.04))  # fmt: skip
    case_upsert(layer=layer, records=[
        # January 2024: three potholes (two closed, in 2 and 4 days), a tree (closed in 10 days)
        record("P1", pothole, local(2024, 1, 5), close_days=2),
        record("P2", pothole, local(2024, 1, 9), close_days=4),
        record("P3", pothole, local(2024, 1, 20)),
        record("T1", tree, local(2024, 1, 12), close_days=10, at=EAST),
        # February 2024: graffiti (open), another tree (open), a case with no position
        record("G1", graffiti, local(2024, 2, 3), at=EAST, description="tags on the bridge"),
        record("T2", tree, local(2024, 2, 14)),
        record("G2", graffiti, local(2024, 2, 20), at=None),
        # Private: never in any answer
        record("X1", abuse, local(2024, 1, 7), description="private report"),
    ])  # fmt: skip
    return {"layer": layer, "works": works, "parks": parks, "pothole": pothole,
            "graffiti": graffiti, "tree": tree, "abuse": abuse, "west": west, "east": east,
            "today": timezone.localdate()}  # fmt: skip
