"""Bob watches potholes only, changes that on the manage page, subscribes from the map, and reads
the same watch as an RSS feed."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from civicstat.alerts import tokens
from civicstat.alerts.models import Subscription
from civicstat.alerts.tests.conftest import HOME, body, import_cases
from civicstat.alerts.tests.test_radius_alerts import (
    BOB,
    run_alerts,
    subscribe_and_confirm,
)
from civicstat.cases.models import Case, Layer, Service
from civicstat.cases.services import service_get_or_create


@pytest.fixture
def services(layer: Layer) -> dict[str, Service]:
    return {
        "pothole": service_get_or_create(layer=layer, code="SW-POT", name="Pothole",
                                         group="Streets"),
        "graffiti": service_get_or_create(layer=layer, code="NU-GRAF", name="Graffiti",
                                          group="Nuisance"),
        "hidden": service_get_or_create(layer=layer, code="PD-TIP", name="Tip line"),
    }  # fmt: skip


def near_cases(layer: Layer, services: dict[str, Service], suffix: str = "") -> None:
    """A pothole and a graffiti case, both 100 m from Bob's home."""
    import_cases(
        layer,
        {"external_id": f"pot{suffix}", "address": f"10{suffix} Pothole Rd",
         "lat": HOME[0] + 0.0009, "lon": HOME[1], "service_id": services["pothole"].id},
        {"external_id": f"graf{suffix}", "address": f"20{suffix} Graffiti Ln",
         "lat": HOME[0] - 0.0009, "lon": HOME[1], "service_id": services["graffiti"].id},
    )  # fmt: skip


def test_bob_hears_only_of_the_request_type_he_chose(client, smtp, layer, services):
    """A watch limited to potholes lists the pothole 100 m away and not the graffiti beside it."""
    subscribe_and_confirm(client, smtp, services=["SW-POT"])
    assert Subscription.objects.get().services == ["SW-POT"]
    near_cases(layer, services)
    assert run_alerts() == 1
    text = body(smtp.inbox.to(BOB)[-1])
    assert "10 Pothole Rd" in text and "Graffiti" not in text
    # The email links the same watch as a feed: the exact circle and the request type.
    feed = re.search(r"http://testserver(/alerts/feed\.rss\?\S+) \(RSS\)", text)
    assert feed, text
    assert "service=SW-POT" in feed.group(1) and "radius=500" in feed.group(1)
    rss = ElementTree.fromstring(client.get(feed.group(1)).content)
    assert [i.findtext("title") for i in rss.findall("./channel/item")] == [
        "Pothole: 10 Pothole Rd"
    ]


def test_a_service_group_filter_works_for_an_area_too(client, smtp, layer, services, kc_areas):
    """An area watch of the "Nuisance" group hears of graffiti in the area, not of potholes."""
    import_cases(layer, {"external_id": "probe", "lat": HOME[0], "lon": HOME[1]})
    run_alerts()  # nobody watches yet: the probe is old news
    area = Case.objects.get(external_id="probe").areas.get(kind="council-district")
    response = client.post("/alerts", {"email": BOB, "area": area.id, "frequency": "instant",
                                       "service_groups": ["Nuisance"]})  # fmt: skip
    assert response.status_code == 200, response.content
    sub = Subscription.objects.get()
    assert sub.kind == "area" and sub.service_groups == ["Nuisance"]
    run_alerts()
    link = re.search(r"http://testserver(/alerts/confirm/\S+)", body(smtp.inbox.to(BOB)[-1]))
    assert link and client.get(link.group(1)).status_code == 200
    near_cases(layer, services)
    assert run_alerts() == 1
    text = body(smtp.inbox.to(BOB)[-1])
    assert "20 Graffiti Ln" in text and "Pothole" not in text


def test_an_unknown_request_type_is_refused_and_nothing_stored(client, smtp, layer, services):
    """A code that is no public request type (typed by hand, or a private one) gets a 400."""
    form = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "daily"}
    for bad in ({"services": ["NOPE"]}, {"service_groups": ["Nowhere"]}):
        response = client.post("/alerts", {**form, **bad})
        assert response.status_code == 400
        assert b"Select a valid choice" in response.content
    services["hidden"].private = True
    services["hidden"].save()
    assert client.post("/alerts", {**form, "services": ["PD-TIP"]}).status_code == 400
    assert not Subscription.objects.exists()


