from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from civicstat.cases.freshness import data_as_of

# The site's main navigation: (label, URL name). Apps that are not installed, or not built yet,
# simply have no entry, because their URL name does not resolve.
NAVIGATION = (
    ("Overview", "home"),
    ("Map", "map"),
    ("Departments", "departments"),
    ("Performance", "performance"),
    ("Alerts", "alerts"),
    ("Open data", "data-catalogue"),
)


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "CITY_NAME": settings.CITY_NAME,
        "NAVIGATION": _navigation(request),
        # Read only by the templates that show it (every page's footer, the embeds).
        "DATA_AS_OF": SimpleLazyObject(data_as_of),
    }


def _navigation(request: HttpRequest) -> list[dict[str, Any]]:
    current = request.resolver_match.url_name if request.resolver_match else None
    items = []
    for label, name in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "current": name == current})
    return items
