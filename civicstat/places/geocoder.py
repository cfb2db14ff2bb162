"""Finding a place by what a resident types: the city's own address index by default, or a
Nominatim- or Pelias-compatible service when `GEOCODER_URL` is set.

The index (`civicstat.lib.addresses`) lives in each web process and is rebuilt when the data
version moves (an address load moves it), so every process answers from the same points.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from civicstat.cases.areas import has_outline
from civicstat.cases.models import Area, Case, Layer
from civicstat.cases.query import CaseFilter, cases
from civicstat.cases.services import data_version
from civicstat.lib.addresses import AddressIndex, NamedPlace, index_build, pretty, tokens
from civicstat.maps.clusters import geometry_bounds
from civicstat.maps.places import addresses_starting
from civicstat.places.models import AddressPoint

log = logging.getLogger(__name__)
REMOTE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # address, street, postcode, area, case
    lat: float
    lon: float
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    address_id: str = ""  # what an Open311 client posts as address_id
    url: str = ""  # a case's page
    exact: bool = True  # False: the nearest address on the street, not the number asked for


_lock = threading.Lock()
_cached: tuple[int, AddressIndex] | None = None


def address_index() -> AddressIndex:
    """This process's index, rebuilt when the data version has moved since it was built."""
    global _cached
    version = data_version()
    with _lock:
        if _cached is None or _cached[0] != version:
            _cached = (version, _build())
        return _cached[1]


def index_forget() -> None:
    """Drop this process's index: the next search builds it again (tests, whose rolled-back
    data makes a data version repeat)."""
    global _cached
    with _lock:
        _cached = None


def _build() -> AddressIndex:
    points = AddressPoint.objects.values_list("id", "number", "street", "postcode", "lat", "lon")
    places = []
    for area in Area.objects.only("id", "name", "kind", "geometry"):
        if not has_outline(area.geometry):
            continue  # known by a code only: nowhere to show
        places.append(NamedPlace(area.id, area.name, area.kind.replace("-", " "),
                                 geometry_bounds(area.geometry)))  # fmt: skip
    return index_build(points.iterator(chunk_size=5000), places)


def places_find(text: str, *, limit: int = 8) -> list[Place]:
    """The places that `text` may mean, best first: a case number, then addresses, streets,
    ZIP codes and areas from the index (or the configured service)."""
    found = _case(text)
    if settings.GEOCODER_URL:
        remote = _remote(text, limit=limit)
        if remote is not None:
            return (found + remote)[:limit]
    index = address_index()
    if not index.streets:
        # No address loaded yet (`load_addresses`): the addresses the cases carry, by their start.
        for a in addresses_starting(text, limit=limit):
            found.append(Place(name=a.name, kind="address", lat=a.lat, lon=a.lon,
                               address_id=a.address_id))  # fmt: skip
    for hit in index.search(text, limit=limit):
        found.append(Place(
            name=hit.name, kind=hit.kind, lat=hit.lat, lon=hit.lon, bbox=hit.bbox,
            address_id=f"a{hit.point_id}" if hit.point_id is not None else "", exact=hit.exact,
        ))  # fmt: skip
    return found[:limit]


def _case(text: str) -> list[Place]:
    """A case number typed in the search: the case's public place and page. Only a word with a
    digit in it is looked up, by the (layer, external id) index, in each layer: an `iexact`
    match cannot use that index and would read every case."""
    words = tokens(text)
    typed = text.strip()
    if len(words) != 1 or len(typed) > 64 or not any(c.isdigit() for c in typed):
        return []
    layers = list(Layer.objects.values_list("id", flat=True))
    found = (
        cases(CaseFilter()).filter(layer_id__in=layers, public_lat__isnull=False,
                                   external_id__in={typed, typed.upper(), typed.lower()})
        .select_related("layer").only("external_id", "public_lat", "public_lon", "address",
                                      "layer__slug", "layer__noun", "layer__sensitive")[:3]
    )  # fmt: skip
    return [_case_place(case) for case in found]


def _case_place(case: Case) -> Place:
    lat, lon = case_point(case)
    label = f"{case.layer.noun.capitalize()} {case.external_id}"
    if case.public_address:
        label += f", {case.public_address}"
    return Place(name=label, kind="case", lat=lat, lon=lon, url=case.get_absolute_url())


def case_point(case: Case) -> tuple[float, float]:
    """Where the place search may show a case: its public point (`civicstat.cases.sensitive`)."""
    assert case.public_lat is not None and case.public_lon is not None
    return case.public_lat, case.public_lon


def address_point_find(address_id: str) -> Place | None:
    """An address found by the place search, by its id ("a" and the point's number)."""
    if not (address_id.startswith("a") and address_id[1:].isdigit() and len(address_id) < 20):
        return None
    point = AddressPoint.objects.filter(pk=int(address_id[1:])).first()
    if point is None:
        return None
    return Place(name=f"{point.number} {pretty(point.street)}", kind="address", lat=point.lat,
                 lon=point.lon, address_id=address_id)  # fmt: skip


def _remote(text: str, *, limit: int) -> list[Place] | None:
    """Ask the configured service; None (and the local index answers) when it does not."""
    url = settings.GEOCODER_URL.rstrip("/")
    pelias = settings.GEOCODER_API == "pelias"
    query: dict[str, Any] = (
        {"text": text, "size": limit} if pelias
        else {"q": text, "format": "jsonv2", "limit": limit, "addressdetails": 0}
    )  # fmt: skip
    if settings.GEOCODER_BOUNDS:
        west, south, east, north = settings.GEOCODER_BOUNDS
        if pelias:
            query.update(
                {
                    "boundary.rect.min_lon": west,
                    "boundary.rect.min_lat": south,
                    "boundary.rect.max_lon": east,
                    "boundary.rect.max_lat": north,
                }
            )
        else:
            query.update({"viewbox": f"{west},{north},{east},{south}", "bounded": 1})
    try:
        answer = httpx.get(f"{url}/v1/search" if pelias else f"{url}/search", params=query,
                           timeout=REMOTE_TIMEOUT_S,
                           headers={"User-Agent": "CivicStat geocoder"})  # fmt: skip
        answer.raise_for_status()
        body = answer.json()
        return _pelias(body) if pelias else _nominatim(body)
    except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as error:
        log.warning("geocoder %s did not answer usefully (%s); the address index answers",
                    url, type(error).__name__)  # fmt: skip
        return None


def _nominatim(body: Any) -> list[Place]:
    found = []
    for item in body:
        south, north, west, east = (float(v) for v in item["boundingbox"])
        found.append(Place(name=str(item["display_name"])[:200], kind=str(item.get("type") or
                     "address"), lat=float(item["lat"]), lon=float(item["lon"]),
                     bbox=(west, south, east, north)))  # fmt: skip
    return found


def _pelias(body: Any) -> list[Place]:
    found = []
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"][:2]
        props = feature.get("properties") or {}
        bbox = feature.get("bbox")
        found.append(Place(name=str(props.get("label") or props.get("name"))[:200],
                           kind=str(props.get("layer") or "address"), lat=float(lat),
                           lon=float(lon), bbox=tuple(bbox) if bbox else None))  # fmt: skip
    return found
