"""Open data out. The query API lives under /api/v1/; the SODA-compatible paths (/resource/,
/api/views/, /api/catalog/v1, /data.json) keep Socrata's own addresses, so they sit at the root."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from civicstat.api.v1.api import api as api_v1

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api_v1.urls),
]
