"""Walton County, FL's published performance measures (FY2023–2026), as manual measures.

The county publishes, per department, a goal and rows of objective, measure, two years of actuals
and two of projections, written as "100%", "$10.4M", "5,900" or "N/A". Actuals become the
measure's values; projections become its targets for those years. Walton's fiscal year starts
October 1, so FY2024 runs from 2023-10-01 to 2024-09-30.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.text import slugify

from civicstat.performance.numbers import parse_number
from civicstat.performance.portable import definitions_import

WALTON_FILE = (
    Path(settings.BASE_DIR)
    / "demo"
    / "walton-county"
    / "walton_county_fl_measures_fy2023_2026.json"
)
FISCAL_START = 10
ACTUALS = {"actual2023": "FY2023", "actual2024": "FY2024"}
PROJECTIONS = {"projected2025": "FY2025", "projected2026": "FY2026"}


def walton_definitions(data: Any, *, area_slug: str = "walton-county-fl") -> dict[str, Any]:
    """The county's table as definitions; ValueError names a value that is not a number."""
    if not isinstance(data, list):
        raise ValueError("expected a list of departments, each with a goal and rows")
    goals: list[dict[str, Any]] = []
    used: set[str] = set()
    methods = ("Published by Walton County, FL in its budget book: actual values for FY2023 and "
               "FY2024, projections for FY2025 and FY2026 (shown as targets).")  # fmt: skip
    for position, dept in enumerate(data):
        measures = []
        for row in dept["rows"]:
            parsed: dict[str, float | None] = {}
            units: set[str] = set()
            for column in (*ACTUALS, *PROJECTIONS):
                try:
                    value, unit = parse_number(row.get(column))
                except ValueError as error:
                    raise ValueError(
                        f"{dept['department']}, {row['measure']!r}, {column}: {error}"
                    ) from None
                parsed[column] = value
                if unit:
                    units.add(unit)
            slug = _unique(slugify(row["measure"])[:50].strip("-"), used)
            unit = units.pop() if len(units) == 1 else "count"
            measures.append({
                "slug": slug, "title": row["measure"], "short_name": row["measure"][:60],
                "description": f"Objective: {row['objective']}", "published": True,
                "unit": unit, "decimals": 0, "direction": "up", "period": "year",
                "fiscal_year_start_month": FISCAL_START, "calculation": "manual",
                "status_rule": "proximity", "on_track_band": 5, "near_band": 15,
                "values": {fy: parsed[c] for c, fy in ACTUALS.items()},
                "targets": {fy: v for c, fy in PROJECTIONS.items() if (v := parsed[c]) is not None},
                "methods": methods,
            })  # fmt: skip
        goals.append({"slug": _unique(slugify(dept["department"])[:50], used),
                      "title": f"{dept['department']}: {dept['goal']}"[:300],
                      "position": position, "measures": measures})  # fmt: skip
    return {"version": 1, "priority_areas": [{
        "slug": area_slug, "name": "Walton County, FL (published measures)", "position": 99,
        "description": "A second city's real published measures, imported from its budget book.",
        "goals": goals,
    }]}  # fmt: skip


def _unique(slug: str, used: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in used:
        candidate, n = f"{slug}-{n}", n + 1
    used.add(candidate)
    return candidate


def walton_import(*, path: Path = WALTON_FILE) -> int:
    """Import the county's measures; returns how many. All of them, or nothing."""
    return definitions_import(walton_definitions(json.loads(path.read_text(encoding="utf-8"))))
