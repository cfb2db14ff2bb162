"""Kansas City's real resident survey imports as yearly measures under its priority areas; a bad
file is refused row by row and saves nothing; /performance and the survey page show it, dated."""

from __future__ import annotations

import re
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from civicstat.performance.demo import KC_SURVEY_AREAS, SURVEY_FILE, demo_survey_load
from civicstat.performance.models import Measure, MeasureValue, PriorityArea, Survey, SurveyItem
from civicstat.performance.surveys import SurveyError, survey_import
from civicstat.performance.tests.factories import a_goal

pytestmark = pytest.mark.django_db

HEADER = "category,item,measure,survey_period,period_end_year,value\n"
AREAS = ("public-infrastructure", "public-safety", "neighborhood-livability",
         "healthy-communities", "governance")  # fmt: skip


@pytest.fixture
def areas(db: None) -> None:
    for n, slug in enumerate(AREAS):
        PriorityArea.objects.create(slug=slug, name=slug.replace("-", " ").capitalize(),
                                    position=n)  # fmt: skip


def _command(path: Path | str, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_survey", str(path), "--name", "Resident survey", "--slug", "residents",
                 "--conducted-by", "ETC Institute", "--report", "the 2018-19 report", *extra,
                 stdout=out, stderr=err)  # fmt: skip
    return out.getvalue(), err.getvalue()


def _kc_areas() -> list[str]:
    return [f"--area={category}={area}" for category, area in KC_SURVEY_AREAS.items()]


def _text(html: bytes) -> str:
    page = re.sub(r"<(script|head)\b.*?</\1>", "", html.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_command_imports_every_item_and_value_of_the_real_survey(areas: None) -> None:
    out, _ = _command(SURVEY_FILE, *_kc_areas())
    assert "102 items in 17 categories, 752 values, FY2005–FY2019" in out
    assert SurveyItem.objects.count() == 102 and MeasureValue.objects.count() == 752
    police = SurveyItem.objects.get(name="Overall quality of police services").measure
    # The 2018-19 survey is FY2019, which starts 1 May 2018 in Kansas City.
    values = dict(police.values.values_list("period_start", "value"))
    assert values[date(2018, 5, 1)] == 60.8
    assert values[date(2017, 5, 1)] == 60.0  # the 2017-18 survey, as the CSV has it
    assert police.unit == "percent" and police.period == "year"
    assert police.calculation == "manual" and police.target is None
    assert police.goal.area.slug == "governance"  # its category's area: no item was linked
    assert "ETC Institute" in police.methods and "the 2018-19 report" in police.methods
    assert "FY2013 (2012-13)" in police.methods  # every survey year, as the report names it
    index = SurveyItem.objects.get(name="Kansas City, MO").measure
    assert index.unit == "number" and index.slug == "kansas-city-mo-index"
    assert index.values.get(period_start=date(2011, 5, 1)).value == 108.0  # above 100: an index
    live = SurveyItem.objects.get(name="As a place to live")
    assert live.kind == "pct_excellent_or_good" and "excellent or good" in live.measure.title


def test_reimporting_updates_in_place(areas: None, tmp_path: Path) -> None:
    _command(SURVEY_FILE, *_kc_areas())
    slugs = set(Measure.objects.values_list("slug", flat=True))
    _command(SURVEY_FILE, *_kc_areas())
    assert set(Measure.objects.values_list("slug", flat=True)) == slugs
    assert MeasureValue.objects.count() == 752
    # A corrected file replaces the values; an item it no longer has goes.
    path = tmp_path / "small.csv"
    path.write_text(HEADER + "Major categories of city services,Overall quality of police services,"
                    "pct_satisfied,2018-19,2019,61.0\n")  # fmt: skip
    out, _ = _command(path, "--default-area=public-safety")
    assert "101 items no longer in the file removed" in out
    item = SurveyItem.objects.get()
    assert list(item.measure.values.values_list("value", flat=True)) == [61.0]


BAD_ROWS = [
    ("Police,Quality of police,pct_satisfied,2018-19,2019,101.5",
     "value 101.5 is a percentage (pct_satisfied) outside 0–100"),
    ("Police,Quality of police,pct_excellent_or_good,2016-17,2017,-3",
     "outside 0–100"),
    ("Police,Feeling safe,pct_satisfied,2019-21,2021,50",
     "unknown survey period '2019-21': its two years must be consecutive"),
    ("Police,Feeling safe,pct_satisfied,next year,,50", "unknown survey period 'next year'"),
    ("Police,Feeling safe,pct_satisfied,2017-18,2019,50",
     "survey period '2017-18' ends in 2018, but period_end_year says '2019'"),
    ("Police,Response time,pct_satisfied,2017-18,2018,55",
     "duplicate: 'Response time' (Police) already has a value for 2017-18 on line 2"),
    ("Police,Response time,share_happy,2016-17,2017,55", "unknown measure 'share_happy'"),
    ("Police,Response time,pct_satisfied,2016-17,2017,lots", "value 'lots' is not a number"),
]  # fmt: skip


def test_bad_rows_are_each_rejected_with_a_reason_and_nothing_is_imported(
    areas: None, tmp_path: Path
) -> None:
    good = "Police,Response time,pct_satisfied,2017-18,2018,54.0\n"
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + good + "".join(row + "\n" for row, _ in BAD_ROWS))
    with pytest.raises(CommandError) as raised:
        _command(path, "--default-area=public-safety")
    assert f"{len(BAD_ROWS)} of {len(BAD_ROWS) + 1} rows rejected; nothing was imported" in str(
        raised.value
    )
    try:
        survey_import(text=path.read_text(), slug="s", name="S", conducted_by="X", report="R",
                      areas={}, default_area="public-safety")  # fmt: skip
    except SurveyError as error:
        rejected = [str(r) for r in error.rejected]
    for line, (_, reason) in enumerate(BAD_ROWS, start=3):
        assert any(r.startswith(f"line {line}: ") and reason in r for r in rejected), (line, reason)
    assert not Survey.objects.exists() and not Measure.objects.exists()


