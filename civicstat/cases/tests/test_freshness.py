""" "Data as of" and the latest case per layer on every page, and quick windows that find nothing
because a layer's data ends before them.

Carol is a resident with no account. The city has two layers that end years apart, as Kansas
City's do: 311 requests up to 9 Sep 2020 and code violations up to 30 Jun 2015.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Max
from django.test import Client
from django.utils import timezone

from civicstat.cases.freshness import data_as_of
from civicstat.cases.models import Case, DataVersion, Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import (
    case_upsert,
    data_version_touch,
    department_resolve,
    layer_ensure,
    service_get_or_create,
)

pytestmark = pytest.mark.django_db

STATUSES = {"OPEN": ("open", "Open"), "RESOL": ("closed", "Resolved")}
REQUESTS_END = date(2020, 9, 9)
VIOLATIONS_END = date(2015, 6, 30)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _text(path: str) -> str:
    """The page at `path` as a person reads it: no tags, no entities."""
    return unescape(re.sub(r"<[^>]+>", "", Client().get(path).content.decode()))


def _cases(layer: Layer, service: Service, days: list[date], prefix: str) -> None:
    case_upsert(layer=layer, records=[
        CaseRecord(external_id=f"{prefix}-{n}", status="OPEN", status_group="open",
                   requested_at=_at(day), service_id=service.id,
                   department_id=service.department_id, lat=39.1, lon=-94.58)
        for n, day in enumerate(days)
    ])  # fmt: skip


@pytest.fixture
def city() -> dict[str, Layer]:
    """311 requests to 9 Sep 2020 (and one private request type with a later case, which the
    public must not see), code violations to 30 Jun 2015 (a case late at night, local time)."""
    works = department_resolve(name="Public Works")
    requests = layer_ensure(slug="311-requests", name="311 requests", noun="request",
                            statuses=STATUSES)  # fmt: skip
    violations = layer_ensure(slug="code-violations", name="Code violations", noun="violation",
                              statuses=STATUSES)  # fmt: skip
    pothole = service_get_or_create(layer=requests, code="POT", name="Pothole", department=works)
    secret = service_get_or_create(layer=requests, code="SEC", name="Internal", department=works)
    Service.objects.filter(pk=secret.pk).update(private=True)
    weeds = service_get_or_create(layer=violations, code="WEED", name="Weeds", department=works)
    _cases(requests, pothole, [date(2020, 8, 1), date(2020, 9, 1), REQUESTS_END], "r")
    _cases(requests, secret, [date(2021, 3, 1)], "s")
    _cases(violations, weeds, [date(2015, 6, 2), date(2015, 6, 20)], "v")
    # 23:30 local on 30 Jun is already 1 Jul in UTC: the layer still ends on the city's 30 Jun.
    case_upsert(layer=violations, records=[CaseRecord(
        external_id="v-late", status="OPEN", status_group="open",
        requested_at=_at(VIOLATIONS_END).replace(hour=23, minute=30), service_id=weeds.id,
    )])  # fmt: skip
    return {"requests": requests, "violations": violations}


def test_each_layer_ends_on_the_day_its_latest_public_case_was_opened(
    city: dict[str, Layer],
) -> None:
    """The dates agree with the cases themselves (public ones, the city's local days)."""
    found = {layer.slug: layer.latest for layer in data_as_of().layers}
    for layer in city.values():
        expected = Case.objects.public().filter(layer=layer).aggregate(d=Max("requested_day"))
        assert found[layer.slug] == expected["d"]
    assert found == {"311-requests": REQUESTS_END, "code-violations": VIOLATIONS_END}
    assert data_as_of().latest == REQUESTS_END


def test_every_page_says_when_the_data_last_changed_and_where_each_layer_ends(
    city: dict[str, Layer],
) -> None:
    stamp = DataVersion.objects.get(pk=1).cases_changed_at
    assert stamp is not None and timezone.now() - stamp < timedelta(minutes=5)
    local = timezone.localtime(stamp)
    for path in ("/", "/map", "/map/list", "/departments", "/performance", "/alerts"):
        html = _text(path)
        assert f"Data as of {local:%-d %b %Y, %H:%M}" in html, path
        assert "Latest case opened: 311 requests 9 Sep 2020; Code violations 30 Jun 2015." in html


def test_an_edit_that_changes_no_case_does_not_move_the_data_time(city: dict[str, Layer]) -> None:
    """A measure recomputed or a department renamed moves the cache version, not "as of"."""
    before = data_as_of().updated
    data_version_touch()
    assert data_as_of().updated == before


def test_layers_that_end_on_the_same_day_are_given_one_date(city: dict[str, Layer]) -> None:
    weeds = Service.objects.get(code="WEED")
    _cases(city["violations"], weeds, [REQUESTS_END], "same-day")
    html = Client().get("/").content.decode()
    assert 'Latest case opened <time datetime="2020-09-09">9 Sep 2020</time>.' in html


def test_it_reads_a_few_rows_once_per_data_version(
    city: dict[str, Layer], django_assert_max_num_queries: object
) -> None:
    data_as_of()
    with django_assert_max_num_queries(1):  # type: ignore[operator]
        data_as_of()  # only the data version: the rest comes from the cache


def test_an_empty_quick_window_says_where_the_layer_ends_and_links_to_its_last_days(
    city: dict[str, Layer],
) -> None:
    """Carol picks "Last 30 days" on the code violations: none, because they end in 2015."""
    for path in ("/map", "/map/list", "/embed/map"):
        html = unescape(Client().get(f"{path}?layer=code-violations&days=30").content.decode())
        assert "No cases in the last 30 days: this layer's data ends on" in html, path
        assert "30 Jun 2015" in html
        link = f'href="{path}?layer=code-violations&since=2015-06-01&until=2015-06-30"'
        assert link in html, path
        assert "Show the last 30 days of data (1 Jun 2015 to 30 Jun 2015)" in html
    # The link shows the layer's last 30 days of data: all three cases of June 2015.
    shown = _text("/map/list?layer=code-violations&since=2015-06-01&until=2015-06-30")
    assert "3 cases match" in shown
    assert "No cases in the last" not in shown


def test_with_no_layer_chosen_the_window_runs_to_the_latest_case_of_any_layer(
    city: dict[str, Layer],
) -> None:
    html = unescape(Client().get("/map?days=7&department=public-works").content.decode())
    assert "No cases in the last 7 days: the data ends on" in html
    assert 'href="/map?department=public-works&since=2020-09-03&until=2020-09-09"' in html
    both = unescape(
        Client().get("/map?layer=311-requests&layer=code-violations&days=7").content.decode()
    )
    assert "these layers' data ends on" in both and "9 Sep 2020" in both


def test_a_window_that_holds_data_days_but_matches_nothing_says_only_that(
    city: dict[str, Layer],
) -> None:
    """When cases exist in the window but the filters match none, the data's end is no reason."""
    pothole = Service.objects.get(code="POT")
    _cases(city["requests"], pothole, [timezone.localdate() - timedelta(days=2)], "now")
    html = Client().get("/map?layer=311-requests&days=30&status=closed").content.decode()
    assert ">0</strong> cases match" in html
    assert "data ends on" not in html
    # …and a window that found cases says nothing either.
    assert "data ends on" not in Client().get("/map?layer=311-requests&days=30").content.decode()


def test_an_empty_feed_of_a_quick_window_says_where_the_layer_ends(city: dict[str, Layer]) -> None:
    """A feed reader polling "code violations, last 30 days" learns why it stays empty."""
    for path in ("/alerts/feed", "/alerts/feed.rss"):
        feed = Client().get(f"{path}?layer=code-violations&days=30").content.decode()
        assert "<entry>" not in feed and "<item>" not in feed
        assert "No cases in the last 30 days: this layer's data ends on 30 Jun 2015." in unescape(
            feed
        )
        assert "/map?layer=code-violations&amp;since=2015-06-01&amp;until=2015-06-30" in feed
    # A feed with cases in its window says nothing of the kind.
    assert "data ends" not in Client().get("/alerts/feed?layer=311-requests").content.decode()


def test_a_department_whose_cases_end_before_the_period_says_so(city: dict[str, Layer]) -> None:
    """The departments' "last 30 days" end on the latest day of all the data (9 Sep 2020); a
    department whose own cases stop in 2015 says so and links to its own last 30 days."""
    housing = department_resolve(name="Housing")
    assert housing is not None
    mould = service_get_or_create(layer=city["violations"], code="MOULD", name="Mould",
                                  department=housing)  # fmt: skip
    _cases(city["violations"], mould, [date(2015, 5, 1), date(2015, 6, 20)], "h")
    shown = _text(f"/departments/{housing.slug}?period=month")
    assert (
        "No cases in the last 30 days: this department's data ends on 20 Jun 2015. "
        "Show the last 30 days of data on the map (22 May 2015 to 20 Jun 2015)."
    ) in shown
    page = Client().get(f"/departments/{housing.slug}?period=month").content.decode()
    link = f"/map?department={housing.slug}&amp;since=2015-05-22&amp;until=2015-06-20"
    assert f'href="{link}"' in page
    # The whole history, and a department with cases in the period, need no such note.
    assert "data ends on" not in _text(f"/departments/{housing.slug}?period=all")
    assert "data ends on" not in _text("/departments/public-works?period=month")
