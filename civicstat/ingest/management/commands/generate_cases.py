from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from civicstat.ingest.generate import generate
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile


class Command(BaseCommand):
    help = (
        "Generate synthetic cases that follow the Kansas City data, for benchmarks. "
        "With --output, write a KC-format CSV (gzipped if it ends in .gz); without, import them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=311)
        parser.add_argument("--output", type=Path, help="write a file instead of importing")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["count"]
        if count <= 0:
            raise CommandError("--count must be a positive number")
        quiet = not sys.stderr.isatty()
        with tqdm(total=count, unit="case", desc="generate", disable=quiet) as bar:

            def progress(n: int) -> None:
                bar.update(n)

            if options["output"]:
                generate(count=count, seed=options["seed"], output=options["output"],
                         progress=progress)  # fmt: skip
                self.stdout.write(f"Wrote {count:,} cases to {options['output']}.")
                return
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"generated-{count}.csv"
                generate(count=count, seed=options["seed"], output=path, progress=progress)
                run = import_file(path=path, profile=load_profile(name="kansas-city"))
        self.stdout.write(f"Generated and imported {run.created:,} cases ({run.updated:,} "
                          f"updated, {run.rejected:,} rejected).")  # fmt: skip
