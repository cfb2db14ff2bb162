"""Staff check measures before the public does: the list shows what each one publishes now, the
form picks filters from the city's lists, and "Preview values" computes a definition without
saving it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from civicstat.cases.services import data_version
from civicstat.performance.models import Measure, MeasureValue
from civicstat.performance.services import measure_refresh
from civicstat.performance.tests.factories import a_measure, small_city
from civicstat.performance.tests.test_admin import change_url, form_data, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    c = small_city()
    c["leaks"] = a_measure(
        "leaks", title="Leaks opened", department=c["water"], filters={"service": "LEAK"},
        target=3, status_rule="proximity",
    )  # fmt: skip
    c["works_m"] = a_measure("works-m", title="Works measure", department=c["works"])
    measure_refresh(measure=c["leaks"])
    return c


def text(page: str) -> str:
    """The page's text with each run of tags as one "|": cells read "|Jan 2024|3|"."""
    return re.sub(r"\s*(<[^>]+>\s*)+", "|", page)


def _row(listing: str, title: str) -> str:
    found = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{title}(?:(?!</tr>).)*</tr>", listing, re.S)
    assert found, f"no row for {title}"
    return text(found[0])


def test_the_list_shows_each_measures_latest_value_period_status_and_when_computed(
    city: dict[str, Any],
) -> None:
    listing = staff("carol", superuser=True).get("/admin/performance/measure/").content.decode()
    for heading in ("Latest value", "Period", "Status", "Computed"):
        assert heading in listing
    leaks = _row(listing, "Leaks opened")
    # January's 3 leaks on a target of 3; February is partial (the data ends on 10 Feb).
    assert "|3|" in leaks and "Jan 2024 (Feb 2024 partial)" in leaks and "On track" in leaks
    computed = MeasureValue.objects.filter(measure=city["leaks"]).first()
    assert computed is not None and str(computed.computed_at.year) in leaks
    never = _row(listing, "Works measure")
    assert "Never" in never and "No data" in never


def test_the_form_picks_filters_from_lists_and_stores_them_as_before(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    m = city["leaks"]
    page = carol.get(change_url(m)).content.decode()
    for name in ("filter_layer", "filter_service_group", "filter_service", "filter_department",
                 "filter_area", "filter_status", "denominator_service"):  # fmt: skip
        assert f'name="{name}"' in page
    assert re.search(r'<option value="LEAK" selected>Water Leak \(311 requests, LEAK\)', page)
    assert '<option value="water-services">Water Services</option>' in page
    assert 'name="filters"' not in page  # no raw JSON to type

    response = carol.post(change_url(m), form_data(
        m, calculation="rate", unit="percent", filter_service_group=["Water"],
        filter_status="closed", denominator_service_group=["Water"],
    ))  # fmt: skip
    assert response.status_code == 302, text(response.content.decode())[:3000]
    m.refresh_from_db()
    assert m.filters == {"service_group": "Water", "status": "closed"}
    assert m.denominator_filters == {"service_group": "Water"}
    page = carol.get(change_url(m)).content.decode()
    assert '<option value="closed" selected>' in page

    # A filter the lists do not cover (a local status code, for a measure reading the cases)
    # is kept in "other filters", and survives the form being opened and saved again.
    response = carol.post(change_url(m), form_data(
        m, calculation="sum", attribute="gallons", filter_service=["LEAK"],
        filter_other='{"local_status": "RESOL"}',
    ))  # fmt: skip
    assert response.status_code == 302, text(response.content.decode())[:3000]
    m.refresh_from_db()
    assert m.filters == {"service": "LEAK", "local_status": "RESOL"}
    page = carol.get(change_url(m)).content.decode()
    assert "{&quot;local_status&quot;: &quot;RESOL&quot;}" in page


def test_a_rate_without_a_denominator_is_refused_on_the_form(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    m = city["leaks"]
    response = carol.post(change_url(m), form_data(m, calculation="rate"))
    assert response.status_code == 200
    assert "A rate needs a denominator" in response.content.decode()


def test_preview_computes_the_entered_definition_and_saves_nothing(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    m = city["leaks"]
    before = list(m.values.values_list("period_start", "value"))
    version = data_version()
    # As entered: all Water Services cases (3 in January, 2 in February), target 2.
    response = carol.post(change_url(m), form_data(
        m, title="Water requests", filter_department=["water-services"], target=2,
        status_rule="proximity", _preview="Preview values",
    ))  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200 and "Nothing has been saved" in page
    assert "Preview: Water requests" in page
    table = text(page[page.index('id="preview-values"') :])
    assert "|Feb 2024|2|" in table and "Partial (not scored)" in table
    assert "|Jan 2024|3|" in table and "On track" in table
    assert 'name="filter_department" value="water-services"' in page  # carried to "Save"
    m.refresh_from_db()
    assert m.title == "Leaks opened" and m.filters == {"service": "LEAK"}
    assert list(m.values.values_list("period_start", "value")) == before
    assert data_version() == version


def test_preview_of_a_new_measure_creates_nothing(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    data = form_data(city["leaks"], slug="new-one", title="New one", _preview="Preview values",
                     filter_service=["POT"])  # fmt: skip
    response = carol.post("/admin/performance/measure/add/", data)
    assert response.status_code == 200 and "|Jan 2024|1|" in text(response.content.decode())
    assert not Measure.objects.filter(slug="new-one").exists()


def test_a_preview_with_errors_shows_the_form_and_saves_nothing(city: dict[str, Any]) -> None:
    carol = staff("carol", superuser=True)
    m = city["leaks"]
    response = carol.post(change_url(m), form_data(m, calculation="rate", _preview="Preview"))
    assert response.status_code == 200 and "A rate needs a denominator" in response.content.decode()
    assert Measure.objects.get(pk=m.pk).calculation == "count"


def test_staff_cannot_preview_another_departments_measure(city: dict[str, Any]) -> None:
    bob = staff("bob", city["works"])
    m = city["leaks"]
    response = bob.post(change_url(m), form_data(m, _preview="Preview values"))
    assert response.status_code in (302, 403, 404)
