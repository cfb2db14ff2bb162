from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.cases.areas import AreaFileError, areas_load


class Command(BaseCommand):
    help = "Load boundaries (council districts, neighborhoods…) from a GeoJSON FeatureCollection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", required=True, help='e.g. "council-district"')
        parser.add_argument("--name-field", required=True, help="the property holding the name")
        parser.add_argument("--code-field", default="", help="the property holding the id")
        parser.add_argument("--name-format", default="{}", help='e.g. "District {}"')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            n, skipped = areas_load(path=options["file"], kind=options["kind"],
                           name_field=options["name_field"], code_field=options["code_field"],
                           name_format=options["name_format"])  # fmt: skip
        except (OSError, AreaFileError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Loaded {n} {options['kind']} areas.")
        if skipped:
            self.stdout.write(f"Skipped {skipped} features with no {options['name_field']!r} "
                              "or no geometry.")  # fmt: skip
        self.stdout.write("Cases already imported keep their old areas until re-imported.")
