from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.performance.portable import DefinitionError, definitions_import


class Command(BaseCommand):
    help = "Create or update measure definitions from YAML files (all of a file, or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="YAML files written by export_measures")

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for name in options["paths"]:
            path = Path(name)
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
                total += definitions_import(data)
            except OSError as error:
                raise CommandError(f"{path}: {error.strerror}") from None
            except yaml.YAMLError as error:
                raise CommandError(f"{path} is not valid YAML: {error}") from None
            except DefinitionError as error:
                raise CommandError(f"{path}: {error}; nothing from this file was saved") from None
        self.stdout.write(f"Imported {total} measures.")
