from __future__ import annotations

from django.urls import URLPattern, re_path

from civicstat.open311 import views, views_requests

FMT = r"\.(?P<fmt>json|xml)$"
# A service code or request id is whatever the city's data holds, slashes included
# ("Animals / Pets-Bite"): everything up to the format suffix, which is the last one. Clients send
# a slash in a code raw or as %2F, and WSGI servers decode %2F before Django sees the path, so
# both reach the view as "/".
CODE = r"(?P<code>.+?)"
REQUEST_ID = r"(?P<request_id>.+?)"

urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(r"^services/" + CODE + FMT, views.service_definition, name="open311-service"),
    # An alias some older clients call.
    re_path(r"^service/" + CODE + FMT, views.service_definition),
    re_path(r"^requests" + FMT, views_requests.requests, name="open311-requests"),
    re_path(
        r"^requests/" + REQUEST_ID + FMT, views_requests.request_detail, name="open311-request"
    ),  # fmt: skip
    # The v2.1 draft's Swagger file writes the singular form.
    re_path(r"^request/" + REQUEST_ID + FMT, views_requests.request_detail),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token, name="open311-token"),
    # Anything else (another format, a misspelt path) gets the spec's error list, not a web page.
    re_path(r"^(?P<path>.*?)(\.(?P<fmt>xml))?$", views.not_found),
]
