from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Open data out: the query API (/api/v1/), the SODA-compatible API and the /data catalogue."""

    name = "civicstat.api"
    label = "api"
    verbose_name = "Open data API"
