"""Load benchmark: every public page and API answer under 64 connections, on SQLite and PostgreSQL.

The Kansas City demo (`bench/dataset.py`'s `demo_database`: built once per engine, then reused) is
served by granian as deployed (`python -m civicstat.server`: WEB_WORKERS=2 processes of
WEB_THREADS=2 threads, DEBUG off, a SECRET_KEY made for the run, the in-process response cache).
One representative URL per kind of page or answer is asked once per worker to warm it, then
loaded by wrk (C, one thread, 64 connections each sending its next request as soon as the last is
answered) for `--seconds`. Every request says `Accept-Encoding: gzip` and carries no cookie, as a
new visitor's browser: form pages make a CSRF secret for each.

The table per engine gives requests/s, p50/p95/p99 latency, errors (HTTP statuses of 400 and
above, and socket errors) and whether the goal is met: ≥ 1,000 requests/s with p99 ≤ 100 ms.
After the PostgreSQL run the server log's new lines about dropped client connections ("connection
reset", "could not receive data from client", "unexpected EOF") are printed, marked when they
come from one of the run's own backends. `make bench-load` runs it (and installs wrk); results go
to bench/README.md ("## Load").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_open311 import free_port, wait_up  # noqa: E402
from bench.dataset import demo_database, psql  # noqa: E402

README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- bench-load -->", "<!-- /bench-load -->"
GOAL_RPS, GOAL_P99_MS = 1000, 100
PG_LOG = Path("/var/log/postgresql")
DROPPED = re.compile(r"connection reset|could not receive data from client|unexpected EOF", re.I)
# A 1280×900 map: the whole city (zoom ~11) and a few streets downtown (zoom ~15).
CITY_BBOX = "-94.77,38.84,-94.38,39.36"
STREETS_BBOX = "-94.6061,39.0847,-94.5511,39.1147"

NOTE = """\
How to read it: 64 connections each send their next request as soon as the last is answered, so
latency is mostly the queue: by Little's law the mean wait is 64 ÷ throughput, 64 ms at 1,000 a
second, so p99 ≤ 100 ms needs about 1,300 answers a second or more from two cores that also run
wrk. Every answer here is a page cache hit (`PageCacheMiddleware`): the data-version query, a cache
read, the per-answer nonce or CSRF token, and the middleware's own headers. Form pages (the map,
the case page, the alerts page) make a CSRF secret for each request, since wrk sends no cookie: a
new visitor each time, the dearest case. A PostgreSQL line about a dropped client connection at
the server's stop came from kept connections (`CONN_MAX_AGE`) left open by granian workers, which
leave through `os._exit`; `civicstat/wsgi.py` now closes them on the way out."""

# What the URLs name, read from the demo database: a case, a department, a measure and its goal.
PICK = """
import json
from django.db.models import Count
from civicstat.cases.models import Department
from civicstat.cases.query import CaseFilter, cases
from civicstat.performance.models import Measure
case = (cases(CaseFilter()).select_related("layer").exclude(address="")
        .order_by("-requested_at").first())
department = Department.objects.annotate(n=Count("cases")).order_by("-n").first()
measure = (Measure.objects.published().select_related("goal__area")
           .annotate(n=Count("values")).filter(n__gt=0).order_by("goal__area__position",
           "goal__position", "position").first())
