"""The dated and per-area map cells (`civicstat.maps.timed`) on the real KC sample: kept by ingest
exactly as a rebuild from the cases writes them, and summing to what the cases table says for any
window, area, layer and status group."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicstat.cases.models import Area, Case, Layer, Service
from civicstat.cases.query import CaseFilter, cases, parse_filters
from civicstat.maps import cells, clusters, timed
from civicstat.maps.models import MapCellArea, MapCellDay, MapCellMonth

pytestmark = pytest.mark.django_db

CITY = (-94.8, 38.8, -94.3, 39.4)


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported batch by batch (so the tables are the ones ingest kept)."""


def _snapshot() -> set[tuple[object, ...]]:
    rows: set[tuple[object, ...]] = set()
    for model, key in ((MapCellDay, "day"), (MapCellMonth, "month"), (MapCellArea, "area_id")):
        for r in model.objects.all():
            sums = (r.count, round(r.sum_lat, 6), round(r.sum_lon, 6))
            rows.add((model.__name__, r.res, r.cell, str(getattr(r, key)), r.layer_id,
                      r.status_group, *sums))  # fmt: skip
    return rows


def _refilled() -> set[tuple[object, ...]]:
    with connection.cursor() as cursor:
        timed.fill(cursor, connection.vendor)
    return _snapshot()


def _expected(f: CaseFilter, res: int) -> dict[int, tuple[int, int]]:
    """Per cell at `res`: (cases, open cases) that the cases table selects for `f`."""
    found: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = cases(f).filter(h3_cell__isnull=False).values_list("h3_cell", "status_group")
    for cell, group in rows:
        assert cell is not None  # located cases only
        sums = found[cells.parent_cell(cell, res)]
        sums[0] += 1
        sums[1] += group == "open"
    return {k: (v[0], v[1]) for k, v in found.items()}


def _from_rollup(f: CaseFilter, res: int) -> dict[int, tuple[int, int]]:
    assert clusters.timed_can_answer(f)
    return {cell: (int(n), int(o)) for cell, n, _, _, o in clusters.timed_rows(f, None, res) if n}


def test_the_tables_kept_by_ingest_equal_a_rebuild_from_the_cases(imported):
    kept = _snapshot()
    assert {r[0] for r in kept} == {"MapCellDay", "MapCellMonth", "MapCellArea"}
    assert _refilled() == kept
    located = Case.objects.public().filter(h3_cell__isnull=False).count()
    for model in (MapCellDay, MapCellMonth):
        for res in cells.RESOLUTIONS:
            total = sum(model.objects.filter(res=res).values_list("count", flat=True))
            assert total == located, f"{model.__name__} at res {res}: {total}, not {located}"


def test_a_case_moved_to_another_day_area_and_status_moves_in_the_tables(imported):
    from civicstat.cases.records import CaseRecord
    from civicstat.cases.services import case_upsert

    case = Case.objects.filter(status_group="open", h3_cell__isnull=False).first()
    areas_before = set(case.areas.values_list("id", flat=True))
    later = case.requested_at + timedelta(days=40)
    record = CaseRecord(
        external_id=case.external_id, service_id=case.service_id,
        department_id=case.department_id, status="RESOL", status_group="closed",
        description=case.description, address=case.address, zip_code=case.zip_code,
        lat=case.lat + 0.05, lon=case.lon, location_approximate=False,
        requested_at=later, updated_at=later, closed_at=later, expected_at=None,
        channel=case.channel, attributes={},
    )  # fmt: skip
    case_upsert(layer=case.layer, records=[record])
    case.refresh_from_db()
    assert case.requested_day != record.requested_at.date() - timedelta(days=40)
    assert set(case.areas.values_list("id", flat=True)) != areas_before, "the move kept its areas"
    kept = _snapshot()
    assert _refilled() == kept


def test_a_service_turning_private_leaves_the_tables_and_they_still_equal_a_rebuild(imported):
    from civicstat.cases.receivers import privacy_changes_apply

    service = Service.objects.filter(cases__h3_cell__isnull=False).first()
    before = sum(MapCellMonth.objects.filter(res=9).values_list("count", flat=True))
    service.private = True
    service.save()
    privacy_changes_apply(services=[service])
    hidden = Case.objects.filter(service=service, h3_cell__isnull=False).count()
    after = sum(MapCellMonth.objects.filter(res=9).values_list("count", flat=True))
    assert after == before - hidden > 0
    kept = _snapshot()
    assert _refilled() == kept


