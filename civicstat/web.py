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
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import condition

from civicstat.cases.services import data_version
from civicstat.lib.clientip import client_address
from civicstat.lib.params import ParamError, plain

View = Callable[..., HttpResponse]


def data_etag(request: HttpRequest, *args: object, **kwargs: object) -> str:
    """The ETag of a public response: the data version and the whole URL, query string included.

    The URL is hashed: a raw one may hold commas (`bbox=-95,38,-94,40`), and Django splits an
    If-None-Match header at commas, so such an ETag would never match. Read once per request:
    the ETag check and the response cache both ask for it.
    """
    etag: str | None = getattr(request, "_data_etag", None)
    if etag is None:
        path = hashlib.blake2b(request.get_full_path().encode(), digest_size=12).hexdigest()
        etag = f"v{data_version()}-{path}"
        request._data_etag = etag  # type: ignore[attr-defined]
    return etag


def public_etag(view: View) -> View:
    """Answer repeat requests with 304 until the data changes."""
    return condition(etag_func=data_etag)(view)


def cached_by_data_version(view: View) -> View:
    """Serve a repeat of a public GET from the `responses` cache until the data changes.

    The key is the ETag (data version + URL), so an import or sync makes every entry stale at
    once, with nothing to invalidate. Only complete 200 answers are kept, with their content
    type; the view must not vary its answer by anything but the URL (no cookies, no user).

    Each entry keeps a gzipped copy too, made once when it is stored, for the clients that accept
    it (browsers, httpx, requests…): a page of 1,000 Open311 requests is 486 kB as JSON and 30 kB
    gzipped, and sending it was most of what a cached answer cost.
    """

    @wraps(view)
    def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.RESPONSE_CACHE_MAX_BYTES
        if request.method not in ("GET", "HEAD") or not limit:
            return view(request, *args, **kwargs)
        key = data_etag(request)
        hit = caches["responses"].get(key, version=_ENTRY_FORMAT)
        if hit is None:
            response = view(request, *args, **kwargs)
            if (
                response.status_code != 200
                or response.streaming
                or len(response.content) > limit
                or response.has_header("Content-Encoding")
            ):
                return response
            content = response.content
            packed = compress_string(content) if len(content) >= _GZIP_MIN_BYTES else None
            hit = (content, response["Content-Type"], packed)
            caches["responses"].set(key, hit, None, version=_ENTRY_FORMAT)
        return _from_cache(request, *hit)

    return cached


# Entries are (content, content type, gzipped content or None); a shared cache (Redis) may still
# hold entries of another shape from an older release, under another version.
_ENTRY_FORMAT = 2
_GZIP_MIN_BYTES = 1024  # below this, gzip's header and the client's work outweigh the saving
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def _from_cache(
    request: HttpRequest, content: bytes, content_type: str, packed: bytes | None
) -> HttpResponse:
    if packed is not None and _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(packed, content_type=content_type)
        response["Content-Encoding"] = "gzip"
        # Another encoding of the same answer: a weak ETag, as Django's GZipMiddleware gives
        # (If-None-Match compares weakly for GET, so a repeat still gets its 304).
        response["ETag"] = f'W/"{data_etag(request)}"'
    else:
        response = HttpResponse(content, content_type=content_type)
    patch_vary_headers(response, ("Accept-Encoding",))
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
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ParamError):
            return bad_request(request, exception)
        return None
