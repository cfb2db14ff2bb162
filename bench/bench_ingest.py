"""Import benchmark: rows/s and peak RSS of CivicStat's importer beside raw sqlite3 executemany.

Each measurement runs in a fresh subprocess of this script (`--child …`) against a throwaway
database, so that its peak RSS (`ru_maxrss`) is its own. CivicStat's runs migrate, load the Kansas
City areas exactly as `civicstat.ingest.demo.demo_load` does, and time only `import_file` with the
`kansas-city` profile: reading, normalisation, departments and services, areas, events, rollups.
The baseline parses the same file with the csv module into tuples of the profile's columns and
inserts them with stdlib `sqlite3` `executemany` into a plain table (primary key only), in one
transaction. The floor (`child_floor`) writes the rows a first import stored, the same way: what
the stored rows alone cost, below which no importer can go. `make bench-ingest` runs it; see
bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import operator
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KC_FILE = ROOT / "demo" / "kansas-city" / "kcmo311_2007_2020_80k.csv.gz"
PROFILE_FILE = ROOT / "civicstat" / "ingest" / "profiles" / "kansas-city.toml"
DATA_DIR = Path(tempfile.gettempdir()) / "civicstat-bench-data"
RESULTS_FILE = ROOT / "bench" / "results" / "ingest.md"
SEED = 311
DEFAULT_COUNT = 1_000_000
GOAL_ROWS_PER_S = 50_000
GOAL_RSS_MB = 500
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
SIZES = ("kc", "1m")
DATABASES = ("sqlite", "postgresql")
MODES = {"bulk": "first import (bulk)", "batches": "batch by batch"}
# The pragmas CivicStat's settings give SQLite, so the baseline writes under the same rules.
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000;"
RESULT_MARK = "BENCH-RESULT "

Result = dict[str, Any]


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# --- children: each runs in a process of its own -------------------------------------------------


def _django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    import django

    django.setup()


def child_civicstat(path: Path, bulk: bool) -> Result:
    """Migrate, load the areas like demo_load, then time CivicStat's importer on `path`: as a bulk
    first import (rollups built once at the end), or batch by batch as re-imports and syncs
    write (rollups kept per batch)."""
    _django_setup()
    from django.core.management import call_command
    from django.db import connection

    from civicstat.cases.areas import areas_load
    from civicstat.cases.models import Case, CaseArea, CaseEvent, DailyCaseCount, DailyCloseTime
    from civicstat.ingest.demo import DISTRICTS_FILE, NEIGHBORHOODS_FILE
    from civicstat.ingest.importer import import_file
    from civicstat.ingest.mapping import load_profile

    call_command("migrate", verbosity=0)
    areas_load(
        path=DISTRICTS_FILE,
        kind="council-district",
        name_field="DISTRICT",
        code_field="DISTRICT",
        name_format="District {}",
    )
    areas_load(
        path=NEIGHBORHOODS_FILE, kind="neighborhood", name_field="nbhname", code_field="nbhid"
    )
    rss_setup = maxrss_mb()

    start, cpu = time.perf_counter(), time.process_time()
    run = import_file(path=path, profile=load_profile(name="kansas-city"), bulk=bulk)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = maxrss_mb()

    return {
        "rows": run.rows_read,
        "created": run.created,
        "rejected": run.rejected,
        "state": str(run.state),
        "error": run.error,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mb": rss,
        "rss_setup_mb": rss_setup,
        "vendor": connection.vendor,
        "cases": Case.objects.count(),
        "case_areas": CaseArea.objects.count(),
        "events": CaseEvent.objects.count(),
        "daily_counts": DailyCaseCount.objects.count(),
        "daily_close_times": DailyCloseTime.objects.count(),
    }


def child_baseline(path: Path, columns: list[str], db: Path) -> Result:
    """csv module + sqlite3 executemany of the profile's columns, one transaction, no indexes."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(SQLITE_PRAGMAS)
    names = [f"c{i}" for i in range(len(columns))]
    conn.execute(f"CREATE TABLE cases (id INTEGER PRIMARY KEY, {', '.join(names)})")
    insert = f"INSERT INTO cases ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    read = 0
    rss_setup = maxrss_mb()

    start, cpu = time.perf_counter(), time.process_time()
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        width = len(header)
        pick = operator.itemgetter(*(header.index(c) for c in columns))

        def rows() -> Iterator[tuple[str, ...]]:
            nonlocal read
            for values in reader:
                if not values:
                    continue
                read += 1
                if len(values) == width:
                    yield pick(values)

        conn.execute("BEGIN")
        conn.executemany(insert, rows())
        conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = maxrss_mb()

    inserted = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    conn.close()
    return {
        "rows": read,
        "created": inserted,
        "rejected": read - inserted,
        "state": "done",
        "error": "",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mb": rss,
        "rss_setup_mb": rss_setup,
        "vendor": f"sqlite3 {sqlite3.sqlite_version}",
    }


