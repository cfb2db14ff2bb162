"""export_measures and import_measures carry definitions between cities; bad files say why and
save nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command

from civicstat.performance.models import Measure, PriorityArea
from civicstat.performance.tests.factories import a_goal, a_measure, small_city

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> dict[str, Any]:
    c = small_city()
    a_measure("leaks", filters={"service": "LEAK"}, department=c["water"], target=3)
    a_measure("survey", calculation="manual", unit="percent")
    return c


def test_measures_survive_an_export_and_import_round_trip(
    city: dict[str, Any], tmp_path: Path
) -> None:
    call_command("upload_measure_values", "survey", _csv(tmp_path, "period,value\n2024-01,61%\n"))
    path = tmp_path / "city.yaml"
    call_command("export_measures", str(path))
    exported = yaml.safe_load(path.read_text())
    Measure.objects.all().delete()
    PriorityArea.objects.all().delete()
    call_command("import_measures", str(path))
    leaks = Measure.objects.get(slug="leaks")
    assert leaks.department == city["water"] and leaks.filters == {"service": "LEAK"}
    assert list(leaks.values.values_list("value", flat=True)) == [3.0, 1.0]
    survey = Measure.objects.get(slug="survey")
    assert list(survey.values.values_list("value", flat=True)) == [61.0]
    call_command("export_measures", str(tmp_path / "again.yaml"))
    assert yaml.safe_load((tmp_path / "again.yaml").read_text()) == exported


def test_one_file_per_priority_area(city: dict[str, Any], tmp_path: Path) -> None:
    a_measure("other", goal=a_goal(area="safety", goal="g"))
    call_command("export_measures", str(tmp_path), "--per-area")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["infrastructure.yaml", "safety.yaml"]


def test_an_unknown_service_is_named_and_nothing_is_saved(
    city: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(one_goal(
        "new-area",
        {"slug": "fine", "title": "Fine", "short_name": "f", "calculation": "count"},
        {"slug": "bad", "title": "Bad", "short_name": "b", "calculation": "count",
         "filters": {"service": "NOPE"}},
    ))  # fmt: skip
    with pytest.raises(CommandError, match="measure 'bad': filters: unknown service 'NOPE'"):
        call_command("import_measures", str(path))
    assert not PriorityArea.objects.filter(slug="new-area").exists()
    assert not Measure.objects.filter(slug="fine").exists()


def test_a_rate_with_an_empty_denominator_is_refused(city: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "rate.yaml"
    path.write_text(
        one_goal("a", {"slug": "r", "title": "R", "short_name": "r", "calculation": "rate"})
    )
    with pytest.raises(CommandError, match="needs a denominator"):
        call_command("import_measures", str(path))


def test_a_values_csv_with_a_bad_period_is_refused(city: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="line 2: 'March' is not a period; .*no value was saved"):
        call_command("upload_measure_values", "survey", _csv(tmp_path, "period,value\nMarch,5\n"))
    assert not Measure.objects.get(slug="survey").values.exists()


def one_goal(slug: str, *measures: dict[str, Any]) -> str:
    area = {"slug": slug, "name": slug.title(),
            "goals": [{"slug": "g", "title": "G", "measures": list(measures)}]}  # fmt: skip
    return yaml.safe_dump({"priority_areas": [area]})


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "values.csv"
    path.write_text(text)
    return str(path)
