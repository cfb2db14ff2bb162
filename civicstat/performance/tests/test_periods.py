"""Honest periods: the period the data ends in (or one still running) is shown as partial and not
scored; status, score and composites come from the latest complete period; a period without a
value says why (no cases, nothing to divide by, the layer's data ended)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from civicstat.cases.models import Layer, Service
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert
from civicstat.lib.periods import period_of
from civicstat.performance.calculations import Point
from civicstat.performance.coverage import layer_last_days, mark_coverage
from civicstat.performance.models import MeasureValue
from civicstat.performance.services import measure_refresh, measure_values_set, read_values_csv
from civicstat.performance.summaries import GroupSummary, summarise, timeline_spec
from civicstat.performance.tests.factories import a_measure, at, small_city

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    """small_city (311 cases 3 Jan – 10 Feb 2024) and a code-violations layer whose data ends on
    15 Dec 2023."""
    c = small_city()
    violations = Layer.objects.create(slug="code-violations", name="Code violations",
                                      noun="violation")  # fmt: skip
    weeds = Service.objects.create(layer=violations, code="WEEDS", name="Weeds", group="Nuisance")
    case_upsert(layer=violations, records=[
        CaseRecord(external_id=f"V{i}", status="OPEN", status_group="open",
                   requested_at=at(day), service_id=weeds.id)
        for i, day in enumerate(["2023-11-20", "2023-12-01", "2023-12-15"])
    ])  # fmt: skip
    return {**c, "violations": violations}


def _by_month(measure: Any) -> dict[str, MeasureValue]:
    return {v.period_start.strftime("%Y-%m"): v for v in measure.values.all()}


def test_each_layers_data_ends_on_its_latest_case_read_from_the_rollups(
    city: dict[str, Any],
) -> None:
    with CaptureQueriesContext(connection) as queries:
        ends = layer_last_days()
    assert ends == {city["layer"].id: date(2024, 2, 10), city["violations"].id: date(2023, 12, 15)}
    assert not [q for q in queries.captured_queries if "cases_case" in q["sql"]]


def test_the_month_the_data_ends_in_is_partial_and_not_scored(city: dict[str, Any]) -> None:
    # Leaks opened: 3 in January, 1 in February (data ends 10 Feb). Target 3 a month, higher
    # is better: February's 1 would be "off track" with a score of 33 if it were scored.
    m = a_measure("leaks", filters={"service": "LEAK"}, target=3, status_rule="proximity",
                  on_track_band=0, near_band=10)  # fmt: skip
    measure_refresh(measure=m)
    jan, feb = _by_month(m)["2024-01"], _by_month(m)["2024-02"]
    assert (jan.value, jan.partial, jan.status, jan.score) == (3.0, False, "on_track", 1.0)
    assert (feb.value, feb.partial, feb.status, feb.score) == (1.0, True, "", None)
    assert feb.data_through == date(2024, 2, 10)
    assert feb.note == "Partial: the data ends on 10 Feb 2024."

    s = summarise([m])[0]
    assert s.latest == jan and s.status == "on_track" and s.score == 1.0
    assert s.partial == feb and s.partial_label == "Feb 2024"
    assert GroupSummary([s]).score == 1.0  # the composite is January's, not 1/3


def test_a_composite_is_not_dragged_to_zero_by_partial_or_ended_periods(
    city: dict[str, Any],
) -> None:
    leaks = a_measure("leaks", filters={"service": "LEAK"}, target=3, status_rule="proximity")
    weeds = a_measure("weeds", filters={"layer": "code-violations"}, target=2,
                      status_rule="proximity")  # fmt: skip
    for m in (leaks, weeds):
        measure_refresh(measure=m)
    # Weeds: 1 in Nov 2023, 2 in Dec 2023 (partial: the layer ends on the 15th), then nothing.
    by = _by_month(weeds)
    assert by["2023-12"].partial and by["2023-12"].score is None
    for month in ("2024-01", "2024-02"):
        assert by[month].value is None and by[month].no_data_reason == "data_ended"
        assert by[month].note == "No data: the data of Code violations ends on 15 Dec 2023."
        assert by[month].score is None and by[month].status == "no_data"
    summaries = summarise([leaks, weeds])
    assert summaries[1].latest == by["2023-11"]
    assert summaries[1].missing == by["2024-02"]
    # Leaks January 3/3 = 1.0, weeds November 1/2 = 0.5: never 0 for the months without data.
    assert GroupSummary(summaries).score == pytest.approx(0.75)


def test_no_data_says_why(city: dict[str, Any]) -> None:
    # Meters: one case, opened and closed in February; none in January.
    median = a_measure("meter-median", calculation="median_days", unit="days",
                       filters={"service": "METER"})  # fmt: skip
    within = a_measure("meter-on-time", calculation="closed_within", target_days=2,
                       unit="percent", filters={"service": "METER"})  # fmt: skip
    rate = a_measure("share", calculation="rate", unit="percent",
                     filters={"service": "METER", "status": "closed"},
                     denominator_filters={"service": "METER"})  # fmt: skip
    for m in (median, within, rate):
        measure_refresh(measure=m)
    jan = {m.slug: _by_month(m)["2024-01"] for m in (median, within, rate)}
    assert jan["meter-median"].no_data_reason == "no_cases"
    assert "No case matching the measure was closed" in jan["meter-median"].note
    assert jan["meter-on-time"].no_data_reason == "no_denominator"
    assert jan["share"].no_data_reason == "no_denominator"
    assert jan["share"].note.startswith("Nothing to divide by")
    assert all(v.value is None and v.status == "" for v in jan.values())


def test_a_period_still_running_is_partial(city: dict[str, Any]) -> None:
    m = a_measure("leaks", filters={"service": "LEAK"})
    jan, feb = period_of(date(2024, 1, 1), "month"), period_of(date(2024, 2, 1), "month")
    # As if today were 31 January: January is not over, though the data runs past it.
    points = mark_coverage(m, [Point(jan, 3.0), Point(feb, 1.0)], today=date(2024, 1, 31))
    assert points[0].partial and "still in progress" in points[0].note
    assert points[1].partial and points[1].note == "Partial: the data ends on 10 Feb 2024."


def test_an_entered_value_for_a_running_period_is_not_scored(db: None) -> None:
    m = a_measure("survey", calculation="manual", period="year", target=50,
                  status_rule="proximity", fiscal_year_start_month=1)  # fmt: skip
    this_year = timezone.localdate().year
    text = f"period,value\nFY{this_year - 1},40\nFY{this_year},60\nFY{this_year - 2},N/A\n"
    measure_values_set(measure=m, rows=read_values_csv(measure=m, text=text))
    values = {v.period_start.year: v for v in m.values.all()}
    assert values[this_year].partial and values[this_year].score is None
    assert values[this_year - 1].status == "off_track" and not values[this_year - 1].partial
    assert values[this_year - 2].no_data_reason == "not_reported"
    assert summarise([m])[0].latest == values[this_year - 1]


def test_cards_tables_charts_and_csv_mark_the_partial_period(
    client: Client, city: dict[str, Any]
) -> None:
    m = a_measure("leaks", short_name="Leaks", filters={"service": "LEAK"}, target=3,
                  status_rule="proximity")  # fmt: skip
    measure_refresh(measure=m)
    page = client.get("/performance/measures/leaks/").content.decode()
    assert "Feb 2024 so far: 1." in page and "Partial: the data ends on 10 Feb 2024." in page
    assert "Jan 2024, the latest complete month" in page and "On track" in page
    assert "Partial (not scored)" in page  # the values table's status column

    area = client.get(m.goal.area.get_absolute_url()).content.decode()
    assert "Feb 2024 so far: 1 (partial, not scored)" in area

    rows = list(csv.DictReader(io.StringIO(
        client.get("/performance/measures/leaks.csv").content.decode())))  # fmt: skip
    assert [(r["period"], r["partial"], r["status"]) for r in rows] == [
        ("Nov 2023", "false", "no_data"), ("Dec 2023", "false", "no_data"),
        ("Jan 2024", "false", "on_track"), ("Feb 2024", "true", ""),
    ]  # fmt: skip
    assert rows[0]["note"] == "No data: the data of 311 requests begins on 3 Jan 2024."
    assert rows[0]["no_data_reason"] == "before_data" and rows[0]["value"] == ""
    assert rows[3]["note"] == "Partial: the data ends on 10 Feb 2024."

    chart = timeline_spec(summarise([m])[0])
    points = [p for p in chart["data"]["values"] if p["value"] is not None]
    assert [p["status_label"] for p in points] == ["On track", "Partial (not scored)"]
    legend = chart["layer"][-1]["encoding"]["color"]["scale"]["domain"]
    assert "Partial (not scored)" in legend


def test_a_measure_whose_layer_ended_says_so_on_its_card(
    client: Client, city: dict[str, Any]
) -> None:
    m = a_measure("weeds", filters={"layer": "code-violations"}, start_date=date(2024, 1, 1))
    measure_refresh(measure=m)
    page = client.get("/performance/measures/weeds/").content.decode()
    assert "No data: the data of Code violations ends on 15 Dec 2023." in page
    assert ">0<" not in page  # never a count of 0 for months the data does not cover
