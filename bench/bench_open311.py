"""Open311 benchmark: `requests.json` with filters that return 1,000 of 1 M cases, under 64 clients.

CivicStat is served by granian as `make serve` runs it (`python -m civicstat.server`: 2 worker
processes of 2 Python threads, HTTP handled in Rust, connections kept open) from the shared
benchmark database (`bench/dataset.py`), once as deployed (a repeat of a query is served from the
response cache until the data changes) and once with that cache off, so every request reads the
cases as the baseline does. The baseline is the same query in a minimal FastAPI app
(`bench/open311_baseline.py`) under uvicorn with 2 workers.

The load comes from wrk (C, one thread, 64 connections each sending its next request as soon as
the last is answered, for `--seconds`), so that the clients' own work does not eat the cores the
servers run on: with 64 Python (httpx) clients the client was the bottleneck. Every request says
`Accept-Encoding: gzip`, as browsers and HTTP libraries do; the baseline gets Starlette's
`GZipMiddleware`, FastAPI's documented way to compress, and CivicStat is measured once more with
clients that do not ask for gzip. Both answers are checked to hold the same 1,000 request ids
before timing. The table gives requests/s and p50/p95/p99 latency, and the ratio of CivicStat's
p95 to the baseline's. `make bench-open311` runs it (and installs wrk); results go to
bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import bench_database  # noqa: E402

README = ROOT / "bench" / "README.md"
SECTION = "## Open311 requests.json"
GOAL_P95_MS = 50
PARAMS = {
    "service_code": "Property Violations",
    "start_date": "2019-06-01T00:00:00Z",
    "end_date": "2019-08-29T00:00:00Z",
}
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
NOTE = """\
How to read it: 64 connections each send their next request as soon as the last is answered, so
latency is mostly the queue. By Little's law the mean wait is 64 ÷ throughput: p95 ≤ 50 ms needs
well over 1,300 answers a second from two cores that also run wrk. What a cached answer costs
CivicStat: the data-version query, a cache read and writing 30 kB (486 kB without gzip)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def start(kind: str, db_url: str, port: int) -> subprocess.Popen[bytes]:
    venv = Path(sys.executable).parent
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "False", "ALLOWED_HOSTS": "127.0.0.1",
           "BENCH_DB": db_url.removeprefix("sqlite:///")}  # fmt: skip
    if kind == "uncached":  # every request reads the cases, as the baseline does
        env["RESPONSE_CACHE_MAX_BYTES"] = "0"
    if kind in ("civicstat", "uncached", "identity"):
        args = [sys.executable, "-m", "civicstat.server", "--host", "127.0.0.1",
                "--port", str(port)]  # fmt: skip
    else:
        args = [str(venv / "uvicorn"), "bench.open311_baseline:app", "--port", str(port),
                "--workers", "2", "--log-level", "warning", "--no-access-log",
                # Queued clients wait longer than uvicorn's 5 s default keep-alive.
                "--timeout-keep-alive", "300"]  # fmt: skip
    return subprocess.Popen(args, cwd=ROOT, env=env)  # noqa: S603 - our own venv's servers


# wrk's Lua hook: one line with what the table needs (latencies are in microseconds).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %f %f %f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def load(url: str, clients: int, seconds: int, gzip: bool) -> dict[str, float]:
    """wrk against `url` for `seconds` with `clients` connections: requests/s and percentiles."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: `make bench-open311` installs it (apt install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    headers = ["-H", "Accept-Encoding: gzip"] if gzip else []
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "-s", script.name,
             *headers, url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    count, micros, errors, p50, p95, p99 = (float(v) for v in line.split()[1:])
    if errors:
        raise SystemExit(f"wrk saw {errors:.0f} errors against {url}:\n{done.stdout}")
    return {"n": count, "rps": count / (micros / 1e6), "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000}  # fmt: skip


def measure(kind: str, db_url: str, clients: int, seconds: int) -> dict[str, Any]:
    port = free_port()
    server = start(kind, db_url, port)
    query = "&".join(f"{k}={v}" for k, v in PARAMS.items()).replace(" ", "%20")
    url = f"http://127.0.0.1:{port}/open311/v2/requests.json?{query}"
    try:
        wait_up(f"http://127.0.0.1:{port}/open311/v2/discovery.json")
        ids = [d["service_request_id"] for d in httpx.get(url, timeout=120).json()]
        gzip = kind != "identity"
        load(url, clients, 2, gzip)  # warm caches, connections and threads
        result = load(url, clients, seconds, gzip)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{kind}: {result['n']:.0f} requests, {result['rps']:.0f}/s", flush=True)
    return {"kind": kind, "ids": ids, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m", help="comma list of 1m, 10m")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15, help="length of each timed run")
    args = parser.parse_args()
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [SECTION, "",
             f"`requests.json?{'&'.join(f'{k}={v}' for k, v in PARAMS.items())}` (1,000 cases), "
             f"{args.clients} connections from wrk for {args.seconds} s each, SQLite, "
             f"{os.cpu_count()} CPUs (load average before the run {load_avg}), Python "
             f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
             f" Goal: p95 ≤ {GOAL_P95_MS} ms.", "",
             "| cases | server | client asks for | req/s | p50 ms | p95 ms | p99 ms"
             " | p95 vs baseline |",
             "|---|---|---|--:|--:|--:|--:|--:|"]  # fmt: skip
    verdicts: list[str] = []
    for size in args.sizes.split(","):
        db_url = bench_database(count=SIZES[size], engine="sqlite")
        manage = [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"]
        subprocess.run(manage, check=True, env={**os.environ, "DATABASE_URL": db_url})  # noqa: S603
        runs = {kind: measure(kind, db_url, args.clients, args.seconds)
                for kind in ("civicstat", "identity", "uncached", "baseline")}  # fmt: skip
        base = runs["baseline"]
        if len(base["ids"]) != 1000 or any(r["ids"] != base["ids"] for r in runs.values()):
            raise SystemExit("CivicStat and the baseline disagree on the answer: not comparable")
        names = {
            "civicstat": ("CivicStat (civicstat.server), response cache", "gzip"),
            "identity": ("CivicStat (civicstat.server), response cache", "no gzip"),
            "uncached": ("CivicStat (civicstat.server), response cache off", "gzip"),
            "baseline": ("FastAPI + uvicorn (2 workers), GZipMiddleware", "gzip"),
        }
        for kind, (name, encoding) in names.items():
            r = runs[kind]
            ratio = f"{r['p95'] / base['p95']:.2f}×"
            lines.append(f"| {size} | {name} | {encoding} | {r['rps']:.0f} | {r['p50']:.1f}"
                         f" | {r['p95']:.1f} | {r['p99']:.1f} | {ratio} |")  # fmt: skip
        deployed = runs["civicstat"]
        verdict = "met" if deployed["p95"] <= GOAL_P95_MS else "NOT met"
        verdicts.append(
            f"{size}: CivicStat as deployed (response cache, gzip) p95"
            f" {deployed['p95']:.1f} ms, goal ≤ {GOAL_P95_MS} ms {verdict};"
            f" {deployed['rps'] / base['rps']:.0f}× the baseline's answers a second."
        )
    lines += ["", *verdicts, "", NOTE]
    table = "\n".join(lines) + "\n"
    print(table)
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n\n"
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = head + table + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + table
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
