"""The public overview and case pages, and the admin where staff browse and edit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from civicstat.cases.models import Case, CaseContact, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


@pytest.fixture
def alice(db) -> User:
    """Alice is on the city's data team: staff with every permission."""
    return User.objects.create_superuser("alice", "alice@example.org", "pw")


def test_the_overview_shows_each_layer_open_and_closed_from_real_data(client, imported):
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    violations = Case.objects.filter(layer__slug="code-violations")
    assert "Code violations" in html and "311 requests" in html
    assert f"{violations.count():,}" in html
    assert f"{violations.filter(status_group='open').count():,} open" in html
    newest = Case.objects.order_by("-requested_at").first()
    assert newest.get_absolute_url() in html


def test_the_overview_answers_a_repeat_request_with_not_modified(client, imported):
    first = client.get("/")
    again = client.get("/", headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304


def test_pages_refuse_framing_and_carry_a_content_security_policy(client, imported):
    page = client.get("/")
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_a_case_page_shows_its_facts_and_history(client, imported):
    case = Case.objects.filter(status_group="closed").select_related("service").first()
    page = client.get(case.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert case.service.name in html and case.address in html
    assert "Resolved" in html or "Cancelled" in html or "duplicate" in html
    assert "Opened" in html


def test_a_private_case_and_an_unknown_case_are_not_found(client, imported):
    case = Case.objects.first()
    Service.objects.filter(id=case.service_id).update(private=True)
    assert client.get(case.get_absolute_url()).status_code == 404
    missing = client.get("/cases/311-requests/no-such-case")
    assert missing.status_code == 404
    assert "There is no page at this address" in missing.content.decode()


def test_reporter_contact_details_never_reach_the_case_page(client, imported):
    case = Case.objects.first()
    CaseContact.objects.create(case=case, first_name="Dana", email="dana@example.org",
                               phone="816-555-0100")  # fmt: skip
    html = client.get(case.get_absolute_url()).content.decode()
    for secret in ("Dana", "dana@example.org", "816-555-0100"):
        assert secret not in html
    assert "dana" not in repr(case.contact)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/cases/case/", "/admin/cases/department/", "/admin/cases/service/",
        "/admin/cases/layer/", "/admin/cases/area/", "/admin/ingest/importrun/",
    ],
)  # fmt: skip
def test_staff_can_browse_the_admin(client, imported, alice, url):
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_staff_can_edit_a_service_target_and_mark_it_private(client, imported, alice):
    client.force_login(alice)
    case = Case.objects.filter(service__isnull=False).first()
    page = client.get(f"/admin/cases/case/{case.id}/change/")
    assert page.status_code == 200
    service = case.service
    response = client.post(f"/admin/cases/service/{service.id}/change/", {
        "layer": service.layer_id, "code": service.code, "name": service.name,
        "group": service.group, "description": "", "department": service.department_id or "",
        "target_days": 14, "private": "on",
    })  # fmt: skip
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.target_days == 14 and service.private


def test_a_resident_without_an_account_cannot_reach_the_admin(client, imported):
    response = client.get("/admin/cases/case/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