def _days() -> tuple[date, date]:
    span = Case.objects.aggregate(a=Min("requested_day"), b=Max("requested_day"))
    return span["a"], span["b"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_window_or_area_sums_to_what_the_cases_table_says(imported, data):
    first, last = _days()
    res = data.draw(st.sampled_from(cells.RESOLUTIONS))
    slugs = sorted(Layer.objects.values_list("slug", flat=True))
    layers = data.draw(st.lists(st.sampled_from(slugs), max_size=2, unique=True))
    group = data.draw(st.sampled_from(["", "open", "closed"]))
    f = CaseFilter(layers=layers, status_group=group)
    if data.draw(st.booleans()):
        kind = data.draw(st.sampled_from(["council-district", "neighborhood"]))
        ids = sorted(Area.objects.filter(kind=kind).values_list("id", flat=True))
        f.areas = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
    else:
        days = (last - first).days
        low = data.draw(st.one_of(st.none(), st.integers(0, days)))
        high = data.draw(st.one_of(st.none(), st.integers(low or 0, days)))
        if low is None and high is None:
            low = days - data.draw(st.sampled_from([6, 29, 89, 364]))  # "last N days"
        f.requested_from = first + timedelta(days=low) if low is not None else None
        f.requested_to = first + timedelta(days=high) if high is not None else None
    assert _from_rollup(f, res) == _expected(f, res)


def test_a_dated_or_area_map_reads_no_cases_for_its_clusters(client, imported):
    district = Area.objects.filter(kind="council-district").first()
    layer = Layer.objects.first().slug
    for query in ("days=365", "since=2016-03-05&until=2016-11-20", f"area={district.id}",
                  f"since=2015-01-01&layer={layer}&status=open"):  # fmt: skip
        with mock.patch.object(clusters, "clusters_from_cases", side_effect=AssertionError):
            answer = client.get(f"/map/view.json?bbox={','.join(map(str, CITY))}&{query}")
        assert answer.status_code == 200, query
        f = parse_filters(QueryDict(query))
        assert answer.json()["in_view"] == cases(f).filter(h3_cell__isnull=False).count(), query


def test_filters_the_tables_cannot_answer_go_to_the_cases(imported):
    since = date(2016, 1, 1)
    area = Area.objects.first()
    dept = Case.objects.exclude(department=None).first().department
    kinds = [Area.objects.filter(kind=k).first().id for k in ("council-district", "neighborhood")]
    for f in (
        CaseFilter(text="pothole", requested_from=since),
        CaseFilter(areas=[area.id], requested_from=since),
        CaseFilter(departments=[dept.slug], requested_from=since),
        CaseFilter(statuses=["RESOL"], areas=[area.id]),
        CaseFilter(closed_from=since),
        CaseFilter(areas=kinds),
        CaseFilter(),  # no dates or areas: `MapCellTotal` answers
    ):
        assert not clusters.timed_can_answer(f), f
    assert clusters.timed_can_answer(CaseFilter(areas=[area.id], status_group="open"))


@pytest.mark.parametrize("limit", [5, 40, 1000])
def test_dated_and_area_viewports_show_points_exactly_when_few_enough_cases_are_in_view(
    imported, settings, limit
):
    """Whatever way `view` decides (the finest cells' bounds, or reading the cells in reach), a
    viewport shows points only when the cases table holds no more than the limit in it, and then
    every one of them; clusters only when it holds more (or, as on the undated map, the padded
    cells over four times the limit)."""
    settings.MAP_POINTS_LIMIT = limit
    first, last = _days()
    district = Area.objects.filter(kind="council-district").first()
    neighborhood = Area.objects.filter(kind="neighborhood", cases__isnull=False).first()
    located = Case.objects.filter(h3_cell__isnull=False).order_by("id")
    kinds: set[str] = set()
    for i, case in enumerate(located[:: max(1, located.count() // 8)][:8]):
        for half in (0.002, 0.01, 0.03):
            box = (case.lon - half, case.lat - half * 0.8, case.lon + half, case.lat + half * 0.8)
            for f in (
                CaseFilter(requested_from=last - timedelta(days=29 + 60 * i)),
                CaseFilter(requested_from=first + timedelta(days=400), requested_to=last),
                CaseFilter(areas=[district.id], status_group="open"),
                CaseFilter(areas=[neighborhood.id]),
            ):
                f.bbox = box
                in_view = cases(f).filter(h3_cell__isnull=False).count()
                answer = clusters.view(f)
                if answer.kind == "points":
                    assert answer.total == len(answer.points) == in_view <= limit, f
                else:
                    # As on the undated map, clusters whose padded cells hold over four times
                    # the limit stand without a look at the cases.
                    assert in_view > limit or answer.total > 4 * limit, f
                kinds.add(answer.kind)
    if limit < 1000:  # both ways were taken
        assert kinds == {"points", "clusters"}
