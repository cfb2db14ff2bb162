"""Query API benchmark: a page of 100 cases with two facets and the total count, from CivicStat's
/api/v1/cases beside Datasette's table page on the same database.

For each size (`--sizes 1m,10m`, `--engine sqlite|postgresql`) it opens the shared benchmark
database (bench/dataset.py) in a child process and, in that process, times `--repeat` requests of
each side with varying filters (a department and a status, so no answer repeats):

- CivicStat: `GET /api/v1/cases?_size=100&facet=department&facet=status&department=…&status=…`
  through Django's test client (the whole view stack, response cache off, no throttle);
- Datasette (it reads SQLite only, so beside PostgreSQL it reads the SQLite copy of the same
  generated cases; the pinned version in the dev group, its time limits raised so it
  answers): `GET /<db>/cases_case.json?_size=100&_facet=department_id&_facet=status_group&
  department_id=…&status_group=…&_sort_desc=requested_at` through its own in-process client.

It prints p50 and p95 per side and the ratio (the issue's goal: p95 ≤ 50 ms and ≥ 15× Datasette),
times a SoQL `count(*)` grouped by department and month over the whole history of the largest
layer (`/resource/<id>.json?$query=…`; goal p95 ≤ 50 ms), then streams the largest layer's CSV
export (`/api/v1/layers/<layer>/cases.csv`) and prints its
rows a second and the process's peak memory (goal: ≥ 100,000 rows/s, peak RSS ≤ 300 MB).
`make bench-api`. At 1 M cases and more, run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZES = {"20k": 20_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
MARK = "BENCH-API "
GOAL_MS, GOAL_RATIO = 50.0, 15.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_size(url: str, repeat: int, sqlite_twin: str | None) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ["RESPONSE_CACHE_MAX_BYTES"] = "0"  # measure the work, not the cache
    os.environ["PUBLIC_READ_RATE"] = ""
    os.environ["SODA_IP_RATE"] = ""
    os.environ["SODA_APP_TOKEN_RATE"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    import django

    django.setup()
    from django.test import Client

    from civicstat.cases.models import Department

    departments = list(Department.objects.values_list("id", "slug"))
    queries = [(d, s) for d in departments for s in ("open", "closed")]
    client = Client()
    ours: list[float] = []
    for n in range(repeat):
        (_, slug), status = queries[n % len(queries)]
        start = time.perf_counter()
        response = client.get(f"/api/v1/cases?_size=100&facet=department&facet=status"
                              f"&department={slug}&status={status}&_n={n}")  # fmt: skip
        ours.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
    result: dict[str, Any] = {"ours": ours, "soql": _soql(client, repeat)}
    # The whole layer as CSV, streamed: rows a second and the process's peak memory.
    import resource

    from django.db.models import Count

    from civicstat.cases.models import Case, Layer

    sizes = Case.objects.values("layer_id").annotate(n=Count("id")).order_by("-n")
    layer = Layer.objects.get(id=sizes[0]["layer_id"]).slug  # the largest
    start = time.perf_counter()
    response = client.get(f"/api/v1/layers/{layer}/cases.csv")
    chunks = response.streaming_content  # type: ignore[attr-defined]  # a StreamingHttpResponse
    lines = sum(chunk.count(b"\n") for chunk in chunks) - 1
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["export"] = {"rows": lines, "seconds": seconds, "peak_mb": peak_mb}
    if sqlite_twin is not None:
        result["datasette"] = asyncio.run(_datasette(sqlite_twin, queries, repeat))
    return result


def _soql(client: Any, repeat: int) -> list[float]:
    """SODA: `count(*)` by department and month over the whole history of the largest layer, as a
    Socrata script asks it (`$query`), with a varying filter so that no answer repeats."""
    from django.db.models import Count

    from civicstat.api.soda.datasets import default_identifier
    from civicstat.cases.models import Case, Layer

    sizes = Case.objects.values("layer_id").annotate(n=Count("id")).order_by("-n")
    layer = Layer.objects.get(id=sizes[0]["layer_id"])
    dataset = default_identifier(layer.slug)
    filters = ["", " WHERE status_group = 'open'", " WHERE status_group = 'closed'"]
    times = []
    for n in range(repeat):
        query = ("SELECT department, date_trunc_ym(requested_datetime) AS month, count(*) AS n"
                 f"{filters[n % len(filters)]} GROUP BY department, month ORDER BY month, "
                 f"department LIMIT {50_000 - n}")  # fmt: skip
        start = time.perf_counter()
        response = client.get(f"/resource/{dataset}.json", {"$query": query})
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
        assert len(json.loads(response.content)) > 100  # departments × months, not a stub
    return times


async def _datasette(path: str, queries: list[Any], repeat: int) -> list[float]:
    from datasette.app import Datasette  # type: ignore[import-untyped]  # no type hints shipped

    ds = Datasette([path], immutables=[], settings={
        "sql_time_limit_ms": 120_000, "facet_time_limit_ms": 120_000, "num_sql_threads": 1,
        "max_returned_rows": 1000, "suggest_facets": False,
    })  # fmt: skip
    await ds.invoke_startup()
    name = Path(path).stem
    times = []
    for n in range(repeat):
        (dept_id, _), status = queries[n % len(queries)]
        start = time.perf_counter()
        response = await ds.client.get(
            f"/{name}/cases_case.json?_size=100&_facet=department_id&_facet=status_group"
            f"&department_id={dept_id}&status_group={status}&_sort_desc=requested_at&_n={n}"
        )
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m", help=f"comma-separated: {', '.join(SIZES)}")
    parser.add_argument("--engine", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--datasette-on", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-build-twin",
        action="store_true",
        help="beside PostgreSQL, run Datasette only if the SQLite copy is built",
    )
    args = parser.parse_args()
    if args.child:
        print(MARK + json.dumps(run_size(args.child, args.repeat, args.datasette_on)))
        return
    from bench.dataset import DATA_DIR, SEED, bench_database

    print("| cases | engine | CivicStat p50 / p95 ms | Datasette p50 / p95 ms | ratio (p95) |")
    print("|---|---|---|---|---|")
    exports: list[str] = []
    soql: list[str] = []
    for size in args.sizes.split(","):
        url = bench_database(count=SIZES[size], engine=args.engine)
        # Datasette reads SQLite only: beside PostgreSQL it reads the SQLite database of the same
        # generated cases (same count, same seed), when it is built (`--no-build-twin` does not
        # build it: an hour at 10 M).
        twin_file = DATA_DIR / f"cases_{SIZES[size]}_seed{SEED}.sqlite3"
        twin = (bench_database(count=SIZES[size], engine="sqlite").removeprefix("sqlite:///")
                if args.engine == "sqlite" or twin_file.exists() or not args.no_build_twin
                else None)  # fmt: skip
        out = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--child", url, "--repeat", str(args.repeat),
             *(["--datasette-on", twin] if twin else [])],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        found = json.loads(next(line for line in out.splitlines()
                                if line.startswith(MARK)).removeprefix(MARK))  # fmt: skip
        ours = found["ours"]
        theirs = found.get("datasette")
        p95 = percentile(ours, 0.95)
        row = f"| {size} | {args.engine} | {statistics.median(ours):.1f} / {p95:.1f} | "
        if theirs:
            t95 = percentile(theirs, 0.95)
            row += f"{statistics.median(theirs):.1f} / {t95:.1f} | {t95 / p95:.1f}× |"
        else:
            row += "(its SQLite copy not built) | |"
        print(row, flush=True)
        q = found["soql"]
        soql.append(f"| {size} | {args.engine} | {statistics.median(q):.1f} / "
                    f"{percentile(q, 0.95):.1f} |")  # fmt: skip
        export = found["export"]
        rate = export["rows"] / export["seconds"]
        exports.append(f"| {size} | {args.engine} | {export['rows']:,} | {rate:,.0f} | "
                       f"{export['peak_mb']:.0f} |")  # fmt: skip
    print(f"\nGoal: CivicStat p95 ≤ {GOAL_MS:.0f} ms and ≥ {GOAL_RATIO:.0f}× Datasette.\n")
    print("| cases | engine | SoQL count(*) by department and month, p50 / p95 ms |\n|---|---|---|")
    print("\n".join(soql))
    print(f"\nGoal: p95 ≤ {GOAL_MS:.0f} ms (the whole history, from the rollups).\n")
    print("| cases | engine | CSV export rows | rows/s | peak RSS MB |\n|---|---|---|---|---|")
    print("\n".join(exports))
    print("\nGoal: ≥ 100,000 rows/s with peak RSS ≤ 300 MB (a whole layer's CSV, streamed).")


if __name__ == "__main__":
    main()
