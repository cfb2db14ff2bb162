"""How current the public data is: "data as of" on every page, and why a quick window is empty.

Every page says when the cases last changed (the last import, sync or write that committed) and
the day the latest public case was opened, per layer when layers end on different days (Kansas
City's crime incidents end in 2017, its 311 requests in 2020). Both change only with the data
version, so they are worked out once per version (from the rollups, a few small reads, never a
scan of the cases) and kept in the cache; a page cached by data version shows them rightly.

A quick window ("Last 30 days") reads back from today. When a layer's data ends before the window
starts, an empty answer is no news about the city: `QuietWindow` says so and offers the same
number of days up to the latest case instead.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Max
from django.http import QueryDict
from django.utils import timezone

from civicstat.cases.models import DataVersion, Layer, MonthlyPublicCount
from civicstat.cases.query import PARAMETERS, CaseFilter, rollup_rows
from civicstat.cases.services import data_version
from civicstat.lib import params


@dataclass(frozen=True)
class LayerEnd:
    slug: str
    name: str
    latest: date  # the latest local day a public case of the layer was opened


@dataclass(frozen=True)
class DataAsOf:
    updated: datetime | None  # when cases last changed; None before the first import
    layers: tuple[LayerEnd, ...]  # layers with public cases, in the site's layer order

    @property
    def latest(self) -> date | None:
        """The latest day any public case was opened."""
        return max((layer.latest for layer in self.layers), default=None)

    @property
    def layers_differ(self) -> bool:
        """Whether the layers end on different days, so each one's must be given."""
        return len({layer.latest for layer in self.layers}) > 1

    def latest_of(self, slugs: list[str]) -> date | None:
        """The latest day a case of these layers (all layers when none) was opened."""
        chosen = [layer.latest for layer in self.layers if not slugs or layer.slug in slugs]
        return max(chosen, default=None)


def data_as_of() -> DataAsOf:
    """The data's dates for the current data version (cached per version)."""
    key = f"data-as-of:{data_version()}"
    found: DataAsOf | None = cache.get(key)
    if found is None:
        found = _compute()
        cache.set(key, found, 24 * 3600)
    return found


def _compute() -> DataAsOf:
    stamp = DataVersion.objects.filter(pk=1).values_list("cases_changed_at", "changed_at").first()
    updated = (stamp[0] or stamp[1]) if stamp else None
    # The month of each layer's latest public case from the month counts (a few thousand rows at
    # a million cases), then its day from that month's day rows alone.
    months = dict(
        MonthlyPublicCount.objects.filter(area_id=0, opened__gt=0)
        .values("layer_id")
        .annotate(month=Max("month"))
        .values_list("layer_id", "month")
    )
    ends = []
    for layer in Layer.objects.filter(id__in=months).only("slug", "name"):
        first = months[layer.id]
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        f = CaseFilter(layers=[layer.slug], requested_from=first, requested_to=last)
        day = rollup_rows(f).filter(opened__gt=0).aggregate(d=Max("day"))["d"]
        if day is not None:
            ends.append(LayerEnd(layer.slug, layer.name, day))
    return DataAsOf(updated, tuple(ends))


@dataclass(frozen=True)
class QuietWindow:
    """A quick window that found nothing because the data of its layers ends before it."""

    days: int
    data_end: date
    whose: str  # "this layer's", "these layers'" or "the"
    query: str  # the same filters over the `days` days up to `data_end`

    @property
    def start(self) -> date:
        return self.data_end - timedelta(days=self.days - 1)


def quiet_window(query: QueryDict, f: CaseFilter, count: int) -> QuietWindow | None:
    """Why `count` (0) cases matched a `days=N` window, when the data ends before it: the
    latest day of the layers `f` names (or of all), and the query for the N days up to it."""
    if count or not params.items(query, "days") or f.requested_from is None:
        return None
    end = data_as_of().latest_of(f.layers)
    if end is None or end >= f.requested_from:
        return None  # no data at all, or the window holds data days and just nothing matched
    n = (timezone.localdate() - f.requested_from).days + 1
    pairs = [
        (name, value)
        for name in PARAMETERS
        if name not in ("bbox", "days", "since", "until")
        for value in query.getlist(name)
        if value.strip()
    ]
    pairs += [("since", (end - timedelta(days=n - 1)).isoformat()), ("until", end.isoformat())]
    whose = {0: "the", 1: "this layer's"}.get(len(f.layers), "these layers'")
    return QuietWindow(n, end, whose, urlencode(pairs))


def quiet_period(
    f: CaseFilter, start: date | None, end: date, *, whose: str, keep: dict[str, str]
) -> QuietWindow | None:
    """Why a period `start`..`end` of the whole data (a department's "last 30 days", which end on
    the latest day any case has) holds no case of `f`: its own latest case comes before it. The
    query (`keep` plus since/until) is the same number of days up to that case, for the map."""
    if start is None:
        return None
    found = rollup_rows(f).filter(opened__gt=0).aggregate(d=Max("day"))["d"]
    if found is None or found >= start:
        return None
    n = (end - start).days + 1
    since = (found - timedelta(days=n - 1)).isoformat()
    query = urlencode({**keep, "since": since, "until": found.isoformat()})
    return QuietWindow(n, found, whose, query)
