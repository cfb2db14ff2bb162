"""What every query API answer shares: JSON error bodies, CORS, and the decorator stacks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from civicstat.readlimits import throttled, time_limited
from civicstat.web import cached_by_data_version

View = Callable[..., HttpResponse]


def error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def json_refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """429 and 503 from the read limits, as the API's own `{"error": …}`."""
    return error(status, message)


def open_cors(view: View) -> View:
    """Open data: any site's script may read it."""

    @wraps(view)
    def opened(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return opened


# For `ninja.decorators.decorate_view`, which applies them first to last, innermost first: the
# cache is outside the throttle (a cached answer never counts against a client) and the time limit.
CASE_READ = (time_limited(refuse=json_refusal), throttled(refuse=json_refusal),
             cached_by_data_version, open_cors)  # fmt: skip
ROLLUP_READ = (time_limited(refuse=json_refusal), cached_by_data_version, open_cors)
REFERENCE_READ = (cached_by_data_version, open_cors)
