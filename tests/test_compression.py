"""HTML, JSON and feeds are sent gzipped to a client that accepts it, once and only once.

Two paths gzip: the page cache keeps a gzipped copy of each public answer (civicstat/web.py), and
GZipMiddleware packs everything else (an uncached answer, a staff page, an API error). An answer
that is gzipped already (the streamed exports) must not be packed twice.
"""

from __future__ import annotations

import gzip
import json

import pytest
from django.test import Client

from civicstat.performance.tests.factories import small_city

pytestmark = pytest.mark.django_db

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
HTML = ["/departments/water-services?period=all", "/performance", "/map/list", "/alerts"]
JSON = ["/api/catalog/v1", "/api/v1/cases", "/api/v1/openapi.json", "/data.json"]
FEEDS = ["/alerts/feed", "/alerts/feed.rss"]


@pytest.fixture(params=["page cache on", "page cache off"])
def city(request: pytest.FixtureRequest, settings, db: None) -> None:
    if request.param == "page cache off":
        settings.RESPONSE_CACHE_MAX_BYTES = 0
    small_city()


@pytest.mark.parametrize("url", HTML + JSON + FEEDS)
def test_pages_and_json_are_gzipped_when_asked_for(client: Client, city: None, url: str) -> None:
    packed = client.get(url, headers=GZIP)
    assert packed.status_code == 200, url
    assert packed["Content-Encoding"] == "gzip", url
    assert "Accept-Encoding" in packed["Vary"]
    plain = client.get(url)
    assert not plain.has_header("Content-Encoding")
    body = gzip.decompress(packed.content)
    assert len(packed.content) < len(body)
    if url in JSON:
        assert json.loads(body) == json.loads(plain.content)
    elif url in FEEDS:
        assert body.startswith(b"<?xml") and body == plain.content
    else:
        assert body.startswith(b"<!doctype html>") and b"</html>" in body


def test_a_tiny_answer_goes_out_plain(client: Client, city: None) -> None:
    """A few hundred bytes are not worth a client's unpacking; the same on either path."""
    response = client.get("/api/v1/departments", headers=GZIP)
    assert len(response.content) < 1024 and not response.has_header("Content-Encoding")


def test_a_streamed_export_is_gzipped_once(client: Client, city: None) -> None:
    response = client.get("/api/v1/layers/311-requests/cases.csv", headers=GZIP)
    assert response["Content-Encoding"] == "gzip"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    text = gzip.decompress(body).decode()
    assert text.startswith("id,") or "W1" in text  # a CSV, not a second gzip layer
    assert not text.startswith("\x1f\x8b")


def test_a_staff_page_is_gzipped_with_random_padding(admin_client: Client, city: None) -> None:
    """Signed-in pages are never cached and carry a CSRF token: GZipMiddleware packs them with
    Django's Heal-The-Breach padding, so the size of the packed page varies from copy to copy and
    says nothing about what it compresses against (BREACH)."""
    sizes = set()
    for _ in range(6):
        page = admin_client.get("/admin/", headers=GZIP)
        assert page["Content-Encoding"] == "gzip"
        assert b"csrfmiddlewaretoken" in gzip.decompress(page.content)
        sizes.add(len(page.content))
    assert len(sizes) > 1
