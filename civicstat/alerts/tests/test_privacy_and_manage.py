"""Bob manages his alerts from a signed link; his address stays out of logs and public pages."""

from __future__ import annotations

import logging
import re

from civicstat.alerts import tokens
from civicstat.alerts.models import Subscriber, Subscription
from civicstat.alerts.tests.conftest import HOME, body, import_cases
from civicstat.alerts.tests.test_radius_alerts import (
    BOB,
    city_batch,
    run_alerts,
    subscribe_and_confirm,
)


def test_bob_changes_frequency_and_radius_then_stops_everything(client, smtp, layer):
    """The manage link needs no password; "stop everything" deletes the address."""
    subscribe_and_confirm(client, smtp)
    sub = Subscription.objects.get()
    url = f"/alerts/manage/{tokens.manage_token(sub.subscriber_id)}"
    page = client.get(url)
    assert page.status_code == 200 and b"500 m around" in page.content
    client.post(url, {"subscription": sub.id, "action": "save", "frequency": "weekly",
                      "radius_m": "1000"})  # fmt: skip
    sub.refresh_from_db()
    assert (sub.frequency, sub.radius_m) == ("weekly", 1000)
    bad = client.post(url, {"subscription": sub.id, "action": "save", "frequency": "hourly"})
    assert bad.status_code == 400
    client.post(url, {"action": "forget"})
    assert not Subscriber.objects.exists() and not Subscription.objects.exists()


def test_the_address_never_reaches_logs_or_public_pages(client, smtp, layer, caplog):
    """Through sign-up, an outage and an alert, no log line and no public page shows the address."""
    caplog.set_level(logging.DEBUG)
    subscribe_and_confirm(client, smtp)
    smtp.stop()
    city_batch(layer)
    run_alerts()  # the outage is logged, by delivery id
    smtp.start()
    assert str(Subscriber.objects.get()) == repr(Subscriber.objects.get())
    assert BOB not in str(Subscriber.objects.get())
    app_logs = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert any("delayed" in line for line in app_logs)
    assert not any(BOB in line for line in app_logs)
    for path in ("/", "/alerts", f"/alerts/feed?lat={HOME[0]}&lon={HOME[1]}&radius=500"):
        assert BOB.encode() not in client.get(path).content


def test_an_import_enqueues_the_matcher(
    client, smtp, layer, settings, django_capture_on_commit_callbacks
):
    """Importing a batch sends cases_changed, whose receiver runs the matcher and the sender."""
    subscribe_and_confirm(client, smtp)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        import_cases(layer, {"external_id": "near", "address": "100 Near St",
                             "lat": HOME[0] + 0.0018, "lon": HOME[1]})  # fmt: skip
    assert re.search("100 Near St", body(smtp.inbox.to(BOB)[-1]))
