"""Every public page and API answer is served from the response cache until the data changes.

Alice and Bob are two residents reading the same pages; Carol is staff, signed in to the admin.
The city is the small one of the performance tests (Water Services, Public Works, seven cases),
with Kansas City's council districts, and one published measure.
"""

from __future__ import annotations

import gzip
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.middleware import csrf
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicstat.cases.areas import areas_load
from civicstat.cases.models import Case
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.ingest.demo import DISTRICTS_FILE
from civicstat.performance.models import Measure
from civicstat.performance.services import measure_refresh
from civicstat.performance.tests.factories import a_measure, at, small_city

pytestmark = pytest.mark.django_db

MEASURE = "/performance/measures/leaks-closed-in-3-days"
# One URL of each kind of public page and answer; CASE is the page of case W1.
PAGES = [
    "/", "/map", "/map?status=open&days=30", "/map/list?sort=opened",
    "/map/view.json?bbox=-94.7,38.9,-94.4,39.2", "/map/places.json?q=District",
    "/map/areas.json", "CASE", "/departments", "/departments?period=all",
    "/departments/water-services", "/performance", "/performance/measures.json",
    "/performance/areas/infrastructure/", "/performance/areas/infrastructure/fix-water/",
    f"{MEASURE}/", f"{MEASURE}.csv", f"{MEASURE}.json", f"{MEASURE}.yaml",
    f"{MEASURE}/embed/card/", f"{MEASURE}/embed/chart/", "/embed/new", "/embed/map?list=1",
    "/alerts", "/alerts/feed?status=open", "/alerts/feed.rss",
    "/open311/v2/services.json", "/open311/v2/services/LEAK.xml",
    "/open311/v2/requests.json", "/open311/v2/requests/W1.json",
    "/api/v1/", "/api/v1/cases?facet=department&facet=status", "/api/v1/cases.csv?q=leak",
    "/api/v1/cases.geojson", "/api/v1/facets?facet=service", "/api/v1/aggregates?by=month",
    "/api/v1/layers", "/api/v1/services", "/api/v1/departments", "/api/v1/areas",
    "/api/v1/measures", "/api/v1/measures/leaks-closed-in-3-days",
]  # fmt: skip
FORM_PAGES = ["CASE", "/map", "/alerts"]
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    # The districts only: the neighborhoods would take seconds a test and add nothing here.
    areas_load(path=DISTRICTS_FILE, kind="council-district", name_field="DISTRICT",
               code_field="DISTRICT", name_format="District {}")  # fmt: skip
    made = small_city()
    leaks = a_measure(
        "leaks-closed-in-3-days", title="Leaks closed within 3 days", short_name="Leaks on time",
        calculation="closed_within", target_days=3, unit="percent", filters={"service": "LEAK"},
        target=80, status_rule="proximity", on_track_band=5, near_band=15,
    )  # fmt: skip
    measure_refresh(measure=leaks)
    return {**made, "measure": leaks, "case": Case.objects.get(external_id="W1")}


def url_of(url: str, city: dict[str, Any]) -> str:
    return city["case"].get_absolute_url() if url == "CASE" else url


def body(response: Any) -> bytes:
    content: bytes = response.content
    return gzip.decompress(content) if response.get("Content-Encoding") == "gzip" else content


def token_of(response: Any) -> str:
    tokens: set[str] = {t.decode() for t in TOKEN.findall(body(response))}
    assert len(tokens) == 1, tokens
    return tokens.pop()


def secret_of(token: str) -> str:
    return str(csrf._unmask_cipher_token(token))  # type: ignore[attr-defined]


def without_tokens(content: bytes) -> bytes:
    return TOKEN.sub(b'name="csrfmiddlewaretoken" value="T"', content)


def headers_of(response: Any) -> tuple[dict[str, str], list[str]]:
    headers = dict(response.items())
    if "Content-Security-Policy" in headers:
        headers["Content-Security-Policy"] = re.sub(
            r"'nonce-[^']+'", "'nonce-N'", headers["Content-Security-Policy"]
        )
    return headers, sorted(response.cookies)


def kept() -> int:
    """How many answers the (in-process) response cache holds."""
    from django.core.cache import caches

    return len(caches["responses"]._cache)  # type: ignore[attr-defined]


