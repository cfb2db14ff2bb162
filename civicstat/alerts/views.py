from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from civicstat.alerts import services, tokens
from civicstat.alerts.emails import describe, feed_urls
from civicstat.alerts.forms import (
    RADIUS_CHOICES,
    FiltersForm,
    FollowForm,
    WatchForm,
    query_initial,
)
from civicstat.alerts.models import (
    MIN_RADIUS_M,
    Frequency,
    Subscriber,
    Subscription,
    SubscriptionKind,
)
from civicstat.alerts.tasks import deliver_alerts
from civicstat.cases.query import CaseFilter, cases
from civicstat.lib import params
from civicstat.lib.email_address import email_rate_key
from civicstat.maps.start import map_start
from civicstat.maps.views import basemap_config, with_tiles
from civicstat.web import View, cached_by_data_version


def _ip_rate(group: str, request: HttpRequest) -> str:
    return str(settings.ALERTS_RATE_PER_IP)


def _address_rate(group: str, request: HttpRequest) -> str:
    return str(settings.ALERTS_RATE_PER_ADDRESS)


def _address_key(group: str, request: HttpRequest) -> str:
    # Every spelling of one mailbox (case, padding, +tags) is one count, as the form reads it.
    return email_rate_key(str(request.POST.get("email", "")))


def _limited(view: View) -> View:
    """Per IP and per address (the posted email): the two ways one sender floods an inbox."""
    view = ratelimit(key="ip", rate=_ip_rate, method="POST", block=True)(view)
    limited: View = ratelimit(key=_address_key, rate=_address_rate, method="POST",
                              block=True)(view)  # fmt: skip
    return limited


def pick_config() -> dict[str, Any]:
    """For the small map that picks a point: the area outlines are its base layer, so it works
    with no tile server (offline, or none configured)."""
    return {
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "basemap": basemap_config(),  # the city's own, when built and no tile server is set
        "areas_url": reverse("map-areas"),
        "start": map_start(),
    }


@require_http_methods(["GET", "POST"])
@cached_by_data_version  # the form, for GET: the visitor's CSRF token is put in per answer
@with_tiles
@_limited
def alerts(request: HttpRequest) -> HttpResponse:
    """Watch a place (address or coordinates and a radius) or an area."""
    form = WatchForm(request.POST or None, initial=query_initial(request.GET))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "email": data["email"],
            **form.chosen(),
            "include_closed": data["include_closed"],
            "frequency": data["frequency"],
        }
        try:
            if data.get("area") is not None:
                sub = services.subscription_create(
                    kind=SubscriptionKind.AREA, area=data["area"], **common
                )
            else:
                sub = services.subscription_create(
                    kind=SubscriptionKind.RADIUS, lat=data["lat"], lon=data["lon"],
                    radius_m=data["radius_m"], place=data.get("place") or "", **common,
                )  # fmt: skip
        except services.SubscribeError as error:
            form.add_error(None, str(error))
        else:
            deliver_alerts.enqueue()
            return render(request, "alerts/check_email.html", {"what": describe(sub)})
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "alerts/alerts.html",
        {
            "form": form,
            "radius_choices": RADIUS_CHOICES,
            "min_radius": MIN_RADIUS_M,
            "max_radius": settings.ALERTS_MAX_RADIUS_M,
            "pick_config": pick_config(),
        },
        status=status,
    )


