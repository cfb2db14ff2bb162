"""Bob watches 500 m around his home: confirmation, the right alerts once, one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.test import Client

from civicstat.alerts import sending
from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.models import Delivery, OutboxItem, Subscriber, Subscription
from civicstat.alerts.sending import compose_due, send_due
from civicstat.alerts.tests.conftest import HOME, Smtp, body, import_cases
from civicstat.cases.models import Layer

BOB = "bob@example.org"


def run_alerts() -> int:
    match_new_events()
    compose_due()
    return send_due()


def subscribe_and_confirm(client: Client, smtp: Smtp, **extra: Any) -> None:
    form = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "instant"}
    response = client.post("/alerts", {**form, **extra})
    assert response.status_code == 200, response.content
    assert b"Check your email" in response.content
    assert send_due() == 1
    (confirmation,) = smtp.inbox.to(BOB)
    link = re.search(r"http://testserver(/alerts/confirm/\S+)", body(confirmation))
    assert link, body(confirmation)
    assert client.get(link.group(1)).status_code == 200
    smtp.inbox.messages.clear()


def city_batch(layer: Layer) -> None:
    import_cases(
        layer,
        {"external_id": "near", "address": "100 Near St", "lat": HOME[0] + 0.0018, "lon": HOME[1]},
        {"external_id": "far", "address": "900 Far Ave", "lat": HOME[0] + 0.018, "lon": HOME[1]},
        # The source's placeholder for "somewhere in the city", exactly at Bob's home.
        {"external_id": "placeholder", "address": "City Hall", "lat": HOME[0], "lon": HOME[1],
         "location_approximate": True},
    )  # fmt: skip


def test_only_the_confirmation_goes_to_an_unconfirmed_address(client, smtp, layer):
    """Until Bob opens the link, a matching case sends him nothing."""
    client.post("/alerts", {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500,
                            "frequency": "instant"})  # fmt: skip
    city_batch(layer)
    run_alerts()
    (only,) = smtp.inbox.to(BOB)
    assert "Confirm" in only["Subject"]
    assert not OutboxItem.objects.exists()


def test_bob_gets_the_case_inside_his_circle_once(client, smtp, layer):
    """Inside the circle: one alert. Outside, or at a placeholder point: nothing. Again: nothing."""
    subscribe_and_confirm(client, smtp)
    city_batch(layer)
    assert run_alerts() == 1
    (alert,) = smtp.inbox.to(BOB)
    text = body(alert)
    assert "100 Near St" in text
    assert "900 Far Ave" not in text and "City Hall" not in text
    assert re.search(r"\b200 m away", text)
    assert "100 Near St" in body(alert, "html")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alert["List-Unsubscribe"].startswith("<http://testserver/alerts/unsubscribe/")

    assert run_alerts() == 0
    # A retried matcher batch (the cursor set back, as after a crash) adds nothing.
    from civicstat.alerts.models import MatcherCursor

    MatcherCursor.objects.update(last_event_id=0)
    assert run_alerts() == 0
    assert len(smtp.inbox.to(BOB)) == 1


def test_one_click_unsubscribe_needs_no_login_and_forgets_the_address(client, smtp, layer):
    """A cookie-less POST to the List-Unsubscribe URL stops the alert and deletes Bob's address."""
    subscribe_and_confirm(client, smtp)
    city_batch(layer)
    run_alerts()
    url = smtp.inbox.to(BOB)[0]["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscription.objects.exists()
    assert not Subscriber.objects.filter(email=BOB).exists()


def test_the_unsubscribe_link_asks_before_it_unsubscribes(client, smtp, layer):
    """Opening the link shows a button (link scanners must not unsubscribe); pressing it does."""
    subscribe_and_confirm(client, smtp)
    city_batch(layer)
    run_alerts()
    link = re.search(r"http://testserver(/alerts/unsubscribe/\S+)", body(smtp.inbox.to(BOB)[0]))
    assert link
    page = client.get(link.group(1))
    assert b"Unsubscribe</button>" in page.content
    assert Subscription.objects.count() == 1
    client.post(link.group(1))
    assert not Subscription.objects.exists()


def test_a_long_list_ends_with_a_link_to_the_map(client, smtp, layer, settings):
    """Beyond ALERTS_MAX_ITEMS the email says how many more and links to the filtered map."""
    settings.ALERTS_MAX_ITEMS = 3
    subscribe_and_confirm(client, smtp)
    rows = [
        {"external_id": f"n{i}", "address": f"{i} Main St", "lat": HOME[0] + 0.0001 * i,
         "lon": HOME[1]}
        for i in range(10)
    ]  # fmt: skip
    import_cases(layer, *rows)
    run_alerts()
    text = body(smtp.inbox.to(BOB)[0])
    assert "and 7 more — see them on the map: http://testserver/map?bbox=" in text
    assert text.count("Main St") == 3


def test_mail_waits_through_an_smtp_outage(client, smtp, layer):
    """With the server down nothing is lost; once it is back the alert goes out."""
    subscribe_and_confirm(client, smtp)
    city_batch(layer)
    smtp.stop()
    assert run_alerts() == 0
    waiting = Delivery.objects.get(kind="alert")
    assert waiting.state == "pending" and waiting.attempts == 1
    smtp.start()
    assert send_due() == 0  # not before its retry time
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5)):
        assert send_due() == 1
    assert len(smtp.inbox.to(BOB)) == 1


def test_a_crash_between_sending_and_marking_sends_nothing_twice(client, smtp, layer):
    """The worker dies after the server took the mail: after restart Bob gets no second copy."""
    subscribe_and_confirm(client, smtp)
    city_batch(layer)
    match_new_events()
    compose_due()
    with (
        mock.patch.object(sending, "_mark_sent", side_effect=SystemExit("worker killed")),
        pytest.raises(SystemExit),
    ):
        send_due()
    assert len(smtp.inbox.to(BOB)) == 1
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        assert run_alerts() == 0
    assert len(smtp.inbox.to(BOB)) == 1
    assert Delivery.objects.get(kind="alert").state == "uncertain"


def test_a_hard_bounce_stops_the_address(client, smtp, layer):
    """A 550 for Bob's address disables his alerts and leaves the reason for staff."""
    subscribe_and_confirm(client, smtp)
    smtp.inbox.refuse.add(BOB)
    city_batch(layer)
    run_alerts()
    bob = Subscriber.objects.get(email=BOB)
    assert bob.disabled_at is not None and "550" in bob.bounce_reason
    import_cases(layer, {"external_id": "later", "lat": HOME[0], "lon": HOME[1] + 0.001})
    smtp.inbox.refuse.clear()
    run_alerts()
    assert smtp.inbox.to(BOB) == []
