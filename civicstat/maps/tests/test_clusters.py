"""The cluster/points endpoint and the cell rollup that feeds it, on the real KC sample."""

from __future__ import annotations

import pytest
from django.db.models import Count, Sum
from django.utils import dateformat, timezone

from civicstat.cases.models import Case, Department, Service
from civicstat.cases.query import CaseFilter
from civicstat.maps import cells, clusters
from civicstat.maps.models import MapCell, MapCellTotal

pytestmark = pytest.mark.django_db

CITY = "-94.8,38.8,-94.3,39.4"  # all of Kansas City: more cases than the points limit


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def _snapshot() -> set[tuple[object, ...]]:
    cells_kept = {
        (r.res, r.cell, r.layer_id, r.service_id, r.department_id, r.status_group, r.count,
         round(r.sum_lat, 6), round(r.sum_lon, 6))
        for r in MapCell.objects.all()
    }  # fmt: skip
    totals = {
        ("total", r.res, r.cell, r.layer_id, r.status_group, r.count, round(r.sum_lat, 6),
         round(r.sum_lon, 6))
        for r in MapCellTotal.objects.all()
    }  # fmt: skip
    return cells_kept | totals


def _public_totals_from_cases() -> dict[tuple[int, int], int]:
    """Located cases of public services per (resolution, layer), counted on the cases."""
    public = Case.objects.public().filter(h3_cell__isnull=False)
    return {
        (res, row["layer_id"]): row["n"]
        for res in cells.RESOLUTIONS
        for row in public.values("layer_id").annotate(n=Count("id")).order_by()
    }


def _totals_by_layer() -> dict[tuple[int, int], int]:
    return {
        (row["res"], row["layer_id"]): row["n"]
        for row in MapCellTotal.objects.values("res", "layer_id").annotate(n=Sum("count"))
    }


def test_the_cell_rollup_kept_by_ingest_equals_a_rebuild(imported):
    kept = _snapshot()
    assert kept, "ingest wrote no map cells"
    cells.rebuild()
    assert _snapshot() == kept
    located = Case.objects.filter(h3_cell__isnull=False).count()
    for res in cells.RESOLUTIONS:
        total = sum(MapCell.objects.filter(res=res).values_list("count", flat=True))
        assert total == located, f"resolution {res} counts {total}, not {located}"


def test_a_changed_case_moves_between_cells_and_status_groups(imported):
    from civicstat.cases.records import CaseRecord
    from civicstat.cases.services import case_upsert

    case = Case.objects.filter(status_group="open", h3_cell__isnull=False).first()
    record = CaseRecord(
        external_id=case.external_id, service_id=case.service_id,
        department_id=case.department_id, status="RESOL", status_group="closed",
        description=case.description, address=case.address, zip_code=case.zip_code,
        lat=case.lat + 0.05, lon=case.lon, location_approximate=False,
        requested_at=case.requested_at, updated_at=case.requested_at,
        closed_at=case.requested_at, expected_at=None, channel=case.channel, attributes={},
    )  # fmt: skip
    case_upsert(layer=case.layer, records=[record])
    kept = _snapshot()
    cells.rebuild()
    assert _snapshot() == kept


def test_the_whole_city_is_answered_with_clusters_that_count_every_located_case(client, imported):
    answer = client.get(f"/map/view.json?bbox={CITY}").json()
    assert answer["kind"] == "clusters"
    located = Case.objects.filter(h3_cell__isnull=False).count()
    assert sum(c["count"] for c in answer["clusters"]) == answer["in_view"] == located
    assert all(38.8 < c["lat"] < 39.4 and -94.8 < c["lon"] < -94.3 for c in answer["clusters"])


def test_a_department_filter_narrows_the_clusters_to_its_cases(client, imported):
    dept = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    answer = client.get(f"/map/view.json?bbox={CITY}&department={dept.slug}").json()
    expected = Case.objects.filter(department=dept, h3_cell__isnull=False).count()
    assert answer["in_view"] == expected


def test_rollup_and_cases_give_the_same_clusters(imported):
    f = CaseFilter(bbox=(-94.8, 38.8, -94.3, 39.4), status_group="open")
    for res in (6, 8):
        from_rollup = sorted(
            (round(c.lat, 4), round(c.lon, 4), c.count)
            for c in clusters.clusters_from_rollup(f, res)
        )
        from_cases = sorted(
            (round(c.lat, 4), round(c.lon, 4), c.count)
            for c in clusters.clusters_from_cases(f, res)
        )
        assert from_rollup == from_cases


