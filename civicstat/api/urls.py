"""Open data out. The query API lives under /api/v1/; the SODA-compatible paths (/resource/,
/api/views/, /api/catalog/v1, /data.json) keep Socrata's own addresses, so they sit at the root."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
