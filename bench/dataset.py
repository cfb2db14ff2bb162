"""Benchmark databases of N generated cases, built once and shared by every benchmark.

`bench_database(count=1_000_000, engine="sqlite")` returns a DATABASE_URL whose database holds the
Kansas City areas and `count` cases from `manage.py generate_cases` (seed 311), imported through
the real `kansas-city` profile, so rollups, areas and h3 cells are what production would have.
The first call builds it (minutes at 10 M); later calls, from any benchmark, reuse it. A file lock
keeps two benchmarks from building the same database at once, and a database is only published
(renamed into place) once it is complete, so an interrupted build is simply started again.

    SQLite:      /tmp/civicstat-bench-data/cases_<count>_seed<seed>.sqlite3
    PostgreSQL:  database civicstat_bench_<count>_seed<seed> on 127.0.0.1:5432 (user postgres)
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(tempfile.gettempdir()) / "civicstat-bench-data"
SEED = 311
PG = "postgres://postgres@127.0.0.1:5432"


def bench_database(*, count: int, engine: str, seed: int = SEED) -> str:
    """The DATABASE_URL of a complete benchmark database with `count` cases, built if missing."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"cases_{count}_seed{seed}"
    with open(DATA_DIR / f"{name}.{engine}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits, then finds the database ready
        if engine == "sqlite":
            url = _sqlite(name, count, seed)
        elif engine == "postgresql":
            url = _postgresql(f"civicstat_bench_{count}_seed{seed}", count, seed)
        else:
            raise ValueError(f"engine must be sqlite or postgresql, not {engine!r}")
        # A database built by older code is brought to the current schema (migrations fill new
        # rollup tables from the old ones), so every benchmark reads what today's code would.
        _manage(url, "migrate", "--noinput", "-v0")
        # Planner statistics, as an import leaves them (`cases.bulkload`), for databases built
        # before imports took them.
        _manage(url, "shell", "-c", "from civicstat.cases.bulkload import "
                "planner_statistics_refresh as r; r(full=True)")  # fmt: skip
        return url


def _manage(url: str, *command: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "civicstat.settings"}
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)  # noqa: S603


def _sqlite(name: str, count: int, seed: int) -> str:
    final = DATA_DIR / f"{name}.sqlite3"
    if not final.exists():
        partial = DATA_DIR / f"{name}.partial.sqlite3"
        for leftover in DATA_DIR.glob(f"{name}.partial.sqlite3*"):
            leftover.unlink()
        _build(f"sqlite:///{partial}", count, seed)
        # Fold the write-ahead log into the file before publishing it under its final name.
        import sqlite3

        with sqlite3.connect(partial) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        partial.rename(final)
    return f"sqlite:///{final}"


def _postgresql(database: str, count: int, seed: int) -> str:
    if database not in psql("SELECT datname FROM pg_database").split():
        partial = f"{database}_partial"
        psql(f"DROP DATABASE IF EXISTS {partial} WITH (FORCE)")
        psql(f"CREATE DATABASE {partial}")
        _build(f"{PG}/{partial}", count, seed)
        psql(f"ALTER DATABASE {partial} RENAME TO {database}")
    return f"{PG}/{database}"


def _build(url: str, count: int, seed: int) -> None:
    print(f"building a benchmark database of {count:,} cases ({url}); reused after …", flush=True)
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["load_demo", "--areas-only"],
        ["generate_cases", "--count", str(count), "--seed", str(seed)],
    ):
        _manage(url, *command)


def psql(sql: str) -> str:
    """Run one statement as the local `postgres` superuser; its output, tab-separated."""
    psql = shutil.which("psql") or "psql"
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [psql, "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
         "-Atc", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()
