"""The WSGI application that granian serves (`civicstat/server.py`).

Database connections are kept between requests (`CONN_MAX_AGE`), one per server thread. A granian
worker leaves through `os._exit` when it stops, so nothing would close them: PostgreSQL would log
"could not receive data from client: Connection reset by peer" for each at every stop or restart
(seen at the end of `make bench-load`). They are closed on the worker's way out instead.
"""

from __future__ import annotations

import contextlib
import multiprocessing.util
import os
import weakref
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.db.backends.signals import connection_created

from civicstat.lib.secretkey import secret_key_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
# Any WSGI server (granian, gunicorn, mod_wsgi) fails to load the site on a public or weak key.
secret_key_ensure()
application = get_wsgi_application()

# Every thread's connection wrapper (Django keeps them per thread, out of this thread's reach).
_opened: weakref.WeakSet[Any] = weakref.WeakSet()


def _remember(sender: Any, connection: Any, **kwargs: Any) -> None:
    _opened.add(connection)


def _close_all() -> None:
    """Say goodbye to the database on every connection still open: the threads are done."""
    for wrapper in list(_opened):
        if wrapper.connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing left to close
                wrapper.connection.close()


connection_created.connect(_remember, weak=False, dispatch_uid="wsgi-remember-connections")
# Run by multiprocessing when the worker process ends, after the server has stopped serving.
multiprocessing.util.Finalize(None, _close_all, exitpriority=10)
