"""Measures benchmark: every computed KC demo measure's full history, from the rollups, beside the
same figures computed by SQL aggregates over the cases table.

For each size (`--sizes 1m,10m`) it opens the shared benchmark database (bench/dataset.py), reads
the demo definitions (demo/kansas-city/measures.yaml) without saving anything, and times
`civicstat.performance.calculations.compute` per measure (best of `--repeat`), then the direct
version: GROUP BY over the cases table through `cases(f)` (count, rate, cumulative), with the
close-time comparison done in SQL (% closed within N days) or the exact durations fetched and the
median taken in Python (median days). It prints a markdown table with the ratio and the largest
difference between the two answers, and writes it to bench/README.md. `make bench-measures`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
README = ROOT / "bench" / "README.md"
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
GOAL_MS = 20.0
MARK = "BENCH-MEASURES "
NOTE = """\
Measures read the rollups: month, quarter and year periods the month tables alone, weeks the day
tables. Counts read a row per month, layer, department, area and status group when the filter
names no request type (`MonthlyPublicCount`), else one per request type too (`MonthlyCaseCount`).
Close times (medians, "% closed within N days") read packed histograms: a month's close-time
histogram in one binary row of (bucket, count) pairs, per request type (`MonthlyCloseHistogram`)
or, when the filter names no request type, per department (`MonthlyPublicCloseHistogram`),
summed by period with NumPy. A bucket row per request type, month and 2 % bucket was what kept
the goal out of reach: a month of one request type spreads over as many buckets as it has cases,
so water leaks' medians read 33 k bucket rows at 1 M cases and hundreds of thousands at 10 M; now
3 k packed rows at either size. The mean per measure is the goal's measure.
The largest difference column compares each answer with the exact one: counts and rates are
identical; "% closed within" differs by the cases within 2 % under the limit (the histogram bucket
edge); medians by less than 2 %."""
BEGIN, END = "<!-- bench-measures -->", "<!-- /bench-measures -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m", help="comma-separated: 1m, 10m")
    parser.add_argument("--engine", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, url = args.child
        print(MARK + json.dumps(run_size(size, url, args.engine, args.repeat)))
        return
    from bench.dataset import bench_database

    sections = []
    for size in args.sizes.split(","):
        url = bench_database(count=SIZES[size], engine=args.engine)
        # A process per size: Django reads DATABASE_URL once, at set-up, so a second size in the
        # same process would time the first size's database again.
        done = subprocess.run(  # noqa: S603 - this script, fixed arguments
            [sys.executable, __file__, "--child", size, url, "--engine", args.engine,
             "--repeat", str(args.repeat)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        line = next(x for x in done.stdout.splitlines() if x.startswith(MARK))
        sections.append(json.loads(line[len(MARK) :]))
    text = "\n\n".join(sections)
    print(text)
    write_readme(text)


def run_size(size: str, url: str, engine: str, repeat: int) -> str:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    import django

    django.setup()
    import yaml

    from civicstat.performance.calculations import compute
    from civicstat.performance.demo import MEASURES_FILE
    from civicstat.performance.models import Measure
    from civicstat.performance.portable import MEASURE_FIELDS

    data = yaml.safe_load(MEASURES_FILE.read_text(encoding="utf-8"))
    measures = []
    for area in data["priority_areas"]:
        for goal in area["goals"]:
            for m in goal["measures"]:
                if m["calculation"] == "manual":
                    continue
                fields = {k: v for k, v in m.items() if k in MEASURE_FIELDS}
                if isinstance(fields.get("start_date"), str):
                    fields["start_date"] = date.fromisoformat(fields["start_date"])
                measures.append(Measure(slug=m["slug"], **fields))
    rows = []
    for measure in measures:
        fast, points = best(repeat, compute, measure)
        got = {p.period.start: p.value for p in points}
        slow, direct = best(repeat, compute_direct, measure, points)
        diff, worst = max(
            ((abs((got[k] or 0) - (v or 0)), k) for k, v in direct.items() if k in got),
            default=(0.0, None),
        )
        rows.append((measure, len(got), fast, slow, f"{diff:.3g} ({worst})" if diff else "0"))
    mean = statistics.mean(r[2] for r in rows)
    lines = [
        f"### Measures, {size} cases, {engine}",
        "",
        f"Full history of each computed KC demo measure; best of {repeat}. Goal: ≤ {GOAL_MS:.0f} ms"
        f" per measure from rollups. Mean {mean:.1f} ms per measure"
        f" ({'met' if mean <= GOAL_MS else 'NOT met'}).",
        "",
        "| measure | calculation | periods | rollups ms | cases-table SQL ms | ratio |"
        " largest difference (period) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for m, n, fast, slow, diff in rows:
        lines.append(f"| {m.slug} | {m.calculation} | {n} | {fast:.1f} | {slow:.1f} |"
                     f" {slow / fast:.1f}× | {diff} |")  # fmt: skip
    return "\n".join(lines)


def best(repeat: int, fn: Any, *args: Any) -> tuple[float, Any]:
    """The fastest of `repeat` runs in ms, and the answer."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append((time.perf_counter() - start) * 1000)
    return min(times), result