# The tables the foundation issue requires an import to fill: the cases, their areas, their
# history, and the day rollups (counts, close-time histograms). The month tables, the public-only
# tables and the map cells are left out, so the floor is a lower bound.
FLOOR_TABLES = (
    "cases_case", "cases_casearea", "cases_caseevent", "cases_dailycasecount",
    "cases_dailyclosetime",
)  # fmt: skip
FLOOR_CHUNK = 100_000


def child_floor(source: Path, db: Path) -> Result:
    """sqlite3 executemany of the rows a CivicStat import stored in `source` (FLOOR_TABLES), into
    plain tables (primary key only) in one transaction: what writing them costs with no reading,
    parsing, normalising, index or lookup. Rows are fetched in chunks outside the timed part."""
    src = sqlite3.connect(source)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(SQLITE_PRAGMAS)
    per_table: dict[str, list[float]] = {}
    rss_setup = maxrss_mb()
    seconds = cpu = 0.0
    conn.execute("BEGIN")
    for table in FLOOR_TABLES:
        columns = [row[1] for row in src.execute(f"PRAGMA table_info({table})")]
        names = ", ".join(f'"{c}"' for c in columns)
        definitions = ", ".join(f'"{c}"' + (" INTEGER PRIMARY KEY" if c == "id" else "")
                                for c in columns)  # fmt: skip
        conn.execute(f'CREATE TABLE "{table}" ({definitions})')
        insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
        cursor = src.execute(f'SELECT {names} FROM "{table}"')
        written, spent = 0, 0.0
        while rows := cursor.fetchmany(FLOOR_CHUNK):
            start, started_cpu = time.perf_counter(), time.process_time()
            conn.executemany(insert, rows)
            spent += time.perf_counter() - start
            cpu += time.process_time() - started_cpu
            written += len(rows)
        per_table[table] = [written, spent]
        seconds += spent
    start, started_cpu = time.perf_counter(), time.process_time()
    conn.execute("COMMIT")
    seconds += time.perf_counter() - start
    cpu += time.process_time() - started_cpu
    cases = int(per_table["cases_case"][0])
    conn.close()
    src.close()
    return {
        "rows": cases,
        "created": cases,
        "rejected": 0,
        "state": "done",
        "error": "",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mb": maxrss_mb(),
        "rss_setup_mb": rss_setup,
        "vendor": f"sqlite3 {sqlite3.sqlite_version}",
        "tables": per_table,
    }


def child_generate(count: int, output: Path) -> Result:
    _django_setup()
    from civicstat.ingest.generate import generate

    start = time.perf_counter()
    written = generate(count=count, seed=SEED, output=output)
    return {"rows": written, "seconds": time.perf_counter() - start}


# --- the parent: datasets, databases, subprocesses, the table ------------------------------------


