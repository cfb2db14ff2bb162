from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from civicstat.performance.services import measures_refresh


class Command(BaseCommand):
    help = "Recompute every measure's values from the rollups now (new data does it by itself)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Refreshed {measures_refresh()} measures.")