def compute_direct(measure: Any, periods_from: list[Any]) -> dict[date, float | None]:
    """The same figures by aggregating the cases table (what a page would do without rollups)."""
    from django.db.models import Count, F, Q

    from civicstat.cases.query import cases
    from civicstat.lib.periods import period_of
    from civicstat.performance.calculations import measure_filter

    periods = [p.period for p in periods_from]
    if not periods:
        return {}
    first, last = periods[0].start, periods[-1].last_day
    kind, month = measure.period, measure.fiscal_start

    def start_of(day: date) -> date:
        return period_of(day, kind, month).start

    def opened(filters: dict[str, Any]) -> dict[date, int]:
        f = measure_filter(filters)
        f.requested_from, f.requested_to = first, last
        out: dict[date, int] = defaultdict(int)
        for row in cases(f).values("requested_day").annotate(n=Count("id")).order_by():
            out[start_of(row["requested_day"])] += row["n"]
        return out

    calc = measure.calculation
    if calc in ("count", "cumulative"):
        counts = opened(measure.filters)
        if calc == "count":
            return {p.start: float(counts.get(p.start, 0)) for p in periods}
        running, result = 0.0, dict[date, float | None]()
        for p in periods:
            running += counts.get(p.start, 0)
            result[p.start] = running
        return result
    if calc == "rate":
        num, den = opened(measure.filters), opened(measure.denominator_filters)
        scale = 100.0 if measure.unit == "percent" else 1.0
        return {p.start: scale * num.get(p.start, 0) / den[p.start] if den.get(p.start) else None
                for p in periods}  # fmt: skip
    f = measure_filter(measure.filters)
    closed = cases(f).filter(closed_day__gte=first, closed_day__lte=last, closed_at__isnull=False)
    closed = closed.annotate(took=F("closed_at") - F("requested_at"))
    if calc == "closed_within":
        within: dict[date, int] = defaultdict(int)
        total: dict[date, int] = defaultdict(int)
        if measure.target_days:
            limit = timedelta(days=measure.target_days)
            grouped = closed.values("closed_day").annotate(
                n=Count("id"), w=Count("id", filter=Q(took__lte=limit))
            )
        else:  # each case against its own target, as ingest judged it; those with none left out
            grouped = closed.values("closed_day").annotate(
                n=Count("id", filter=Q(within_target__isnull=False)),
                w=Count("id", filter=Q(within_target=True)),
            )
        for row in grouped.order_by():
            start = start_of(row["closed_day"])  # type: ignore[arg-type]  # filtered non-null
            total[start] += row["n"]
            within[start] += row["w"]
        return {p.start: 100.0 * within[p.start] / total[p.start] if total.get(p.start) else None
                for p in periods}  # fmt: skip
    durations: dict[date, list[float]] = defaultdict(list)
    for day, took in closed.values_list("closed_day", "took"):
        assert day is not None
        durations[start_of(day)].append(max(0.0, took.total_seconds()) / 86400)
    return {p.start: statistics.median(durations[p.start]) if durations.get(p.start) else None
            for p in periods}  # fmt: skip


def write_readme(text: str) -> None:
    """Replace this benchmark's section of bench/README.md: the tables just measured replace
    theirs (known by size and engine); tables of sizes or engines not run this time, and the
    paragraphs written by hand after the note (the runs' circumstances), stay."""
    old = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    kept, notes = {}, ""
    if BEGIN in old and END in old:
        section = old[old.index(BEGIN) : old.index(END)]
        head, *tables = section.split("\n### ")
        kept = {t.split("\n", 1)[0]: "### " + t.strip() for t in tables}
        written = head.split(NOTE, 1)[1] if NOTE in head else ""
        notes = "".join(part.strip() + "\n\n" for part in written.split("\n\n") if part.strip())
    for table in text.split("\n\n### "):
        table = table.strip().removeprefix("### ")
        kept[table.split("\n", 1)[0]] = "### " + table
    body = "\n\n".join(kept.values())
    block = f"{BEGIN}\n## Measures (`make bench-measures`)\n\n{NOTE}\n\n{notes}{body}\n{END}"
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