def test_a_bad_file_leaves_an_earlier_import_untouched(areas: None, tmp_path: Path) -> None:
    _command(SURVEY_FILE, *_kc_areas())
    before = sorted(MeasureValue.objects.values_list("measure__slug", "period_start", "value"))
    lines = SURVEY_FILE.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",175.0"  # a percentage over 100
    path = tmp_path / "typo.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="1 of 752 rows rejected"):
        _command(path, *_kc_areas())
    assert sorted(MeasureValue.objects.values_list("measure__slug", "period_start", "value")) == (
        before
    )


def test_categories_must_each_be_linked_to_a_known_area(areas: None, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "Libraries,Opening hours,pct_satisfied,2018-19,2019,70\n")
    with pytest.raises(CommandError, match="linked to no priority area.*Libraries"):
        _command(path)
    with pytest.raises(CommandError, match="unknown priority area 'culture'"):
        _command(path, "--area=Libraries=culture")
    with pytest.raises(CommandError, match="no row has the category 'Librairies'"):
        _command(path, "--area=Librairies=governance", "--default-area=governance")
    with pytest.raises(CommandError, match="needs a header row.*missing: period_end_year"):
        path.write_text("category,item,measure,survey_period,value\n")
        _command(path, "--default-area=governance")
    assert not Measure.objects.exists()


