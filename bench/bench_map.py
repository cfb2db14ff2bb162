"""Map benchmark: viewport cluster queries at zooms 10–16, and the department comparison.

For each size and engine, a child process of this script (`--child URL`) opens the shared
benchmark database (`bench/dataset.py`), migrates it (the maps tables), rebuilds the cell rollup
if it is empty (databases built before the rollup existed), then times, over 20 random viewports
of a 1280×900 screen centred on random located cases, at every zoom from 10 to 16:

- `civicstat`: `clusters.view()`, what `/map/view.json` answers (clusters from the cell rollup, or
  points once a viewport holds few cases), with no filter;
- `civicstat, department`: the same with the busiest department as a filter (still the rollup);
- `civicstat, last 365 days`: a date filter, from the dated cell tables (`civicstat.maps.timed`);
- the filtered maps (`FILTERED`: last 7, 30, 90 and 365 days before the data's last day, the
  busiest council district and neighborhood), from the dated and per-area cell tables, over all
  zooms, against their goal (p95 ≤ 50 ms), beside the same filters answered from the cases table
  (`clusters_from_cases`, as before those tables; timed on the baseline's viewports only);
- `baseline`: the plain way with no PostGIS here: `GROUP BY` rounded coordinates of the cases in
  the viewport, in the same database, same viewports, no filter.

And the department comparison (`departments_compare`) over the whole history, from the rollups,
uncached, 40 calls. Sizes: `kc` is the Kansas City demo (80 k real requests; the comparison's goal,
≤ 20 ms, is set on it), `1m` and `10m` generated cases. `make bench-map` runs `kc,1m`
(`SIZES=kc,1m,10m` for more); results go to bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# "kc" is the Kansas City demo itself (80 k real requests), where the department comparison's goal
# is set; the others are generated cases.
SIZES = {"kc": 0, "1m": 1_000_000, "10m": 10_000_000}
COMPARE_RUNS = 40
COMPARE_GOAL_MS = 20
ENGINES = ("sqlite", "postgresql")
ZOOMS = range(10, 17)
VIEWPORTS = 20
WIDTH, HEIGHT = 1280, 900
MARK = "BENCH-RESULT "
README = ROOT / "bench" / "README.md"
SECTION = "## Map clusters and department comparison"
FILTER_GOAL_MS = 50
FILTERED = ("last 7 days", "last 30 days", "last 90 days", "last 365 days", "a council district",
            "a neighborhood")  # fmt: skip


def bbox_at(lat: float, lon: float, zoom: int) -> tuple[float, float, float, float]:
    """The viewport of a WIDTH×HEIGHT web-mercator map at `zoom` centred on (lat, lon)."""
    degrees_per_px = 360 / (256 * 2**zoom)
    half_w = WIDTH / 2 * degrees_per_px
    half_h = HEIGHT / 2 * degrees_per_px * math.cos(math.radians(lat))
    return (lon - half_w, lat - half_h, lon + half_w, lat + half_h)


def _timed(fn: Any, runs: list[float]) -> Any:
    started = time.perf_counter()
    out = fn()
    runs.append((time.perf_counter() - started) * 1000)
    return out


def child(url: str, viewports: int, baseline_viewports: int) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    import django

    django.setup()
    from dataclasses import replace
    from datetime import timedelta

    from django.core.management import call_command
    from django.db.models import Count, Max, Sum

    from civicstat.cases.models import Area, Case, Department
    from civicstat.cases.query import CaseFilter
    from civicstat.maps import cells, clusters
    from civicstat.maps.departments import departments_compare, window_for
    from civicstat.maps.models import MapCell, MapCellArea

    call_command("migrate", "--noinput", verbosity=0)
    postgis = postgis_points()
    rebuilt = None
    if not MapCell.objects.exists():
        started = time.perf_counter()
        cells.rebuild()
        rebuilt = time.perf_counter() - started
    rng = random.Random(311)
    top = Case.objects.aggregate(m=Max("id"))["m"]
    centres: list[tuple[float, float]] = []
    while len(centres) < viewports:
        row = (
            Case.objects.filter(id__gte=rng.randint(1, top), h3_cell__isnull=False)
            .order_by("id")
            .values_list("lat", "lon")
            .first()
        )
        if row and row[0] is not None and row[1] is not None:
            centres.append((row[0], row[1]))
    dept = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
    assert dept is not None
    latest = Case.objects.aggregate(d=Max("requested_day"))["d"]
    variants = {
        "civicstat": CaseFilter(),
        "civicstat, department": CaseFilter(departments=[dept.slug]),
        "civicstat, last 365 days": CaseFilter(requested_from=latest - timedelta(days=364)),
    }
    # The filtered maps: "last N days" before the data's last day (what `?days=N` asks on the
    # day the data ends), and the areas holding the most located cases of each kind.
    filtered = {f"last {n} days": CaseFilter(requested_from=latest - timedelta(days=n - 1))
                for n in (7, 30, 90, 365)}  # fmt: skip
    for kind, name in (
        ("council-district", "a council district"),
        ("neighborhood", "a neighborhood"),
    ):
        busiest = (MapCellArea.objects.filter(res=5, area_id__in=Area.objects.filter(kind=kind))
                   .values("area_id").annotate(n=Sum("count")).order_by("-n").first())  # fmt: skip
        if busiest:
            filtered[name] = CaseFilter(areas=[busiest["area_id"]])
    for base in filtered.values():
        clusters.view(replace(base, bbox=bbox_at(*centres[0], 13)))
    for base in variants.values():  # connections, caches and the service list warm once
        clusters.view(replace(base, bbox=bbox_at(*centres[0], 13)))
    timings: dict[str, dict[int, list[float]]] = {}
    kinds: dict[int, dict[str, int]] = {}
    for zoom in ZOOMS:
        for i, (lat, lon) in enumerate(centres):
            box = bbox_at(lat, lon, zoom)
            for name, base in variants.items():
                f = replace(base, bbox=box)
                answer = _timed(
                    lambda f=f: clusters.view(f), timings.setdefault(name, {}).setdefault(zoom, [])
                )
                if name == "civicstat":
                    kinds.setdefault(zoom, {}).setdefault(answer.kind, 0)
                    kinds[zoom][answer.kind] += 1
            for name, base in filtered.items():
                f = replace(base, bbox=box)
                _timed(
                    lambda f=f: clusters.view(f), timings.setdefault(name, {}).setdefault(zoom, [])
                )
            if i >= baseline_viewports:
                continue  # the baseline scans the cases: at 10 M, seconds a viewport
            for name, base in filtered.items():
                # The same filter from the cases table, as the map answered it before the tables.
                f = replace(base, bbox=box)
                runs = timings.setdefault(f"cases, {name}", {}).setdefault(zoom, [])
                with mock.patch.object(clusters, "timed_can_answer", return_value=False):
                    _timed(lambda f=f: clusters.view(f), runs)
            f = CaseFilter(bbox=box)
            res = clusters.resolution_for(box)
            baseline = (
                (lambda box=box, res=res: postgis_clusters(box, res))
                if postgis
                else (lambda f=f, res=res: clusters.baseline_clusters(f, res))
            )
            _timed(baseline, timings.setdefault("baseline", {}).setdefault(zoom, []))
    compare_runs: list[float] = []
    window = window_for("all")
    for _ in range(COMPARE_RUNS):
        _timed(lambda: departments_compare(window), compare_runs)
    print(MARK + json.dumps({
        "postgis": postgis,
        "cases": Case.objects.count(), "cells": MapCell.objects.count(), "rebuilt_s": rebuilt,
        "timings": timings, "kinds": kinds, "departments_ms": compare_runs,
        "departments": Department.objects.count(), "filtered": list(filtered),
        "timed_rows": timed_rows(),
    }))  # fmt: skip


def timed_rows() -> dict[str, int]:
    """The rows of the dated and per-area cell tables (`civicstat.maps.timed`)."""
    from civicstat.maps.models import MapCellArea, MapCellDay, MapCellMonth

    return {m.__name__: m.objects.count() for m in (MapCellMonth, MapCellDay, MapCellArea)}


# The PostGIS way, where PostGIS is installed (PostgreSQL only): the same located cases as
# points in a geometry column with a GiST index, in a table of the benchmark's own
# (`bench_points`, built once per database), grouped with ST_SnapToGrid on a grid about as fine
# as the h3 cells CivicStat answers with at that zoom.
GRID_DEGREES = {5: 0.1, 6: 0.05, 7: 0.02, 8: 0.01, 9: 0.004}


def postgis_points() -> bool:
    """Whether the PostGIS baseline can run here; builds its points table the first time."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cursor.execute("SELECT to_regclass('bench_points')")
            if cursor.fetchone()[0] is None:
                cursor.execute(
                    "CREATE TABLE bench_points AS SELECT id, status_group,"
                    " ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom FROM cases_case"
                    " WHERE h3_cell IS NOT NULL AND NOT location_approximate"
                )
                cursor.execute("CREATE INDEX bench_points_geom ON bench_points USING gist (geom)")
                cursor.execute("ANALYZE bench_points")
    except Exception as error:  # noqa: BLE001 - no PostGIS: fall back to the plain baseline
        print(f"PostGIS baseline unavailable ({error}); using GROUP BY of rounded coordinates",
              file=sys.stderr)  # fmt: skip
        return False
    return True


