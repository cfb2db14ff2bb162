"""Writes of the address index: OpenAddresses files and the city's own cases' addresses.

A load replaces every point of its source in one transaction, so a file loaded again (corrected,
or a newer release) leaves no stale point behind and a failed load leaves the old ones whole.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Avg, Q

from civicstat.cases.query import CaseFilter, cases
from civicstat.cases.services import data_version_touch
from civicstat.places.models import AddressPoint

# The OpenAddresses CSV columns (https://github.com/openaddresses/openaddresses, "Output").
REQUIRED = ("LON", "LAT", "NUMBER", "STREET")
CASES_SOURCE = "cases"
_STREET_ADDRESS = re.compile(r"^\s*(\d+[A-Za-z]?)\s+(\S.*?)\s*$")
_BATCH = 2000


class AddressFileError(Exception):
    """The file cannot be read as an OpenAddresses CSV: nothing was loaded."""


@dataclass
class AddressLoad:
    source: str
    read: int = 0
    loaded: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise AddressFileError(
                f"{path.name} is not an OpenAddresses CSV: it has no {', '.join(missing)} "
                f"column (its columns: {', '.join(reader.fieldnames or [])})"
            )
        yield from reader


def _coordinate(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} {text!r} is outside {low:g} to {high:g}")
    return value


def addresses_load(*, path: Path, source: str = "") -> AddressLoad:
    """Load an OpenAddresses CSV (plain or .gz), replacing the points of an earlier load of the
    same source (the file's name unless `source` is given). Each rejected row is reported with
    its line and reason; read = loaded + rejected."""
    report = AddressLoad(source=source or path.name.removesuffix(".gz"))
    points: list[AddressPoint] = []
    seen: dict[str, int] = {}
    try:
        for line, row in enumerate(_rows(path), start=2):
            report.read += 1
            try:
                lon = _coordinate(row["LON"].strip(), "LON", -180, 180)
                lat = _coordinate(row["LAT"].strip(), "LAT", -90, 90)
                if lat == 0 and lon == 0:
                    raise ValueError("the point is 0, 0 (a missing location)")
                number, street = row["NUMBER"].strip(), " ".join(row["STREET"].split())
                if not number or not street:
                    raise ValueError("NUMBER and STREET are both needed")
                if len(number) > 20 or len(street) > 150:
                    raise ValueError("NUMBER or STREET is too long for an address")
                unit = (row.get("UNIT") or "").strip()[:50]
                key = (row.get("HASH") or "").strip() or (row.get("ID") or "").strip()
                key = key or f"{number}|{street}|{unit}".lower()
                if key in seen:
                    raise ValueError(f"the same address as line {seen[key]}")
                seen[key] = line
            except ValueError as error:
                report.rejected.append((line, str(error)))
                continue
            points.append(AddressPoint(
                source=report.source, source_id=key[:64], number=number, street=street,
                unit=unit, postcode=(row.get("POSTCODE") or "").strip()[:10], lat=lat, lon=lon,
            ))  # fmt: skip
    except (UnicodeDecodeError, csv.Error, gzip.BadGzipFile, EOFError) as error:
        raise AddressFileError(f"{path.name} cannot be read as CSV: {error}") from None
    _replace(source=report.source, points=points)
    report.loaded = len(points)
    return report


def addresses_from_cases() -> AddressLoad:
    """Every distinct street address of the city's public, located cases, at the middle of its
    cases' points: the addresses a city's own data knows, where no address file covers them.
    Intersections and other text that is not "number street" are skipped and counted."""
    report = AddressLoad(source=CASES_SOURCE)
    rows = (
        cases(CaseFilter()).exclude(address="")
        .filter(lat__isnull=False, location_approximate=False)
        .filter(_public_places())
        .values("address", "zip_code").annotate(lat=Avg("lat"), lon=Avg("lon"))
        .order_by("address", "zip_code")
    )  # fmt: skip
    points: dict[str, AddressPoint] = {}
    for row in rows.iterator(chunk_size=_BATCH):
        report.read += 1
        match = _STREET_ADDRESS.match(row["address"])
        if not match:
            report.rejected.append((0, f"{row['address'][:80]!r} is not a number and a street"))
            continue
        number, street = match.group(1), " ".join(match.group(2).split())
        key = hashlib.blake2b(f"{number} {street}".lower().encode(), digest_size=12).hexdigest()
        if key in points:  # the same address written in two cases ("Main St", "MAIN ST")
            report.rejected.append((0, f"{row['address'][:80]!r} is already in, spelt otherwise"))
            continue
        points[key] = AddressPoint(
            source=CASES_SOURCE, source_id=key, number=number[:20], street=street[:150],
            postcode=(row["zip_code"] or "")[:10], lat=row["lat"], lon=row["lon"],
        )  # fmt: skip
    _replace(source=CASES_SOURCE, points=list(points.values()))
    report.loaded = len(points)
    return report


def _public_places() -> Q:
    """Which cases may lend their address and point to the geocoder: not a sensitive layer's,
    whose addresses and exact points are never published (`civicstat.cases.sensitive`)."""
    return Q(layer__sensitive=False)


@transaction.atomic
def _replace(*, source: str, points: list[AddressPoint]) -> None:
    AddressPoint.objects.filter(source=source).delete()
    AddressPoint.objects.bulk_create(points, batch_size=_BATCH)
    data_version_touch()  # cached place searches go stale with the index they read


def read_report(report: AddressLoad, *, shown: int = 20) -> str:
    """The load in words, as the command prints it."""
    lines = [f"{report.source}: {report.read:,} read, {report.loaded:,} loaded, "
             f"{len(report.rejected):,} rejected."]  # fmt: skip
    for line, reason in report.rejected[:shown]:
        lines.append(f"  line {line}: {reason}" if line else f"  {reason}")
    if len(report.rejected) > shown:
        lines.append(f"  … and {len(report.rejected) - shown:,} more")
    return "\n".join(lines)
