from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.performance.models import PriorityArea
from civicstat.performance.portable import definitions_export


class Command(BaseCommand):
    help = "Write measure definitions as YAML: one file for the city, or one per priority area."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a .yaml file, or a directory with --per-area")
        parser.add_argument("--per-area", action="store_true", help="one file per priority area")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if options["per_area"]:
            path.mkdir(parents=True, exist_ok=True)
            for area in PriorityArea.objects.all():
                _write(path / f"{area.slug}.yaml", definitions_export([area]))
            self.stdout.write(f"Wrote {PriorityArea.objects.count()} files to {path}.")
            return
        if path.is_dir():
            raise CommandError(f"{path} is a directory; give a file name or use --per-area")
        _write(path, definitions_export())
        self.stdout.write(f"Wrote {path}.")


def _write(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