def postgis_clusters(box: tuple[float, float, float, float], res: int) -> list[Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_SnapToGrid(geom, %s) AS g, COUNT(*), SUM(ST_Y(geom)), SUM(ST_X(geom)),"
            " SUM(CASE WHEN status_group = 'open' THEN 1 ELSE 0 END) FROM bench_points"
            " WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) GROUP BY g",
            [GRID_DEGREES[res], *box],
        )
        rows: list[Any] = cursor.fetchall()
    return rows


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _p50_p95(values: list[float]) -> str:
    return f"{_p(values, 0.5):.1f} / {_p(values, 0.95):.1f}"


def _compare_goal(size: str, result: dict[str, Any]) -> str:
    """The goal (≤ 20 ms over the full KC history) is set on the KC demo: say there if it is met."""
    if size != "kc":
        return ""
    met = statistics.median(result["departments_ms"]) <= COMPARE_GOAL_MS
    return f" (goal ≤ {COMPARE_GOAL_MS} ms: {'met' if met else 'NOT met'})"


def _label(size: str) -> str:
    return "Kansas City demo" if size == "kc" else f"{size} cases"


def table(
    engine: str, size: str, result: dict[str, Any], viewports: int, baseline_viewports: int
) -> str:
    t = result["timings"]
    sampled = (
        f" (baseline on the first {baseline_viewports})" if baseline_viewports < viewports else ""
    )
    lines = [
        f"### {_label(size)} ({result['cases']:,}), {engine},"
        f" {viewports} viewports a zoom{sampled}",
        "",
        f"{result['cells']:,} map cell rows"
        + (f"; rollup rebuilt in {result['rebuilt_s']:.0f} s" if result["rebuilt_s"] else ""),
        "",
        "| zoom | answer | civicstat p50 / p95 ms | + department | + last 365 days"
        f" | baseline {'PostGIS ST_SnapToGrid' if result.get('postgis') else 'GROUP BY'}"
        " | baseline ÷ civicstat (p95) |",
        "|---|---|---|---|---|---|---|",
    ]
    names = ("civicstat", "civicstat, department", "civicstat, last 365 days", "baseline")
    for zoom in ZOOMS:
        z = str(zoom)
        ours, dept, dated, base = (t[k][z] for k in names)
        answer = ", ".join(f"{n} {k}" for k, n in sorted(result["kinds"][z].items()))
        cells_ = " | ".join(_p50_p95(v) for v in (ours, dept, dated, base))
        ratio = _p(base, 0.95) / _p(ours, 0.95)
        lines.append(f"| {zoom} | {answer} | {cells_} | {ratio:.1f}× |")
    everything = [v for z in ZOOMS for v in t["civicstat"][str(z)]]
    baseline = [v for z in ZOOMS for v in t["baseline"][str(z)]]
    lines += [
        "",
        f"All zooms: civicstat p95 {_p(everything, 0.95):.1f} ms, baseline p95"
        f" {_p(baseline, 0.95):.1f} ms ({_p(baseline, 0.95) / _p(everything, 0.95):.1f}×).",
        f"Department comparison, {result['departments']} departments, whole history, uncached,"
        f" {len(result['departments_ms'])} calls: median"
        f" {statistics.median(result['departments_ms']):.1f} ms,"
        f" p95 {_p(result['departments_ms'], 0.95):.1f} ms,"
        f" max {max(result['departments_ms']):.1f} ms" + _compare_goal(size, result) + ".",
        "",
        *_filtered_table(result),
    ]
    return "\n".join(lines)


