from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from civicstat.cases import bulkload
from civicstat.cases.rollups import rebuild


class Command(BaseCommand):
    help = "Rebuild the daily and monthly count and close-time rollups from the cases table."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        # After a stopped bulk load the map's cells are stale too: catching up rebuilds both.
        counts, closes, month_counts, month_closes = bulkload.catch_up() or rebuild()
        self.stdout.write(
            f"Rebuilt {counts:,} daily count rows, {closes:,} daily close-time rows, "
            f"{month_counts:,} monthly count rows and {month_closes:,} monthly close-time rows "
            f"in {time.perf_counter() - started:.1f} s."
        )
