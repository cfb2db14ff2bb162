from __future__ import annotations

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "civicstat.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from civicstat.cases import receivers  # noqa: F401 - connects the service privacy receivers
