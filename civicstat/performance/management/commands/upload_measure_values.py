from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.performance.models import Measure
from civicstat.performance.services import measure_values_set, read_values_csv


class Command(BaseCommand):
    help = "Store a manual measure's values from a CSV with the columns period and value."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("measure", help="the measure's slug")
        parser.add_argument("csv", help="period,value rows: 2024-03 or FY2024, then a number")

    def handle(self, *args: Any, **options: Any) -> None:
        measure = Measure.objects.filter(slug=options["measure"]).first()
        if measure is None:
            raise CommandError(f"no measure {options['measure']!r}")
        try:
            text = Path(options["csv"]).read_text(encoding="utf-8")
            count = measure_values_set(
                measure=measure, rows=read_values_csv(measure=measure, text=text)
            )
        except OSError as error:
            raise CommandError(f"{options['csv']}: {error.strerror}") from None
        except ValueError as error:
            raise CommandError(f"{options['csv']}: {error}; no value was saved") from None
        self.stdout.write(f"Stored {count} values for {measure.slug}.")
