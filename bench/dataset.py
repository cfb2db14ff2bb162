"""Benchmark databases of N generated cases, built once and shared by every benchmark.

`bench_database(count=1_000_000, engine="sqlite")` returns a DATABASE_URL whose database holds the
Kansas City areas and `count` cases from `manage.py generate_cases` (seed 311), imported through
the real `kansas-city` profile, so rollups, areas and h3 cells are what production would have.
The first call builds it (minutes at 10 M); later calls, from any benchmark, reuse it. A file lock
keeps two benchmarks from building the same database at once, and a database is only published
(renamed into place) once it is complete, so an interrupted build is simply started again.

    SQLite:      /tmp/civicstat-bench-data/cases_<count>_seed<seed>.sqlite3
    PostgreSQL:  database civicstat_bench_<count>_seed<seed> on 127.0.0.1:5432 (user postgres)

`demo_database(engine="sqlite")` is the same for the Kansas City demo (`manage.py load_demo`: the
real 80 k requests, not generated ones), named `kc_demo`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(tempfile.gettempdir()) / "civicstat-bench-data"
SEED = 311
PG = "postgres://postgres@127.0.0.1:5432"


def bench_database(*, count: int, engine: str, seed: int = SEED) -> str:
    """The DATABASE_URL of a complete benchmark database with `count` cases, built if missing."""
    return _database(f"cases_{count}_seed{seed}", engine, _generated(count, seed))


def demo_database(*, engine: str) -> str:
    """The DATABASE_URL of a database holding the Kansas City demo, built if missing."""
    return _database("kc_demo", engine, _demo)


def _database(name: str, engine: str, build: Callable[[str], None]) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.{engine}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits, then finds the database ready
        if engine == "sqlite":
            url = _sqlite(name, build)
        elif engine == "postgresql":
            url = _postgresql(f"civicstat_bench_{name.removeprefix('cases_')}", build)
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


def _sqlite(name: str, build: Callable[[str], None]) -> str:
    final = DATA_DIR / f"{name}.sqlite3"
    if not final.exists():
        partial = DATA_DIR / f"{name}.partial.sqlite3"
        for leftover in DATA_DIR.glob(f"{name}.partial.sqlite3*"):
            leftover.unlink()
        build(f"sqlite:///{partial}")
        # Fold the write-ahead log into the file before publishing it under its final name.
        import sqlite3

        with sqlite3.connect(partial) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        partial.rename(final)
    return f"sqlite:///{final}"


def _postgresql(database: str, build: Callable[[str], None]) -> str:
    if database not in psql("SELECT datname FROM pg_database").split():
        partial = f"{database}_partial"
        psql(f"DROP DATABASE IF EXISTS {partial} WITH (FORCE)")
        psql(f"CREATE DATABASE {partial}")
        build(f"{PG}/{partial}")
        psql(f"ALTER DATABASE {partial} RENAME TO {database}")
    return f"{PG}/{database}"


def _generated(count: int, seed: int) -> Callable[[str], None]:
    def build(url: str) -> None:
        print(f"building a benchmark database of {count:,} cases ({url}) …", flush=True)
        for command in (
            ["migrate", "--noinput", "-v0"],
            ["load_demo", "--areas-only"],
            ["generate_cases", "--count", str(count), "--seed", str(seed)],
        ):
            _manage(url, *command)

    return build


def _demo(url: str) -> None:
    print(f"building a benchmark database of the Kansas City demo ({url}) …", flush=True)
    _manage(url, "migrate", "--noinput", "-v0")
    _manage(url, "load_demo")


def psql(sql: str) -> str:
    """Run one statement as the local `postgres` superuser; its output, tab-separated."""
    psql = shutil.which("psql") or "psql"
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [psql, "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
         "-Atc", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()
