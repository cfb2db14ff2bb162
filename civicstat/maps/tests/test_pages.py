"""The map, list, embed, department and case pages as the Django test client sees them."""

from __future__ import annotations

import json
import re
import statistics
from datetime import date
from typing import Any

import pytest
from django.core.cache import caches
from django.db.models import Count

from civicstat.cases.models import Case, CaseContact, Department, Service
from civicstat.cases.query import CaseFilter
from civicstat.lib.periods import period_of
from civicstat.maps import charts
from civicstat.maps.departments import departments_compare, trend, window_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def _busiest() -> Department:
    busiest = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert busiest is not None
    return busiest


def test_the_map_page_counts_the_cases_its_filters_select(client, imported):
    dept = _busiest()
    everything = client.get("/map").content.decode()
    assert f"{Case.objects.count():,}</strong> cases match" in everything
    narrowed = client.get(f"/map?department={dept.slug}&status=open").content.decode()
    expected = Case.objects.filter(department=dept, status_group="open").count()
    assert f"{expected:,}</strong> case" in narrowed
    assert f'<option value="{dept.slug}" selected>' in narrowed  # the form shows the filter


def test_the_map_page_rejects_a_bad_filter_with_a_page_that_says_why(client, imported):
    page = client.get("/map?days=forever")
    assert page.status_code == 400
    assert "days must be a whole number" in page.content.decode()


def test_the_list_view_pages_and_sorts_the_same_cases(client, imported):
    oldest = Case.objects.order_by("requested_at", "id").first()
    page = client.get("/map/list?sort=opened").content.decode()
    assert oldest.get_absolute_url() in page
    assert "Page 1 of" in page and 'rel="next"' in page
    second = client.get("/map/list?sort=opened&page=2").content.decode()
    assert oldest.get_absolute_url() not in second and 'rel="prev"' in second


@pytest.mark.parametrize("query", ["sort=sideways", "page=0", "page=two", "area=nowhere"])
def test_the_list_view_rejects_bad_input(client, imported, query):
    assert client.get(f"/map/list?{query}").status_code == 400


def test_place_search_finds_neighborhoods_and_addresses_from_the_citys_data(client, imported):
    address = Case.objects.exclude(address="").filter(h3_cell__isnull=False).first().address
    found = client.get("/map/places.json", {"q": address[:8]}).json()["places"]
    assert any(p["name"] == address and p["kind"] == "address" for p in found)
    # Each address carries the id an Open311 client may post as address_id.
    assert all(p["address_id"].isdigit() for p in found if p["kind"] == "address")
    areas = client.get("/map/places.json", {"q": "District"}).json()["places"]
    assert any(p["kind"] == "council district" and len(p["bbox"]) == 4 for p in areas)
    assert client.get("/map/places.json", {"q": "a"}).status_code == 400


def test_only_the_embed_view_may_be_framed(client, imported):
    embed = client.get("/embed/map?status=open&list=1")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "View on the city site" in embed.content.decode()
    for path in ("/map", "/embed/new", "/departments", "/map/list"):
        page = client.get(path)
        assert page["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"], path


def test_the_embed_builder_gives_a_snippet_with_the_chosen_filters(client, imported):
    dept = _busiest()
    page = client.get(f"/embed/new?department={dept.slug}&status=all&days=90").content.decode()
    assert f"/embed/map?department={dept.slug}&amp;amp;status=all&amp;amp;days=90" in page or (
        f"/embed/map?department={dept.slug}&amp;status=all&amp;days=90" in page
    )
    assert "&lt;iframe" in page


def test_map_pages_answer_repeat_requests_with_not_modified(client, imported):
    for path in ("/map?status=open", "/map/view.json?bbox=-95,38,-94,40", "/departments",
                 "/embed/map", Case.objects.first().get_absolute_url()):  # fmt: skip
        first = client.get(path)
        assert client.get(path, headers={"if-none-match": first["ETag"]}).status_code == 304


def test_a_tile_server_setting_adds_its_layer_and_only_its_origin(client, imported, settings):
    page = client.get("/map")
    assert "img-src 'self' data:;" in page["Content-Security-Policy"] + ";"
    settings.MAP_TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    page = client.get("/map?x=1")
    assert "https://*.tiles.example.org" in page["Content-Security-Policy"]
    assert "tiles.example.org/{z}" in page.content.decode()


