"""The public pages show published measures only, with their figures, downloads and embeds."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import yaml
from django.test import Client

from civicstat.performance.services import measure_refresh
from civicstat.performance.tests.factories import a_goal, a_measure, small_city

pytestmark = pytest.mark.django_db


@pytest.fixture
def measures(db: None) -> dict[str, Any]:
    small_city()
    leaks = a_measure(
        "leaks-closed-in-3-days", title="Leaks closed within 3 days", short_name="Leaks on time",
        calculation="closed_within", target_days=3, unit="percent", filters={"service": "LEAK"},
        target=80, status_rule="proximity", on_track_band=5, near_band=15,
        methods="Counted **by close day**.<script>alert(1)</script>",
        analysis="[Water Services](https://example.org) <img src=x onerror=alert(1)>",
    )  # fmt: skip
    draft = a_measure("draft-measure", title="Secret draft", published=False)
    for m in (leaks, draft):
        measure_refresh(measure=m)
    return {"leaks": leaks, "draft": draft}


def test_the_index_lists_areas_with_their_composite_and_status_counts(
    client: Client, measures: dict[str, Any]
) -> None:
    response = client.get("/performance")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Infrastructure" in page
    # February (1 of 1 leak closed within 3 days) is partial: the data ends on 10 Feb, so the
    # status and score are January's: 1 of 2 = 50 % against 80, off track, score 62.5.
    assert "0 on track" in page and "1 off track" in page and ">62<" in page


def test_a_measure_page_shows_card_chart_table_and_safe_narratives(
    client: Client, measures: dict[str, Any]
) -> None:
    page = client.get("/performance/measures/leaks-closed-in-3-days/").content.decode()
    assert "Leaks closed within 3 days" in page
    assert "100%" in page and "80%" in page and "On track" in page
    assert 'data-vega-spec="timeline"' in page and "Feb 2024" in page
    assert "<strong>by close day</strong>" in page
    assert "<script>alert" not in page and "onerror" not in page
    assert 'href="https://example.org"' in page
    assert "/performance/measures/leaks-closed-in-3-days/embed/card/" in page


def test_drafts_are_invisible_to_the_public(client: Client, measures: dict[str, Any]) -> None:
    assert client.get("/performance/measures/draft-measure/").status_code == 404
    assert client.get("/performance/measures/draft-measure.csv").status_code == 404
    assert client.get("/performance/measures/draft-measure/embed/card/").status_code == 404
    assert "Secret draft" not in client.get("/performance/areas/infrastructure/").content.decode()


def test_the_values_download_as_csv(client: Client, measures: dict[str, Any]) -> None:
    response = client.get("/performance/measures/leaks-closed-in-3-days.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["period"], r["value"], r["status"], r["partial"]) for r in rows] == [
        ("Jan 2024", "50.0", "off_track", "false"), ("Feb 2024", "100.0", "", "true"),
    ]  # fmt: skip


def test_the_definition_downloads_as_yaml_and_json(
    client: Client, measures: dict[str, Any]
) -> None:
    definition = yaml.safe_load(
        client.get("/performance/measures/leaks-closed-in-3-days.yaml").content
    )
    assert definition["calculation"] == "closed_within" and definition["target_days"] == 3
    data = client.get("/performance/measures/leaks-closed-in-3-days.json").json()
    assert data["definition"]["filters"] == {"service": "LEAK"}
    assert [v["value"] for v in data["values"]] == [50.0, 100.0]


def test_only_embed_views_may_be_framed(client: Client, measures: dict[str, Any]) -> None:
    for kind in ("card", "chart"):
        embed = client.get(f"/performance/measures/leaks-closed-in-3-days/embed/{kind}/")
        assert embed.status_code == 200
        assert "X-Frame-Options" not in embed
        assert "frame-ancestors *" in embed["Content-Security-Policy"]
        # Kept by browsers and proxies, but asked about each time: a 304 until anything changes.
        assert "no-cache" in embed["Cache-Control"] and "max-age" not in embed["Cache-Control"]
    page = client.get("/performance/measures/leaks-closed-in-3-days/")
    assert page["X-Frame-Options"] == "DENY"


def test_a_repeat_request_is_answered_304_until_the_data_changes(
    client: Client, measures: dict[str, Any]
) -> None:
    url = "/performance/measures/leaks-closed-in-3-days/embed/card/"
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304


def test_an_area_and_a_goal_page_list_their_measures(
    client: Client, measures: dict[str, Any]
) -> None:
    goal = a_goal()
    area_page = client.get(goal.area.get_absolute_url()).content.decode()
    goal_page = client.get(goal.get_absolute_url()).content.decode()
    for page in (area_page, goal_page):
        assert "Leaks closed within 3 days" in page
    assert client.get("/performance/areas/nowhere/").status_code == 404


def test_the_json_api_lists_published_definitions_only(
    client: Client, measures: dict[str, Any]
) -> None:
    data = client.get("/performance/measures.json").json()
    goals = data["priority_areas"][0]["goals"]
    assert [m["slug"] for m in goals[0]["measures"]] == ["leaks-closed-in-3-days"]


CHART_BUNDLE = "vendor/charts"  # the 300 kB Vega bundle (frontend/charts.js)


def test_a_sparkline_is_inline_svg_and_loads_no_chart_bundle(
    client: Client, measures: dict[str, Any]
) -> None:
    """Pages whose only graphic is a sparkline (the index, an embedded card) load no chart
    script; the measure page loads it for its real chart, and its card's sparkline is SVG."""
    base = "/performance/measures/leaks-closed-in-3-days"
    card = client.get(f"{base}/embed/card/").content.decode()
    assert '<div class="sparkline"><svg' in card and "<polyline points=" in card
    assert 'aria-label="Trend of Leaks on time over recent periods"' in card
    for url in ("/performance", f"{base}/embed/card/"):
        assert CHART_BUNDLE not in client.get(url).content.decode(), url
    measure = client.get(f"{base}/").content.decode()
    assert CHART_BUNDLE in measure and '<div class="sparkline"><svg' in measure
    assert CHART_BUNDLE in client.get(f"{base}/embed/chart/").content.decode()
