"""The data core: layers, departments, services, areas, cases and their history, and the rollups."""

from __future__ import annotations

from civicstat.cases.models.aliases import ServiceAlias, ServiceGroupAlias
from civicstat.cases.models.core import (
    Area,
    Case,
    CaseArea,
    CaseContact,
    CaseEvent,
    DataVersion,
    Department,
    DepartmentAlias,
    EventKind,
    Layer,
    Service,
    StatusGroup,
    StatusMapping,
)
from civicstat.cases.models.rollups import (
    CloseTimeTotal,
    DailyCaseCount,
    DailyCloseTime,
    DepartmentCloseTime,
    MonthlyCaseCount,
    MonthlyCloseHistogram,
    MonthlyCloseTime,
    MonthlyPublicCloseHistogram,
    MonthlyPublicCount,
)

__all__ = [
    "Area",
    "Case",
    "CaseArea",
    "CaseContact",
    "CaseEvent",
    "CloseTimeTotal",
    "DailyCaseCount",
    "DailyCloseTime",
    "DataVersion",
    "DepartmentCloseTime",
    "Department",
    "DepartmentAlias",
    "EventKind",
    "Layer",
    "MonthlyCaseCount",
    "MonthlyCloseHistogram",
    "MonthlyCloseTime",
    "MonthlyPublicCloseHistogram",
    "MonthlyPublicCount",
    "Service",
    "ServiceAlias",
    "ServiceGroupAlias",
    "StatusGroup",
    "StatusMapping",
]
