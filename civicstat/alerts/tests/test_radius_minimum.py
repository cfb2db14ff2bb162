"""A watched radius is at least MIN_RADIUS_M (250 m) wherever a radius comes in: the sign-up form,
the manage page, the feeds and the services behind them."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicstat.alerts import tokens
from civicstat.alerts.models import MIN_RADIUS_M, Subscription, SubscriptionKind
from civicstat.alerts.services import SubscribeError, subscription_create, subscription_update
from civicstat.alerts.tests.conftest import HOME
from civicstat.alerts.tests.test_radius_alerts import BOB, subscribe_and_confirm

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
FORM = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "frequency": "instant"}


@pytest.mark.parametrize("radius", [1, 100, MIN_RADIUS_M - 1])
def test_it_rejects_a_sign_up_radius_under_the_minimum(client, smtp, layer, radius):
    """A radius under 250 m is a 400 that names the range, and nothing is stored or sent."""
    response = client.post("/alerts", {**FORM, "radius_m": radius})
    assert response.status_code == 400
    assert b"Choose a radius from 250 to 5000 metres" in response.content
    assert not Subscription.objects.exists() and smtp.inbox.messages == []


def test_it_accepts_the_minimum_radius(client, smtp, layer):
    """250 m itself is a radius a resident may watch; the form's field says so too."""
    assert b'min="250"' in client.get("/alerts").content
    assert client.post("/alerts", {**FORM, "radius_m": MIN_RADIUS_M}).status_code == 200
    assert Subscription.objects.get().radius_m == MIN_RADIUS_M


def test_it_rejects_a_managed_radius_under_the_minimum(client, smtp, layer):
    """The manage page refuses 1 m with the range and keeps the radius Bob had."""
    subscribe_and_confirm(client, smtp)
    sub = Subscription.objects.get()
    url = f"/alerts/manage/{tokens.manage_token(sub.subscriber_id)}"
    assert b'min="250"' in client.get(url).content
    for radius in ("1", str(MIN_RADIUS_M - 1)):
        response = client.post(url, {"subscription": sub.id, "action": "save",
                                     "frequency": "instant", "radius_m": radius})  # fmt: skip
        assert response.status_code == 400 and "250–5000 m" in response.content.decode()
    sub.refresh_from_db()
    assert sub.radius_m == 500
    client.post(url, {"subscription": sub.id, "action": "save", "frequency": "instant",
                      "radius_m": str(MIN_RADIUS_M)})  # fmt: skip
    sub.refresh_from_db()
    assert sub.radius_m == MIN_RADIUS_M


@pytest.mark.parametrize("path", ["/alerts/feed", "/alerts/feed.rss"])
def test_it_rejects_a_feed_radius_under_the_minimum(client, layer, path):
    """A feed for 1 m (or 249.9 m) is a 400 naming the range; 250 m is a feed."""
    for radius in ("1", "249.9"):
        response = client.get(path, {"lat": HOME[0], "lon": HOME[1], "radius": radius})
        assert response.status_code == 400
        assert b"radius must be a decimal number from 250 to 5000" in response.content
    assert client.get(path, {"lat": HOME[0], "lon": HOME[1], "radius": "250"}).status_code == 200


def test_the_services_refuse_a_radius_under_the_minimum(layer, smtp):
    """Whoever calls them, subscription_create and subscription_update keep the minimum."""
    with pytest.raises(SubscribeError, match="from 250 to 5000"):
        subscription_create(email=BOB, kind=SubscriptionKind.RADIUS, lat=HOME[0], lon=HOME[1],
                            radius_m=1)  # fmt: skip
    assert not Subscription.objects.exists()
    sub = subscription_create(email=BOB, kind=SubscriptionKind.RADIUS, lat=HOME[0], lon=HOME[1],
                              radius_m=500)  # fmt: skip
    with pytest.raises(SubscribeError, match="from 250 to 5000"):
        subscription_update(subscription=sub, frequency="instant", radius_m=1,
                            include_closed=False)  # fmt: skip
    sub.refresh_from_db()
    assert sub.radius_m == 500


def test_the_readme_states_the_minimum_radius():
    """The operator's manual gives the same minimum as the code."""
    assert f"({MIN_RADIUS_M} m to `ALERTS_MAX_RADIUS_M`)" in README
