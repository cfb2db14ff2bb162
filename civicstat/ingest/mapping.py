"""Mapping profiles: how one city's export maps onto CivicStat's cases, kept as TOML data files.

A profile names the columns, the date formats, the status map, department aliases, which layer
rows belong to, the city's bounds and any placeholder locations. `kansas-city` and `boston` ship
in `profiles/`; any other city writes its own file and passes it with `--mapping`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicstat.lib.timeparse import DateFormatError, compile_parser

PROFILE_DIR = Path(__file__).parent / "profiles"

# Case fields a profile can fill from a column; external_id, status and opening time are required.
COLUMN_FIELDS = {
    "external_id": "the case's id in the source (required)",
    "status": "the local status code (required)",
    "requested_at": "when the case was opened, date and time in one column",
    "requested_date": "when the case was opened, the date (with requested_time)",
    "requested_time": "the time of day the case was opened",
    "updated_at": "when the source last changed the case",
    "closed_at": "when the case was closed, date and time",
    "closed_date": "the date the case was closed",
    "expected_at": "when the city expects to close it",
    "service_code": "the request type's code",
    "service_name": "the request type's name",
    "service_group": "the request type's group or category",
    "department": "the department responsible",
    "description": "the public description",
    "address": "the street address",
    "zip_code": "the ZIP code",
    "lat": "latitude (WGS 84)",
    "lon": "longitude (WGS 84)",
    "channel": "how it was reported: phone, web, app…",
}


class ProfileError(ValueError):
    """A profile that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class StatusRule:
    group: str
    label: str


@dataclass(frozen=True)
class LayerSpec:
    slug: str
    name: str
    noun: str
    position: int = 0


@dataclass(frozen=True)
class LayerRule:
    column: str
    pattern: re.Pattern[str]
    layer: str


@dataclass
class Profile:
    name: str
    path: Path
    format: str = "csv"
    encoding: str = "utf-8-sig"
    delimiter: str = ""
    timezone: ZoneInfo | None = None
    layer: str = "311-requests"
    layers: dict[str, LayerSpec] = field(default_factory=dict)
    layer_rules: list[LayerRule] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, StatusRule] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    placeholders: list[tuple[float, float]] = field(default_factory=list)
    require_location: bool = True

    def used_columns(self) -> set[str]:
        return {*self.columns.values(), *self.attributes.values(),
                *(r.column for r in self.layer_rules)}  # fmt: skip

    def check_header(self, header: list[str]) -> None:
        """Fail at once, listing what the file has, when the mapping names a missing column."""
        missing = sorted(self.used_columns() - set(header))
        if missing:
            raise ProfileError(
                f"the file has no column {', '.join(map(repr, missing))} that the mapping "
                f"{self.name!r} names; its columns are: {', '.join(header)}"
            )


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(*, name: str | None = None, path: str | Path | None = None) -> Profile:
    """A built-in profile by name, or a mapping file by path."""
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ProfileError(f"no mapping file at {file}")
    else:
        file = PROFILE_DIR / f"{name}.toml"
        if not name or not file.is_file():
            raise ProfileError(
                f"unknown profile {name!r}; available: {', '.join(available_profiles())} "
                "(or pass --mapping FILE.toml)"
            )
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{file}: not valid TOML: {exc}") from None
    return _parse(data, file)


def _parse(data: dict[str, Any], file: Path) -> Profile:
    src = data.get("source", {})
    profile = Profile(name=str(src.get("name", file.stem)), path=file)
    profile.format = str(src.get("format", "csv"))
    if profile.format not in ("csv", "jsonl"):
        raise ProfileError(f"{file}: source.format must be csv or jsonl, not {profile.format!r}")
    profile.encoding = str(src.get("encoding", "utf-8-sig"))
    profile.delimiter = str(src.get("delimiter", ""))
    if "timezone" in src:
        try:
            profile.timezone = ZoneInfo(str(src["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ProfileError(f"{file}: unknown time zone {src['timezone']!r}") from None
    profile.layer = str(src.get("layer", "311-requests"))
    profile.require_location = bool(src.get("require_location", True))
    if "bounds" in src:
        b = src["bounds"]
        if not (isinstance(b, list) and len(b) == 4 and b[0] < b[2] and b[1] < b[3]):
            raise ProfileError(f"{file}: bounds must be [west, south, east, north]")
        profile.bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    for slug, spec in data.get("layers", {}).items():
        profile.layers[slug] = LayerSpec(slug, spec.get("name", slug), spec.get("noun", "case"),
                                         int(spec.get("position", 0)))  # fmt: skip
    if profile.layer not in profile.layers:
        profile.layers[profile.layer] = LayerSpec(profile.layer, profile.layer, "case")
    for rule in data.get("layer_rules", []):
        if rule.get("layer") not in profile.layers:
            raise ProfileError(f"{file}: layer rule names layer {rule.get('layer')!r}, "
                               "which has no [layers.…] section")  # fmt: skip
        try:
            pattern = re.compile(str(rule["pattern"]))
        except (KeyError, re.error) as exc:
            raise ProfileError(f"{file}: layer rule pattern: {exc}") from None
        profile.layer_rules.append(LayerRule(str(rule["column"]), pattern, str(rule["layer"])))

    columns = {str(k): str(v) for k, v in data.get("columns", {}).items()}
    unknown = sorted(set(columns) - set(COLUMN_FIELDS))
    if unknown:
        raise ProfileError(f"{file}: [columns] has unknown field(s) {', '.join(unknown)}; "
                           f"known: {', '.join(COLUMN_FIELDS)}")  # fmt: skip
    for required in ("external_id", "status"):
        if required not in columns:
            raise ProfileError(f"{file}: [columns] must name {required}")
    if "requested_at" not in columns and "requested_date" not in columns:
        raise ProfileError(f"{file}: [columns] must name requested_at or requested_date")
    profile.columns = columns
    profile.attributes = {str(k): str(v) for k, v in data.get("attributes", {}).items()}

    profile.formats = {str(k): str(v) for k, v in data.get("formats", {}).items()}
    for kind, fmt in profile.formats.items():
        try:
            compile_parser(fmt)
        except DateFormatError as exc:
            raise ProfileError(f"{file}: formats.{kind}: {exc}") from None

    for code, rule in data.get("statuses", {}).items():
        group = rule.get("group") if isinstance(rule, dict) else None
        if group not in ("open", "closed"):
            raise ProfileError(f'{file}: status {code!r} needs group = "open" or "closed"')
        profile.statuses[str(code)] = StatusRule(group, str(rule.get("label", code)))
    if not profile.statuses:
        raise ProfileError(f"{file}: [statuses] must map each local status to open or closed")

    profile.departments = {str(k): str(v) for k, v in data.get("departments", {}).items()}
    for point in data.get("placeholder_locations", []):
        profile.placeholders.append((float(point["lat"]), float(point["lon"])))
    return profile