def profile_columns() -> list[str]:
    """The source columns the kansas-city profile reads, in the file's order, each once."""
    data = tomllib.loads(PROFILE_FILE.read_text(encoding="utf-8"))
    used = {
        *data["columns"].values(),
        *data.get("attributes", {}).values(),
        *(rule["column"] for rule in data.get("layer_rules", [])),
    }
    opener: Any = gzip.open
    with opener(KC_FILE, "rt", encoding="utf-8-sig", newline="") as fh:
        header = [h.strip() for h in next(csv.reader(fh))]
    return [name for name in header if name in used]


def run_child(mode: str, extra: list[str], env: dict[str, str] | None = None) -> Result:
    """Run this script as a child process and return the result it prints."""
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "civicstat.settings", **(env or {})}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *extra]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and script, fixed arguments
        command, cwd=ROOT, env=child_env, stdout=subprocess.PIPE, text=True, check=False
    )
    wall = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: Result = json.loads(line.removeprefix(RESULT_MARK))
            result["wall_seconds"] = wall
            result["load"] = (load_before, os.getloadavg()[0])
            return result
    raise RuntimeError(f"child {mode} failed (exit {done.returncode}); its output:\n{done.stdout}")


def dataset_file(size: str, count: int) -> Path:
    if size == "kc":
        return KC_FILE
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"generated_{count}_seed{SEED}.csv"
    if not path.exists():
        log(f"generating {count:,} cases into {path} (once; reused after) …")
        partial = path.with_suffix(".partial.csv")
        result = run_child(
            "generate",
            ["--count", str(count), "--file", str(partial)],
            {"DATABASE_URL": f"sqlite:///{DATA_DIR / 'unused.sqlite3'}"},
        )
        partial.rename(path)
        log(f"  generated {result['rows']:,} rows in {result['seconds']:.0f} s")
    return path


def dataset_label(size: str, count: int) -> str:
    return "Kansas City demo" if size == "kc" else f"generated {count:,}"


def pg_tool(name: str) -> str | None:
    return shutil.which(name)


