from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "civicstat.alerts"
    label = "alerts"
    verbose_name = "Email alerts"

    def ready(self) -> None:
        from civicstat.alerts import receivers  # noqa: F401 - connects the cases_changed receiver
