from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.runner import source_sync

log = logging.getLogger(__name__)


def due_sources() -> list[SyncSource]:
    """Enabled sources whose interval has passed since their last run (or that never ran)."""
    now = timezone.now()
    return [
        s for s in SyncSource.objects.filter(enabled=True).select_related("layer")
        if s.last_run_at is None or s.last_run_at + timedelta(minutes=s.every_minutes) <= now
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Run each enabled sync source every N minutes (its own setting), until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")
        parser.add_argument("--tick", type=float, default=30, help="seconds between checks")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            try:
                for source in due_sources():
                    run = source_sync(source=source)
                    self.stdout.write(f"{source.name}: {run.state}, {run.fetched} fetched"
                                      + (f" — {run.error}" if run.error else ""))  # fmt: skip
            except DatabaseError as exc:
                # A database restart must not stop the scheduler: try again at the next tick.
                log.warning("scheduler tick failed: %s", exc)
                if options["once"]:
                    raise
            if options["once"]:
                return
            time.sleep(options["tick"])
