"""The one query builder: filters mean the same everywhere, and private services never leak."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.utils import timezone

from civicstat.cases.models import Area, Case, Service
from civicstat.cases.query import CaseFilter, FilterError, cases, parse_filters

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(kc_sample, db):
    """The KC sample, imported once for the module."""


def test_cases_of_a_private_service_are_left_out_of_every_public_query(imported):
    service = Service.objects.get(name="Animal Control") if Service.objects.filter(
        name="Animal Control").exists() else Service.objects.first()  # fmt: skip
    service.private = True
    service.save()
    private_ids = set(Case.objects.filter(service=service).values_list("id", flat=True))
    assert private_ids
    for f in [CaseFilter(), CaseFilter(services=[service.code]), CaseFilter(text=""),
              CaseFilter(departments=[service.department.slug])]:  # fmt: skip
        assert not private_ids & set(cases(f).values_list("id", flat=True))
    assert private_ids <= set(cases(CaseFilter(include_private=True)).values_list("id", flat=True))


def test_a_private_service_cannot_even_be_named_in_a_public_filter(imported):
    service = Service.objects.first()
    service.private = True
    service.save()
    with pytest.raises(FilterError, match="unknown service"):
        parse_filters(QueryDict(f"service={service.code}"))


def test_filters_read_from_a_query_string_select_the_expected_cases(imported):
    f = parse_filters(QueryDict(
        "layer=code-violations&status=closed&since=2014-01-01&until=2014-12-31"
        "&area=council-district:district-3"))  # fmt: skip
    assert f.layers == ["code-violations"] and f.status_group == "closed"
    assert (f.requested_from, f.requested_to) == (date(2014, 1, 1), date(2014, 12, 31))
    district = Area.objects.get(kind="council-district", slug="district-3")
    found = cases(f)
    assert found.count() > 10
    for case in found:
        assert case.layer.slug == "code-violations" and case.status_group == "closed"
        assert timezone.localtime(case.requested_at).year == 2014
        assert district in case.areas.all()


def test_a_bounding_box_keeps_only_the_cases_inside_it(imported):
    f = parse_filters(QueryDict("bbox=-94.58,39.05,-94.56,39.07"))
    found = list(cases(f).values_list("lat", "lon"))
    assert found and all(39.05 <= lat <= 39.07 and -94.58 <= lon <= -94.56 for lat, lon in found)


def test_text_search_looks_in_addresses_and_descriptions(imported):
    street = Case.objects.first().address.split(" ", 1)[1]
    f = parse_filters(QueryDict(f"q={street}"))
    assert all(street.lower() in c.address.lower() for c in cases(f))


def test_a_keyword_finds_a_case_by_its_number_with_or_without_a_hash(imported):
    case = Case.objects.exclude(external_id="").order_by("id")[5]
    for q in (case.external_id, f"#{case.external_id}", f"  {case.external_id.lower()} "):
        assert case.id in set(cases(parse_filters(QueryDict(f"q={quote(q)}"))).values_list(
            "id", flat=True)), q  # fmt: skip


def test_a_keyword_finds_an_address_as_typed_and_a_request_type(imported):
    case = Case.objects.exclude(address="").order_by("id")[3]
    typed = "  " + "  ".join(case.address.lower().split())  # "4403  tracy  ave"
    found = cases(parse_filters(QueryDict(f"q={quote(typed)}")))
    assert case in found and all(case.address.lower() in c.address.lower() for c in found[:50])
    # A comma is part of the words, not a list: "Tracy Ave, 64110" is one keyword, not two.
    assert parse_filters(QueryDict("q=Tracy+Ave,+64110")).text == "Tracy Ave, 64110"
    service = Service.objects.filter(cases__isnull=False).order_by("name").first()
    assert service is not None
    word = service.name.split()[0]
    found = cases(parse_filters(QueryDict(f"q={quote(word)}")))
    assert found.filter(service=service).exists()
    assert found.count() < Case.objects.count()


def test_a_keyword_of_control_characters_is_refused_not_searched(imported):
    with pytest.raises(FilterError, match="control characters"):
        parse_filters(QueryDict("q=a%00b"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("layer=parking", "unknown layer 'parking'; known: 311-requests, code-violations"),
        ("status=pending", "status must be open, closed or all"),
        ("since=01/02/2020", "since='01/02/2020' is not a date; write it as YYYY-MM-DD"),
        ("since=2020-02-01&until=2020-01-01", "since must not be after until"),
        ("until=9999-12-31", "until='9999-12-31' is out of range; give a year from 1900"),
        ("closed_since=0001-01-01", "is out of range"),
        ("bbox=1,2,3", "bbox must be four numbers west,south,east,north"),
        ("bbox=-94,39,-95,40", "with west <= east"),
        ("bbox=a,b,c,d", "bbox must be four numbers"),
        ("days=0", "days must be a whole number"),
        ("area=ward:7", "unknown area 'ward:7'"),
        ("department=nope", "unknown department 'nope'"),
    ],
)
def test_a_bad_filter_value_says_what_would_work(imported, query, message):
    with pytest.raises(FilterError) as caught:
        parse_filters(QueryDict(query))
    assert message in str(caught.value)


def test_last_n_days_counts_today_as_one_of_them(db):
    f = parse_filters(QueryDict("days=7"))
    assert (timezone.localdate() - f.requested_from).days == 6
