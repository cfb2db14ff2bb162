from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from civicstat.signin import ThrottledAuthenticationForm, admin_login

admin.site.site_header = "CivicStat administration"
admin.site.site_title = "CivicStat"
admin.site.login_form = ThrottledAuthenticationForm

urlpatterns = [
    # Before the admin's own URLs: the same sign-in page, answering 429 while locked out.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("open311/v2/", include("civicstat.open311.urls")),
    path("", include("civicstat.api.urls")),
    path("", include("civicstat.performance.urls")),
    path("", include("civicstat.alerts.urls")),
    path("", include("civicstat.maps.urls")),
    path("", include("civicstat.cases.urls")),
]
