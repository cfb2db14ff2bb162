"""Who may edit which measures in the admin: one test per role.

Alice is department staff at Water Services; Bob is staff at Public Works; Carol is a superuser;
Dave has a staff login but no performance permissions; anonymous visitors are sent to log in.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from civicstat.performance.models import Measure, StaffProfile
from civicstat.performance.tests.factories import a_measure, small_city

pytestmark = pytest.mark.django_db


def staff(name: str, *departments: Any, superuser: bool = False) -> Client:
    user = User.objects.create_user(name, password="pw", is_staff=True, is_superuser=superuser)
    if departments:
        editors, _ = Group.objects.get_or_create(name="Measure editors")
        editors.permissions.set(Permission.objects.filter(
            content_type__app_label="performance", codename__in=[
                "view_measure", "change_measure", "add_measure", "view_measurevalue"]))  # fmt: skip
        user.groups.add(editors)
        StaffProfile.objects.create(user=user).departments.set(departments)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    c = small_city()
    c["water_m"] = a_measure("water-m", title="Water measure", department=c["water"])
    c["works_m"] = a_measure("works-m", title="Works measure", department=c["works"])
    return c


def change_url(m: Measure) -> str:
    return f"/admin/performance/measure/{m.pk}/change/"


def test_department_staff_see_and_edit_only_their_departments_measures(
    city: dict[str, Any],
) -> None:
    alice = staff("alice", city["water"])
    listing = alice.get("/admin/performance/measure/").content.decode()
    assert "Water measure" in listing and "Works measure" not in listing
    assert alice.get(change_url(city["water_m"])).status_code == 200
    # Another department's measure is out of reach, by address as well as in the list.
    assert alice.get(change_url(city["works_m"])).status_code in (302, 403, 404)
    response = alice.post(change_url(city["works_m"]), {"title": "Hijacked"})
    assert response.status_code in (302, 403, 404)
    city["works_m"].refresh_from_db()
    assert city["works_m"].title == "Works measure"


def test_department_staff_may_only_assign_their_own_department(city: dict[str, Any]) -> None:
    bob = staff("bob", city["works"])
    form = bob.get("/admin/performance/measure/add/").content.decode()
    # The owner list; the filter lists may name any department's cases.
    owner = form[form.index('<select name="department"') :]
    owner = owner[: owner.index("</select>")]
    assert "Public Works" in owner and "Water Services" not in owner


def test_a_superuser_sees_every_measure_including_drafts(city: dict[str, Any]) -> None:
    a_measure("a-draft", title="Draft measure", published=False)
    carol = staff("carol", superuser=True)
    listing = carol.get("/admin/performance/measure/").content.decode()
    for title in ("Water measure", "Works measure", "Draft measure"):
        assert title in listing


def test_staff_without_performance_permissions_cannot_open_measures(city: dict[str, Any]) -> None:
    dave = staff("dave")
    assert dave.get("/admin/performance/measure/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(city: dict[str, Any], client: Client) -> None:
    response = client.get("/admin/performance/measure/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def form_data(m: Measure, **changes: Any) -> dict[str, Any]:
    """The change form as staff would submit it, filters picked from the lists."""
    data = {
        "goal": m.goal_id, "title": "Changed", "short_name": "x", "slug": m.slug, "position": 0,
        "unit": "count", "decimals": 0, "direction": "up", "period": "month",
        "calculation": "count", "status_rule": "none",
        "targets-TOTAL_FORMS": 0, "targets-INITIAL_FORMS": 0,
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_bad_filter_is_shown_in_the_form_and_nothing_is_saved(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    m = city["water_m"]
    response = carol.post(change_url(m), form_data(m, filter_service=["NOPE"]))
    assert response.status_code == 200
    assert "NOPE is not one of the available choices" in response.content.decode()
    response = carol.post(change_url(m), form_data(m, filter_other='{"local_status": '))
    assert "This is not JSON" in response.content.decode()
    m.refresh_from_db()
    assert m.title == "Water measure"


def test_a_bad_values_csv_is_refused_with_its_line_and_nothing_is_saved(
    city: dict[str, Any],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    manual = a_measure("survey", calculation="manual", department=city["water"])
    alice = staff("alice", city["water"])
    url = f"/admin/performance/measure/{manual.pk}/upload/"
    assert url in alice.get(change_url(manual)).content.decode()  # linked from the measure
    bad = SimpleUploadedFile("v.csv", b"period,value\n2024-01,50\n2024-02,lots\n")
    response = alice.post(url, {"file": bad})
    assert response.status_code == 400
    assert "line 3: &#x27;lots&#x27; is not a number" in response.content.decode()
    assert not manual.values.exists()
    good = SimpleUploadedFile("v.csv", b"period,value\n2024-01,50\n2024-02,55%\n")
    assert alice.post(url, {"file": good}).status_code == 302
    assert list(manual.values.values_list("value", flat=True)) == [50.0, 55.0]
