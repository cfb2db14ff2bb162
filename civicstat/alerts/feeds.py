"""Atom and RSS feeds for any watch query: the map's filter grammar plus lat/lon/radius."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import format_html, format_html_join

from civicstat.alerts.models import MIN_RADIUS_M
from civicstat.cases.freshness import quiet_window
from civicstat.cases.models import Case
from civicstat.cases.query import FilterError, attach_status_labels, cases, parse_filters
from civicstat.lib import params
from civicstat.lib.geo import circle_bbox, haversine_m
from civicstat.readlimits import text_refusal, throttled, time_limited


class _Found(list[Case]):
    """The feed's cases, and why there are none when a quick window ends after the data."""

    note: str = ""


def _searches_text(request: HttpRequest) -> bool:
    # A text filter reads the description and address of case after case until 500 match; the
    # other filters seek indexes. Feed readers poll many feeds from few addresses: count only it.
    return bool(request.GET.get("q", "").strip())


class WatchFeed(Feed):  # type: ignore[type-arg]
    feed_type: type[SyndicationFeed] = Atom1Feed
    title = "CivicStat alerts feed"
    link = "/alerts"

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        answer = time_limited(refuse=text_refusal)(self._answer)
        return throttled(when=_searches_text, refuse=text_refusal)(answer)(request, *args, **kwargs)

    def _answer(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except (FilterError, ValueError) as error:
            return HttpResponse(str(error), status=400, content_type="text/plain")

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> _Found:
        f = parse_filters(request.GET)
        circle = None
        if "lat" in request.GET or "radius" in request.GET:
            lat = params.number(request.GET, "lat", low=-90, high=90)
            lon = params.number(request.GET, "lon", low=-180, high=180)
            radius = params.number(request.GET, "radius", low=MIN_RADIUS_M,
                                   high=settings.ALERTS_MAX_RADIUS_M)  # fmt: skip
            f.bbox = circle_bbox(lat, lon, radius)
            circle = (lat, lon, radius)
        rows = cases(f).select_related("layer", "service", "department").order_by("-requested_at")
        if circle is not None:
            rows = rows.filter(location_approximate=False)
        found = _Found()
        for case in rows[:500]:
            # An open feed measures from the public point (`civicstat.cases.sensitive`): circles
            # drawn at will around exact points would, one after another, corner a crime's place.
            at = (case.public_lat, case.public_lon)
            if circle is None or haversine_m(circle[0], circle[1], *at) <= circle[2]:  # type: ignore[arg-type]
                found.append(case)
            if len(found) == 50:
                break
        if quiet := quiet_window(request.GET, f, len(found)):
            found.note = (
                f"No cases in the last {quiet.days} days: {quiet.whose} data ends on "
                f"{quiet.data_end:%-d %b %Y}. The last {quiet.days} days of data: "
                f"{settings.SITE_URL}/map?{quiet.query}"
            )
        attach_status_labels(found)
        return found

    def items(self, obj: list[Case]) -> list[Case]:
        return obj

    def description(self, obj: _Found) -> str:  # RSS; Atom's subtitle below
        return f"New cases matching a watch. {obj.note}".strip()

    def subtitle(self, obj: _Found) -> str:
        return self.description(obj)

    def item_title(self, item: Case) -> str:
        name = item.service.name if item.service else item.layer.noun.capitalize()
        return f"{name}: {item.public_address or 'no address'}"

    def item_description(self, item: Case) -> str:
        """What a reader needs without opening the case (an empty summary said nothing): its type,
        status, department, address and date, then the source's description (public on the case
        page too). Only public fields: the address is `public_address` (none for a sensitive
        layer, `civicstat.cases.sensitive`), and nothing of whoever reported it (CaseContact)."""
        return summary_html(item)

    def item_pubdate(self, item: Case) -> Any:
        return item.requested_at

    def item_link(self, item: Case) -> str:
        return item.get_absolute_url()


class RssWatchFeed(WatchFeed):
    """The same feed as RSS 2.0, for readers and tools that only take RSS."""

    feed_type = Rss201rev2Feed


def summary_facts(case: Case) -> list[tuple[str, str]]:
    """The case's public facts as (label, value) pairs, its date in the city's time zone."""
    opened = timezone.localtime(case.requested_at)
    facts = [
        ("Type", case.service.name if case.service else case.layer.noun.capitalize()),
        ("Status", case.status_label),
        ("Department", case.department.name if case.department else "None named"),
    ]
    if address := case.public_address:
        facts.append(("Address", address))
    facts.append(("Opened", f"{opened:%-d %b %Y, %H:%M} {opened.tzname()}"))
    if case.closed_at and case.status_group == "closed":
        closed = timezone.localtime(case.closed_at)
        facts.append(("Closed", f"{closed:%-d %b %Y, %H:%M} {closed.tzname()}"))
    return facts


def summary_html(case: Case) -> str:
    """The facts as a short HTML list (Atom's summary and RSS's description are HTML), escaped."""
    facts = format_html_join("", "<li>{}: {}</li>", summary_facts(case))
    description = format_html("<p>{}</p>", case.description) if case.description else ""
    return str(format_html("<ul>{}</ul>{}", facts, description))
