"""Sign-up limits hold however an address is spelt, and nobody can lock a resident out.

Mallory signs Bob up again and again, writing Bob's address in every case and padding she can
think of, from many addresses of her own. Bob still gets at most ALERTS_RATE_PER_ADDRESS
confirmation emails an hour, and his own sign-up still works. Sign-ups nobody confirmed are
deleted once their link has expired.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from civicstat.alerts.models import Subscriber, Subscription
from civicstat.alerts.sending import send_due
from civicstat.alerts.services import subscription_confirm, subscriptions_expire
from civicstat.alerts.tests.conftest import HOME, Smtp, body
from civicstat.lib.clientip import networks_parse

NOW = datetime(2026, 11, 23, 15, 5, tzinfo=UTC)
SPELLINGS = ["Bob@Example.org", "bob@example.org", " BOB@EXAMPLE.ORG ", "bob@EXAMPLE.org\t"]
FORM = {"lat": HOME[0], "lon": HOME[1], "radius_m": 500, "frequency": "instant"}


def sign_up(email: str, *, remote: str = "198.51.100.1", **headers: Any) -> int:
    """One sign-up from its own client, as Mallory sends them from many addresses."""
    client = Client(REMOTE_ADDR=remote, headers=headers)
    return int(client.post("/alerts", {**FORM, "email": email}).status_code)


def confirm_last(client: Client, smtp: Smtp, to: str) -> int:
    send_due()
    link = re.search(r"http://testserver(/alerts/confirm/\S+)", body(smtp.inbox.to(to)[-1]))
    assert link
    return int(client.get(link.group(1)).status_code)


@pytest.fixture(autouse=True)
def _generous_limits(settings: Any) -> None:
    """Each test tightens only the limit it is about."""
    settings.ALERTS_RATE_PER_IP = "1000/h"
    settings.ALERTS_RATE_PER_ADDRESS = "1000/h"


def test_spellings_of_one_address_share_the_per_address_limit(smtp, layer, settings):
    """Case and padding make no new address: the fourth sign-up, with a limit of three, is a 429,
    and a +tag is the same mailbox too. Bob gets three confirmations, all to one spelling."""
    settings.ALERTS_RATE_PER_ADDRESS = "3/h"
    with time_machine.travel(NOW, tick=False):
        codes = [sign_up(email, remote=f"198.51.100.{i}") for i, email in enumerate(SPELLINGS)]
        assert codes == [200, 200, 200, 429]
        assert sign_up("bob+again@example.org", remote="198.51.100.99") == 429
        send_due()
    assert Subscriber.objects.get().email == "Bob@example.org"
    assert Subscription.objects.count() == 3
    assert len(smtp.inbox.to("Bob@example.org")) == 3 and len(smtp.inbox.messages) == 3


def test_spellings_of_one_address_share_the_alert_limit(client, smtp, layer, settings):
    """Bob holds two confirmed alerts with a limit of two: a third in capitals is refused."""
    settings.ALERTS_MAX_SUBSCRIPTIONS = 2
    assert sign_up("bob@example.org") == sign_up("Bob@example.org") == 200
    for sub in Subscription.objects.all():
        subscription_confirm(subscription=sub)
    response = Client().post("/alerts", {**FORM, "email": " BOB@EXAMPLE.ORG "})
    assert response.status_code == 400 and b"at most 2 alerts" in response.content
    assert Subscriber.objects.count() == 1 and Subscription.objects.count() == 2


def test_sign_ups_nobody_confirmed_cannot_lock_the_owner_out(client, smtp, layer, settings):
    """Mallory fills Bob's address to the limit with sign-ups he never confirms: Bob's own
    sign-up still goes through, in place of the oldest of hers, and he can confirm it."""
    settings.ALERTS_MAX_SUBSCRIPTIONS = 3
    codes = [sign_up(email, remote=f"203.0.113.{i}") for i, email in enumerate(SPELLINGS[:3])]
    assert codes == [200, 200, 200]
    response = client.post("/alerts", {**FORM, "email": "bob@example.org", "radius_m": 1000})
    assert response.status_code == 200, response.content
    assert Subscription.objects.count() == 3
    assert confirm_last(client, smtp, "Bob@example.org") == 200
    assert Subscription.objects.get(confirmed_at__isnull=False).radius_m == 1000


def test_unconfirmed_sign_ups_expire_in_the_periodic_run(client, smtp, layer, settings):
    """send_alerts deletes sign-ups older than ALERTS_CONFIRM_DAYS that nobody confirmed, and an
    address left with nothing; a confirmed alert, and a younger sign-up, stay."""
    settings.ALERTS_CONFIRM_DAYS = 7
    with time_machine.travel(NOW, tick=False) as clock:
        assert sign_up("bob@example.org") == 200  # never confirmed: Bob goes entirely
        assert sign_up("carol@example.org") == 200
        subscription_confirm(
            subscription=Subscription.objects.get(subscriber__email="carol@example.org")
        )
        assert sign_up("carol@example.org") == 200  # Carol's second, never confirmed
        clock.shift(timedelta(days=3))
        assert sign_up("dave@example.org") == 200  # younger: stays
        clock.shift(timedelta(days=4, minutes=1))
        out = io.StringIO()
        call_command("send_alerts", stdout=out)
        assert subscriptions_expire() == 0
    assert "2 unconfirmed sign-ups expired" in out.getvalue()
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "carol@example.org", "dave@example.org"]  # fmt: skip
    carol = Subscription.objects.get(subscriber__email="carol@example.org")
    assert carol.confirmed_at is not None


def test_a_new_sign_up_works_once_earlier_ones_expired(client, smtp, layer, settings):
    """With a limit of two, one confirmed alert and one sign-up past its link's life, Bob's new
    sign-up is made (the expired one counts for nothing and is gone), even before any periodic
    run, and its link confirms it."""
    settings.ALERTS_MAX_SUBSCRIPTIONS = 2
    with time_machine.travel(NOW, tick=False) as clock:
        assert sign_up("bob@example.org") == 200
        subscription_confirm(subscription=Subscription.objects.get())
        assert sign_up("bob@example.org") == 200
        clock.shift(timedelta(days=8))
        response = client.post("/alerts", {**FORM, "email": "Bob@Example.org", "radius_m": 250})
        assert response.status_code == 200, response.content
        assert Subscription.objects.count() == 2
        assert confirm_last(client, smtp, "bob@example.org") == 200
    assert sorted(Subscription.objects.values_list("radius_m", flat=True)) == [250, 500]
    assert not Subscription.objects.filter(confirmed_at__isnull=True).exists()


def test_residents_behind_a_trusted_proxy_are_counted_apart(smtp, layer, settings):
    """Behind the city's proxy, each resident (the address the proxy saw) has a per-IP count of
    their own: one past the limit does not stop another."""
    settings.TRUSTED_PROXIES = networks_parse(["10.0.0.1"])
    settings.ALERTS_RATE_PER_IP = "2/h"
    with time_machine.travel(NOW, tick=False):
        first = [sign_up(f"r{i}@example.org", remote="10.0.0.1",
                         x_forwarded_for="198.51.100.1") for i in range(3)]  # fmt: skip
        second = sign_up("s@example.org", remote="10.0.0.1", x_forwarded_for="198.51.100.2")
    assert first == [200, 200, 429] and second == 200


def test_without_trusted_proxies_a_forged_header_gives_no_new_count(smtp, layer, settings):
    """A client that writes its own X-Forwarded-For is still counted by its own address."""
    settings.TRUSTED_PROXIES = ()
    settings.ALERTS_RATE_PER_IP = "2/h"
    with time_machine.travel(NOW, tick=False):
        codes = [sign_up(f"r{i}@example.org", remote="203.0.113.5",
                         x_forwarded_for=f"198.51.100.{i}") for i in range(3)]  # fmt: skip
    assert codes == [200, 200, 429]
