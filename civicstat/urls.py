from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "CivicStat administration"
admin.site.site_title = "CivicStat"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("open311/v2/", include("civicstat.open311.urls")),
    path("", include("civicstat.performance.urls")),
    path("", include("civicstat.alerts.urls")),
    path("", include("civicstat.maps.urls")),
    path("", include("civicstat.cases.urls")),
]
