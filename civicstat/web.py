"""HTTP helpers every public page shares: data-version ETags, embed framing, rate-limit answers.

Public pages change only when the data does, so their ETag is the data version (bumped by every
import, sync and write) plus the full URL: a repeat request is answered `304 Not Modified` without
rendering, and a repeat from another client is served from the response cache. Only embed views
may be framed by other sites; everything else keeps the site-wide `X-Frame-Options: DENY` and CSP
`frame-ancestors 'none'`. A request parameter that cannot be read is a 400 that says why.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache, wraps
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import csrf
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.crypto import constant_time_compare
from django.utils.http import quote_etag
from django.utils.module_loading import import_string
from django.utils.text import compress_string
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import condition

from civicstat.cases.services import data_version
from civicstat.compression import GZIP_MIN_BYTES
from civicstat.lib.clientip import client_address
from civicstat.lib.gzipslots import Packed, Part, gzip_join, gzip_parts
from civicstat.lib.params import ParamError, plain

View = Callable[..., HttpResponse]


def data_etag(request: HttpRequest, *args: object, **kwargs: object) -> str:
    """The ETag of a public response: the data version, the city's date and the whole URL.

    The URL is hashed: a raw one may hold commas (`bbox=-95,38,-94,40`), and Django splits an
    If-None-Match header at commas, so such an ETag would never match. It includes the scheme and
    host, as some pages write absolute links. The date is there because pages count days (days
    open, "last 30 days"): an answer lasts until the data changes or midnight, whichever is first.
    Read once per request: the ETag check and the response cache both ask for it.
    """
    etag: str | None = getattr(request, "_data_etag", None)
    if etag is None:
        url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
        digest = hashlib.blake2b(url.encode(), digest_size=12).hexdigest()
        etag = f"v{data_version()}-{_today()}-{digest}"
        request._data_etag = etag  # type: ignore[attr-defined]
    return etag


# The city's date as YYYYMMDD, and the Unix times it starts and ends: read for every request, so
# worked out once a day (a time zone conversion cost more than the rest of the ETag).
_day: tuple[float, float, str] = (0.0, 0.0, "")


def _today() -> str:
    global _day
    since, until, today = _day
    now = time.time()
    if not since <= now < until:
        local = timezone.localtime()
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)  # wall-clock arithmetic: the next midnight, DST or not
        today = f"{local:%Y%m%d}"
        _day = (start.timestamp(), end.timestamp(), today)
    return today


def public_etag(view: View) -> View:
    """Answer repeat requests with 304 until the data changes."""
    return condition(etag_func=data_etag)(view)


def cached_by_data_version(view: View) -> View:
    """Serve a public GET from the `responses` cache until the data changes, with its ETag (304).

    The key is the ETag (data version, date, URL), so an import, a sync or a staff edit makes
    every entry stale at once, with nothing to invalidate. Only complete 200 answers that are the
    same for every visitor are kept: one rendered while the view read the session (a signed-in
    user, messages), for a request carrying a session cookie, or that sets a cookie, varies by a
    header or says `Cache-Control: private` is served as it is, uncached and without an ETag.
    Staff-only content therefore never enters the cache; a view that shows signed-in staff more
    than the public must not use this decorator.

    Two things in a page belong to one response and are put back fresh into each answer served
    from an entry: the CSP nonce (a new one in the body and in the header, when the page used
    one) and the visitor's own CSRF token in forms (`get_token`, so the CSRF middleware sets the
    visitor's cookie as for a page rendered for them). With `PageCacheStoreMiddleware`, the
    innermost middleware, an entry is stored with what the view's outer decorators added too
    (framing, Cache-Control, CORS), so `PageCacheMiddleware` can answer a hit before the view and
    most middleware run.

    Each entry keeps a gzipped copy too, made once when it is stored, for the clients that accept
    it (browsers, httpx, requests…): a page of 1,000 Open311 requests is 486 kB as JSON and 30 kB
    gzipped, and sending it was most of what a cached answer cost. The per-response values go
    into the gzipped copy as stored deflate blocks between pre-compressed parts.
    """

    @wraps(view)
    def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.RESPONSE_CACHE_MAX_BYTES
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if not limit:  # the cache is off: answers as `public_etag` gives them
            return public_etag(view)(request, *args, **kwargs)
        etag, key, entry = _lookup(request)
        # An ETag was only ever given for an answer without a nonce: a match may be a 304 even
        # before anything is rendered.
        if (not_modified := _not_modified(request, entry, etag)) is not None:
            return not_modified
        if entry is None:
            response, entry = _render(view, request, *args, **kwargs)
            if entry is None:
                return response
            if entry.size > limit:
                if len(entry.parts) == 1:  # too big to keep, the same for all: as `public_etag`
                    response["ETag"] = quote_etag(etag)
                    return response
            else:
                if entry.size >= GZIP_MIN_BYTES:
                    entry = entry._replace(packed=_gzipped(entry.parts))
                store: list[tuple[str, _Entry]] | None = getattr(request, "_page_store", None)
                if store is None:  # no store middleware: kept as the view itself answered
                    caches["responses"].set(key, entry, None, version=_ENTRY_FORMAT)
                else:
                    store.append((key, entry))
        return _from_cache(request, entry, etag)

    cached.page_cached = True  # type: ignore[attr-defined]  # (outer decorators copy it)
    return cached


# Entries are `_Entry` tuples; a shared cache (Redis) may still hold entries of another shape
# from an older release, under another version.
_ENTRY_FORMAT = 3
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
               "HTTP_IF_UNMODIFIED_SINCE")  # fmt: skip
# Slots in a stored body, filled per response.
_NONCE, _CSRF = 0, 1
# A CSRF token as `get_token` writes it: 64 letters and digits, masked from the cookie's secret.
_TOKEN = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
# Response attributes the middleware reads to build headers (CSP, X-Frame-Options), set by
# decorators such as `embeddable`: kept with the entry so a hit is framed as the miss was.
_ATTRIBUTES = ("_csp_config", "_csp_ro_config", "xframe_options_exempt")
# Headers the serving side writes itself.
_OWN = {"content-length", "content-encoding", "etag", "vary", "set-cookie"}
# `no-cache` asks the browser and proxies to check before reuse; this cache is checked against the
# data version on every request, so it may keep such an answer (the embeds say it).
_UNCACHEABLE = re.compile(r"\b(private|no-store)\b", re.IGNORECASE)


class _Entry(NamedTuple):
    """A stored answer: the body as parts (bytes, and slot numbers for the nonce and the CSRF
    token), its raw-deflate parts for gzip (None below the gzip threshold), the view's headers and
    response attributes."""

    parts: tuple[Part, ...]
    packed: bytes | Packed | None
    size: int
    headers: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, Any], ...]
    nonce: bool
    csrf: bool


def _lookup(request: HttpRequest) -> tuple[str, str, _Entry | None]:
    etag = data_etag(request)
    key = f"page:{etag}"
    return etag, key, caches["responses"].get(key, version=_ENTRY_FORMAT)


def _not_modified(request: HttpRequest, entry: _Entry | None, etag: str) -> HttpResponse | None:
    if (entry is not None and entry.nonce) or not any(h in request.META for h in _CONDITIONS):
        return None
    not_modified = get_conditional_response(request, etag=quote_etag(etag))
    if not_modified is not None:
        weak = "W/" in request.headers.get("If-None-Match", "")
        not_modified["ETag"] = f'{"W/" if weak else ""}"{etag}"'
        # A browser takes a 304's Content-Security-Policy as the page's new one: an embed answered
        # 304 with the site's frame-ancestors 'none' was refused by every host page reloaded.
        for name, value in entry.attributes if entry is not None else ():
            setattr(not_modified, name, value)
    return not_modified


def _render(
    view: View, request: HttpRequest, *args: Any, **kwargs: Any
) -> tuple[HttpResponse, _Entry | None]:
    """Run the view, watching what it read of the visitor; the entry (not yet gzipped), or None
    when the answer cannot be shared."""
    meta = request.META
    session = getattr(request, "session", None)
    storage = getattr(request, "_messages", None)
    # Flags set before the view are kept; only what the view itself does is looked at.
    csrf_before = meta.get("CSRF_COOKIE_NEEDS_UPDATE", False)
    session_before = getattr(session, "accessed", False)
    meta["CSRF_COOKIE_NEEDS_UPDATE"] = False
    if session is not None:
        session.accessed = False
    try:
        response = view(request, *args, **kwargs)
    finally:
        csrf_used = bool(meta.get("CSRF_COOKIE_NEEDS_UPDATE"))
        meta["CSRF_COOKIE_NEEDS_UPDATE"] = csrf_before or csrf_used
        session_read = bool(getattr(session, "accessed", False))
        if session is not None:
            session.accessed = session_before or session_read
    vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
    if (
        response.status_code != 200
        or response.streaming
        or response.has_header("Content-Encoding")
        or response.cookies
        or session_read
        or getattr(storage, "used", False)
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or vary - {"accept-encoding"}
        or _UNCACHEABLE.search(response.get("Cache-Control", ""))
    ):
        return response, None
    content = response.content
    markers: dict[bytes, int] = {}
    nonce = get_nonce(request)
    if nonce:  # evaluated: the page (or its header) uses it
        markers[str(nonce).encode()] = _NONCE
    if csrf_used:
        secret = meta.get("CSRF_COOKIE", "")
        for token in set(_TOKEN.findall(content)):
            # Private, but Django's only statement of how a masked token maps to its secret.
            unmasked = csrf._unmask_cipher_token(token.decode())  # type: ignore[attr-defined]
            if constant_time_compare(unmasked, secret):
                markers[token] = _CSRF
        if _CSRF not in markers.values():
            return response, None  # the token went somewhere this cannot follow
    parts = _split(content, markers)
    entry = _Entry(
        parts, None, len(content), _headers(response), _attributes(response), bool(nonce), csrf_used
    )
    return response, entry


def _headers(response: HttpResponse) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in response.items() if name.lower() not in _OWN)


def _attributes(response: HttpResponse) -> tuple[tuple[str, Any], ...]:
    sentinel = object()
    return tuple(
        (name, value)
        for name in _ATTRIBUTES
        if (value := getattr(response, name, sentinel)) is not sentinel
    )


def _split(content: bytes, markers: dict[bytes, int]) -> tuple[Part, ...]:
    if not markers:
        return (content,)
    pattern = re.compile(b"|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))
    parts: list[Part] = []
    at = 0
    for found in pattern.finditer(content):
        parts += [content[at : found.start()], markers[found.group()]]
        at = found.end()
    parts.append(content[at:])
    return tuple(parts)


def _gzipped(parts: tuple[Part, ...]) -> bytes | Packed:
    """The whole gzip file of a body without slots; else its parts, for `gzip_join`."""
    return compress_string(cast(bytes, parts[0])) if len(parts) == 1 else gzip_parts(parts)


def _from_cache(request: HttpRequest, entry: _Entry, etag: str) -> HttpResponse:
    values: dict[int, bytes] = {}
    if entry.nonce:
        values[_NONCE] = str(get_nonce(request)).encode()  # the middleware puts it in the header
    if entry.csrf:
        values[_CSRF] = get_token(request).encode()  # and sets the visitor's cookie
    gzip = entry.packed is not None and bool(
        _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", ""))
    )
    if not gzip:
        content = b"".join(values[p] if isinstance(p, int) else p for p in entry.parts)
    elif isinstance(entry.packed, bytes):
        content = entry.packed
    else:
        content = gzip_join(cast(Packed, entry.packed), values)
    response = HttpResponse(content, headers=dict(entry.headers))
    for name, value in entry.attributes:
        setattr(response, name, value)
    if gzip:
        response["Content-Encoding"] = "gzip"
    if not entry.nonce:
        # Another encoding of the same answer, or an answer with the visitor's own token in it,
        # is weakly the same (If-None-Match compares weakly for GET, so a repeat gets its 304).
        weak = gzip or entry.csrf
        response["ETag"] = f'{"W/" if weak else ""}"{etag}"'
    response["Vary"] = "Accept-Encoding"  # the view's answer had no other (`_render`)
    return response


@lru_cache(maxsize=4096)
def _page_cached(urlconf: str, path: str) -> bool:
    """Whether the view at `path` is `cached_by_data_version`'s, so worth a look in the cache."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return False
    return bool(getattr(match.func, "page_cached", False))


