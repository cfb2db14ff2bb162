"""Alert matching benchmark: N radius subscriptions × 2,000 new cases, CivicStat vs FixMyStreet.

CivicStat (`civicstat.alerts.matching.RadiusIndex`): the confirmed radius subscriptions held in an
in-memory h3 index, loaded once per worker (`load index`, reported apart) and asked once per batch
of new cases (`match`). The peer is FixMyStreet's method: for every subscription, one "what is
near this point" query against the same database (here a bounding-box query on the cases'
indexed lat/lon, restricted to the new cases, then the exact distance), as its `send-alerts`
loops over alerts. Both must find the same pairs; the bench checks it on the subscriptions the
peer covers.

The subscriptions are synthetic rows bulk-inserted into a fresh SQLite database (migrated by the
bench): centres uniform over the Kansas City metro (38.85–39.35 N, 94.35–94.75 W), radii 250 m /
500 m / 1 km / 2 km in proportions 4:3:2:1. The 2,000 new cases are written through
`case_upsert`, the import path, uniform over the same box. The database holds only these cases,
which favours the peer (its queries scan less).

    .venv/bin/python bench/bench_alerts.py [--subscriptions 1000000] [--cases 2000]
                                           [--peer-sample 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
BOX = (38.85, 39.35, -94.75, -94.35)
RADII = [250] * 4 + [500] * 3 + [1000] * 2 + [2000]
GOAL_S, GOAL_RATIO = 1.0, 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument(
        "--peer-sample", type=int, default=50_000, help="peer on this many, scaled (0: all)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="civicstat-bench-alerts-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'alerts.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rng = random.Random(311)
    case_ids = make_cases(rng, args.cases)
    make_subscriptions(rng, args.subscriptions)

    from civicstat.alerts.matcher import load_index
    from civicstat.alerts.matching import NewCase
    from civicstat.cases.models import Case

    started = time.perf_counter()
    index = load_index()
    load_s = time.perf_counter() - started
    new = [
        NewCase(case_id=c.id, lat=c.lat or 0.0, lon=c.lon or 0.0, layer_id=c.layer_id,
                service_code="", service_group="", closed=False)
        for c in Case.objects.filter(id__in=case_ids)
    ]  # fmt: skip
    # Wall time and this process's CPU time: on two cores shared with other work, the wall time
    # includes waiting for a core; the CPU time is the work done on one core, which the goal is
    # about. The first batch pays for first touching the arrays; a worker's later batches do not.
    runs = []
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        sub_ids, matched_cases, _ = index.match(new)
        runs.append((time.perf_counter() - started, time.process_time() - cpu))
    (ours_s, ours_cpu), (later_s, later_cpu) = runs[0], min(runs[1:])
    pairs = len(sub_ids)

    sample = args.peer_sample or args.subscriptions
    peer_pairs, peer_s = peer(sample, min(case_ids), max(case_ids))
    scaled = peer_s * args.subscriptions / sample
    ours_set = {(s, c) for s, c in zip(sub_ids.tolist(), matched_cases.tolist(), strict=True)}
    sampled_ids = set(range(1, sample + 1))
    assert {p for p in ours_set if p[0] in sampled_ids} == peer_pairs, "the methods disagree"

    ratio = scaled / ours_s
    peer_label = "FixMyStreet method (one nearby query per subscription)"
    if sample < args.subscriptions:
        peer_label += f", {sample:,} run and scaled ×{args.subscriptions / sample:g}"
    table = "\n".join([
        f"{args.subscriptions:,} radius subscriptions × {args.cases:,} new cases, SQLite, one core "
        f"({datetime.now(UTC):%Y-%m-%d}, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores); {pairs:,} (subscription, case) matches.",
        "",
        "| method | wall time | CPU time (one core) | ratio (wall) |",
        "|---|---:|---:|---:|",
        f"| CivicStat h3 index: match the first batch | {ours_s:.2f} s | {ours_cpu:.2f} s | 1× |",
        f"| CivicStat h3 index: a later batch (best of 4) | {later_s:.2f} s | {later_cpu:.2f} s"
        " | |",
        f"| CivicStat h3 index: load once per worker (not per batch) | {load_s:.2f} s | | |",
        f"| {peer_label} | {scaled:.1f} s | | {ratio:.1f}× slower |",
        "",
        f"Goals: match ≤ {GOAL_S:g} s on one core (first batch, CPU time: "
        f"{'met' if ours_cpu <= GOAL_S else 'NOT met'}); ≥ {GOAL_RATIO:g}× the peer "
        f"({'met' if ratio >= GOAL_RATIO else 'NOT met'}).",
    ])  # fmt: skip
    print(table)
    write_readme(table)


def make_cases(rng: random.Random, count: int) -> list[int]:
    from civicstat.cases.models import Case
    from civicstat.cases.records import CaseRecord
    from civicstat.cases.services import case_upsert, layer_ensure

    layer = layer_ensure(slug="311", name="311 requests", noun="request",
                         statuses={"OPEN": ("open", "Open")})  # fmt: skip
    at = datetime(2026, 11, 20, tzinfo=UTC)
    records = [
        CaseRecord(external_id=f"b{i}", status="OPEN", status_group="open", requested_at=at,
                   lat=rng.uniform(BOX[0], BOX[1]), lon=rng.uniform(BOX[2], BOX[3]))
        for i in range(count)
    ]  # fmt: skip
    case_upsert(layer=layer, records=records)
    return list(Case.objects.values_list("id", flat=True))


def make_subscriptions(rng: random.Random, count: int) -> None:
    """Bulk rows: 1,000 subscriptions per synthetic address, all confirmed."""
    from django.db import connection, transaction

    from civicstat.alerts.matching import center_cell

    now = datetime.now(UTC).isoformat()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO alerts_subscriber (id, email, created_at, bounce_reason)"
            " VALUES (%s, %s, %s, '')",
            [(i, f"bench{i}@example.invalid", now) for i in range(1, count // 1000 + 2)],
        )
        batch = []
        for i in range(1, count + 1):
            lat, lon = rng.uniform(BOX[0], BOX[1]), rng.uniform(BOX[2], BOX[3])
            radius = rng.choice(RADII)
            batch.append((i, i // 1000 + 1, lat, lon, radius, center_cell(lat, lon, radius), now))
            if len(batch) == 50_000 or i == count:
                cursor.executemany(
                    "INSERT INTO alerts_subscription (id, subscriber_id, kind, lat, lon, radius_m,"
                    " center_cell, place, layers, services, service_groups, include_closed,"
                    " frequency, confirmed_at, created_at, changed_at) VALUES (%s, %s, 'radius',"
                    " %s, %s, %s, %s, '', '[]', '[]', '[]', 0, 'instant', %s, %s, %s)",
                    [(*row, row[-1], row[-1]) for row in batch],
                )
                batch = []


def peer(sample: int, first_case: int, last_case: int) -> tuple[set[tuple[int, int]], float]:
    """FixMyStreet's loop: for each subscription, the new cases near it, then exact distance."""
    import math

    from django.db import connection

    from civicstat.lib.geo import haversine_m

    subs = list(
        connection.cursor()
        .execute("SELECT id, lat, lon, radius_m FROM alerts_subscription WHERE id <= %s", [sample])
        .fetchall()
    )
    found: set[tuple[int, int]] = set()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sub_id, lat, lon, radius in subs:
            dlat = math.degrees(radius / 6_371_008.8)
            dlon = dlat / math.cos(math.radians(lat))
            cursor.execute(
                "SELECT id, lat, lon FROM cases_case WHERE lat BETWEEN %s AND %s"
                " AND lon BETWEEN %s AND %s AND id BETWEEN %s AND %s"
                " AND location_approximate = 0",
                [lat - dlat, lat + dlat, lon - dlon, lon + dlon, first_case, last_case],
            )
            for case_id, clat, clon in cursor.fetchall():
                if haversine_m(lat, lon, clat, clon) <= radius:
                    found.add((sub_id, case_id))
    return found, time.perf_counter() - started


def write_readme(table: str) -> None:
    start, end = "<!-- bench-alerts -->", "<!-- /bench-alerts -->"
    section = f"{start}\n## Alert matching (`make bench-alerts`)\n\n{table}\n{end}"
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
