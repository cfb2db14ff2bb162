"""The offline base map: the city's own base data turned once into small files a phone can draw.

Without a tile server (`MAP_TILE_URL`), a map of dots on grey leaves nobody able to find their
street. `build` writes, into `BASEMAP_DIR`:

- `roads-<zoom>.json`: the major roads (any GeoJSON of lines, e.g. OpenStreetMap's motorways and
  trunk roads), simplified for three zoom bands so the city view is a few dozen kB;
- `areas-<zoom>.json`: the city's areas (council districts, neighborhoods: the `Area` table) as
  thin outlines, and a label point for each name;
- `parcels/<z>/<x>/<y>.json`: parcel centroids (any CSV with lon and lat columns), one file per
  web-map tile at `PARCEL_TILE_ZOOM`. Drawn as small dots they trace every block and street; only
  the tiles in view are fetched, and only at block zooms;
- `manifest.json`: what was built, the bands and tiles there are, a version (a hash of the
  content, in every URL, so the files can be cached for ever) and the attribution owed.

Every layer is optional: a city with no parcels or no roads gets the rest. static/civicstat/
basemap.js draws the files on canvas tiles.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import shapely
from shapely.geometry import mapping, shape

from civicstat.maps.outlines import rounded

# Zoom bands: (least zoom, tolerance in degrees). A tolerance of about half a pixel at the least
# zoom of its band: at 39° N a pixel is 0.0027° / 2**(zoom - 8) wide.
ROAD_BANDS = ((0, 0.0004), (12, 0.00005), (15, 0.0))
# Neighborhood-scale outlines only from zoom 13: at the city view the districts (map.js draws them
# from /map/areas.json) and the labels say enough.
AREA_BANDS = ((13, 0.00003),)
AREA_MIN_ZOOM = 13
PARCEL_TILE_ZOOM = 14  # data tiles of about 2 × 2 km: a phone at zoom 15 needs one to four
PARCEL_MIN_ZOOM = 14  # below this the dots would merge into grey: not sent at all
SCALE = 100_000  # coordinates are sent as integers of 1e-5 degrees (about a metre)
OSM_ATTRIBUTION = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


class BasemapError(ValueError):
    """An input the command cannot use, said so that the person running it can fix it."""


@dataclass
class Inputs:
    roads: Path | None = None
    parcels: Path | None = None
    areas: list[dict[str, Any]] = field(default_factory=list)  # {"kind", "name", "geometry"}
    roads_attribution: str = OSM_ATTRIBUTION
    parcels_attribution: str = ""


def _open(path: Path) -> IO[str]:
    if not path.exists():
        raise BasemapError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _encode_line(coords: Any) -> list[int]:
    """[x0, y0, dx1, dy1, …] in 1e-5 degrees: deltas are short numbers and gzip well."""
    out: list[int] = []
    px = py = 0
    for lon, lat, *_ in coords:
        x, y = round(lon * SCALE), round(lat * SCALE)
        if out and x == px and y == py:
            continue
        out += [x - px, y - py]
        px, py = x, y
    return out


def _lines(geom: Any) -> list[Any]:
    if geom.is_empty:
        return []
    if geom.geom_type == "LineString":
        return [geom.coords]
    if geom.geom_type in ("Polygon",):
        return [ring.coords for ring in (geom.exterior, *geom.interiors)]
    if hasattr(geom, "geoms"):
        return [c for part in geom.geoms for c in _lines(part)]
    return []


def read_roads(path: Path) -> dict[str, list[Any]]:
    """Road lines grouped by their name (`ref`, else `name`; "" when unnamed)."""
    with _open(path) as fh:
        try:
            data = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise BasemapError(f"{path.name}: not GeoJSON ({error})") from error
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BasemapError(f"{path.name}: expected a GeoJSON FeatureCollection of road lines")
    roads: dict[str, list[Any]] = defaultdict(list)
    for feature in data.get("features") or []:
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") not in ("LineString", "MultiLineString"):
            continue  # landmark points and the like: not roads
        props = feature.get("properties") or {}
        try:
            roads[str(props.get("ref") or props.get("name") or "")].append(shape(geometry))
        except (ValueError, TypeError, IndexError) as error:
            raise BasemapError(
                f"{path.name}: a road's geometry cannot be read ({error})"
            ) from error
    if not roads:
        raise BasemapError(f"{path.name}: no LineString features (roads) in it")
    return roads


def read_parcels(path: Path) -> list[tuple[int, int]]:
    """Parcel points as (x, y) in 1e-5 degrees, from a CSV with lon and lat columns."""
    points: list[tuple[int, int]] = []
    with _open(path) as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower(): c for c in reader.fieldnames or []}
        lon_col = columns.get("lon") or columns.get("longitude") or columns.get("x")
        lat_col = columns.get("lat") or columns.get("latitude") or columns.get("y")
        if not lon_col or not lat_col:
            raise BasemapError(f"{path.name}: needs lon and lat columns; it has "
                               f"{', '.join(reader.fieldnames or []) or 'none'}")  # fmt: skip
        for line, row in enumerate(reader, start=2):
            try:
                lon, lat = float(row[lon_col]), float(row[lat_col])
            except (TypeError, ValueError):
                continue  # a parcel without a place: nothing to draw
            if not (-180 <= lon <= 180 and -85 <= lat <= 85):
                raise BasemapError(
                    f"{path.name}, line {line}: {lon}, {lat} is not a longitude and latitude "
                    "(are the columns swapped, or the points projected?)"
                )
            points.append((round(lon * SCALE), round(lat * SCALE)))
    return points


def tile_of(x: int, y: int, zoom: int) -> tuple[int, int]:
    """The web-map (slippy) tile holding a point given in 1e-5 degrees."""
    lon, lat = x / SCALE, y / SCALE
    n = 2**zoom
    tx = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    ty = int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)
    return min(max(tx, 0), n - 1), min(max(ty, 0), n - 1)


def _roads_bands(roads: dict[str, list[Any]]) -> dict[str, Any]:
    merged = {name: shapely.line_merge(shapely.union_all(parts)) for name, parts in roads.items()}
    out: dict[str, Any] = {}
    for zoom, tolerance in ROAD_BANDS:
        lines: list[list[Any]] = []
        for name, geom in sorted(merged.items()):
            simple = shapely.simplify(geom, tolerance) if tolerance else geom
            lines += [[name, enc] for c in _lines(simple) if len(enc := _encode_line(c)) >= 4]
        out[f"roads-{zoom}.json"] = {"zoom": zoom, "lines": lines}
    return out


def _areas_bands(areas: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    shapes = []
    for area in areas:
        try:
            geom = shape(area["geometry"])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
        if geom.is_empty:
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        shapes.append((area["kind"], area["name"], geom))
    for zoom, tolerance in AREA_BANDS:
        outlines = []
        for kind, name, geom in shapes:
            if kind == "council-district":
                continue  # drawn over every map already (map.js, /map/areas.json)
            simple = shapely.simplify(geom, tolerance, preserve_topology=True)
            # The name too: zoomed to a block, no label point is in view, and the map names the
            # area its centre is in (basemap.js).
            outlines += [[kind, enc, name] for c in _lines(simple)
                         if len(enc := _encode_line(c)) >= 6]  # fmt: skip
        out[f"areas-{zoom}.json"] = {"zoom": zoom, "outlines": outlines}
    labels = []
    for kind, name, geom in shapes:
        # The biggest part's inside point: a label inside the area even if it is a crescent.
        part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        point = part.representative_point() if part.area else geom.representative_point()
        labels.append([kind, name, *rounded(mapping(point)["coordinates"])])
    out["labels.json"] = {"labels": labels}
    return out


def _parcel_tiles(points: list[tuple[int, int]]) -> dict[str, list[int]]:
    tiles: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for x, y in points:
        tiles[tile_of(x, y, PARCEL_TILE_ZOOM)].append((x, y))
    out: dict[str, list[int]] = {}
    for (tx, ty), pts in sorted(tiles.items()):
        pts.sort(key=lambda p: (p[1], p[0]))
        out[f"parcels/{PARCEL_TILE_ZOOM}/{tx}/{ty}.json"] = _delta(pts)
    return out


def _delta(points: list[tuple[int, int]]) -> list[int]:
    out: list[int] = []
    px = py = 0
    for x, y in points:
        out += [x - px, y - py]
        px, py = x, y
    return out


@dataclass
class Built:
    manifest: dict[str, Any]
    files: int
    bytes: int


def build(inputs: Inputs, out_dir: Path) -> Built:
    """Write the base map for `inputs` into `out_dir` (replaced whole, so no stale tile stays)."""
    files: dict[str, Any] = {}
    layers: dict[str, Any] = {}
    attribution: list[str] = []
    bounds: list[float] = []
    if inputs.roads is not None:
        roads = read_roads(inputs.roads)
        files.update(_roads_bands(roads))
        layers["roads"] = {"bands": [z for z, _ in ROAD_BANDS]}
        attribution.append(inputs.roads_attribution)
    if inputs.areas:
        files.update(_areas_bands(inputs.areas))
        layers["areas"] = {"bands": [z for z, _ in AREA_BANDS], "min_zoom": AREA_MIN_ZOOM}
        box = shapely.union_all([shape(a["geometry"]) for a in inputs.areas]).bounds
        bounds = [round(v, 5) for v in box]
    if inputs.parcels is not None:
        points = read_parcels(inputs.parcels)
        if not points:
            raise BasemapError(f"{inputs.parcels.name}: no parcel points in it")
        tiles = _parcel_tiles(points)
        files.update(tiles)
        layers["parcels"] = {
            "tile_zoom": PARCEL_TILE_ZOOM, "min_zoom": PARCEL_MIN_ZOOM, "count": len(points),
            "tiles": sorted(name.split("/", 1)[1].removesuffix(".json") for name in tiles),
        }  # fmt: skip
        if inputs.parcels_attribution:
            attribution.append(inputs.parcels_attribution)
    if not layers:
        raise BasemapError("nothing to build: give roads, parcels or load the city's areas first")
    encoded = {
        name: json.dumps(body, separators=(",", ":")).encode() for name, body in files.items()
    }
    digest = hashlib.sha256()
    for name in sorted(encoded):
        digest.update(name.encode() + b"\0" + encoded[name])
    manifest = {"version": digest.hexdigest()[:16], "layers": layers, "bounds": bounds,
                "attribution": " · ".join(a for a in attribution if a)}  # fmt: skip
    temp = out_dir.with_name(out_dir.name + ".new")
    shutil.rmtree(temp, ignore_errors=True)
    for name, body in encoded.items():
        target = temp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    (temp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(out_dir, ignore_errors=True)
    temp.rename(out_dir)
    return Built(manifest, len(encoded) + 1, sum(len(b) for b in encoded.values()))


def manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of the base map in `out_dir`; None when none was built."""
    try:
        data: dict[str, Any] = json.loads((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data
