"""A real HTTP server on 127.0.0.1 that answers each path with what a test scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# An answer: (status, body, content type, seconds to wait before answering).
Answer = tuple[int, bytes, str, float]
Route = Callable[[dict[str, str]], Answer]


@dataclass
class Remote:
    routes: dict[str, Route] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # each request's, as log
    url: str = ""

    def hits(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.log if p == path]


def ok(body: bytes, kind: str = "application/json") -> Answer:
    return (200, body, kind, 0.0)


@contextmanager
def serving() -> Iterator[Remote]:
    remote = Remote()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            remote.log.append((parts.path, query))
            remote.headers.append(dict(self.headers.items()))
            route = remote.routes.get(parts.path)
            status, body, kind, delay = route(query) if route else (404, b"no", "text/plain", 0)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that is the point of a slow answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    remote.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
