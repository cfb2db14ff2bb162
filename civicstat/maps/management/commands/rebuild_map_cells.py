from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from civicstat.maps.cells import rebuild


class Command(BaseCommand):
    help = "Rebuild the map's per-cell case counts (the cluster rollup) from the cases table."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        rows = rebuild()
        self.stdout.write(
            f"Rebuilt {rows:,} map cell rows in {time.perf_counter() - started:.1f} s."
        )
