"""Alice follows her case; Bob gets a daily digest; bad input stores nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.test import Client

from civicstat.alerts import tokens
from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.models import Subscriber, Subscription
from civicstat.alerts.sending import compose_due, send_due
from civicstat.alerts.services import subscription_confirm
from civicstat.alerts.tests.conftest import HOME, Smtp, body, import_cases
from civicstat.cases.models import Area, Case
from civicstat.cases.services import case_add_note

ALICE, BOB = "alice@example.org", "bob@example.org"


def confirm_from(client: Client, smtp: Smtp, address: str) -> None:
    send_due()
    link = re.search(r"http://testserver(/alerts/confirm/\S+)", body(smtp.inbox.to(address)[-1]))
    assert link
    assert client.get(link.group(1)).status_code == 200


def test_alice_hears_about_every_event_of_the_case_she_follows(client, smtp, layer):
    """A note and the closing each reach Alice, with the note's text and the new status."""
    import_cases(layer, {"external_id": "pothole", "address": "5 Elm St", "lat": HOME[0],
                         "lon": HOME[1]})  # fmt: skip
    case = Case.objects.get(external_id="pothole")
    page = client.get(case.get_absolute_url())
    assert b"Follow this case" in page.content
    client.post(f"/alerts/follow/{case.id}", {"email": ALICE})
    confirm_from(client, smtp, ALICE)
    match_new_events()  # the creation happened before she followed: old news for her
    case_add_note(case=case, note="Crew scheduled for Tuesday", at=datetime.now(UTC))
    match_new_events()
    compose_due()
    send_due()
    assert "Crew scheduled for Tuesday" in body(smtp.inbox.to(ALICE)[-1])
    import_cases(layer, {"external_id": "pothole", "address": "5 Elm St", "lat": HOME[0],
                         "lon": HOME[1], "status": "RESOLVED", "group": "closed",
                         "closed_at": datetime.now(UTC)})  # fmt: skip
    match_new_events()
    compose_due()
    send_due()
    last = body(smtp.inbox.to(ALICE)[-1])
    assert "Closed" in last and "Resolved" in last
    assert len(smtp.inbox.to(ALICE)) == 3  # confirmation, note, closed


def test_a_daily_digest_goes_out_at_the_local_hour(client, smtp, layer, settings):
    """Bob's daily digest waits until 7:00 in Kansas City, then carries the day's cases at once."""
    settings.ALERTS_DIGEST_HOUR = 7
    with time_machine.travel(datetime(2026, 11, 23, 18, 0, tzinfo=UTC), tick=False) as clock:
        client.post("/alerts", {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500,
                                "frequency": "daily"})  # fmt: skip
        confirm_from(client, smtp, BOB)
        import_cases(layer, {"external_id": "a", "address": "1 A St", "lat": HOME[0] + 0.001,
                             "lon": HOME[1]},
                     {"external_id": "b", "address": "2 B St", "lat": HOME[0] - 0.001,
                      "lon": HOME[1]})  # fmt: skip
        match_new_events()
        assert compose_due() == 0  # 12:00 in Kansas City
        clock.move_to(datetime(2026, 11, 24, 12, 59, tzinfo=UTC))  # 6:59 local
        assert compose_due() == 0
        clock.move_to(datetime(2026, 11, 24, 13, 1, tzinfo=UTC))  # 7:01 local
        assert compose_due() == 1
        assert send_due() == 1
        digest = body(smtp.inbox.to(BOB)[-1])
        assert "Your digest" in digest and "1 A St" in digest and "2 B St" in digest
        assert compose_due() == 0


def test_it_rejects_bad_input_and_stores_nothing(client, smtp, layer, kc_areas):
    """Invalid email, radius 0 or over the limit, a point outside the city: 400 and a reason."""
    good = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "instant"}
    cases = [
        ({"email": "not-an-address"}, b"valid email"),
        ({"radius_m": 0}, b"Choose a radius from 250 to 5000"),
        ({"radius_m": 50_000}, b"Choose a radius from 250 to 5000"),
        ({"lat": 40.7128, "lon": -74.0060}, b"outside Kansas City"),
        ({"lat": "", "lon": "", "place": "Nowhere Road"}, b"No address found for that"),
    ]
    for change, message in cases:
        response = client.post("/alerts", {**good, **change})
        assert response.status_code == 400, change
        assert message in response.content, (change, response.content[-2000:])
    assert not Subscription.objects.exists() and not Subscriber.objects.exists()
    assert smtp.inbox.messages == []


