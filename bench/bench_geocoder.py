"""Place search benchmark: 1,000 queries a resident might type, against the Kansas City demo's
address index (7,882 OpenAddresses points and the 80,203 cases' addresses), beside the search it
replaced (addresses by their first letters, from the cases table, `maps.places`).

The queries are drawn (seed 311) from the demo's own data: addresses as written, in long forms
("East … Street"), with one letter swapped in the street name, without the street type; streets
alone; ZIP codes; neighborhoods and districts; case numbers; and nonsense. For each it records the
time and whether the place meant is among the first three answers. It prints a markdown table per
engine and writes it to bench/README.md. `make bench-geocoder`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
README = ROOT / "bench" / "README.md"
GOAL_P95_MS = 50.0
MARK = "BENCH-GEOCODER "
BEGIN, END = "<!-- bench-geocoder -->", "<!-- /bench-geocoder -->"
LONG = {"E": "East", "W": "West", "N": "North", "S": "South", "ST": "Street", "AVE": "Avenue",
        "BLVD": "Boulevard", "TER": "Terrace", "RD": "Road", "DR": "Drive"}  # fmt: skip


def _queries(rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, query, what must be among the first three answers' names, lower case)."""
    from civicstat.cases.models import Area, Case
    from civicstat.lib.addresses import pretty, street_clean
    from civicstat.places.models import AddressPoint

    points = list(AddressPoint.objects.values_list("number", "street", "postcode"))
    rng.shuffle(points)
    out: list[tuple[str, str, str]] = []
    for number, street, _ in points[:400]:
        street = street_clean(street)
        words = street.split()
        if not words:
            continue
        want = f"{number} {pretty(street)}".lower()
        form = len(out) % 4
        if form == 0:
            query = f"{number} {street}"
        elif form == 1:
            query = f"{number} " + " ".join(LONG.get(w.upper(), w) for w in words)
        elif form == 2:
            name = max(words, key=len)
            if len(name) >= 5:
                at = rng.randrange(len(name) - 1)
                name2 = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
                query = f"{number} {street.replace(name, name2, 1)}"
            else:
                query = f"{number} {street}"
        else:
            query = f"{number} " + " ".join(words[:-1] if len(words) > 1 else words)
        out.append(("address", query, want))
    streets = sorted({street_clean(s) for _, s, _ in points if street_clean(s)})
    for street in rng.sample(streets, min(200, len(streets))):
        out.append(("street", street.title(), pretty(street).lower()))
    zips = sorted({z[:5] for _, _, z in points if re.fullmatch(r"\d{5}", z[:5] or "")})
    for _ in range(100):
        z = rng.choice(zips)
        out.append(("zip", z, z))
    areas = list(Area.objects.values_list("name", flat=True))
    for name in rng.sample(areas, min(100, len(areas))):
        out.append(("area", name, name.lower()))
    ids = list(
        Case.objects.public().filter(lat__isnull=False).values_list("external_id", flat=True)[:5000]
    )
    for case_id in rng.sample(ids, 100):
        out.append(("case", case_id, case_id.lower()))
    for _ in range(100):
        out.append(("nonsense", "".join(rng.choice("qxzjv") for _ in range(8)), ""))
    return out[:1000]


def _found(names: list[str], want: str) -> bool:
    return not want or any(want in name.lower() for name in names[:3])


def run(url: str) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    import django

    django.setup()
    from civicstat.ingest.demo import ADDRESSES_FILE
    from civicstat.maps.places import addresses_starting
    from civicstat.places import geocoder
    from civicstat.places.models import AddressPoint
    from civicstat.places.services import addresses_from_cases, addresses_load

    if not AddressPoint.objects.exists():  # a demo database built before the address index
        addresses_load(path=ADDRESSES_FILE)
        addresses_from_cases()
    started = time.perf_counter()
    geocoder.address_index()
    build_s = time.perf_counter() - started
    queries = _queries(random.Random(311))
    rows: dict[str, Any] = {"queries": len(queries), "build_s": build_s,
                            "points": AddressPoint.objects.count()}  # fmt: skip
    for name, search in (
        ("index", lambda q: [p.name for p in geocoder.places_find(q)]),
        ("cases prefix", lambda q: [a.name for a in addresses_starting(q)]),
    ):
        times: list[float] = []
        found = 0
        by_kind: dict[str, list[int]] = {}
        for kind, query, want in queries:
            t = time.perf_counter()
            names = search(query)
            times.append((time.perf_counter() - t) * 1000)
            hit = _found(names, want)
            found += hit
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += hit
            by_kind[kind][1] += 1
        times.sort()
        rows[name] = {
            "p50": statistics.median(times), "p95": times[int(len(times) * 0.95)],
            "p99": times[int(len(times) * 0.99)], "found": found / len(queries),
            "by_kind": {k: f"{a}/{b}" for k, (a, b) in by_kind.items()},
        }  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(MARK + json.dumps(run(args.child)))
        return
    from bench.dataset import demo_database

    header = (
        "| engine | search | p50 ms | p95 ms | p99 ms | found | addresses | streets | ZIP | "
        "areas | case numbers | goal |"
    )
    lines = [
        f"1,000 queries against the KC demo's address index, {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPUs. Found: the place meant is among the first three answers "
        f"(nonsense: nothing is asked of it). Goal: p95 ≤ {GOAL_P95_MS:g} ms.",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
    ]
    for engine in args.engines.split(","):
        url = demo_database(engine=engine)
        done = subprocess.run(  # noqa: S603 - this script, fixed arguments
            [sys.executable, __file__, "--child", url], cwd=ROOT, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        result = json.loads(next(line for line in done.stdout.splitlines()
                                 if line.startswith(MARK))[len(MARK):])  # fmt: skip
        for name in ("index", "cases prefix"):
            r = result[name]
            k = r["by_kind"]
            goal = ("met" if r["p95"] <= GOAL_P95_MS else "missed") if name == "index" else ""
            lines.append(
                f"| {engine} | {name} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | "
                f"{r['found']:.0%} | {k.get('address')} | {k.get('street')} | {k.get('zip')} | "
                f"{k.get('area')} | {k.get('case')} | {goal} |"
            )
        lines.append(f"| {engine} | (index build, once per data version) | "
                     f"{result['build_s'] * 1000:.0f} ms for {result['points']:,} points | "
                     "| | | | | | | | |")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    text = README.read_text()
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text += f"\n## Place search (`make bench-geocoder`)\n\n{block}\n"
    README.write_text(text)


if __name__ == "__main__":
    main()
