from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import ProfileError, available_profiles, load_profile
from civicstat.ingest.models import ImportRun, bounds_parse
from civicstat.ingest.sync.files import is_open311_file, open311_file_import

EXIT_REJECTED = 2


class Command(BaseCommand):
    help = (
        "Import a CSV, TSV or JSON-lines file of cases (optionally .gz) through a mapping profile, "
        "or a saved Open311 GeoReport v2 answer (.json or .xml) as a sync reads one. "
        f"Exit code: 0 all rows imported, {EXIT_REJECTED} some rows rejected, 1 failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--profile", help=f"built-in: {', '.join(available_profiles())}")
        which.add_argument("--mapping", type=Path, help="a mapping file (TOML) for another city")
        parser.add_argument("--date-format", help='override, e.g. "%%d/%%m/%%Y %%H:%%M:%%S"')
        parser.add_argument("--batch-size", type=int, help="rows per database batch")
        parser.add_argument("--layer", default="311-requests",
                            help="Open311 files: the layer the requests go into (default "
                                 "311-requests, created if missing)")  # fmt: skip
        parser.add_argument("--bounds", default="", metavar="W,S,E,N",
                            help="Open311 files: the city's bounds; a point outside (or at 0, 0) "
                                 "is left out, with a warning")  # fmt: skip
        parser.add_argument("--show-rejects", type=int, default=20, metavar="N",
                            help="list the first N rejected rows and warnings "
                                 "(default 20)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        open311 = not options["profile"] and not options["mapping"]
        if open311 and not is_open311_file(path):
            raise CommandError("pass --profile or --mapping (only a saved Open311 answer, .json "
                               "or .xml, imports without one)")  # fmt: skip
        bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name,
                   disable=options["verbosity"] < 1 or not sys.stderr.isatty())  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            if open311:
                try:
                    bounds = bounds_parse(options["bounds"])
                except ValidationError as exc:
                    raise CommandError(f"--bounds: {' '.join(exc.messages)}") from None
                run = open311_file_import(path=path, layer=options["layer"], bounds=bounds,
                                          batch_size=options["batch_size"],
                                          progress=progress)  # fmt: skip
            else:
                profile = load_profile(name=options["profile"], path=options["mapping"])
                run = import_file(path=path, profile=profile, date_format=options["date_format"],
                                  batch_size=options["batch_size"], progress=progress)  # fmt: skip
        except ProfileError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        noun, where = ("requests", "request") if open311 else ("rows", "line")
        self.stdout.write(
            f"{path.name}: {run.rows_read:,} {noun} read, {run.created:,} created, "
            f"{run.updated:,} updated, {run.unchanged:,} unchanged, {run.rejected:,} rejected."
        )
        limit = options["show_rejects"]
        shown = run.rejects.all()[:limit]
        for reject in shown:
            self.stdout.write(f"  {where} {reject.line}: {reject.reason}")
        if run.rejected > len(shown):
            self.stdout.write(f"  … and {run.rejected - len(shown):,} more (see Import runs in "
                              "the admin)")  # fmt: skip
        if run.warnings:
            plural = "s" if run.warnings != 1 else ""
            self.stdout.write(f"{run.warnings:,} warning{plural} (values left out of stored "
                              "rows, or notes on the whole file):")  # fmt: skip
            noted = run.record_warnings.all()[:limit]
            for warning in noted:
                at = f"{where} {warning.line}" if warning.line is not None else "file"
                self.stdout.write(f"  {at}: {warning.reason}")
            if run.warnings > len(noted):
                self.stdout.write(f"  … and {run.warnings - len(noted):,} more (see Import runs "
                                  "in the admin)")  # fmt: skip
        if run.state == ImportRun.State.FAILED:
            raise CommandError(f"import stopped: {run.error}")
        if run.rejected:
            sys.exit(EXIT_REJECTED)
