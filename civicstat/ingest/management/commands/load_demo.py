from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from civicstat.ingest.demo import CASES_FILE, DEMO_DIR, demo_load
from civicstat.maps.basemap import manifest

# The demo's offline base map (`build_basemap`): OpenStreetMap's major roads and the city's
# parcel points, beside the boundaries loaded here.
ROADS_FILE = DEMO_DIR / "osm_major_roads_metro.geojson.gz"
PARCELS_FILE = DEMO_DIR / "parcel_points_2015_demo_area.csv.gz"


class Command(BaseCommand):
    help = (
        "Load the Kansas City demo (boundaries, 80,203 real 311 cases and 32,283 KCPD crime rows"
        " of 2017) and build its offline base map. Skips what is loaded."
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
        if options["force"] or manifest(Path(settings.BASEMAP_DIR)) is None:
            call_command("build_basemap", roads=str(ROADS_FILE), parcels=str(PARCELS_FILE),
                         stdout=self.stdout)  # fmt: skip
        if run is None:
            self.stdout.write(
                "The Kansas City demo is already loaded (use --force to import again)."
            )
            return
        self.stdout.write(
            f"Kansas City demo: {run.rows_read:,} rows read, {run.created:,} created, "
            f"{run.updated:,} updated, {run.unchanged:,} unchanged, {run.rejected:,} rejected."
        )
