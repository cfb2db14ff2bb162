from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from civicstat.ingest.models import SyncRun, SyncSource
from civicstat.ingest.sync.runner import source_sync


class Command(BaseCommand):
    help = (
        "Sync one Open311, SeeClickFix or Socrata source now, by name. Exit code 1 if the sync "
        "failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the source's name, as set in the admin")

    def handle(self, *args: Any, **options: Any) -> None:
        source = SyncSource.objects.select_related("layer").filter(name=options["name"]).first()
        if source is None:
            names = ", ".join(SyncSource.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"no source named {options['name']!r}; sources: {names}")
        with tqdm(unit=" cases", desc=source.name, disable=None) as bar:

            def progress(run: SyncRun) -> None:
                bar.update(run.fetched - bar.n)

            run = source_sync(source=source, progress=progress)
        self.stdout.write(
            f"{source.name}: {run.state} in {run.duration or 0:.1f} s — {run.pages} pages, "
            f"{run.fetched} fetched, {run.created} new, {run.updated} updated, "
            f"{run.unchanged} unchanged, {run.rejected} rejected, {run.warnings} warnings, "
            f"{run.events} events, {run.retries} retries"
        )
        for reject in run.rejects.all()[:10]:
            self.stdout.write(f"  record {reject.line}: {reject.reason}")
        if run.rejected > 10:
            self.stdout.write("  … and more: see Sync runs in the admin")
        if run.state != SyncRun.State.DONE:
            raise CommandError(f"sync failed: {run.error} (the next sync resumes from its cursor)")