@require_POST
@_limited
def follow(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_object_or_404(cases(CaseFilter()).select_related("layer"), id=case_id)
    form = FollowForm(request.POST)
    if form.is_valid():
        try:
            sub = services.subscription_create(
                email=form.cleaned_data["email"], kind=SubscriptionKind.CASE, case=case
            )
        except services.SubscribeError as error:
            form.add_error(None, str(error))
        else:
            deliver_alerts.enqueue()
            return render(request, "alerts/check_email.html", {"what": describe(sub)})
    return render(request, "alerts/follow_error.html", {"form": form, "case": case}, status=400)


@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sub = Subscription.objects.filter(id=tokens.read_confirm(token)).first()
    except tokens.BadToken as error:
        return _bad_link(request, str(error))
    if sub is None:
        return _bad_link(request, "This alert no longer exists; it may have been cancelled.")
    services.subscription_confirm(subscription=sub)
    return render(
        request,
        "alerts/confirmed.html",
        {"what": describe(sub), "manage_token": tokens.manage_token(sub.subscriber_id)},
    )


@csrf_exempt  # RFC 8058: mail clients POST here with no cookie; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button (link scanners must not unsubscribe anyone); POST unsubscribes."""
    try:
        sub = Subscription.objects.filter(id=tokens.read_unsubscribe(token)).first()
    except tokens.BadToken as error:
        return _bad_link(request, str(error))
    if sub is None:
        return render(request, "alerts/unsubscribed.html", {"what": None})
    what = describe(sub)
    if request.method == "POST":
        services.subscription_delete(subscription=sub)
        return render(request, "alerts/unsubscribed.html", {"what": what})
    return render(request, "alerts/unsubscribe.html", {"what": what})


@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """Every alert of one address: change frequency, radius, closed cases; or stop everything."""
    try:
        subscriber = Subscriber.objects.filter(id=tokens.read_manage(token)).first()
    except tokens.BadToken as error:
        return _bad_link(request, str(error))
    if subscriber is None:
        return render(request, "alerts/unsubscribed.html", {"what": None, "forgotten": True})
    if request.method == "POST":
        if request.POST.get("action") == "forget":
            services.subscriber_forget(subscriber=subscriber)
            return render(request, "alerts/unsubscribed.html", {"what": None, "forgotten": True})
        try:
            chosen_id = params.integer(request.POST, "subscription", low=1, high=params.MAX_ID)
        except params.ParamError as error:
            return _bad_link(request, str(error))
        sub = get_object_or_404(subscriber.subscriptions, id=chosen_id)
        if request.POST.get("action") == "delete":
            services.subscription_delete(subscription=sub)
            if not Subscriber.objects.filter(id=subscriber.id).exists():
                return render(
                    request, "alerts/unsubscribed.html", {"what": None, "forgotten": True}
                )
        else:
            frequency = params.text(request.POST, "frequency") or sub.frequency
            limit = settings.ALERTS_MAX_RADIUS_M
            try:
                params.choice("frequency", frequency, Frequency.values)
                radius = params.integer(
                    request.POST, "radius_m", low=MIN_RADIUS_M, high=limit, default=0
                )
            except params.ParamError:
                return _bad_link(request, "Choose a listed frequency and a radius of "
                                          f"{MIN_RADIUS_M}–{limit} m.")  # fmt: skip
            filters = None
            if sub.kind != SubscriptionKind.CASE:
                chosen = FiltersForm(request.POST)
                if not chosen.is_valid():
                    return _bad_link(request, "Choose kinds and request types from the lists.")
                filters = chosen.chosen()
            services.subscription_update(
                subscription=sub, frequency=frequency,
                radius_m=radius or None,
                include_closed=request.POST.get("include_closed") == "on", filters=filters,
            )  # fmt: skip
    subs = [
        (s, describe(s), _filters_form(s), feed_urls(s))
        for s in subscriber.subscriptions.select_related("case", "area").order_by("id")
    ]
    return render(
        request,
        "alerts/manage.html",
        {
            "subscriptions": subs,
            "frequencies": Frequency.choices,
            "radius_choices": RADIUS_CHOICES,
            "min_radius": MIN_RADIUS_M,
            "max_radius": settings.ALERTS_MAX_RADIUS_M,
        },
    )


def _filters_form(sub: Subscription) -> FiltersForm | None:
    """The subscription's filters as a form of its own: ids are unique on a page of several."""
    if sub.kind == SubscriptionKind.CASE:
        return None
    initial = {"layers": sub.layers, "services": sub.services, "service_groups": sub.service_groups}
    return FiltersForm(initial=initial, auto_id=f"id_%s_{sub.id}")


def _bad_link(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "alerts/bad_link.html", {"message": message}, status=400)