def test_a_date_filter_is_answered_from_the_cases(client, imported):
    answer = client.get(f"/map/view.json?bbox={CITY}&since=2015-01-01&until=2015-12-31").json()
    expected = Case.objects.filter(
        h3_cell__isnull=False, requested_day__gte="2015-01-01", requested_day__lte="2015-12-31"
    ).count()
    assert answer["in_view"] == expected > 0


def test_a_small_viewport_answers_with_points_and_no_contact_details(client, imported):
    case = Case.objects.filter(h3_cell__isnull=False).first()
    bbox = f"{case.lon - 0.002},{case.lat - 0.002},{case.lon + 0.002},{case.lat + 0.002}"
    answer = client.get(f"/map/view.json?bbox={bbox}").json()
    assert answer["kind"] == "points"
    ids = {p["id"] for p in answer["points"]}
    assert case.external_id in ids
    point = next(p for p in answer["points"] if p["id"] == case.external_id)
    assert point["url"] == case.get_absolute_url()
    assert set(point) == {
        "id",
        "layer",
        "lat",
        "lon",
        "status",
        "title",
        "address",
        "opened",
        "opened_text",
        "url",
    }
    # The day and time in the city's time zone, as the case's page gives them (not UTC's).
    local = timezone.localtime(case.requested_at)
    assert point["opened"] == local.date().isoformat()
    assert point["opened_text"] == dateformat.format(local, "M j, Y, g:i a")


def test_private_services_never_reach_the_map(client, imported):
    service = Service.objects.annotate(n=Count("cases")).order_by("-n").first()
    before = client.get(f"/map/view.json?bbox={CITY}").json()
    service.private = True
    service.save()
    # The same URL: a cached answer must not outlive the change.
    after = client.get(f"/map/view.json?bbox={CITY}").json()
    hidden = Case.objects.filter(service=service, h3_cell__isnull=False).count()
    assert hidden > 0
    assert after["in_view"] == sum(c["count"] for c in after["clusters"])
    assert after["in_view"] == before["in_view"] - hidden
    assert _totals_by_layer() == _public_totals_from_cases()

    service.private = False
    service.save()
    assert client.get(f"/map/view.json?bbox={CITY}").json() == before


def test_the_public_totals_follow_ingest_and_leave_private_services_out(imported):
    """The unfiltered map's table: a private service's new cases never reach it, and what ingest
    keeps equals a rebuild and the cases themselves."""
    from civicstat.cases.records import CaseRecord
    from civicstat.cases.services import case_upsert

    service = Service.objects.annotate(n=Count("cases")).order_by("-n").first()
    service.private = True
    service.save()
    case = Case.objects.filter(service=service, h3_cell__isnull=False).first()
    record = CaseRecord(
        external_id="private-new-1", service_id=service.id, department_id=case.department_id,
        status="OPEN", status_group="open", lat=case.lat, lon=case.lon,
        requested_at=case.requested_at,
    )  # fmt: skip
    case_upsert(layer=case.layer, records=[record])
    assert _totals_by_layer() == _public_totals_from_cases()
    kept = _snapshot()
    cells.rebuild()
    assert _snapshot() == kept


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "bbox is required"),
        ("bbox=1,2,3", "bbox must be four numbers"),
        ("bbox=-94,39,-95,40", "west <= east"),
        (f"bbox={CITY}&department=no-such-department", "unknown department"),
        (f"bbox={CITY}&since=yesterday", "is not a date"),
        (f"bbox={CITY}&until=9999-12-31", "is out of range"),
        (f"bbox={CITY}&status=maybe", "status must be open, closed or all"),
    ],
)
def test_it_rejects_bad_input_with_a_message(client, imported, query, message):
    answer = client.get(f"/map/view.json?{query}")
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_the_resolution_grows_as_the_viewport_shrinks():
    whole = clusters.resolution_for((-95.0, 38.5, -94.0, 39.5))
    street = clusters.resolution_for((-94.59, 39.09, -94.57, 39.10))
    assert whole < street == 9
