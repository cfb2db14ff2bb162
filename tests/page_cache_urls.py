"""The site's URLs plus views that exercise the response cache where no page of the site does yet:
a page with an inline script carrying the CSP nonce, one that reads the signed-in user, one that
sets a cookie of its own."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from civicstat.urls import urlpatterns as site
from civicstat.web import cached_by_data_version, embeddable

SCRIPT = engines["django"].from_string(
    '<!doctype html><title>nonce</title><script nonce="{{ csp_nonce }}">var n = 1;</script>'
    '<form method="post">{% csrf_token %}</form>'
    '<script nonce="{{ csp_nonce }}">var m = 2;</script>{{ padding }}'
)


@cached_by_data_version
def scripted(request: HttpRequest) -> HttpResponse:
    # Padding past the gzip threshold, so the gzipped copy is made too.
    return HttpResponse(SCRIPT.render({"padding": "x" * 2000}, request))


@embeddable
@cached_by_data_version
def scripted_embed(request: HttpRequest) -> HttpResponse:
    return HttpResponse(SCRIPT.render({"padding": ""}, request))


@cached_by_data_version
def greeting(request: HttpRequest) -> HttpResponse:
    who = "staff" if request.user.is_authenticated else "everyone"
    return HttpResponse(f"<p>Hello, {who}</p>")


@cached_by_data_version
def cookie_setter(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("<p>a cookie for you</p>")
    response.set_cookie("seen", "1")
    return response


CALLS = {"outer": 0}


def counting(view: Any) -> Any:
    @wraps(view)  # as decorators should: the cache middleware finds its mark on the view
    def counted(request: HttpRequest) -> HttpResponse:
        CALLS["outer"] += 1
        response: HttpResponse = view(request)
        response["X-Outer"] = "set by a decorator outside the cache"
        return response

    return counted


@counting
@cached_by_data_version
def decorated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>the same for everyone</p>")


urlpatterns = [
    path("test/decorated", decorated),
    path("test/scripted", scripted),
    path("test/scripted-embed", scripted_embed),
    path("test/greeting", greeting),
    path("test/cookie", cookie_setter),
    *site,
]
