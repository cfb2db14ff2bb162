"""The Kansas City demo's priority areas and measures (demo/kansas-city/measures.yaml), and the
city's real resident survey (demo/kansas-city/citizen_survey_trends_2005_2019.csv)."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from civicstat.performance.models import Measure
from civicstat.performance.portable import definitions_import
from civicstat.performance.surveys import SurveyImported, survey_import

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "kansas-city"
MEASURES_FILE = DEMO_DIR / "measures.yaml"
SURVEY_FILE = DEMO_DIR / "citizen_survey_trends_2005_2019.csv"
# The survey's 17 categories, each filed under the KCStat priority area it speaks to; items about
# the city as a whole (its leadership, its overall ratings, the composite index) go under
# governance. The "major categories" list rates one service each: each goes where its service
# does (KC_SURVEY_ITEM_AREAS), as do the two safety items among the perceptions of the city.
KC_SURVEY_AREAS = {
    "City streets, sidewalks and infrastructure": "public-infrastructure",
    "Water services": "public-infrastructure",
    "Airport services": "public-infrastructure",
    "Public transportation": "public-infrastructure",
    "Police services": "public-safety",
    "Fire and emergency medical services": "public-safety",
    "Neighborhood services": "neighborhood-livability",
    "Solid waste services": "neighborhood-livability",
    "Perceptions of KCMO as a community": "neighborhood-livability",
    "Housing": "healthy-communities",
    "Parks and recreation services": "healthy-communities",
    "311 call center": "governance",
    "Communication services": "governance",
    "City leadership": "governance",
    "Overall ratings of the city": "governance",
    "Major categories of city services": "governance",
    "Composite customer satisfaction index (2005=100)": "governance",
}
KC_SURVEY_ITEM_AREAS = {
    "Maintenance of streets, sidewalks & infrastructure": "public-infrastructure",
    "Quality of airport facilities": "public-infrastructure",
    "Quality of city water utilities": "public-infrastructure",
    "Quality of city's stormwater runoff/mgmt system": "public-infrastructure",
    "Quality of public transportation": "public-infrastructure",
    "Overall quality of police services": "public-safety",
    "Quality of fire & ambulance services": "public-safety",
    "Quality of municipal court services": "public-safety",
    "Feeling of safety in your neighborhood": "public-safety",
    "Overall feeling of safety in the city": "public-safety",
    "Quality of neighborhood services": "neighborhood-livability",
    "Quality of solid waste services": "neighborhood-livability",
    "City parks/recreation programs/facilities": "healthy-communities",
    "Quality of Health Department services": "healthy-communities",
    "Overall quality of education system": "healthy-communities",
    "Overall image of the city": "governance",
    "Quality of services provided by KCMO": "governance",
    "Value received for city tax dollars and fees": "governance",
}
KC_SURVEY = {
    "slug": "kc-resident-survey",
    "name": "Kansas City resident survey",
    "conducted_by": "ETC Institute",
    "report": "the trend tables (executive summary, pp. iii–xvii) of the 2018-19 KCMO Citizen "
    "Survey final report (FY2019)",
    "notes": "The trend tables give FY2005 (the 2005 survey, the base of the composite index) and "
    "FY2012 to FY2019 (the 2011-12 to 2018-19 surveys); the years between are not in them, and "
    "items first asked later start later. CivicStat's demo transcribed the tables; each value was "
    "checked against the report's own change columns.",
}
# The invented figures the survey replaces, removed from a demo loaded before it.
SAMPLE_MEASURE = "street-satisfaction-sample"


def demo_measures_load(*, path: Path = MEASURES_FILE) -> int:
    """Import (or update) the demo measures and compute them; returns how many."""
    count = definitions_import(yaml.safe_load(path.read_text(encoding="utf-8")))
    Measure.objects.filter(slug=SAMPLE_MEASURE).delete()
    demo_survey_load()
    return count


def demo_survey_load(*, path: Path = SURVEY_FILE) -> SurveyImported:
    """Import Kansas City's resident survey under the demo's priority areas."""
    return survey_import(
        text=path.read_text(encoding="utf-8"), areas=KC_SURVEY_AREAS,
        item_areas=KC_SURVEY_ITEM_AREAS, slug=KC_SURVEY["slug"],
        name=KC_SURVEY["name"], conducted_by=KC_SURVEY["conducted_by"],
        report=KC_SURVEY["report"], notes=KC_SURVEY["notes"],
    )  # fmt: skip
