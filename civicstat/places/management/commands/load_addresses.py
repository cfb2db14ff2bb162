from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicstat.places.services import (
    AddressFileError,
    addresses_from_cases,
    addresses_load,
    read_report,
)


class Command(BaseCommand):
    help = (
        "Fill the place search's address index from OpenAddresses CSV files (plain or .gz), "
        "and/or from the street addresses of the city's own cases (--from-cases)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path, help="OpenAddresses CSV files")
        parser.add_argument(
            "--from-cases", action="store_true",
            help="add every distinct street address of the public cases (run after imports)",
        )  # fmt: skip
        parser.add_argument(
            "--source", default="", help="name the points' source (default: the file's name)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["files"] and not options["from_cases"]:
            raise CommandError("give one or more OpenAddresses CSV files, or --from-cases")
        if options["source"] and len(options["files"]) > 1:
            raise CommandError("--source names one file's points: give one file with it")
        for path in options["files"]:
            try:
                report = addresses_load(path=path, source=options["source"])
            except OSError as error:
                raise CommandError(f"{path}: {error.strerror or error}") from None
            except AddressFileError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(read_report(report))
        if options["from_cases"]:
            self.stdout.write(read_report(addresses_from_cases()))