def test_the_demo_replaces_the_sample_measure_with_the_real_survey(kc_sample: None) -> None:
    from civicstat.performance.demo import demo_measures_load

    demo_measures_load()
    assert not Measure.objects.filter(slug="street-satisfaction-sample").exists()
    assert not Measure.objects.filter(title__icontains="sample").exists()

    def area_of(name: str) -> str:
        return str(SurveyItem.objects.get(name=name).measure.goal.area.slug)

    assert area_of("Maintenance of city streets") == "public-infrastructure"
    # Each of the "major categories of city services" goes where its service does.
    assert area_of("Overall quality of police services") == "public-safety"
    assert area_of("Quality of fire & ambulance services") == "public-safety"
    assert area_of("Overall quality of local fire protection & rescue") == "public-safety"
    assert area_of("Clean up of trash/debris on private property") == "neighborhood-livability"
    assert area_of("Quality of the city's 311 service") == "governance"
    assert area_of("Feeling of safety in your neighborhood") == "public-safety"
    assert (
        SurveyItem.objects.filter(category="311 call center")
        .exclude(measure__goal__area__slug="governance")
        .count()
        == 0
    )
    assert Measure.objects.filter(survey_item__isnull=False, published=True).count() == 102
    demo_measures_load()  # again: nothing doubles
    assert MeasureValue.objects.filter(measure__survey_item__isnull=False).count() == 752


def test_the_performance_pages_show_the_survey_with_its_provenance(
    client: Client, areas: None
) -> None:
    a_goal()  # an unrelated area and goal, shown beside it
    demo_survey_load()
    index = _text(client.get("/performance").content)
    assert "What residents say" in index
    assert "FY2019, ETC Institute" in index
    assert "102 items in 17 categories, survey years FY2005 to FY2019" in index
    page = client.get("/performance/surveys/kc-resident-survey/")
    assert page.status_code == 200
    text = _text(page.content)
    assert "FY2019, ETC Institute" in text
    # Solid waste: 51.2 % in FY2019, down from 60.7 % in FY2018 and 68.5 % in FY2013.
    row = re.search(r"Quality of solid waste services (.*?) FY2013", text)
    assert row, "no solid waste row"
    assert row.group(1) == (
        "% satisfied or very satisfied · Neighborhood livability 51.2% FY2019 "
        "−9.5 pts from 60.7% in FY2018 −17.3 pts from 68.5% in"
    )
    assert page.content.count(b'data-vega-spec="survey-chart-') == 17
    assert client.get("/performance/surveys/nothing-here/").status_code == 404


def test_a_survey_measure_page_has_every_year_and_its_source(client: Client, areas: None) -> None:
    demo_survey_load()
    measure = SurveyItem.objects.get(name="Maintenance of city streets").measure
    text = _text(client.get(measure.get_absolute_url()).content)
    assert "Source FY2019, ETC Institute: Kansas City resident survey" in text
    for label in ("FY2005", "FY2012", "FY2019"):
        assert label in text
    assert "Methods" in text and "conducted by ETC Institute" in text


def test_drafts_stay_off_the_public_pages(client: Client, areas: None, tmp_path: Any) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "Libraries,Opening hours,pct_satisfied,2018-19,2019,70\n")
    _command(path, "--default-area=governance", "--draft")
    assert "What residents say" not in _text(client.get("/performance").content)
    assert client.get("/performance/surveys/residents/").status_code == 404


def test_renaming_a_survey_in_the_admin_shows_at_once(
    client: Client, admin_client: Client, areas: None, tmp_path: Path
) -> None:
    """Survey pages are cached by data version: an edit of the survey must move it."""
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "Libraries,Opening hours,pct_satisfied,2018-19,2019,70\n")
    _command(path, "--item-area=Opening hours=governance")
    assert "Resident survey" in _text(client.get("/performance").content)  # now cached
    survey = Survey.objects.get()
    change = f"/admin/performance/survey/{survey.pk}/change/"
    assert "Opening hours" in _text(admin_client.get(change).content)
    survey.name = "Residents survey 2019"
    survey.save()
    assert "Residents survey 2019" in _text(client.get("/performance").content)
    assert SurveyItem.objects.get().measure.goal.area.slug == "governance"
