from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from civicstat.lib.params import ParamError
from civicstat.open311.formats import Open311Error, error_response
from civicstat.open311.params import jurisdiction_check
from civicstat.open311.posting import check_text

View = Callable[..., HttpResponse]


def open311(view: View) -> View:
    """The spec's error lists for every failure, in the format asked for, and open CORS reads."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
        try:
            query = request.POST if request.method == "POST" else request.GET
            # NUL and other control characters are refused before any database sees them.
            check_text(query)
            if request.method == "POST":
                check_text(request.GET)
            jurisdiction_check(query)
            response = view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as error:
            response = error_response(fmt, error.status, error.description)
            for name, value in error.headers.items():
                response[name] = value
        except ParamError as error:  # the site's parameter parser: a value that cannot be read
            response = error_response(fmt, 400, str(error))
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapped
