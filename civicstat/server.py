"""Serve CivicStat over HTTP with granian: `python -m civicstat.server --host HOST --port PORT`.

`make serve` (and so `make demo`) runs this; so does the Open311 benchmark. Put a reverse proxy
that terminates HTTPS in front of it in production.

Why granian rather than gunicorn: its HTTP handling is Rust, outside the GIL, so the Python
threads only run Django. Under 64 clients asking for cached Open311 answers, gunicorn's threaded
workers spent as much CPU parsing HTTP and juggling connections as Django spent answering: on the
same two cores granian served about 1.5× as many answers a second, with a p95 about half as long
(bench/README.md, "Open311 requests.json").

Settings come from the environment, like every other: `WEB_WORKERS` processes (one or two per
core) of `WEB_THREADS` Python threads each. More threads than that only queue for the GIL, which
lengthens the slowest answers; connections beyond them wait in granian, kept open.
"""

from __future__ import annotations

import argparse
import os

from django.core.exceptions import ImproperlyConfigured
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import MPServer

from civicstat.lib.env import envint
from civicstat.lib.secretkey import secret_key_ensure


def server(host: str, port: int) -> MPServer:
    workers = envint("WEB_WORKERS", "2")
    threads = envint("WEB_THREADS", "2")
    for name, value in (("WEB_WORKERS", workers), ("WEB_THREADS", threads)):
        if value < 1:
            raise ImproperlyConfigured(f"{name} must be 1 or more, not {value}")
    # Worker processes, as this (GIL) Python needs; granian's own `Granian` picks the same.
    return MPServer(
        "civicstat.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        # Connections waiting for a thread queue in the listen backlog, not refused.
        backlog=2048,
        # A worker that dies (out of memory, a crashed extension) is started again.
        respawn_failed_workers=True,
        # A worker still running 5 s after a stop is killed. Under `make serve`, where the worker
        # and the scheduler share the terminal's process group, one granian 2.8 worker misses
        # Ctrl-C every time and would wait forever (and the server with it); alone it never does.
        workers_kill_timeout=5,
        log_level=LogLevels.warning,
        # No access log: granian 2.8's hangs a worker that is stopped while logging (Ctrl-C left
        # it running); the reverse proxy in front logs requests in production.
        log_access=False,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve CivicStat with granian.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
    try:
        # Checked here as well as in the workers' WSGI module: a worker that fails to load is
        # started again and again, while this exits once with the reason.
        secret_key_ensure()
        app = server(args.host, args.port)
    except ImproperlyConfigured as error:
        parser.exit(2, f"{error}\n")
    app.serve()


if __name__ == "__main__":
    main()
