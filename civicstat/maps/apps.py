from __future__ import annotations

from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "civicstat.maps"
    label = "maps"
    verbose_name = "Maps"

    def ready(self) -> None:
        from civicstat.maps import receivers  # noqa: F401 - connects service_privacy_changed
