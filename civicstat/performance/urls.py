from __future__ import annotations

from django.urls import path

from civicstat.performance import survey_export, views

M = "performance/measures/<slug:slug>"
urlpatterns = [
    path("performance", views.index, name="performance"),
    path("performance/measures.json", views.definitions_json, name="performance-definitions"),
    path("performance/areas/<slug:area>/", views.area_detail, name="performance-area"),
    path("performance/areas/<slug:area>/<slug:goal>/", views.goal_detail, name="performance-goal"),
    path("performance/surveys/<slug:slug>/", views.survey_detail, name="performance-survey"),
    path("performance/surveys/<slug:slug>.csv", survey_export.survey_csv,
         name="performance-survey-csv"),
    path(f"{M}/", views.measure_detail, name="performance-measure"),
    path(f"{M}.csv", views.measure_csv, name="performance-measure-csv"),
    path(f"{M}.json", views.measure_json, name="performance-measure-json"),
    path(f"{M}.yaml", views.measure_yaml, name="performance-measure-yaml"),
    path(f"{M}/embed/card/", views.embed_card,
         name="performance-embed-card"),
    path(f"{M}/embed/chart/", views.embed_chart,
         name="performance-embed-chart"),
]  # fmt: skip