def test_a_forged_or_expired_link_is_refused(client, smtp, layer):
    """A changed signature, or a confirmation older than ALERTS_CONFIRM_DAYS, confirms nothing."""
    client.post("/alerts", {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500,
                            "frequency": "instant"})  # fmt: skip
    sub = Subscription.objects.get()
    forged = tokens.confirm_token(sub.id)[:-2] + "xx"
    response = client.get(f"/alerts/confirm/{forged}")
    assert response.status_code == 400 and b"not valid" in response.content
    token = tokens.confirm_token(sub.id)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        response = client.get(f"/alerts/confirm/{token}")
    assert response.status_code == 400 and b"expired" in response.content
    sub.refresh_from_db()
    assert sub.confirmed_at is None
    assert client.get("/alerts/unsubscribe/1:forged").status_code == 400
    assert client.get("/alerts/manage/1:forged").status_code == 400


def test_an_area_watch_hears_of_cases_in_that_area_only(client, smtp, layer, kc_areas):
    """Bob watches his council district: a case inside it arrives, one outside does not."""
    district = Area.objects.filter(kind="council-district").order_by("id").first()
    assert district is not None
    client.post("/alerts", {"email": BOB, "area": district.id, "frequency": "instant"})
    confirm_from(client, smtp, BOB)
    import_cases(layer, {"external_id": "x", "address": "1 Downtown", "lat": HOME[0],
                         "lon": HOME[1]},
                 {"external_id": "y", "address": "2 Northland", "lat": 39.28,
                  "lon": -94.65})  # fmt: skip
    inside = set(Case.objects.filter(areas=district).values_list("external_id", flat=True))
    match_new_events()
    compose_due()
    send_due()
    text = body(smtp.inbox.to(BOB)[-1]) if inside else ""
    for external_id, address in (("x", "1 Downtown"), ("y", "2 Northland")):
        assert (address in text) == (external_id in inside)


def test_an_address_holds_at_most_the_limit_of_alerts(client, smtp, layer, settings):
    """The third alert for one address, with a limit of two confirmed, is refused with a reason."""
    settings.ALERTS_MAX_SUBSCRIPTIONS = 2
    form = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "instant"}
    assert client.post("/alerts", form).status_code == 200
    assert client.post("/alerts", form).status_code == 200
    for sub in Subscription.objects.all():
        subscription_confirm(subscription=sub)
    third = client.post("/alerts", form)
    assert third.status_code == 400 and b"at most 2 alerts" in third.content
    assert Subscription.objects.count() == 2


def test_signing_up_is_rate_limited_per_address(client, smtp, layer, settings):
    """Past ALERTS_RATE_PER_ADDRESS sign-ups for one address, the site answers 429."""
    settings.ALERTS_RATE_PER_ADDRESS = "2/h"
    form = {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "instant"}
    codes = [Client(REMOTE_ADDR=f"10.0.0.{i}").post("/alerts", form).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_the_feed_lists_cases_inside_the_circle(client, layer):
    """The Atom feed of a watch has the case 200 m away and not the one 2 km away."""
    import_cases(layer, {"external_id": "near", "address": "100 Near St", "lat": HOME[0] + 0.0018,
                         "lon": HOME[1]},
                 {"external_id": "far", "address": "900 Far Ave", "lat": HOME[0] + 0.018,
                  "lon": HOME[1]})  # fmt: skip
    response = client.get(f"/alerts/feed?lat={HOME[0]}&lon={HOME[1]}&radius=500")
    assert response.status_code == 200
    assert b"100 Near St" in response.content and b"900 Far Ave" not in response.content
    assert client.get("/alerts/feed?lat=x&lon=1&radius=5").status_code == 400
    assert client.get("/alerts/feed?lat=nan&lon=1&radius=5").status_code == 400
    assert client.get("/alerts/feed?lat=39&lon=200&radius=5").status_code == 400
    assert client.get("/alerts/feed?layer=nope").status_code == 400
