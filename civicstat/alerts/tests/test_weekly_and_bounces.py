"""Bob's weekly digest comes on the chosen local day and hour with the week's cases, once each;
when his mail bounces for good, staff are told in the admin and by email, without his address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.models import Subscriber
from civicstat.alerts.sending import compose_due, send_due
from civicstat.alerts.tests.conftest import HOME, body, import_cases
from civicstat.alerts.tests.test_radius_alerts import BOB, city_batch, run_alerts
from civicstat.alerts.tests.test_radius_alerts import subscribe_and_confirm as confirm

STAFF = "duty-officer@example.org"


def near(external_id: str, address: str, north: float) -> dict[str, object]:
    return {"external_id": external_id, "address": address, "lat": HOME[0] + north,
            "lon": HOME[1]}  # fmt: skip


def test_a_weekly_digest_goes_out_on_the_chosen_local_day_and_hour(client, smtp, layer, settings):
    """Friday 18:00 in Kansas City is Saturday 00:00 UTC: the digest waits for it, lists the
    week's three cases once each, and the next week's digest holds only that week's case."""
    settings.ALERTS_DIGEST_WEEKDAY = 4  # Friday
    settings.ALERTS_DIGEST_HOUR = 18
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 9:00 local
    with time_machine.travel(monday, tick=False) as clock:
        confirm(client, smtp, frequency="weekly")
        import_cases(layer, near("mon", "1 Monday St", 0.0005))
        for day, (external_id, address) in enumerate(
            [("tue", "2 Tuesday St"), ("wed", "3 Wednesday St")], start=1
        ):
            clock.move_to(monday + timedelta(days=day))
            import_cases(layer, near(external_id, address, 0.0005 + day / 10_000))
            # The Monday case changes on Tuesday: still one item, as news of a new case.
            import_cases(layer, {**near("mon", "1 Monday St", 0.0005), "description": "deeper"})
            match_new_events()
        # Every evening from Monday to Thursday at 18:01 local (00:01 UTC the next day): nothing.
        for day in range(4):
            clock.move_to(datetime(2026, 11, 24, 0, 1, tzinfo=UTC) + timedelta(days=day))
            assert compose_due() == 0, f"a digest went out {day} days after Monday"
        clock.move_to(datetime(2026, 11, 27, 23, 59, tzinfo=UTC))  # Friday 17:59 local
        assert compose_due() == 0
        clock.move_to(datetime(2026, 11, 28, 0, 1, tzinfo=UTC))  # Friday 18:01 local
        assert compose_due() == 1
        assert compose_due() == 0
        assert send_due() == 1
        (digest,) = smtp.inbox.to(BOB)
        text = body(digest)
        assert digest["Subject"].startswith("3 updates")
        for address in ("1 Monday St", "2 Tuesday St", "3 Wednesday St"):
            assert text.count(address) == 1, address

        # The next week: a Saturday case waits for the next Friday, alone.
        clock.move_to(datetime(2026, 11, 28, 16, 0, tzinfo=UTC))
        import_cases(layer, near("sat", "4 Saturday St", 0.0009))
        match_new_events()
        for day in range(6):  # Saturday to Thursday evenings
            clock.move_to(datetime(2026, 11, 29, 0, 1, tzinfo=UTC) + timedelta(days=day))
            assert compose_due() == 0
        clock.move_to(datetime(2026, 12, 5, 0, 1, tzinfo=UTC))
        assert compose_due() == 1 and send_due() == 1
        second = body(smtp.inbox.to(BOB)[-1])
        assert "4 Saturday St" in second and "1 Monday St" not in second
        assert len(smtp.inbox.to(BOB)) == 2


def test_a_hard_bounce_is_shown_to_staff_without_the_address(
    client, smtp, layer, settings, admin_client
):
    """MANAGERS get an email naming the subscriber's number and the admin page, never the
    address; the admin's subscriber list says how many addresses bounced and filters them."""
    settings.MANAGERS = [STAFF]
    confirm(client, smtp)
    assert STAFF not in [m["To"] for m in smtp.inbox.messages]
    smtp.inbox.refuse.add(BOB)
    city_batch(layer)
    run_alerts()
    bob = Subscriber.objects.get()
    assert bob.disabled_at is not None
    (notice,) = smtp.inbox.to(STAFF)
    assert f"subscriber #{bob.id}" in notice["Subject"]
    assert "/admin/alerts/subscriber/?bounced=yes" in body(notice)
    assert BOB not in notice.as_string()

    changelist = admin_client.get("/admin/alerts/subscriber/").content.decode()
    assert "1 address has bounced for good and gets no alerts." in changelist
    assert "?bounced=yes" in changelist
    bounced = admin_client.get("/admin/alerts/subscriber/?bounced=yes").content.decode()
    assert f"Subscriber #{bob.id}" in bounced and "550" in bounced
    receiving = admin_client.get("/admin/alerts/subscriber/?bounced=no").content.decode()
    assert f"Subscriber #{bob.id}" not in receiving

    # Staff re-enable the address once it works: the next case reaches Bob again.
    smtp.inbox.refuse.clear()
    admin_client.post("/admin/alerts/subscriber/", {"action": "enable",
                                                     "_selected_action": [bob.id]})  # fmt: skip
    bob.refresh_from_db()
    assert bob.disabled_at is None and bob.bounce_reason == ""
    import_cases(layer, {"external_id": "later", "address": "7 Later St", "lat": HOME[0],
                         "lon": HOME[1] + 0.001})  # fmt: skip
    run_alerts()
    assert "7 Later St" in body(smtp.inbox.to(BOB)[-1])
    assert "bounced for good" not in admin_client.get("/admin/alerts/subscriber/").content.decode()


def test_without_managers_a_bounce_still_reaches_the_admin(client, smtp, layer, settings):
    """No MANAGERS configured: no staff email is attempted; only the confirmation went out."""
    settings.MANAGERS = []
    confirm(client, smtp)
    smtp.inbox.refuse.add(BOB)
    city_batch(layer)
    run_alerts()
    assert Subscriber.objects.get().disabled_at is not None
    assert smtp.inbox.messages == []