class PageCacheMiddleware:
    """Answer a request whose answer is in the page cache before the rest of the stack runs.

    A hit needs no URL resolution, view, session, user or messages: what the view and its
    decorators gave is in the entry (`cached_by_data_version`). The middleware after this one
    still shape the answer (CSRF cookie, CSP and its nonce, X-Frame-Options, conditional GET,
    Content-Length): their own `process_request` and `process_response` are called around it, in
    order, so a hit has the headers a miss has. Only the middleware known to add nothing to an
    anonymous cached answer are left out. Requests carrying a session cookie (staff) take the
    whole stack. If a middleware after this one has no hooks to call (only `__call__`), every
    request takes the whole stack, and the decorator serves the hits.

    Measured on a cache hit of /performance (CPU per request, the same machine): 252 µs through
    the whole stack; URL resolution was 12 % of it and the session, user and messages middleware
    most of the rest of what this skips.
    """

    SKIPPED = frozenset({
        "django.contrib.sessions.middleware.SessionMiddleware",  # a hit reads no session
        "django.contrib.auth.middleware.AuthenticationMiddleware",  # …nor the user
        "django.contrib.messages.middleware.MessageMiddleware",  # …nor messages
        "django_ratelimit.middleware.RatelimitMiddleware",  # only turns exceptions into 429s
        "civicstat.web.PageCacheStoreMiddleware",  # stores misses
    })  # fmt: skip

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.around = self._around()

    def _around(self) -> list[Any] | None:
        names = list(settings.MIDDLEWARE)
        mine = f"{type(self).__module__}.{type(self).__qualname__}"
        around = []
        for name in names[names.index(mine) + 1 :] if mine in names else []:
            if name in self.SKIPPED:
                continue
            middleware = import_string(name)(self._unreachable)
            if not hasattr(middleware, "process_request") and not hasattr(
                middleware, "process_response"
            ):
                return None
            around.append(middleware)
        return around

    @staticmethod
    def _unreachable(request: HttpRequest) -> HttpResponse:
        raise AssertionError("a cached answer never reaches the view")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            self.around is not None
            and request.method in ("GET", "HEAD")
            and settings.RESPONSE_CACHE_MAX_BYTES
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and _page_cached(settings.ROOT_URLCONF, request.path_info)
        ):
            etag, _, entry = _lookup(request)
            if entry is not None:
                response = self._hit(request, entry, etag)
                if response is not None:
                    return response
        return self.get_response(request)

    def _hit(self, request: HttpRequest, entry: _Entry, etag: str) -> HttpResponse | None:
        for middleware in self.around or ():
            if hasattr(middleware, "process_request") and middleware.process_request(request):
                return None  # a redirect or a refusal: the whole stack answers it
        response = _not_modified(request, entry, etag) or _from_cache(request, entry, etag)
        for middleware in reversed(self.around or ()):
            if hasattr(middleware, "process_response"):
                response = middleware.process_response(request, response)
        return response