def pg_unavailable() -> str:
    """Why PostgreSQL rows are skipped, or "" when the local server answers."""
    isready, psql = pg_tool("pg_isready"), pg_tool("psql")
    if not isready or not psql:
        return "PostgreSQL skipped: pg_isready or psql is not installed"
    check = subprocess.run(  # noqa: S603 - fixed arguments
        [isready, "-h", PG_HOST, "-p", str(PG_PORT)], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        why = check.stdout.strip() or f"exit {check.returncode}"
        return f"PostgreSQL skipped: `pg_isready -h {PG_HOST}` failed ({why})"
    return ""


def psql(sql: str) -> str:
    """The benchmark databases' `psql` helper (bench/dataset.py), imported when first needed."""
    sys.path.insert(0, str(ROOT))
    from bench.dataset import psql as run

    return run(sql)


def pg_version() -> str:
    try:
        return psql("SHOW server_version").split()[0]
    except (subprocess.CalledProcessError, IndexError):
        return "?"


def measure_civicstat(path: Path, database: str, mode: str) -> tuple[Result, Result | None]:
    """CivicStat's import, and for a first import on SQLite the floor (`child_floor`) of writing
    the rows it stored."""
    if database == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="civicstat-bench-"))
        try:
            result = run_child(
                "civicstat",
                ["--file", str(path), "--mode", mode],
                {"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}"},
            )
            floor = None
            if mode == "bulk" and result["state"] == "done":
                floor = run_child(
                    "floor", ["--file", str(tmp / "db.sqlite3"), "--db", str(tmp / "floor.sqlite3")]
                )
            return result, floor
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    name = f"civicstat_bench_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")
    try:
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        args = ["--file", str(path), "--mode", mode]
        return run_child("civicstat", args, {"DATABASE_URL": url}), None
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure_baseline(path: Path, columns: list[str]) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="civicstat-bench-"))
    try:
        return run_child(
            "baseline",
            [
                "--file",
                str(path),
                "--db",
                str(tmp / "baseline.sqlite3"),
                "--columns",
                json.dumps(columns),
            ],
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rate(r: Result) -> float:
    return float(r["rows"]) / r["seconds"] if r["seconds"] else 0.0


def table(results: list[Result]) -> list[str]:
    lines = [
        "| dataset | database | rows | created | rejected | seconds | rows/s | peak RSS MB "
        "| ÷ baseline |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        base = r.get("baseline_rate")
        ratio = (
            "1.00 (baseline)"
            if r["kind"] == "baseline"
            else (f"{rate(r) / base:.2f}" if base else "—")
        )
        lines.append(
            f"| {r['dataset']} | {r['database']} | {r['rows']:,} | {r['created']:,} "
            f"| {r['rejected']:,} | {r['seconds']:.1f} | {rate(r):,.0f} | {r['rss_mb']:.0f} "
            f"| {ratio} |"
        )
    return lines


def verdicts(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        if r["kind"] == "floor":
            ok = rate(r) >= GOAL_ROWS_PER_S
            lines.append(
                f"- {r['dataset']}, floor: writing only the rows CivicStat stores, with no reading "
                f"or normalising, runs at {rate(r):,.0f} rows/s: the rows/s goal is "
                f"{'below' if ok else 'ABOVE'} it"
            )
            continue
        if r["kind"] != "civicstat":
            continue
        checks = []
        if r["database"].startswith("SQLite"):
            ok = rate(r) >= GOAL_ROWS_PER_S
            checks.append(f"{rate(r):,.0f} rows/s {'meets' if ok else 'MISSES'} the rows/s goal")
        ok = r["rss_mb"] <= GOAL_RSS_MB
        checks.append(f"{r['rss_mb']:.0f} MB {'meets' if ok else 'MISSES'} the RSS goal")
        state = "" if r["state"] == "done" else f" — import {r['state']}: {r['error']}"
        lines.append(f"- {r['dataset']} on {r['database']}: {'; '.join(checks)}{state}")
    return lines


def details(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        extra = (
            f"; {r['cases']:,} cases, {r['case_areas']:,} case–area links, {r['events']:,} "
            f"events, {r['daily_counts']:,} + {r['daily_close_times']:,} rollup rows"
            if r["kind"] == "civicstat"
            else ""
        )
        if r["kind"] == "floor":
            extra = "; " + ", ".join(
                f"{table} {n:,.0f} rows in {spent:.2f} s"
                for table, (n, spent) in r["tables"].items()
            )
        lines.append(
            f"- {r['dataset']} / {r['database']}: peak RSS before the timed part "
            f"{r['rss_setup_mb']:.0f} MB; timed part {r['cpu_seconds']:.1f} s CPU in the child "
            f"of {r['seconds']:.1f} s; whole child process {r['wall_seconds']:.1f} s; "
            f"load average {r['load'][0]:.1f} → {r['load'][1]:.1f}{extra}"
        )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="kc,1m", help="datasets: kc, 1m (default: kc,1m)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="databases: sqlite, postgresql (default: both)",
    )
    parser.add_argument("--quick", action="store_true", help="kc on SQLite only")
    parser.add_argument(
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"cases to generate for the 1m dataset (default {DEFAULT_COUNT:,})",
    )
    # Internal: how the parent starts a measurement in a process of its own.
    parser.add_argument(
        "--child", choices=["civicstat", "baseline", "floor", "generate"], help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--modes",
        default="bulk,batches",
        help="bulk (a first import: rollups built at the end), batches (rollups kept per batch, "
        "as re-imports and syncs write); default both",
    )
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--columns", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.databases = "kc", "sqlite"
    args.size_list = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    args.database_list = [d.strip().lower() for d in args.databases.split(",") if d.strip()]
    args.mode_list = [m.strip().lower() for m in args.modes.split(",") if m.strip()]
    if bad := [m for m in args.mode_list if m not in MODES]:
        parser.error(f"unknown mode(s) {', '.join(bad)}; choose from {', '.join(MODES)}")
    if bad := [s for s in args.size_list if s not in SIZES]:
        parser.error(f"unknown size(s) {', '.join(bad)}; choose from {', '.join(SIZES)}")
    if bad := [d for d in args.database_list if d not in DATABASES]:
        parser.error(f"unknown database(s) {', '.join(bad)}; choose from {', '.join(DATABASES)}")
    if args.count < 1:
        parser.error("--count must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        if args.child == "civicstat":
            result = child_civicstat(args.file, bulk=args.mode == "bulk")
        elif args.child == "baseline":
            result = child_baseline(args.file, json.loads(args.columns), args.db)
        elif args.child == "floor":
            result = child_floor(args.file, args.db)
        else:
            result = child_generate(args.count, args.file)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0

    notes: list[str] = []
    databases = list(args.database_list)
    if "postgresql" in databases and (why := pg_unavailable()):
        databases.remove("postgresql")
        notes.append(why)
        log(why)
    columns = profile_columns()
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    results: list[Result] = []
    for size in args.size_list:
        path = dataset_file(size, args.count)
        label = dataset_label(size, args.count)
        log(f"{label}: baseline (sqlite3 executemany) …")
        base = measure_baseline(path, columns)
        base.update(kind="baseline", dataset=label, database="sqlite3 executemany")
        results.append(base)
        log(f"  {rate(base):,.0f} rows/s, {base['rss_mb']:.0f} MB")
        for database in databases:
            for mode in args.mode_list:
                name = f"{names[database]}, {MODES[mode]}"
                log(f"{label}: CivicStat on {name} …")
                r, floor = measure_civicstat(path, database, mode)
                r.update(kind="civicstat", dataset=label, database=name, baseline_rate=rate(base))
                results.append(r)
                log(f"  {rate(r):,.0f} rows/s, {r['rss_mb']:.0f} MB, {r['seconds']:.1f} s")
                if floor is not None:
                    stored = "floor: sqlite3 executemany of the rows stored"
                    floor.update(kind="floor", dataset=label, database=stored,
                                 baseline_rate=rate(base))  # fmt: skip
                    results.append(floor)
                    log(f"  floor {rate(floor):,.0f} rows/s ({floor['seconds']:.1f} s)")

    pg = f", PostgreSQL {pg_version()}" if "postgresql" in databases else ""
    goal = (
        f"Goal: ≥ {GOAL_ROWS_PER_S:,} rows/s on SQLite with normalisation, areas and rollups; "
        f"peak RSS ≤ {GOAL_RSS_MB} MB."
    )
    command = " ".join(["bench/bench_ingest.py", *(argv if argv is not None else sys.argv[1:])])
    report = [
        "# Import benchmark",
        "",
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z} · `{command.strip()}` · {machine()}{pg}",
        "",
        *table(results),
        "",
        goal,
        "",
        *verdicts(results),
        "",
        "Rows/s counts every row read (rejected rows included). Peak RSS is the child process's "
        "`ru_maxrss`, Django setup, migrations and areas included. `÷ baseline` is CivicStat's "
        "rows/s over raw sqlite3's on the same file. The floor row writes, with sqlite3 "
        "`executemany` into plain tables, only the rows a first import on SQLite stored in the "
        f"tables the foundation issue requires ({', '.join(FLOOR_TABLES)}): no file is read, "
        "nothing is parsed or looked up, and no index is kept; its rows/s is per case.",
        "",
        *details(results),
        *([""] + [f"Note: {n}" for n in notes] if notes else []),
    ]
    if batch := os.environ.get("INGEST_BATCH_SIZE"):
        report += ["", f"Note: INGEST_BATCH_SIZE={batch} from the environment."]
    text = "\n".join(report) + "\n"
    print(text)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    log(f"saved to {RESULTS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
