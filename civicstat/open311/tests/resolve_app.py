"""A WSGI app that answers with what Django's URL resolver reads in the path a server hands it.

Served by granian in `test_service_codes.py`: how a server decodes `%2F` is the server's choice,
so the test runs the production server itself, with no database behind it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicstat.settings")
django.setup()

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402 - after setup
from django.urls import Resolver404, resolve  # noqa: E402 - after setup


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    request = WSGIRequest(environ)
    try:
        match = resolve(request.path_info)
        answer = {"name": match.url_name, "kwargs": match.kwargs}
    except Resolver404:
        answer = {"name": None, "kwargs": {}}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]
