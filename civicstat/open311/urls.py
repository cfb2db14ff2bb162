from __future__ import annotations

from django.urls import URLPattern, re_path

from civicstat.open311 import views, views_requests

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(
        r"^services/(?P<code>[^/]+?)" + FMT, views.service_definition, name="open311-service"
    ),  # fmt: skip
    # An alias some older clients call.
    re_path(r"^service/(?P<code>[^/]+?)" + FMT, views.service_definition),
    re_path(r"^requests" + FMT, views_requests.requests, name="open311-requests"),
    re_path(
        r"^requests/(?P<request_id>[^/]+?)" + FMT,
        views_requests.request_detail,
        name="open311-request",
    ),  # fmt: skip
    # The v2.1 draft's Swagger file writes the singular form.
    re_path(r"^request/(?P<request_id>[^/]+?)" + FMT, views_requests.request_detail),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token, name="open311-token"),
    # Anything else (another format, a misspelt path) gets the spec's error list, not a web page.
    re_path(r"^(?P<path>.*?)(\.(?P<fmt>xml))?$", views.not_found),
]