def queries_for(client: Client, url: str, **kwargs: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    return response, len(queries)


@pytest.mark.parametrize("url", PAGES)
def test_a_repeat_of_any_public_page_is_served_from_the_cache(
    client: Client, city: dict[str, Any], url: str, django_assert_num_queries: Any
) -> None:
    """The second request reads nothing but the data version, and gets the same answer."""
    url = url_of(url, city)
    first = client.get(url)
    assert first.status_code == 200, first.content
    with django_assert_num_queries(1):  # the data version, for the ETag and the key
        again = client.get(url)
    assert again.status_code == 200
    assert without_tokens(again.content) == without_tokens(first.content)


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("url", PAGES)
def test_an_answer_from_the_cache_has_the_headers_of_the_first(
    city: dict[str, Any], url: str, encoding: str
) -> None:
    """Security, framing, caching and cookie headers are the same on a hit as on the miss that
    filled the cache (the nonce aside, which is new in each)."""
    url = url_of(url, city)
    alice, bob = Client(), Client()
    miss = alice.get(url, headers={"Accept-Encoding": encoding})
    hit = bob.get(url, headers={"Accept-Encoding": encoding})
    assert headers_of(hit) == headers_of(miss)
    assert miss["X-Content-Type-Options"] == "nosniff"
    assert miss["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" in miss


def test_embeds_stay_frameable_and_pages_do_not_when_served_from_the_cache(
    client: Client, city: dict[str, Any]
) -> None:
    for _ in range(2):
        for url in (f"{MEASURE}/embed/card/", f"{MEASURE}/embed/chart/", "/embed/map?list=1"):
            embed = client.get(url)
            assert "X-Frame-Options" not in embed, url
            assert "frame-ancestors *" in embed["Content-Security-Policy"], url
        # Browsers and proxies revalidate (a privacy change shows at once); this cache keeps it.
        assert "no-cache" in client.get(f"{MEASURE}/embed/card/")["Cache-Control"]
        for url in ("/map", f"{MEASURE}/", "/embed/new"):
            page = client.get(url)
            assert page["X-Frame-Options"] == "DENY", url
            assert "frame-ancestors 'none'" in page["Content-Security-Policy"], url


@pytest.mark.parametrize("url", FORM_PAGES)
def test_two_visitors_each_get_their_own_token_and_each_can_post(
    city: dict[str, Any], url: str
) -> None:
    """Bob's copy of a form page comes from the cache filled by Alice's, with Bob's own CSRF
    token and cookie in it; each can post with theirs, and not with the other's."""
    url = url_of(url, city)
    visitors = {}
    for name in ("alice", "bob"):
        visitor = Client(enforce_csrf_checks=True)
        page, queries = queries_for(visitor, url)
        assert page.status_code == 200
        token = token_of(page)
        assert secret_of(token) == page.cookies["csrftoken"].value
        assert "Cookie" in page["Vary"]
        visitors[name] = (visitor, token, queries)
    (alice, alice_token, _), (bob, bob_token, bob_queries) = visitors.values()
    assert bob_queries == 1  # Bob's page came from the cache
    assert secret_of(alice_token) != secret_of(bob_token)
    follow = f"/alerts/follow/{city['case'].id}"
    theft = bob.post(follow, {"email": "bob@example.org", "csrfmiddlewaretoken": alice_token})
    assert theft.status_code == 403
    for name, (visitor, token, _) in visitors.items():
        form = {"email": f"{name}@example.org", "csrfmiddlewaretoken": token}
        posted = visitor.post(follow, form)
        assert posted.status_code == 200, posted.content


def test_a_returning_visitor_keeps_the_secret_of_their_cookie(city: dict[str, Any]) -> None:
    alice = Client(enforce_csrf_checks=True)
    first = token_of(alice.get("/map"))
    second = token_of(alice.get("/map"))
    assert first != second  # masked afresh, as Django does for each page
    assert secret_of(first) == secret_of(second) == alice.cookies["csrftoken"].value


def test_a_gzipped_form_page_unpacks_to_the_page_with_the_visitors_token(
    city: dict[str, Any],
) -> None:
    alice, bob = Client(), Client()
    plain = alice.get("/map", headers={"Accept-Encoding": "identity"})
    for _ in range(2):
        packed = bob.get("/map", headers={"Accept-Encoding": "gzip"})
        assert packed["Content-Encoding"] == "gzip"
        assert len(packed.content) < len(plain.content) / 3
        assert secret_of(token_of(packed)) == bob.cookies["csrftoken"].value
        assert without_tokens(body(packed)) == without_tokens(plain.content)


@pytest.mark.urls("tests.page_cache_urls")
@pytest.mark.parametrize("url", ["/test/scripted", "/test/scripted-embed"])
def test_each_answer_carries_a_fresh_nonce_that_its_policy_allows(
    db: None, url: str, django_assert_num_queries: Any
) -> None:
    client, seen = Client(), set()
    for number, encoding in enumerate(["identity", "identity", "gzip", "gzip", "identity"]):
        if number:
            with django_assert_num_queries(1):
                page = client.get(url, headers={"Accept-Encoding": encoding})
        else:
            page = client.get(url, headers={"Accept-Encoding": encoding})
        if encoding == "gzip" and url == "/test/scripted":  # the other is too small to pack
            assert page["Content-Encoding"] == "gzip"
        nonces = set(re.findall(rb'nonce="([^"]+)"', body(page)))
        assert len(nonces) == 1
        nonce = nonces.pop().decode()
        assert f"script-src 'self' 'nonce-{nonce}'" in page["Content-Security-Policy"]
        assert secret_of(token_of(page)) == client.cookies["csrftoken"].value
        # A 304 would keep the old nonce in the browser's copy under a new policy: the only
        # ETag is the middleware's hash of this very body, which the next answer cannot match.
        again = client.get(url, headers={"If-None-Match": page["ETag"]})
        assert again.status_code == 200
        seen.add(nonce)
    assert len(seen) == 5
    if url.endswith("embed"):
        assert "X-Frame-Options" not in page
        assert "frame-ancestors *" in page["Content-Security-Policy"]


@pytest.mark.urls("tests.page_cache_urls")
def test_a_hit_is_answered_before_the_view_and_its_decorators_run(client: Client, db: None) -> None:
    """The middleware answers from the entry, which kept what a decorator outside the cache set."""
    from tests.page_cache_urls import CALLS

    CALLS["outer"] = 0
    miss = client.get("/test/decorated")
    hit = client.get("/test/decorated")
    assert CALLS["outer"] == 1
    assert hit["X-Outer"] == miss["X-Outer"]
    assert headers_of(hit) == headers_of(miss)


WITHOUT_MIDDLEWARE = [m for m in django_settings.MIDDLEWARE if "PageCache" not in m]


@pytest.mark.parametrize("url", ["CASE", "/map", f"{MEASURE}/embed/card/", "/alerts/feed.rss"])
def test_without_the_middleware_the_decorator_alone_serves_the_same_hits(
    city: dict[str, Any], url: str, settings: Any, django_assert_num_queries: Any
) -> None:
    url = url_of(url, city)
    served = []
    for stack in (django_settings.MIDDLEWARE, WITHOUT_MIDDLEWARE):
        settings.MIDDLEWARE = stack
        alice, bob = Client(), Client()
        miss = alice.get(url, headers={"Accept-Encoding": "gzip"})
        with django_assert_num_queries(1):
            hit = bob.get(url, headers={"Accept-Encoding": "gzip"})
        assert headers_of(hit) == headers_of(miss)
        served.append(headers_of(hit))
    assert served[0] == served[1]


def test_a_repeat_with_the_etag_is_answered_not_modified(
    client: Client, city: dict[str, Any]
) -> None:
    for url in ("/performance", "/map", "/open311/v2/requests.json"):
        for encoding in ("identity", "gzip"):
            first = client.get(url, headers={"Accept-Encoding": encoding})
            repeat = {"Accept-Encoding": encoding, "If-None-Match": first["ETag"]}
            again = client.get(url, headers=repeat)
            assert again.status_code == 304, url
            assert again["ETag"] == first["ETag"]


def test_new_data_is_served_at_once(client: Client, city: dict[str, Any]) -> None:
    """A real write (a case imported) moves the data version: the next answer is fresh."""
    assert "7</strong> cases match" in client.get("/map").content.decode()
    assert client.get("/open311/v2/requests/W5.json").status_code == 404
    record = CaseRecord(
        external_id="W5", status="OPEN", status_group="open", requested_at=at("2024-02-20"),
        service_id=city["leak"].id, department_id=city["water"].id,
    )  # fmt: skip
    case_upsert(layer=city["layer"], records=[record])
    assert "8</strong> cases match" in client.get("/map").content.decode()
    assert client.get("/open311/v2/requests/W5.json").status_code == 200


def test_a_recomputed_measure_is_served_at_once(client: Client, city: dict[str, Any]) -> None:
    """The worker's refresh writes values in bulk, with no signal: it moves the version itself."""
    assert [r["target"] for r in client.get(f"{MEASURE}.json").json()["values"]] == [80, 80]
    Measure.objects.filter(pk=city["measure"].pk).update(target=40)  # no signal either
    city["measure"].refresh_from_db()
    measure_refresh(measure=city["measure"])
    assert [r["target"] for r in client.get(f"{MEASURE}.json").json()["values"]] == [40, 40]


def test_a_measure_made_a_draft_leaves_every_cached_page_at_once(
    client: Client, admin_client: Client, city: dict[str, Any]
) -> None:
    """Carol moves the measure back to draft with the admin's bulk action (an UPDATE, no
    signal): the public pages that showed it stop at once."""
    pages = ["/performance/areas/infrastructure/", "/performance/measures.json"]
    for url in pages:
        assert "Leaks closed within 3 days" in client.get(url).content.decode()
    assert client.get(f"{MEASURE}/").status_code == 200
    action = {"action": "unpublish", "_selected_action": [city["measure"].pk]}
    assert admin_client.post("/admin/performance/measure/", action).status_code == 302
    for url in pages:
        assert "Leaks closed within 3 days" not in client.get(url).content.decode()
    assert client.get(f"{MEASURE}/").status_code == 404


def test_a_renamed_department_is_served_at_once(client: Client, city: dict[str, Any]) -> None:
    assert "Water Services" in client.get("/departments?period=all").content.decode()
    city["water"].name = "Water Department"
    city["water"].save()
    assert "Water Department" in client.get("/departments?period=all").content.decode()


def test_an_answer_lasts_until_midnight_at_most(client: Client, city: dict[str, Any]) -> None:
    """Pages count days (days open, the last 30 days): a new day is a new answer."""
    with time_machine.travel(at("2024-03-01", 23), tick=False):
        client.get("/")
        assert queries_for(client, "/")[1] == 1
    with time_machine.travel(at("2024-03-02", 1), tick=False):
        assert queries_for(client, "/")[1] > 1


def test_a_staff_members_request_never_fills_the_cache(
    client: Client, admin_client: Client, city: dict[str, Any]
) -> None:
    """Carol carries a session: what is rendered for her is not kept, even on a page that shows
    everyone the same, and she may be served what the public sees."""
    admin_client.get("/performance")
    assert queries_for(client, "/performance")[1] > 1  # still a miss for the public
    assert queries_for(admin_client, "/performance")[1] == 1


@pytest.mark.urls("tests.page_cache_urls")
def test_a_page_that_reads_the_user_is_never_kept(
    client: Client, admin_client: Client, db: None
) -> None:
    assert b"everyone" in client.get("/test/greeting").content
    assert b"staff" in admin_client.get("/test/greeting").content
    assert b"everyone" in client.get("/test/greeting").content
    assert kept() == 0


@pytest.mark.urls("tests.page_cache_urls")
def test_a_page_that_sets_a_cookie_of_its_own_is_never_kept(client: Client, db: None) -> None:
    for _ in range(2):
        assert client.get("/test/cookie").cookies["seen"].value == "1"
    assert kept() == 0


def test_an_answer_over_the_size_limit_is_not_kept_but_keeps_its_etag(
    client: Client, city: dict[str, Any], settings: Any
) -> None:
    settings.RESPONSE_CACHE_MAX_BYTES = 100
    first = client.get("/performance")
    assert queries_for(client, "/performance")[1] > 1
    assert client.get("/performance", headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_the_cache_can_be_turned_off(client: Client, city: dict[str, Any], settings: Any) -> None:
    settings.RESPONSE_CACHE_MAX_BYTES = 0
    client.get("/map")
    page, queries = queries_for(client, "/map")
    assert queries > 1 and page.status_code == 200 and "ETag" in page


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis server of the test's own on a loopback port."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - a fixed command
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_the_entries_are_shared(
    client: Client, city: dict[str, Any], settings: Any, redis_url: str
) -> None:
    """Alice's answer is kept in Redis, where any web process finds it, with Bob's token put in."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    settings.CACHES = {
        **settings.CACHES,
        "responses": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": redis_url, "KEY_PREFIX": "responses"},
    }  # fmt: skip
    assert isinstance(caches["responses"], RedisCache)
    url = city["case"].get_absolute_url()
    alice, bob = Client(), Client()
    token_of(alice.get(url))
    other_process = RedisCache(redis_url, {"KEY_PREFIX": "responses"})
    assert len(other_process._cache.get_client().keys("responses:*")) == 1
    page, queries = queries_for(bob, url, headers={"Accept-Encoding": "gzip"})
    assert queries == 1 and page["Content-Encoding"] == "gzip"
    assert secret_of(token_of(page)) == bob.cookies["csrftoken"].value
