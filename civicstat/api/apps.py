from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Open data out: the query API (/api/v1/), the SODA-compatible API and the /data catalogue."""

    name = "civicstat.api"
    label = "api"
    verbose_name = "Open data API"

    def ready(self) -> None:
        from civicstat.api.models import SodaDataset
        from civicstat.cases.services import data_version_follows

        # A changed dataset id or field name changes what /resource/, /api/views/ and /data show.
        data_version_follows(saved=[SodaDataset], deleted=[SodaDataset], app="api")