def test_departments_rank_by_median_and_leave_small_ones_unranked(client, imported, settings):
    settings.DEPARTMENT_MIN_VOLUME = 50
    window = window_for("all")
    figures = departments_compare(window)
    ranked = [f for f in figures if f.rank]
    assert ranked and [f.rank for f in ranked] == list(range(1, len(ranked) + 1))
    assert all(f.volume >= 50 for f in ranked)
    assert [f.median_days for f in ranked] == sorted(f.median_days for f in ranked)
    small = [f for f in figures if f.volume and f.volume < 50]
    assert all(f.rank is None for f in small)
    for f in ranked[:3]:
        exact = statistics.median(
            c.days_to_close
            for c in Case.objects.filter(department_id=f.key, status_group="closed")
            if c.days_to_close is not None
        )
        assert f.median_days == pytest.approx(exact, rel=0.03)
        opened = Case.objects.filter(department_id=f.key).count()
        assert f.opened == opened
    page = client.get("/departments?period=all").content.decode()
    assert ranked[0].name in page and "not ranked" in page
    assert 'data-vega-spec="chart-or"' in page and "<table" in page


def test_a_department_page_shows_its_services(client, imported):
    dept = _busiest()
    page = client.get(f"/departments/{dept.slug}?period=all")
    assert page.status_code == 200
    busiest_service = (
        Service.objects.filter(department=dept).annotate(n=Count("cases")).order_by("-n").first()
    )
    assert busiest_service.name in page.content.decode()
    assert client.get("/departments/no-such-department").status_code == 404
    assert client.get("/departments?period=decade").status_code == 400


def test_a_case_page_shows_days_open_expected_date_and_history(client, imported):
    case = (
        Case.objects.filter(status_group="closed", service__isnull=False)
        .select_related("service")
        .first()
    )
    case.service.target_days = 3
    case.service.save()
    html = client.get(case.get_absolute_url()).content.decode()
    assert "Days open" in html and "Expected by" in html and "target: 3 days" in html
    assert "History" in html and "Opened" in html


def test_a_case_page_never_shows_the_reporters_contact(client, imported):
    case = Case.objects.first()
    CaseContact.objects.create(case=case, email="reporter@example.org", phone="816-555-0100")
    html = client.get(case.get_absolute_url()).content.decode()
    assert "reporter@example.org" not in html and "555-0100" not in html


def test_an_unknown_case_is_a_not_found_page(client, imported):
    page = client.get("/cases/311-requests/does-not-exist")
    assert page.status_code == 404
    assert "Not found" in page.content.decode()


def test_one_click_links_replace_the_status_and_period_already_chosen(client, imported):
    page = client.get("/map?status=closed&days=7&department=water-services").content.decode()
    assert 'href="?department=water-services&amp;days=7&amp;status=open">Hide closed' in page
    assert 'href="?department=water-services&amp;status=closed&amp;days=90">Last 90 days' in page


def test_a_departments_trend_counts_each_month_as_the_cases_do(imported):
    """Opened and resolved per month for the last twelve months of data, each month equal to the
    cases opened (and closed) in it, and months with nothing shown as zero."""
    dept = _busiest()
    base = CaseFilter(departments=[dept.slug])
    window = window_for("month", base=base)
    points = trend(base, window)
    assert len(points) == 12
    months = [period_of(date.fromisoformat(str(p["period"])), "month") for p in points]
    assert [m.start for m in months] == sorted({m.start for m in months})
    assert months[-1].start <= window.end < months[-1].end
    mine = Case.objects.filter(department=dept)
    for point, month in zip(points, months, strict=True):
        opened = mine.filter(requested_day__gte=month.start, requested_day__lt=month.end).count()
        closed = mine.filter(closed_day__gte=month.start, closed_day__lt=month.end).count()
        assert (point["opened"], point["resolved"]) == (opened, closed)
    assert any(p["opened"] for p in points)


def _chart(page: str, spec_id: str) -> dict[str, Any]:
    found = re.search(rf'<script id="{spec_id}" type="application/json">(.*?)</script>', page, re.S)
    assert found, spec_id
    spec: dict[str, Any] = json.loads(found.group(1))
    return spec


