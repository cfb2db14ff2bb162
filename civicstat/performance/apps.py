from __future__ import annotations

from django.apps import AppConfig


class PerformanceConfig(AppConfig):
    name = "civicstat.performance"
    verbose_name = "Performance"

    def ready(self) -> None:
        from civicstat.performance import receivers  # noqa: F401  (connects cases_changed)
