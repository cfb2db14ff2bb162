from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.performance.walton import WALTON_FILE, walton_import


class Command(BaseCommand):
    help = "Import Walton County, FL's published measures (FY2023–2026) as manual measures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(WALTON_FILE), help="the county's JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = walton_import(path=Path(options["path"]))
        except OSError as error:
            raise CommandError(f"{options['path']}: {error.strerror}") from None
        except ValueError as error:
            raise CommandError(f"{error}; nothing was saved") from None
        self.stdout.write(f"Imported {count} Walton County measures.")
