"""Small builders for measure tests: a city with three services and a handful of cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from civicstat.cases.models import Department, Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.performance.models import Goal, Measure, PriorityArea


def at(day: str, hour: int = 12) -> datetime:
    """Local time on `day` (YYYY-MM-DD), as the city's clock reads it."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(
        tzinfo=ZoneInfo(settings.TIME_ZONE)
    )


def small_city() -> dict[str, Any]:
    """Water Services (Water Leak, target 3 days; Meters, no target) and Public Works (Pothole,
    target 10 days), with seven cases in January and February 2024."""
    layer = Layer.objects.create(slug="311-requests", name="311 requests", noun="request")
    water = Department.objects.create(slug="water-services", name="Water Services")
    works = Department.objects.create(slug="public-works", name="Public Works")
    leak = Service.objects.create(layer=layer, code="LEAK", name="Water Leak", group="Water",
                                  department=water, target_days=3)  # fmt: skip
    meters = Service.objects.create(layer=layer, code="METER", name="Meters", group="Water",
                                    department=water)  # fmt: skip
    pothole = Service.objects.create(layer=layer, code="POT", name="Pothole", group="Streets",
                                     department=works, target_days=10)  # fmt: skip

    def case(cid: str, service: Service, opened: str, closed: str | None, **attrs: Any) -> Any:
        return CaseRecord(
            external_id=cid, status="RESOL" if closed else "OPEN",
            status_group="closed" if closed else "open", requested_at=at(opened),
            closed_at=at(closed) if closed else None, service_id=service.id,
            department_id=service.department_id, attributes=attrs,
        )  # fmt: skip

    case_upsert(layer=layer, records=[
        case("W1", leak, "2024-01-05", "2024-01-06"),
        case("W2", leak, "2024-01-10", "2024-01-15"),
        case("W3", leak, "2024-01-20", None, gallons="100"),
        case("P1", pothole, "2024-01-03", "2024-01-04", gallons="x"),
        case("W4", leak, "2024-02-01", "2024-02-03", gallons="40"),
        case("P2", pothole, "2024-02-02", "2024-02-22", gallons="20.5"),
        case("M1", meters, "2024-02-10", "2024-02-11"),
    ])  # fmt: skip
    return {"layer": layer, "water": water, "works": works, "leak": leak, "pothole": pothole}


def a_goal(area: str = "infrastructure", goal: str = "fix-water") -> Goal:
    pa, _ = PriorityArea.objects.get_or_create(slug=area, defaults={"name": area.title()})
    g, _ = Goal.objects.get_or_create(area=pa, slug=goal, defaults={"title": goal.title()})
    return g


def a_measure(slug: str = "m", **fields: Any) -> Measure:
    fields.setdefault("goal", a_goal())
    fields.setdefault("title", slug.replace("-", " ").title())
    fields.setdefault("short_name", slug)
    fields.setdefault("calculation", "count")
    fields.setdefault("published", True)
    return Measure.objects.create(slug=slug, **fields)