def _filtered_table(result: dict[str, Any]) -> list[str]:
    """The filtered maps over all zooms against their goal, beside the cases-table figures."""
    t = result["timings"]
    names = [n for n in result.get("filtered", []) if n in t]
    if not names:
        return []
    rows = ", ".join(f"{n} {k}" for k, n in result.get("timed_rows", {}).items())
    lines = [
        f"Filtered maps (goal p95 ≤ {FILTER_GOAL_MS} ms), all zooms, from the dated and per-area"
        f" cell tables ({rows} rows), beside the same filters answered from the cases table:",
        "",
        "| filter | civicstat p50 / p95 ms | worst zoom p95 | goal | cases table p50 / p95 ms |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        ours = [v for z in ZOOMS for v in t[name][str(z)]]
        worst = max(_p(t[name][str(z)], 0.95) for z in ZOOMS)
        met = "met" if _p(ours, 0.95) <= FILTER_GOAL_MS else "NOT met"
        cases = [v for z in ZOOMS for v in t.get(f"cases, {name}", {}).get(str(z), [])]
        before = _p50_p95(cases) if cases else "–"
        lines.append(f"| {name} | {_p50_p95(ours)} | {worst:.1f} | {met} | {before} |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="kc,1m", help="comma-separated: kc,1m,10m")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--viewports", type=int, default=VIEWPORTS, help="random viewports a zoom")
    parser.add_argument("--baseline-viewports", type=int, default=0,
                        help="time the baseline on only this many of them (0: all)")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sample = min(args.baseline_viewports or args.viewports, args.viewports)
    if args.child:
        child(args.child, args.viewports, sample)
        return
    from bench.dataset import bench_database, demo_database

    sections = []
    for size in args.sizes.split(","):
        for engine in args.engines.split(","):
            url = (
                demo_database(engine=engine)
                if size == "kc"
                else bench_database(count=SIZES[size], engine=engine)
            )
            done = subprocess.run(  # noqa: S603 - this script, fixed arguments
                [sys.executable, __file__, "--child", url, "--viewports", str(args.viewports),
                 "--baseline-viewports", str(sample)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            line = next(x for x in done.stdout.splitlines() if x.startswith(MARK))
            result = json.loads(line[len(MARK) :])
            section = table(engine, size, result, args.viewports, sample)
            print(section, flush=True)
            sections.append(section)
    _write(sections)


def _table_key(table: str) -> str:
    """ "1m cases (1,000,000), sqlite" from a table's heading line."""
    return re.sub(r", \d+ viewports.*$", "", table.split("\n", 1)[0])


def _write(sections: list[str]) -> None:
    """Update this benchmark's section of bench/README.md: the tables just measured replace
    theirs, tables of sizes or engines not run this time stay."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    end = text.find("\n## ", start + len(SECTION)) if start != -1 else -1
    old = text[start:end] if end != -1 else text[start:] if start != -1 else ""
    # A table is known by its size and engine: a new run replaces it, whatever its viewports.
    tables = {_table_key(t): "### " + t for t in old.split("\n### ")[1:]}
    tables.update({_table_key(t.removeprefix("### ")): t for t in sections})
    # Paragraphs written by hand between the intro and the first table (the summary) stay.
    head = old.split("\n### ", 1)[0]
    notes = "".join(
        part.strip() + "\n\n"
        for part in head.split("\n\n")[1:]
        if part.strip() and not part.startswith("`make bench-map`")
    )
    body = (
        f"{SECTION}\n\n`make bench-map` (bench/bench_map.py): viewport queries over random"
        " viewports (20 a zoom unless the table says otherwise) of a 1280×900 map. The baseline"
        " on PostgreSQL, where PostGIS is installed, is PostGIS's way: the same points in a"
        " geometry column with a GiST index, grouped with `ST_SnapToGrid`; on SQLite (and on"
        " PostgreSQL without PostGIS) a plain `GROUP BY` of rounded coordinates over the same"
        " cases in the same database.\n\n"
        + notes
        + "\n".join(t.rstrip("\n") + "\n" for _, t in sorted(tables.items()))
    )
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        text = text[:start] + body + (text[end:] if end != -1 else "")
    README.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
