from __future__ import annotations

from django.urls import path

from civicstat.cases import views

urlpatterns = [
    path("", views.home, name="home"),
    # `path`: a source's id may hold slashes ("2024/00123"), and a page must exist for every case.
    path("cases/<slug:layer>/<path:external_id>", views.case_detail, name="case-detail"),
]