def test_a_department_page_charts_its_top_request_types_and_shows_all_on_request(client, imported):
    """A hundred request types made a 24,000 px page: the charts draw the top 10 of their own
    measure, a plain link (no script) draws them all, and the comparison table always lists all."""
    dept = _busiest()
    types = Service.objects.filter(department=dept, cases__isnull=False).distinct().count()
    assert types > charts.TOP, "the sample needs a department with more types than a chart draws"
    page = client.get(f"/departments/{dept.slug}?period=all").content.decode()
    drawn = {v["Service"] for v in _chart(page, "chart-or")["data"]["values"]}
    assert len(drawn) == charts.TOP
    busiest = (
        Service.objects.filter(department=dept).annotate(n=Count("cases")).order_by("-n").first()
    )
    assert busiest.name in drawn
    table = page.split('id="services-table"')[1].split("</table>")[0]
    assert table.count('<th scope="row">') >= types
    assert "show=all" in page and "Show all request types in the charts" in page

    every = client.get(f"/departments/{dept.slug}?period=all&show=all").content.decode()
    assert len({v["Service"] for v in _chart(every, "chart-or")["data"]["values"]}) >= types
    assert 'name="show" value="all"' in every  # the period form keeps the choice
    assert client.get(f"/departments/{dept.slug}?show=everything").status_code == 400


def test_long_request_type_names_wrap_instead_of_being_cut():
    name = "Trash / Recycling - Missed Pickup of Bulky Items Reported by Resident"
    wrapped = charts._wrapped(name)
    lines = wrapped.split("\n")
    assert 1 < len(lines) <= charts.MAX_LINES
    assert all(len(line) <= charts.LINE_CHARS for line in lines)
    assert lines[0].startswith("Trash /") and lines[-1].endswith("…")  # too long for 3: shortened
    assert charts._wrapped("Pothole") == "Pothole"
    spec = charts.opened_resolved([], "Service")
    assert spec["config"]["axisY"]["labelLimit"] == 0  # no "…" cut-off
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}  # labels inside its width


def test_an_embed_answered_not_modified_may_still_be_framed(client, imported):
    # A browser takes the 304's policy as the page's: a host page reloaded showed a refused frame.
    for path in ("/embed/map?status=open", "/embed/map"):
        first = client.get(path)
        again = client.get(path, headers={"if-none-match": first["ETag"]})
        assert again.status_code == 304
        assert "frame-ancestors *" in again["Content-Security-Policy"], path
        assert "X-Frame-Options" not in again, path


def test_the_embed_builder_and_the_embed_name_the_address_they_were_asked_at(client, imported):
    page = client.get("/embed/new", HTTP_HOST="localhost").content.decode()
    assert 'src="http://localhost/embed/map' in page.replace("&quot;", '"')
    embed = client.get("/embed/map", HTTP_HOST="localhost").content.decode()
    assert 'href="http://localhost/map"' in embed


def test_a_filtered_embed_opens_on_its_cases_not_the_whole_city(client, imported):
    def start(path: str) -> list[list[float]]:
        page = client.get(path).content.decode()
        found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page)
        assert found is not None
        bounds: list[list[float]] = json.loads(found.group(1))["start"]["bounds"]
        return bounds

    city = start("/embed/map")
    dept = Department.objects.annotate(n=Count("cases")).filter(n__gt=0).order_by("n").first()
    assert dept is not None
    located = Case.objects.filter(department=dept, h3_cell__isnull=False)
    (south, west), (north, east) = start(f"/embed/map?department={dept.slug}")
    # Its cases are inside, and the view is smaller than the city's.
    assert all(south <= c.public_lat <= north and west <= c.public_lon <= east for c in located)
    assert (north - south) * (east - west) < (city[1][0] - city[0][0]) * (city[1][1] - city[0][1])


def test_a_case_page_maps_its_public_point_or_says_it_has_none(client, imported):
    case = Case.objects.filter(public_lat__isnull=False).first()
    assert case is not None
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'id="case-map"' in page and f'"lat": {case.public_lat}' in page
    Case.objects.filter(pk=case.pk).update(public_lat=None, public_lon=None, lat=None, lon=None)
    caches["responses"].clear()  # an update() outside ingest does not move the data version
    page = client.get(case.get_absolute_url()).content.decode()
    assert 'id="case-map"' not in page and "No location" in page
