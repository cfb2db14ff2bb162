from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from civicstat.ingest.demo import CASES_FILE, demo_load


class Command(BaseCommand):
    help = (
        "Load the Kansas City demo (boundaries, 80,203 real 311 cases and 32,283 KCPD crime rows"
        " of 2017). Skips what is loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="import again even if loaded")
        parser.add_argument(
            "--areas-only", action="store_true", help="load the boundaries only, not the cases"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["areas_only"]:
            demo_load(force=options["force"], with_cases=False)
            self.stdout.write("Kansas City boundaries loaded.")
            return
        bar = tqdm(total=CASES_FILE.stat().st_size, unit="B", unit_scale=True, desc="KC 311",
                   disable=not sys.stderr.isatty())  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            run = demo_load(force=options["force"], progress=progress)
        finally:
            bar.close()
        if run is None:
            self.stdout.write(
                "The Kansas City demo is already loaded (use --force to import again)."
            )
            return
        self.stdout.write(
            f"Kansas City demo: {run.rows_read:,} rows read, {run.created:,} created, "
            f"{run.updated:,} updated, {run.unchanged:,} unchanged, {run.rejected:,} rejected."
        )
