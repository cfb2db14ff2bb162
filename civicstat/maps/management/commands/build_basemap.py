from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.cases.areas import has_outline
from civicstat.cases.models import Area
from civicstat.cases.services import data_version_touch
from civicstat.maps.basemap import BasemapError, Inputs, build


class Command(BaseCommand):
    help = (
        "Build the offline base map (roads, area outlines and names, parcel dots) the maps draw "
        "when no tile server is set (MAP_TILE_URL). Inputs: --roads (GeoJSON lines), --parcels "
        "(CSV with lon, lat), the areas already loaded; each is optional."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--roads",
            default=settings.BASEMAP_ROADS,
            help="GeoJSON (.gz too) of road lines (default BASEMAP_ROADS)",
        )
        parser.add_argument(
            "--parcels",
            default=settings.BASEMAP_PARCELS,
            help="CSV (.gz too) of parcel points (default BASEMAP_PARCELS)",
        )
        parser.add_argument(
            "--roads-attribution",
            default=settings.BASEMAP_ROADS_ATTRIBUTION,
            help="credit owed for the roads (HTML; default OpenStreetMap's)",
        )
        parser.add_argument("--no-areas", action="store_true", help="leave the areas out")
        parser.add_argument("--out", default=str(settings.BASEMAP_DIR),
                            help="folder to write (default BASEMAP_DIR)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        areas = [] if options["no_areas"] else [
            {"kind": kind, "name": name, "geometry": geometry}
            for kind, name, geometry in Area.objects.values_list("kind", "name", "geometry")
            if has_outline(geometry)
        ]  # fmt: skip
        inputs = Inputs(
            roads=Path(options["roads"]) if options["roads"] else None,
            parcels=Path(options["parcels"]) if options["parcels"] else None,
            areas=areas, roads_attribution=options["roads_attribution"],
        )  # fmt: skip
        try:
            built = build(inputs, Path(options["out"]))
        except BasemapError as error:
            raise CommandError(f"build_basemap: {error}") from error
        data_version_touch()  # the map pages name the new base map's files: cached pages go stale
        layers = built.manifest["layers"]
        parcels = layers.get("parcels")
        parts = [
            f"{len(areas):,} areas" if "areas" in layers else "no areas",
            "roads" if "roads" in layers else "no roads",
            f"{parcels['count']:,} parcels in {len(parcels['tiles'])} tiles" if parcels
            else "no parcels",
        ]  # fmt: skip
        self.stdout.write(
            f"Base map built in {options['out']}: {', '.join(parts)}; {built.files} files, "
            f"{built.bytes / 1000:,.0f} kB, in {time.perf_counter() - started:.1f} s."
        )
