"""A resident sets up alerts in a real browser: a place watch on /alerts and a follow on a case
page; both pages pass axe-core, and the confirmation email arrives on a loopback SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from civicstat.alerts.models import Subscription
from civicstat.alerts.sending import send_due
from civicstat.alerts.tests.conftest import Inbox, Smtp, free_port
from civicstat.cases.models import Case

pytestmark = pytest.mark.e2e


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    server = Smtp(inbox=Inbox(), port=free_port())
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    yield server.inbox
    server.stop()


def test_a_resident_watches_500_m_around_a_known_address(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox,
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    case = Case.objects.filter(location_approximate=False, lat__isnull=False).exclude(address="")
    address = case.values_list("address", flat=True).first()
    assert address
    page.goto(live_server.url + "/alerts")
    page.get_by_label("Your email address").fill("bob@example.org")
    page.get_by_label("Address", exact=True).fill(address)
    page.get_by_label("Radius in metres").fill("500")
    page.get_by_label("Frequency").select_option("daily")
    page.get_by_role("button", name="Send me a confirmation email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    screenshot(page, "alerts-check-email")
    sub = Subscription.objects.get()
    assert sub.kind == "radius" and sub.radius_m == 500 and sub.frequency == "daily"
    assert sub.confirmed_at is None
    send_due()
    assert [m["To"] for m in inbox.messages] == ["bob@example.org"]


def test_a_resident_follows_a_case_from_its_page(
    page: Page, live_server: Any, kc_cases: None, inbox: Inbox
) -> None:
    case = Case.objects.select_related("layer").first()
    assert case is not None
    page.goto(live_server.url + case.get_absolute_url())
    page.get_by_label("Email me when it changes").fill("alice@example.org")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert Subscription.objects.get().case_id == case.id


def test_the_alerts_page_passes_axe(
    axe_page: Page, live_server: Any, kc_cases: None,
    axe_violations: Callable[[Page], list[dict[str, Any]]],
    screenshot: Callable[[Page, str], Any],
) -> None:  # fmt: skip
    axe_page.goto(live_server.url + "/alerts")
    assert axe_violations(axe_page) == []
    screenshot(axe_page, "alerts-page")
    case = Case.objects.select_related("layer").first()
    assert case is not None
    axe_page.goto(live_server.url + case.get_absolute_url())
    assert axe_violations(axe_page) == []
