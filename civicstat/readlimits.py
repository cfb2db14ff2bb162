"""Limits on the public reads that cost the database most: a throttle per client, a time limit per
statement.

Most public answers come from rollups, or from a cache keyed on the data version; a few read the
cases themselves (a text search, a list page, a map filtered by dates or areas). One client with
64 connections on such reads brought the site to 1.8 requests/s on SQLite and 3.7 on PostgreSQL,
and unrelated requests waited 14–30 s. So such a view is

- `throttled`: each client address (`civicstat.web.client_ip`) may make `PUBLIC_READ_RATE` of
  them, counted in the default cache (shared between processes through `REDIS_URL`); past it, a 429
  with `Retry-After`. Put it below `cached_by_data_version` and `public_etag`: only the requests
  that reach the database count, and an answer from the cache or a `304` is never refused;
- `time_limited`: a statement that runs past `PUBLIC_QUERY_TIMEOUT_MS` is stopped, and the client
  gets a 503 with `Retry-After` and a hint to narrow the search, never a 500 or a worker held for
  minutes. PostgreSQL gets a `statement_timeout` for the view's transaction only, so imports and
  workers keep theirs; SQLite a progress handler with a deadline per statement, removed after.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, overload

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

View = Callable[..., HttpResponse]
Refusal = Callable[[HttpRequest, int, str], HttpResponse]
Predicate = Callable[[HttpRequest], bool]

TOO_MANY = (
    "This address has asked for more searches than the site answers in a short time. Wait "
    "{seconds} s and try again."
)
TOO_SLOW = (
    "This search took too long and was stopped. Narrow it (fewer days, one area or request type, "
    "a longer search text) and try again."
)
SLOW_RETRY_SECONDS = 30  # what Retry-After says after a stopped statement: the site was busy
_SQLITE_STEPS = 10_000  # virtual-machine steps between two looks at the clock (well under 1 ms)
_TITLES = {429: "Too many searches", 503: "That search took too long"}


class QueryTimeout(Exception):
    """A statement ran past its time limit and the database stopped it."""


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The answer to a refused read: `{"error": …}` at a `.json` URL (what the map's script
    shows), else a page."""
    if request.path.endswith(".json"):
        return JsonResponse({"error": message}, status=status)
    context = {"title": _TITLES.get(status, "Not now"), "message": message}
    return render(request, "refused.html", context, status=status)


def text_refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """For feeds: feed readers show a plain-text reason best."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _refused(response: HttpResponse, retry_after: int) -> HttpResponse:
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _wait(request: HttpRequest) -> int | None:
    """Seconds before this client may make another expensive read; None while under the rate."""
    rate = settings.PUBLIC_READ_RATE
    if not rate:
        return None
    usage = get_usage(request, group="public-read", key="ip", rate=rate, increment=True)
    # A cache that cannot count says so with time_left -1: serve rather than refuse everyone.
    if usage is None or not usage["should_limit"] or usage["time_left"] < 0:
        return None
    return max(1, int(usage["time_left"]))


@overload
def throttled(view: View, /) -> View: ...
@overload
def throttled(
    *, when: Predicate | None = None, refuse: Refusal = refusal
) -> Callable[[View], View]: ...
def throttled(
    view: View | None = None, /, *, when: Predicate | None = None, refuse: Refusal = refusal
) -> View | Callable[[View], View]:
    """Count this view's requests per client address and refuse those over `PUBLIC_READ_RATE`
    with a 429 and `Retry-After`. `when(request)`: count only the requests it calls expensive
    (the others pass freely). Apply it below any cache: a cached answer must not count."""

    def decorate(view: View) -> View:
        @wraps(view)
        def counted(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if when is None or when(request):
                wait = _wait(request)
                if wait is not None:
                    return _refused(refuse(request, 429, TOO_MANY.format(seconds=wait)), wait)
            return view(request, *args, **kwargs)

        return counted

    return decorate(view) if view is not None else decorate


@overload
def time_limited(view: View, /) -> View: ...
@overload
def time_limited(*, refuse: Refusal = refusal) -> Callable[[View], View]: ...
def time_limited(
    view: View | None = None, /, *, refuse: Refusal = refusal
) -> View | Callable[[View], View]:
    """Stop any statement of this view that runs past `PUBLIC_QUERY_TIMEOUT_MS`, and answer 503
    with `Retry-After` and a hint to narrow the search."""

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                with query_time_limit(settings.PUBLIC_QUERY_TIMEOUT_MS):
                    return view(request, *args, **kwargs)
            except QueryTimeout:
                return _refused(refuse(request, 503, TOO_SLOW), SLOW_RETRY_SECONDS)

        return limited

    return decorate(view) if view is not None else decorate


@contextmanager
def query_time_limit(ms: int) -> Iterator[None]:
    """Stop any statement run inside the block that takes longer than `ms` (0: no limit), raising
    QueryTimeout. Only the block's statements are limited: the connection is as it was after."""
    if ms <= 0:
        yield
    elif connection.vendor == "postgresql":
        with _postgresql_limit(ms):
            yield
    elif connection.vendor == "sqlite":
        with _sqlite_limit(ms):
            yield
    else:
        yield


@contextmanager
def _postgresql_limit(ms: int) -> Iterator[None]:
    # SET LOCAL lasts until the end of the transaction, so the block gets a transaction (or a
    # savepoint) of its own; inside an outer one it is put back by hand, as a savepoint's release
    # would keep it for the rest of that transaction. A read's statements also see one snapshot.
    nested = connection.in_atomic_block
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if nested:
                    cursor.execute("SELECT current_setting('statement_timeout')")
                    before = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{ms}ms"])
            yield
            if nested:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "57014":  # query_canceled
            raise QueryTimeout(str(error)) from error
        raise


@contextmanager
def _sqlite_limit(ms: int) -> Iterator[None]:
    connection.ensure_connection()
    raw = connection.connection
    deadline = [float("inf")]

    def past_deadline() -> bool:  # a true answer makes SQLite stop the statement: "interrupted"
        return time.monotonic() > deadline[0]

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        deadline[0] = time.monotonic() + ms / 1000
        return execute(sql, params, many, context)

    raw.set_progress_handler(past_deadline, _SQLITE_STEPS)
    try:
        with connection.execute_wrapper(timed):
            yield
    except OperationalError as error:
        if "interrupted" in str(error) and past_deadline():
            raise QueryTimeout(str(error)) from error
        raise
    finally:
        raw.set_progress_handler(None, 0)
