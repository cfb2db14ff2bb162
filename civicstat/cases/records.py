"""What a writer hands to `case_upsert`: one case as its source describes it, already normalised."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class CaseRecord:
    external_id: str
    status: str
    status_group: str
    requested_at: datetime
    service_id: int | None = None
    department_id: int | None = None
    description: str = ""
    address: str = ""
    zip_code: str = ""
    lat: float | None = None
    lon: float | None = None
    location_approximate: bool = False
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    # The source gave no closing time: closed_at is when it last changed the case.
    closed_approximate: bool = False
    expected_at: datetime | None = None
    # The source's own verdict against its target: True on time, False late, None none given.
    on_time: bool | None = None
    channel: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    # Areas the source names by code (a council district number), beside those its point is in.
    area_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.events += other.events
