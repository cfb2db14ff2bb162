"""The public performance pages: priority areas, goals, measures, downloads and embeds.

Only published measures appear; drafts answer 404. Pages read stored values only (never cases),
so they are cheap, and carry the data-version ETag like every public page, with the measures'
computed versions added. A measure withheld after a privacy change shows "being recomputed" and
none of its figures; its downloads answer 503.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import yaml
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from civicstat.performance.models import Goal, Measure, PriorityArea, Survey
from civicstat.performance.portable import definitions_export, measure_definition
from civicstat.performance.sparkline import sparkline_svg
from civicstat.performance.summaries import (
    GroupSummary,
    MeasureSummary,
    summarise,
    timeline_spec,
)
from civicstat.performance.survey_pages import category_chart_spec, survey_summaries
from civicstat.web import cached_by_data_version, embeddable

# partial: "true" for a period the data does not cover to its end (not scored); no_data_reason
# and note say why a period is partial or has no value.
CSV_COLUMNS = ("period", "start", "end", "value", "target", "status", "score", "numerator",
               "denominator", "computed_at", "partial", "no_data_reason", "note")  # fmt: skip


WITHHELD = (
    "The figures of this measure are being recomputed after a change to which request types are "
    "public. Try again in a minute."
)


def _withheld(content_type: str, body: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type, status=503)
    response["Retry-After"] = "60"
    add_never_cache_headers(response)
    return response


def _published() -> Any:
    return Measure.objects.published().select_related("goal__area", "department")


def _grouped(measures: list[MeasureSummary], key: str) -> dict[int, GroupSummary]:
    groups: dict[int, GroupSummary] = {}
    for s in measures:
        owner = s.measure.goal.area_id if key == "area" else s.measure.goal_id
        groups.setdefault(owner, GroupSummary()).measures.append(s)
    return groups


@require_GET
@cached_by_data_version
def index(request: HttpRequest) -> HttpResponse:
    by_area = _grouped(summarise(_published()), "area")
    areas = [(a, by_area.get(a.id, GroupSummary())) for a in PriorityArea.objects.all()]
    return render(request, "performance/index.html",
                  {"areas": areas, "surveys": survey_summaries()})  # fmt: skip


@require_GET
@cached_by_data_version
def survey_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A resident survey's published items by category: latest value, trend, chart and table."""
    survey = get_object_or_404(Survey, slug=slug)
    found = survey_summaries([survey])
    if not found:
        raise Http404("No published items in that survey.")
    summary = found[0]
    charts = [(c, f"survey-chart-{n}", category_chart_spec(c))
              for n, c in enumerate(summary.categories)]  # fmt: skip
    return render(request, "performance/survey.html",
                  {"summary": summary, "survey": survey, "charts": charts})  # fmt: skip


@require_GET
@cached_by_data_version
def area_detail(request: HttpRequest, area: str) -> HttpResponse:
    priority_area = get_object_or_404(PriorityArea, slug=area)
    by_goal = _grouped(summarise(_published().filter(goal__area=priority_area)), "goal")
    goals = [(g, by_goal.get(g.id, GroupSummary())) for g in priority_area.goals.all()]
    overall = GroupSummary([s for _, group in goals for s in group.measures])
    return render(request, "performance/area.html",
                  {"area": priority_area, "goals": goals, "overall": overall})  # fmt: skip


@require_GET
@cached_by_data_version
def goal_detail(request: HttpRequest, area: str, goal: str) -> HttpResponse:
    the_goal = get_object_or_404(Goal.objects.select_related("area"), area__slug=area, slug=goal)
    group = GroupSummary(summarise(_published().filter(goal=the_goal)))
    return render(request, "performance/goal.html", {"goal": the_goal, "group": group})


def _summary(slug: str) -> MeasureSummary:
    measure = _published().filter(slug=slug).first()
    if measure is None:
        raise Http404("No published measure with that address.")
    return summarise([measure])[0]


@require_GET
@cached_by_data_version
def measure_detail(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    return render(request, "performance/measure.html", {
        "s": s, "measure": s.measure, "rows": s.rows(), "timeline": timeline_spec(s),
        "sparkline": sparkline_svg(s),
        "card_url": request.build_absolute_uri(reverse("performance-embed-card", args=[slug])),
        "chart_url": request.build_absolute_uri(reverse("performance-embed-chart", args=[slug])),
    })  # fmt: skip


@require_GET
@cached_by_data_version
def measure_csv(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    if s.withheld:
        return _withheld("text/plain; charset=utf-8", WITHHELD + "\n")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    writer = csv.DictWriter(response, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({**r, "partial": "true" if r["partial"] else "false"} for r in s.rows())
    return response


@require_GET
@cached_by_data_version
def measure_json(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    if s.withheld:
        return _withheld("application/json", json.dumps({"error": WITHHELD, "withheld": True}))
    return JsonResponse({"definition": measure_definition(s.measure), "values": s.rows()})


@require_GET
@cached_by_data_version
def definitions_json(request: HttpRequest) -> JsonResponse:
    """Every published measure's definition, by priority area and goal (the YAML format)."""
    return JsonResponse(definitions_export(published_only=True))


@require_GET
@cached_by_data_version
def measure_yaml(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    text = yaml.safe_dump(measure_definition(s.measure), sort_keys=False, allow_unicode=True)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.yaml"'
    return response


@require_GET
@cached_by_data_version
@embeddable
@cache_control(public=True, no_cache=True)
@cached_by_data_version
def embed_card(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    return render(request, "performance/embed_card.html",
                  {"s": s, "measure": s.measure, "sparkline": sparkline_svg(s)})  # fmt: skip


@require_GET
@cached_by_data_version
@embeddable
@cache_control(public=True, no_cache=True)
@cached_by_data_version
def embed_chart(request: HttpRequest, slug: str) -> HttpResponse:
    s = _summary(slug)
    return render(request, "performance/embed_chart.html",
                  {"s": s, "measure": s.measure, "rows": s.rows(),
                   "timeline": timeline_spec(s, height=200)})  # fmt: skip
