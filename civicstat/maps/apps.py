from __future__ import annotations

from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "civicstat.maps"
    label = "maps"
    verbose_name = "Maps"
