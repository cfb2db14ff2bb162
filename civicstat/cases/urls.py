from __future__ import annotations

from django.urls import path

from civicstat.cases import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/<slug:layer>/<str:external_id>", views.case_detail, name="case-detail"),
]
