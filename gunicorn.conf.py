"""gunicorn's settings for CivicStat, read from the working directory (`make serve`, the Open311
benchmark); command-line flags override them.

Threaded workers keep HTTP connections open between requests: gunicorn's sync workers close every
connection, and reconnecting cost a client more than a cached Open311 answer took to serve (64
clients: 408 → 839 answers a second on the same machine). Each thread keeps its own database
connection (`CONN_MAX_AGE`).
"""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 30  # seconds an idle connection stays open; clients behind a proxy reuse theirs