def test_bob_changes_his_filters_on_the_manage_page(client, smtp, layer, services):
    """The signed manage page shows the request types; choosing graffiti there changes the alert."""
    subscribe_and_confirm(client, smtp, services=["SW-POT"])
    sub = Subscription.objects.get()
    url = f"/alerts/manage/{tokens.manage_token(sub.subscriber_id)}"
    page = client.get(url).content.decode()
    assert re.search(r'<option value="SW-POT" selected>Pothole</option>', page)
    assert "Tip line" in page  # public request types are offered; a private one would not be
    assert "/alerts/feed.rss?service=SW-POT&amp;lat=" in page
    saved = client.post(url, {"subscription": sub.id, "action": "save", "frequency": "instant",
                              "radius_m": "500", "service_groups": ["Nuisance"]})  # fmt: skip
    assert saved.status_code == 200
    sub.refresh_from_db()
    assert (sub.services, sub.service_groups) == ([], ["Nuisance"])
    near_cases(layer, services)
    run_alerts()
    text = body(smtp.inbox.to(BOB)[-1])
    assert "20 Graffiti Ln" in text and "Pothole" not in text
    bad = client.post(url, {"subscription": sub.id, "action": "save", "frequency": "instant",
                            "services": ["NOPE"]})  # fmt: skip
    assert bad.status_code == 400
    sub.refresh_from_db()
    assert sub.service_groups == ["Nuisance"]


def test_the_map_page_offers_a_watch_with_its_filters(client, smtp, layer, services):
    """The map's "email me" form carries the map's kind and request type; posting it subscribes."""
    page = client.get("/map?layer=311&service=SW-POT").content.decode()
    form = page[page.index('id="watch-here-heading"') :]
    assert 'action="/alerts"' in form and 'data-pick-map="map"' in form
    assert '<input type="hidden" name="layers" value="311">' in form
    assert '<input type="hidden" name="services" value="SW-POT">' in form
    assert "Use the map's centre" in form
    response = client.post("/alerts", {"email": BOB, "lat": HOME[0], "lon": HOME[1],
                                       "radius_m": "250", "frequency": "weekly",
                                       "layers": "311", "services": "SW-POT"})  # fmt: skip
    assert response.status_code == 200 and b"Check your email" in response.content
    sub = Subscription.objects.get()
    assert (sub.layers, sub.services, sub.radius_m, sub.frequency) == (
        ["311"], ["SW-POT"], 250, "weekly",
    )  # fmt: skip


def test_the_alerts_page_starts_from_a_map_link(client, layer, services):
    """/alerts?lat=…&lon=…&service=… (the map's link) fills in the point and the request type."""
    page = client.get(f"/alerts?lat={HOME[0]}&lon={HOME[1]}&service=SW-POT&layer=311").content
    text = page.decode()
    assert f'value="{HOME[0]}"' in text and f'value="{HOME[1]}"' in text
    assert re.search(r'<option value="SW-POT" selected>Pothole</option>', text)
    assert re.search(r'value="311"[^>]*checked', text)
    assert 'id="pick-map"' in text and "Use the map's centre" in text


def test_the_rss_feed_is_the_same_watch_and_names_no_subscriber(client, smtp, layer, services):
    """RSS 2.0 beside Atom: the pothole within the circle, a link to its page, no address."""
    subscribe_and_confirm(client, smtp)
    near_cases(layer, services)
    import_cases(layer, {"external_id": "far", "address": "900 Far Ave", "lat": HOME[0] + 0.018,
                         "lon": HOME[1], "service_id": services["pothole"].id})  # fmt: skip
    query = f"lat={HOME[0]}&lon={HOME[1]}&radius=500&service=SW-POT"
    response = client.get(f"/alerts/feed.rss?{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    assert BOB.encode() not in response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert [i.findtext("title") for i in items] == ["Pothole: 10 Pothole Rd"]
    assert re.fullmatch(r"http://testserver/\S+", items[0].findtext("link") or "")
    atom = ElementTree.fromstring(client.get(f"/alerts/feed?{query}").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert [e.findtext("a:title", namespaces=ns) for e in atom.findall("a:entry", ns)] == [
        "Pothole: 10 Pothole Rd"
    ]
    assert client.get("/alerts/feed.rss?lat=x&lon=1&radius=5").status_code == 400
    map_page = client.get("/map?service=SW-POT").content.decode()
    assert 'href="/alerts/feed.rss?service=SW-POT"' in map_page
    assert 'href="/alerts/feed?service=SW-POT"' in map_page
    assert "/alerts/feed.rss?" in client.get("/alerts").content.decode()
