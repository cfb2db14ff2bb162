"""Loading boundaries (council districts, neighborhoods) from GeoJSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from django.utils.text import slugify

from civicstat.cases.models import Area
from civicstat.cases.services import data_version_bump
from civicstat.cases.signals import ChangeScope


class AreaFileError(ValueError):
    pass


def read_geojson(path: Path) -> dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    if data.get("type") != "FeatureCollection":
        raise AreaFileError(f"{path.name}: expected a GeoJSON FeatureCollection")
    return data


def areas_load(*, path: Path, kind: str, name_field: str, code_field: str = "",
               name_format: str = "{}") -> tuple[int, int]:  # fmt: skip
    """Create or update one Area per named feature. Returns (loaded, skipped without a name).

    Invalid polygons are repaired rather than refused: city boundary files often have them.
    """
    data = read_geojson(path)
    features = data.get("features", [])
    if features and name_field not in (features[0].get("properties") or {}):
        available = ", ".join(sorted(features[0].get("properties") or {}))
        raise AreaFileError(f"{path.name}: no property {name_field!r}; properties: {available}")
    loaded = skipped = 0
    with transaction.atomic():
        for feature in features:
            props = feature.get("properties") or {}
            raw_name = props.get(name_field)
            if raw_name in (None, "") or not feature.get("geometry"):
                skipped += 1
                continue
            if isinstance(raw_name, float) and raw_name.is_integer():
                raw_name = int(raw_name)
            name = name_format.format(raw_name)
            geometry = shapely.geometry.shape(feature["geometry"])
            if not geometry.is_valid:
                geometry = shapely.make_valid(geometry)
            Area.objects.update_or_create(
                kind=kind,
                slug=slugify(name)[:50],
                defaults={
                    "name": name,
                    "code": str(props.get(code_field, "")) if code_field else "",
                    "geometry": shapely.geometry.mapping(geometry),
                },
            )
            loaded += 1
        # New outlines change public answers (the areas layer, where maps open) as new cases do.
        data_version_bump(ChangeScope())
    return loaded, skipped


# The outline of an area known only by its code: a MultiPolygon with no polygons, which no point
# is in and no map draws. Loading the area's boundaries later (same kind and name) fills it in.
NO_OUTLINE: dict[str, Any] = {"type": "MultiPolygon", "coordinates": []}


def has_outline(geometry: dict[str, Any]) -> bool:
    return bool(geometry.get("coordinates") or geometry.get("geometries"))


def areas_by_code(*, kind: str, names: dict[str, str]) -> dict[str, int]:
    """Ids of the areas of `kind` with these codes (`names` maps a code to the name it gets if
    new). A code no area has yet becomes an area with no outline, so that a city whose files carry
    district numbers but which has no boundary file can still count and filter by district."""
    found = dict(Area.objects.filter(kind=kind, code__in=list(names)).values_list("code", "id"))
    for code in sorted(set(names) - set(found)):
        name = names[code][:150]
        base = slugify(name)[:45] or slugify(code)[:45] or "area"
        slug, n = base, 2
        while True:
            same = Area.objects.filter(kind=kind, slug=slug).first()
            if same is None:
                found[code] = Area.objects.create(kind=kind, slug=slug, name=name, code=code,
                                                  geometry=NO_OUTLINE).id  # fmt: skip
                break
            if not same.code:
                # Loaded from a boundary file without its codes: the same area, by name.
                same.code = code
                same.save(update_fields=["code"])
                found[code] = same.id
                break
            slug, n = f"{base}-{n}", n + 1
    return found
