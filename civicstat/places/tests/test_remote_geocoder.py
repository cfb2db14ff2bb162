"""A city's own geocoding service (GEOCODER_URL): a Nominatim- and a Pelias-compatible server on
loopback answer the place search; one that fails leaves the address index to answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from civicstat.places.geocoder import places_find
from civicstat.places.models import AddressPoint
from civicstat.places.services import _replace

pytestmark = pytest.mark.django_db
NOMINATIM = [{"display_name": "414, East 12th Street, Kansas City, Missouri, 64106",
              "lat": "39.0997", "lon": "-94.5786", "type": "house",
              "boundingbox": ["39.0996", "39.0998", "-94.5787", "-94.5785"]}]  # fmt: skip
PELIAS = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [-94.5786, 39.0997]},
    "properties": {"label": "414 E 12th St, Kansas City, MO", "layer": "address"}}]}  # fmt: skip


@pytest.fixture
def server() -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"paths": [], "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            url = urlparse(self.path)
            seen["paths"].append((url.path, parse_qs(url.query)))
            body = json.dumps(PELIAS if url.path == "/v1/search" else NOMINATIM).encode()
            self.send_response(seen["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if seen["status"] == 200 else b"{oops")

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    seen["url"] = f"http://127.0.0.1:{http.server_address[1]}"
    yield seen
    http.shutdown()
    http.server_close()


def test_a_nominatim_service_answers_with_its_bounds(settings: Any, server: dict[str, Any]) -> None:
    settings.GEOCODER_URL = server["url"]
    settings.GEOCODER_BOUNDS = [-94.77, 38.80, -94.38, 39.37]
    found = places_find("414 E 12th St")
    assert found[0].name.startswith("414, East 12th Street") and found[0].lat == 39.0997
    path, query = server["paths"][-1]
    assert path == "/search" and query["q"] == ["414 E 12th St"]
    assert query["format"] == ["jsonv2"] and query["bounded"] == ["1"]


def test_a_pelias_service_answers(settings: Any, server: dict[str, Any]) -> None:
    settings.GEOCODER_URL, settings.GEOCODER_API = server["url"], "pelias"
    found = places_find("414 E 12th St")
    assert (found[0].name, found[0].lon) == ("414 E 12th St, Kansas City, MO", -94.5786)
    assert server["paths"][-1][0] == "/v1/search"


def test_a_failing_service_leaves_the_address_index_to_answer(
    settings: Any, server: dict[str, Any]
) -> None:
    _replace(source="test", points=[AddressPoint(source="test", source_id="1", number="414",
             street="E 12TH ST", lat=39.0997, lon=-94.5786)])  # fmt: skip
    settings.GEOCODER_URL = server["url"]
    server["status"] = 500
    found = places_find("414 E 12th St")
    assert found[0].name == "414 E 12th St" and found[0].kind == "address"
