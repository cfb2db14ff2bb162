from __future__ import annotations

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "civicstat.ingest"
    label = "ingest"
    verbose_name = "Import"
