"""Mapping profiles: how one city's export maps onto CivicStat's cases, kept as TOML data files.

A profile names the columns, the date formats, the status map, department aliases, renamed
request types and service groups (`[request_types]`, `[service_groups]`), which layer rows belong
to (and whether a layer is sensitive), readable names for request types the source writes as codes
(`[service_names]`), the city's bounds and any placeholder locations. `kansas-city` and `boston`
ship in `profiles/`; any other city writes its own file and passes it with `--mapping`.
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
    "location": 'a point column, when there is no latitude and longitude: GeoJSON {"type": '
    '"Point", "coordinates": [lon, lat]}, {"latitude": …, "longitude": …} or POINT (lon lat)',
    "channel": "how it was reported: phone, web, app…",
}
# Which format list each date column is read with, unless [formats] names the column itself.
DATE_KINDS = {
    "requested_at": "datetime", "updated_at": "datetime", "closed_at": "datetime",
    "expected_at": "datetime", "requested_date": "date", "closed_date": "date",
    "requested_time": "time",
}  # fmt: skip
DEFAULT_FORMATS = {"datetime": ["%Y-%m-%d %H:%M:%S"], "date": ["%Y-%m-%d"], "time": ["%H:%M"]}
# Fields a row cannot be a case without: a bad or missing value rejects the row. A bad value in
# any other column is left out of the case, with a warning.
REQUIRED_FIELDS = ("external_id", "status", "requested_at", "requested_date")


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
    description: str = ""
    # Published only at a generalised place (`civicstat.cases.sensitive`): crime incidents.
    sensitive: bool = False


@dataclass(frozen=True)
class ServiceName:
    """A readable name (and group) for a request type the source writes as a code."""

    name: str
    group: str = ""


@dataclass(frozen=True)
class LayerRule:
    column: str
    pattern: re.Pattern[str]
    layer: str


@dataclass(frozen=True)
class AreaColumn:
    """A column naming an area by its code (a council district's number)."""

    kind: str
    column: str
    name: str = "{}"


@dataclass(frozen=True)
class OnTimeColumn:
    """[on_time]: a column holding the city's own verdict on each case against its target, and
    the values that mean "on time" and "late" (compared without case or surrounding spaces)."""

    column: str
    on_time: frozenset[str]
    late: frozenset[str]

    def verdict(self, text: str) -> bool | None:
        """True on time, False late, None for an empty value; KeyError for any other value."""
        value = text.strip().casefold()
        if not value:
            return None
        if value in self.on_time:
            return True
        if value in self.late:
            return False
        raise KeyError(value)

    def described(self) -> str:
        return (f"{' or '.join(sorted(self.on_time))} (on time) or "
                f"{' or '.join(sorted(self.late))} (late)")  # fmt: skip


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
    fixed: dict[str, str] = field(default_factory=dict)  # field → the value of every row
    attributes: dict[str, str] = field(default_factory=dict)
    areas: list[AreaColumn] = field(default_factory=list)
    formats: dict[str, list[str]] = field(default_factory=dict)  # a kind or a field → formats
    statuses: dict[str, StatusRule] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    # Renamed categories: old name → merged name (`civicstat.cases.aliases`).
    service_groups: dict[str, str] = field(default_factory=dict)
    request_types: dict[str, str] = field(default_factory=dict)
    service_names: dict[str, ServiceName] = field(default_factory=dict)  # by service code
    placeholders: list[tuple[float, float]] = field(default_factory=list)
    require_location: bool = True
    on_time: OnTimeColumn | None = None

    def used_columns(self) -> set[str]:
        return {*self.columns.values(), *self.attributes.values(),
                *(r.column for r in self.layer_rules), *(a.column for a in self.areas),
                *([self.on_time.column] if self.on_time else [])}  # fmt: skip

    def required_columns(self) -> set[str]:
        return {self.columns[f] for f in REQUIRED_FIELDS if f in self.columns}

    def formats_for(self, field: str, override: str | None = None) -> list[str]:
        """The formats a date column is tried with, in order. `override` (a date-and-time format,
        or a date format) replaces those of its kind for the whole file."""
        kind = DATE_KINDS[field]
        if override and kind == ("datetime" if "%H" in override or "%I" in override else "date"):
            return [override]
        return self.formats.get(field) or self.formats.get(kind) or DEFAULT_FORMATS[kind]

    def check_header(self, header: list[str], *, only_required: bool = False) -> None:
        """Fail at once, listing what the file has, when the mapping names a missing column.

        `only_required`: the header is what the first records of a JSON-lines file or a dataset
        hold, and a record may leave out a key it has no value for; only the columns no row can
        do without must be there."""
        wanted = self.required_columns() if only_required else self.used_columns()
        missing = sorted(wanted - set(header))
        if missing:
            raise ProfileError(
                f"the file has no column {', '.join(map(repr, missing))} that the mapping "
                f"{self.name!r} names; its columns are: {', '.join(header)}"
            )

    def zone_warnings(self, time_zone: str) -> list[str]:
        """What a person should know about the zone the source's times are read in."""
        if self.timezone is None:
            return [
                f"the mapping {self.name!r} sets no source.timezone, so the times in the source "
                f"are read as TIME_ZONE ({time_zone}); set source.timezone if they are not"
            ]
        if self.timezone.key != time_zone:
            return [
                f"the source's times are in {self.timezone.key} but TIME_ZONE is {time_zone}: "
                f"days, weeks and fiscal periods are counted in {time_zone}; set TIME_ZONE="
                f"{self.timezone.key} if that is the city's zone"
            ]
        return []


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


def source_profile(source: Any) -> Profile:
    """A sync source's mapping (TOML in the admin). Its rows go to the source's layer unless the
    mapping names one."""
    where = Path(f"the mapping of source {source.name}")
    try:
        data = tomllib.loads(source.mapping)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML: {exc}") from None
    src = data.setdefault("source", {})
    if not isinstance(src, dict):
        raise ProfileError(f"{where}: [source] must be a table")
    src.setdefault("name", source.name)
    if "layer" not in src and source.layer_id is not None:
        layer = source.layer
        src["layer"] = layer.slug
        data.setdefault("layers", {}).setdefault(
            layer.slug, {"name": layer.name, "noun": layer.noun, "position": layer.position}
        )
    return _parse(data, where)


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
        if not isinstance(spec.get("sensitive", False), bool):
            raise ProfileError(f"{file}: layers.{slug}.sensitive must be true or false")
        profile.layers[slug] = LayerSpec(slug, spec.get("name", slug), spec.get("noun", "case"),
                                         int(spec.get("position", 0)),
                                         str(spec.get("description", "")),
                                         spec.get("sensitive", False))  # fmt: skip
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

    _parse_columns(profile, data.get("columns", {}), file)
    profile.attributes = {str(k): str(v) for k, v in data.get("attributes", {}).items()}
    for kind, spec in data.get("areas", {}).items():
        if not re.fullmatch(r"[-a-z0-9_]+", str(kind)):
            raise ProfileError(f"{file}: [areas.{kind}]: an area kind is a slug, such as "
                               '"council-district"')  # fmt: skip
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            raise ProfileError(f'{file}: [areas.{kind}] needs column = "…", the column holding '
                               "the area's code")  # fmt: skip
        name = str(spec.get("name", "{}"))
        if "{}" not in name:
            raise ProfileError(f'{file}: areas.{kind}.name must hold {{}} for the code, such as '
                               '"District {}"')  # fmt: skip
        profile.areas.append(AreaColumn(str(kind), spec["column"], name))

    for key, value in data.get("formats", {}).items():
        if key not in DEFAULT_FORMATS and key not in DATE_KINDS:
            raise ProfileError(f"{file}: [formats] has unknown key {key!r}; known: "
                               f"{', '.join([*DEFAULT_FORMATS, *DATE_KINDS])}")  # fmt: skip
        formats = [value] if isinstance(value, str) else value
        if not (isinstance(formats, list) and formats and all(isinstance(f, str) for f in formats)):
            raise ProfileError(f"{file}: formats.{key} must be a format or a list of formats")
        for fmt in formats:
            try:
                compile_parser(fmt)
            except DateFormatError as exc:
                raise ProfileError(f"{file}: formats.{key}: {exc}") from None
        profile.formats[str(key)] = list(formats)

    for code, rule in data.get("statuses", {}).items():
        group = rule.get("group") if isinstance(rule, dict) else None
        if group not in ("open", "closed"):
            raise ProfileError(f'{file}: status {code!r} needs group = "open" or "closed"')
        profile.statuses[str(code)] = StatusRule(group, str(rule.get("label", code)))
    if not profile.statuses:
        raise ProfileError(f"{file}: [statuses] must map each local status to open or closed")

    profile.departments = {str(k): str(v) for k, v in data.get("departments", {}).items()}
    profile.service_groups = _aliases(data, "service_groups", "service group", file)
    profile.request_types = _aliases(data, "request_types", "request type", file)
    for code, spec in data.get("service_names", {}).items():
        if isinstance(spec, str):
            spec = {"name": spec}
        if not (
            isinstance(spec, dict)
            and isinstance(spec.get("name"), str)
            and spec["name"]
            and isinstance(spec.get("group", ""), str)
            and set(spec) <= {"name", "group"}
        ):
            raise ProfileError(f'{file}: service_names.{code} must be a name ("Arson") or '
                               '{ name = "Arson", group = "Property crime" }')  # fmt: skip
        profile.service_names[str(code)] = ServiceName(spec["name"][:255],
                                                       spec.get("group", "")[:150])  # fmt: skip
    if "on_time" in data:
        profile.on_time = _parse_on_time(data["on_time"], file)
    for point in data.get("placeholder_locations", []):
        profile.placeholders.append((float(point["lat"]), float(point["lon"])))
    return profile


def _aliases(data: dict[str, Any], table: str, what: str, file: Path) -> dict[str, str]:
    """[service_groups] / [request_types]: "old name" = "merged name". A name merged into itself,
    into two others or into a name that is itself merged away is refused."""
    from civicstat.cases.aliases import alias_problems

    spec = data.get(table, {})
    if not isinstance(spec, dict):
        raise ProfileError(f'{file}: [{table}] must be a table of "old name" = "merged name"')
    pairs: list[tuple[str, str]] = []
    for old, new in spec.items():
        if isinstance(new, list) and len(new) > 1:
            raise ProfileError(f"{file}: [{table}]: the {what} {old!r} cannot be merged into two "
                               f"others ({', '.join(map(repr, new))}); choose one")  # fmt: skip
        if isinstance(new, list) and len(new) == 1:
            new = new[0]
        if not isinstance(new, str):
            raise ProfileError(f'{file}: [{table}]: {old!r} must name one merged {what}, such as '
                               '"Old name" = "New name"')  # fmt: skip
        # Whitespace as the source's values are read, so "Animal " and "Animal" are one name.
        pairs.append((" ".join(str(old).split()), " ".join(new.split())))
    problems = alias_problems(pairs, what=what)
    if problems:
        raise ProfileError(f"{file}: [{table}]: {'; '.join(problems)}")
    return dict(pairs)


def _parse_on_time(spec: Any, file: Path) -> OnTimeColumn:
    """[on_time]: column = "…", on_time = ["…"], late = ["…"]."""
    example = 'column = "ontime", on_time = ["ONTIME"], late = ["OVERDUE"]'
    if not isinstance(spec, dict) or set(spec) != {"column", "on_time", "late"}:
        raise ProfileError(f"{file}: [on_time] needs exactly {example}")
    if not isinstance(spec["column"], str) or not spec["column"]:
        raise ProfileError(f"{file}: on_time.column must be the name of a column")
    values: dict[str, frozenset[str]] = {}
    for side in ("on_time", "late"):
        given = spec[side]
        given = [given] if isinstance(given, str) else given
        if not (isinstance(given, list) and given
                and all(isinstance(v, str) and v.strip() for v in given)):  # fmt: skip
            raise ProfileError(f"{file}: on_time.{side} must be a value or a list of values the "
                               f"column holds, such as {example}")  # fmt: skip
        values[side] = frozenset(v.strip().casefold() for v in given)
    if both := values["on_time"] & values["late"]:
        raise ProfileError(f"{file}: [on_time] lists {', '.join(map(repr, sorted(both)))} as both "
                           "on time and late")  # fmt: skip
    return OnTimeColumn(spec["column"], values["on_time"], values["late"])


def _parse_columns(profile: Profile, columns: dict[str, Any], file: Path) -> None:
    """[columns]: each field a column name, or a fixed value every row gets."""
    unknown = sorted(set(columns) - set(COLUMN_FIELDS))
    if unknown:
        raise ProfileError(f"{file}: [columns] has unknown field(s) {', '.join(unknown)}; "
                           f"known: {', '.join(COLUMN_FIELDS)}")  # fmt: skip
    for name, spec in columns.items():
        if isinstance(spec, str):
            profile.columns[name] = spec
        elif isinstance(spec, dict) and set(spec) == {"column"} and isinstance(spec["column"], str):
            profile.columns[name] = spec["column"]
        elif (isinstance(spec, dict) and set(spec) == {"value"}
              and isinstance(spec["value"], str | int | float)
              and not isinstance(spec["value"], bool)):  # fmt: skip
            if name in ("external_id", "requested_at", "requested_date", "requested_time"):
                raise ProfileError(f"{file}: columns.{name} cannot be a fixed value: it differs "
                                   "from row to row")  # fmt: skip
            profile.fixed[name] = str(spec["value"])
        else:
            raise ProfileError(f'{file}: columns.{name} must be a column name ("Agency") or a '
                               'fixed value ({ value = "Police" })')  # fmt: skip
    if "external_id" not in profile.columns:
        raise ProfileError(f"{file}: [columns] must name external_id")
    if "status" not in profile.columns and "status" not in profile.fixed:
        raise ProfileError(f"{file}: [columns] must name status")
    if "requested_at" not in profile.columns and "requested_date" not in profile.columns:
        raise ProfileError(f"{file}: [columns] must name requested_at or requested_date")