class PageCacheStoreMiddleware:
    """The innermost middleware: stores an answer `cached_by_data_version` rendered, with what the
    view's outer decorators added (headers, framing attributes), before any other middleware's
    `process_response` adds what belongs to one response (cookie, nonce, Content-Length)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        store: list[tuple[str, _Entry]] = []
        request._page_store = store  # type: ignore[attr-defined]
        response = self.get_response(request)
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
        if (
            store
            and response.status_code == 200
            and not response.cookies
            and not vary - {"accept-encoding"}
            and not _UNCACHEABLE.search(response.get("Cache-Control", ""))
        ):
            key, entry = store[-1]
            entry = entry._replace(headers=_headers(response), attributes=_attributes(response))
            caches["responses"].set(key, entry, None, version=_ENTRY_FORMAT)
        return response


def embeddable(view: View) -> View:
    """Let any site frame this view: for embed views only (maps, metric cards, charts)."""

    @wraps(view)
    def framed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        # The site's policy with one change, read per response (never at import time).
        response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}  # type: ignore[attr-defined]
        return response

    return xframe_options_exempt(framed)


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """What django-ratelimit answers when a client posts too often: 429 with a plain reason."""
    return render(request, "429.html", status=429)


def client_ip(request: HttpRequest) -> str:
    """The client's address, believing `X-Forwarded-For` only from `TRUSTED_PROXIES`: what every
    rate limit and throttle counts by."""
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
        trusted=settings.TRUSTED_PROXIES,
    )


def bad_request(request: HttpRequest, error: ParamError, *, path_ok: bool = True) -> HttpResponse:
    """The 400 answer to a parameter that cannot be read, saying why: Open311's error list under
    /open311/ (XML for an .xml address), `{"error": …}` for other .json addresses, else a page."""
    path = request.path_info
    if path.startswith("/open311/"):
        from civicstat.open311.formats import error_response  # the API's own error format

        fmt = "xml" if path.endswith(".xml") else "json"
        response = error_response(fmt, 400, str(error))
        response["Access-Control-Allow-Origin"] = "*"
        return response
    if path.endswith(".json"):
        return JsonResponse({"error": str(error)}, status=400)
    return render(request, "400.html", {"message": str(error), "path_ok": path_ok}, status=400)


class ParamsMiddleware:
    """Refuses a path or a query string holding control characters before any view runs (a NUL
    reaching PostgreSQL is an error, not a miss), and answers a `ParamError` from any view with a
    400. Query values may hold tabs and line breaks here; each view's parser decides on them."""

    def __init__(self, get_response: View) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.process_request(request) or self.get_response(request)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """The check itself, as a hook: the page cache runs it before answering a hit."""
        try:
            plain("the address", request.path_info)
        except ParamError as error:
            return bad_request(request, error, path_ok=False)
        try:
            for name, values in request.GET.lists():
                plain("a parameter's name", name)
                for value in values:
                    plain(name, value, free_text=True)
        except ParamError as error:
            return bad_request(request, error)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ParamError):
            return bad_request(request, exception)
        return None
