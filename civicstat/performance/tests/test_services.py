"""Definitions are checked before they are saved; refreshes store values with their time and
status; uploaded values are all checked before any is stored; new data queues a refresh."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from civicstat.cases.models import Case
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_add_note, case_upsert, data_version, data_version_bump
from civicstat.cases.signals import cases_changed
from civicstat.performance.models import Measure, MeasureValue
from civicstat.performance.services import (
    measure_refresh,
    measure_validate,
    measure_values_set,
    read_values_csv,
)
from civicstat.performance.tests.factories import a_measure, at, small_city

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    return small_city()


def errors_of(**fields: Any) -> dict[str, Any]:
    fields.setdefault("calculation", "count")
    with pytest.raises(ValidationError) as caught:
        measure_validate(measure=Measure(slug="x", title="x", short_name="x", **fields))
    return caught.value.message_dict


def test_it_rejects_a_filter_naming_an_unknown_service(city: dict[str, Any]) -> None:
    errors = errors_of(filters={"service": "NOPE"})
    assert "unknown service 'NOPE'" in errors["filters"][0]
    assert "LEAK" in errors["filters"][0]  # says what would work


def test_it_rejects_a_rate_with_no_denominator(city: dict[str, Any]) -> None:
    assert "needs a denominator" in errors_of(calculation="rate")["denominator_filters"][0]


def test_it_rejects_a_filter_the_rollups_cannot_answer(city: dict[str, Any]) -> None:
    assert "need the cases table" in errors_of(filters={"q": "leak"})["filters"][0]


def test_it_rejects_threshold_edges_in_the_wrong_order(city: dict[str, Any]) -> None:
    errors = errors_of(status_rule="thresholds", direction="up", on_track_band=10, near_band=20)
    assert "beyond the on-track edge" in errors["near_band"][0]


def test_a_refresh_stores_values_targets_status_and_when(city: dict[str, Any]) -> None:
    m = a_measure(filters={"service": "LEAK"}, target=3, status_rule="proximity",
                  on_track_band=0, near_band=50)  # fmt: skip
    assert measure_refresh(measure=m) == 2
    rows = list(m.values.values_list("period_start", "value", "status", "score"))
    # February is partial (the data ends on 10 Feb): stored, not scored.
    assert rows == [(date(2024, 1, 1), 3.0, "on_track", 1.0),
                    (date(2024, 2, 1), 1.0, "", None)]  # fmt: skip
    assert all(v.computed_at for v in m.values.all())


def test_new_data_enqueues_a_refresh(city: dict[str, Any], settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    m = a_measure(filters={"service": "LEAK"})
    version = data_version()
    cases_changed.send(sender=None, version=version)
    assert m.values.count() == 2
    # A refresh queued for data already counted is skipped (one is queued per import batch).
    m.values.all().delete()
    cases_changed.send(sender=None, version=version)
    assert m.values.count() == 0
    data_version_bump()
    cases_changed.send(sender=None, version=data_version())
    assert m.values.count() == 2


def test_an_import_refreshes_only_the_measures_it_can_change(
    city: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """New pothole cases recompute the pothole and department-less measures, not the water one;
    a note recomputes nothing."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    water = a_measure(slug="leaks", filters={"service": "LEAK"})
    works = a_measure(slug="works", filters={"department": "public-works"})
    everything = a_measure(slug="all", filters={})
    share = a_measure(slug="share", calculation="rate", unit="percent",
                      filters={"service": "LEAK"}, denominator_filters={})  # fmt: skip
    for m in (water, works, everything, share):
        measure_refresh(measure=m)
    before = {m.slug: m.values.get(period_start=date(2024, 1, 1)).computed_at
              for m in (water, works, everything, share)}  # fmt: skip

    pothole = city["pothole"]
    with django_capture_on_commit_callbacks(execute=True):  # the signal is sent on commit
        case_upsert(layer=city["layer"], records=[CaseRecord(
            external_id="P9", status="OPEN", status_group="open", requested_at=at("2024-01-25"),
            service_id=pothole.id, department_id=pothole.department_id,
        )])  # fmt: skip
    after = {m.slug: m.values.get(period_start=date(2024, 1, 1)) for m in (water, works,
             everything, share)}  # fmt: skip
    assert after["leaks"].computed_at == before["leaks"]  # not recomputed
    assert after["works"].computed_at > before["works"] and after["works"].value == 2
    assert after["all"].computed_at > before["all"] and after["all"].value == 5
    # The rate's denominator counts every case, so a pothole moves it.
    assert after["share"].computed_at > before["share"] and after["share"].denominator == 5

    stamps = list(MeasureValue.objects.values_list("computed_at", flat=True))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        case_add_note(case=Case.objects.get(external_id="P9"), note="Crew sent",
                      at=at("2024-01-26"))  # fmt: skip
    assert sent  # the note did tell the apps
    assert list(MeasureValue.objects.values_list("computed_at", flat=True)) == stamps


CSV = 'period,value\n2024-01,81%\n2024-02-10,N/A\n2024-03,"1,000"\n'


def test_uploaded_values_are_read_and_stored(city: dict[str, Any]) -> None:
    m = a_measure(calculation="manual", unit="percent", target=80, status_rule="proximity",
                  on_track_band=0, near_band=10)  # fmt: skip
    measure_values_set(measure=m, rows=read_values_csv(measure=m, text=CSV))
    got = list(m.values.values_list("period_start", "value", "status", "source"))
    assert got == [
        (date(2024, 1, 1), 81.0, "on_track", "manual"),
        (date(2024, 2, 1), None, "no_data", "manual"),
        (date(2024, 3, 1), 1000.0, "on_track", "manual"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("period,value\n2024-01,81\n2024-13,5\n", "line 3: '2024-13' is not a period"),
        ("period,value\n2024-01,about 5\n", "line 2: 'about 5' is not a number"),
        ("when,value\n2024-01,5\n", "columns period and value"),
        ("period,value\n2024-01,5\n2024-01-31,6\n", "line 3: Jan 2024 appears twice"),
    ],
)
def test_a_bad_csv_names_the_line_and_stores_nothing(
    city: dict[str, Any], text: str, message: str
) -> None:
    m = a_measure(calculation="manual")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        read_values_csv(measure=m, text=text)
    assert not MeasureValue.objects.exists()