print("PICK " + json.dumps({
    "case": case.get_absolute_url(), "request_id": case.external_id,
    "street": " ".join(case.address.split()[:2]), "department": department.slug,
    "area": measure.goal.area.slug, "goal": measure.goal.slug, "measure": measure.slug,
}))
"""


def endpoints(p: dict[str, str]) -> list[tuple[str, str]]:
    m = f"/performance/measures/{p['measure']}"
    return [
        ("Home", "/"),
        ("Map", "/map"),
        ("Map list", "/map/list"),
        ("Map view.json, city", f"/map/view.json?bbox={CITY_BBOX}"),
        ("Map view.json, streets", f"/map/view.json?bbox={STREETS_BBOX}"),
        ("Place search", f"/map/places.json?q={p['street'].replace(' ', '+')}"),
        ("Case page", p["case"]),
        ("Departments", "/departments"),
        ("Department page", f"/departments/{p['department']}"),
        ("Performance", "/performance"),
        ("Priority area", f"/performance/areas/{p['area']}/"),
        ("Goal", f"/performance/areas/{p['area']}/{p['goal']}/"),
        ("Measure", f"{m}/"),
        ("Measure CSV", f"{m}.csv"),
        ("Measure JSON", f"{m}.json"),
        ("Embed card", f"{m}/embed/card/"),
        ("Embed chart", f"{m}/embed/chart/"),
        ("Embed map", "/embed/map?status=open&list=1"),
        ("Alerts", "/alerts"),
        ("Alerts feed, Atom", "/alerts/feed?status=open"),
        ("Alerts feed, RSS", "/alerts/feed.rss?status=open"),
        ("Open311 discovery", "/open311/v2/discovery.json"),
        ("Open311 services", "/open311/v2/services.json"),
        ("Open311 requests", "/open311/v2/requests.json"),
        ("Open311 request", f"/open311/v2/requests/{p['request_id']}.json"),
    ]


# wrk's Lua hook: one line with what the table needs (latencies are in microseconds).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %f %f %f\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def load(url: str, clients: int, seconds: int, script: str) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: `make bench-load` installs it (apt install wrk)")
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
         "-H", "Accept-Encoding: gzip", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    count, micros, status, sockets, p50, p95, p99 = (float(v) for v in line.split()[1:])
    return {"n": count, "rps": count / (micros / 1e6), "errors": status + sockets,
            "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000}  # fmt: skip


def warm(url: str) -> None:
    """One request on each of 8 connections at once, so every worker fills its own cache."""

    def one(_: int) -> int:
        with httpx.Client(headers={"Accept-Encoding": "gzip"}, timeout=120) as client:
            return client.get(url).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = set(pool.map(one, range(8)))
    if statuses != {200}:
        raise SystemExit(f"{url} answered {statuses}, not 200: fix the page before timing it")


def picks(db_url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "civicstat.settings"}
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "shell", "-c", PICK], cwd=ROOT, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("PICK "))
    found: dict[str, str] = json.loads(line.removeprefix("PICK "))
    return found


def backends(database: str) -> set[str]:
    return set(psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'").split())


def run(engine: str, clients: int, seconds: int, only: str) -> dict[str, Any]:
    db_url = demo_database(engine=engine)
    chosen = picks(db_url)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "False", "ALLOWED_HOSTS": "127.0.0.1",
           "SECRET_KEY": secrets.token_urlsafe(50), "WEB_WORKERS": "2",
           "WEB_THREADS": "2"}  # fmt: skip
    for name in ("REDIS_URL", "RESPONSE_CACHE_MAX_BYTES", "RESPONSE_CACHE_ENTRIES", "HTTPS"):
        env.pop(name, None)  # as deployed by default: the in-process cache
    database = db_url.rsplit("/", 1)[-1]
    logs = sorted(PG_LOG.glob("postgresql-*.log")) if engine == "postgresql" else []
    log_start = logs[-1].stat().st_size if logs else 0
    pids: set[str] = set()
    windows: list[tuple[str, float, float]] = []  # each endpoint's load, from and to
    server = subprocess.Popen(  # noqa: S603 - our own server
        [sys.executable, "-m", "civicstat.server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env,
    )  # fmt: skip
    rows = []
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/open311/v2/discovery.json")
        for name, path in endpoints(chosen):
            if only and only.lower() not in name.lower():
                continue
            warm(base + path)
            began = time.time()
            result = load(base + path, clients, seconds, script.name)
            windows.append((name, began, time.time()))
            if engine == "postgresql":
                pids |= backends(database)
            print(f"{engine} {name}: {result['rps']:.0f}/s, p99 {result['p99']:.1f} ms,"
                  f" {result['errors']:.0f} errors", flush=True)  # fmt: skip
            rows.append({"name": name, "path": path, **result})
    finally:
        os.unlink(script.name)
        stopped = time.time()
        server.terminate()
        server.wait(timeout=60)
    dropped: list[str] = []
    if logs:
        time.sleep(1)  # the backends log as they notice their clients gone
        with logs[-1].open(encoding="utf-8", errors="replace") as log:
            log.seek(log_start)
            for line in log:
                pid = re.search(r"\[(\d+)\]", line)
                if DROPPED.search(line) and (database in line or (pid and pid[1] in pids)):
                    dropped.append(line.rstrip() + _when(line, pids, windows, stopped))
    return {"engine": engine, "rows": rows, "dropped": dropped, "backends": len(pids)}


def _when(line: str, pids: set[str], windows: list[tuple[str, float, float]], stop: float) -> str:
    """Whose backend logged the line, and what the run was doing then."""
    pid = re.search(r"\[(\d+)\]", line)
    whose = "this run's backend" if pid and pid[1] in pids else "another client's backend"
    stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC", line)
    if stamp is None:
        return f" ({whose})"
    at = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    doing = next((f"during {n}" for n, a, b in windows if a <= at <= b), "between loads")
    if at >= stop:
        doing = f"{at - stop:.1f} s after the server was told to stop"
    return f" ({whose}, {doing})"


def table(result: dict[str, Any], clients: int, seconds: int) -> list[str]:
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[result["engine"]]
    met = sum(_met(r) for r in result["rows"])
    lines = [f"### {title}", "",
             f"Goal met by {met} of {len(result['rows'])} endpoints.", "",
             "| endpoint | URL | req/s | p50 ms | p95 ms | p99 ms | errors | goal met |",
             "|---|---|--:|--:|--:|--:|--:|---|"]  # fmt: skip
    for r in result["rows"]:
        path = r["path"] if len(r["path"]) <= 60 else r["path"][:57] + "…"
        lines.append(f"| {r['name']} | `{path}` | {r['rps']:,.0f} | {r['p50']:.1f}"
                     f" | {r['p95']:.1f} | {r['p99']:.1f} | {r['errors']:.0f}"
                     f" | {'yes' if _met(r) else 'no'} |")  # fmt: skip
    if result["engine"] == "postgresql":
        lines += ["", f"PostgreSQL server log during the run ({result['backends']} backends of "
                  "the run's own): " + (f"{len(result['dropped'])} lines about dropped client "
                  "connections." if result["dropped"] else "no line about a dropped client "
                  "connection.")]  # fmt: skip
    return lines


def _met(r: dict[str, float]) -> bool:
    return r["rps"] >= GOAL_RPS and r["p99"] <= GOAL_P99_MS and not r["errors"]


def write_readme(text: str) -> None:
    """Replace this benchmark's section of bench/README.md (or add it at the end)."""
    old = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    section = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        new = head + section + rest.partition(END)[2]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15, help="length of each timed run")
    parser.add_argument("--only", default="", help="only endpoints whose name holds this")
    parser.add_argument("--no-readme", action="store_true", help="print, do not write README")
    args = parser.parse_args()
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = [run(e, args.clients, args.seconds, args.only) for e in args.engines.split(",")]
    lines = ["## Load (`make bench-load`)", "",
             f"The Kansas City demo (80 k cases) served by `python -m civicstat.server` (granian, "
             f"WEB_WORKERS=2, WEB_THREADS=2, DEBUG off, in-process response cache), each URL warmed"
             f" and then loaded by wrk with {args.clients} connections for {args.seconds} s, "
             f"`Accept-Encoding: gzip`, no cookies. {os.cpu_count()} CPUs shared with wrk (load "
             f"average before the run {load_avg}), Python {platform.python_version()}, {started}."
             f" Goal: ≥ {GOAL_RPS:,} requests/s with p99 ≤ {GOAL_P99_MS} ms and no errors.",
             ""]  # fmt: skip
    for result in results:
        lines += [*table(result, args.clients, args.seconds), ""]
    text = "\n".join([*lines, NOTE])
    print(text)
    for result in results:
        for line in result["dropped"]:
            print(line)
    if not args.no_readme and not args.only:
        write_readme(text)


if __name__ == "__main__":
    main()
