from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import ProfileError, available_profiles, load_profile
from civicstat.ingest.models import ImportRun

EXIT_REJECTED = 2


class Command(BaseCommand):
    help = (
        "Import a CSV, TSV or JSON-lines file of cases (optionally .gz) through a mapping profile. "
        f"Exit code: 0 all rows imported, {EXIT_REJECTED} some rows rejected, 1 failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--profile", help=f"built-in: {', '.join(available_profiles())}")
        which.add_argument("--mapping", type=Path, help="a mapping file (TOML) for another city")
        parser.add_argument("--date-format", help='override, e.g. "%%d/%%m/%%Y %%H:%%M:%%S"')
        parser.add_argument("--batch-size", type=int, help="rows per database batch")
        parser.add_argument("--show-rejects", type=int, default=20, metavar="N",
                            help="list the first N rejected rows (default 20)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file at {path}")
        try:
            profile = load_profile(name=options["profile"], path=options["mapping"])
        except ProfileError as exc:
            raise CommandError(str(exc)) from None
        bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name,
                   disable=options["verbosity"] < 1 or not sys.stderr.isatty())  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            run = import_file(path=path, profile=profile, date_format=options["date_format"],
                              batch_size=options["batch_size"], progress=progress)  # fmt: skip
        except ProfileError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self.stdout.write(
            f"{path.name}: {run.rows_read:,} rows read, {run.created:,} created, "
            f"{run.updated:,} updated, {run.unchanged:,} unchanged, {run.rejected:,} rejected."
        )
        shown = run.rejects.all()[: options["show_rejects"]]
        for reject in shown:
            self.stdout.write(f"  line {reject.line}: {reject.reason}")
        if run.rejected > len(shown):
            self.stdout.write(f"  … and {run.rejected - len(shown):,} more (see Import runs in "
                              "the admin)")  # fmt: skip
        if run.state == ImportRun.State.FAILED:
            raise CommandError(f"import stopped: {run.error}")
        if run.rejected:
            sys.exit(EXIT_REJECTED)
