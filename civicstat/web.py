"""HTTP helpers every public page shares: data-version ETags, embed framing, rate-limit answers.

Public pages change only when the data does, so their ETag is the data version (bumped by every
import, sync and write) plus the full URL: a repeat request is answered `304 Not Modified` without
rendering. Only embed views may be framed by other sites; everything else keeps the site-wide
`X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import condition

from civicstat.cases.services import data_version

View = Callable[..., HttpResponse]


def data_etag(request: HttpRequest, *args: object, **kwargs: object) -> str:
    """The ETag of a public response: the data version and the whole URL, query string included.

    The URL is hashed: a raw one may hold commas (`bbox=-95,38,-94,40`), and Django splits an
    If-None-Match header at commas, so such an ETag would never match.
    """
    path = hashlib.blake2b(request.get_full_path().encode(), digest_size=12).hexdigest()
    return f"v{data_version()}-{path}"


def public_etag(view: View) -> View:
    """Answer repeat requests with 304 until the data changes."""
    return condition(etag_func=data_etag)(view)


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
