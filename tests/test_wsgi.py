"""A granian worker that stops closes the database connections its threads kept open."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from civicstat import wsgi

pytestmark = pytest.mark.django_db


def test_every_threads_kept_connection_is_closed_on_the_way_out() -> None:
    """Each server thread keeps its own connection (CONN_MAX_AGE): the worker's exit hook closes
    them all, so the database sees a goodbye rather than a reset socket. PostgreSQL's concern:
    SQLite has no server to tell, and its test database is one connection shared by threads."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL server's connections")
    wsgi._opened.discard(connections["default"])  # the test's own, still needed
    raws: list[Any] = []

    def serve() -> None:
        connection.ensure_connection()
        raws.append(connection.connection)

    threads = [threading.Thread(target=serve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(raws) == 2 and not any(raw.closed for raw in raws)
    wsgi._close_all()
    assert all(raw.closed for raw in raws)
