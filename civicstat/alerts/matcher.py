"""Turns new CaseEvents into outbox items, a batch at a time, resuming after a stored cursor.

A batch's items and the cursor move commit together; if a worker dies half-way the batch is simply
matched again, and the outbox's unique constraint drops what was already there.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from civicstat.alerts.matching import SHARED_BIT, Floats, Ints, NewCase, RadiusIndex, layer_bit
from civicstat.alerts.models import (
    IndexVersion,
    MatcherCursor,
    OutboxItem,
    Subscription,
    SubscriptionKind,
)
from civicstat.cases.aliases import alias_pairs, names_merged
from civicstat.cases.models import CaseArea, CaseEvent, EventKind, Layer
from civicstat.cases.query import CaseFilter, cases

_index: LiveIndex | None = None
# How far before an index load a change may have been stamped and still not seen by the load (its
# transaction committed after the load read the table); such changes are read again.
_SKEW = timedelta(minutes=1)
# The share of changed subscriptions past which the whole index is loaded again.
_RELOAD_SHARE = 0.05


class LiveIndex:
    """The radius index of one worker, kept current without reloading a million subscriptions
    whenever one person subscribes.

    `main` is loaded once; subscriptions confirmed or changed since (by `changed_at`) are loaded
    into a small `delta` index, and their old entries in `main` are ignored. A cancelled one needs
    nothing here: `_still_subscribed` drops its matches. Once the changes pass 5 % of the whole,
    everything is loaded again.
    """

    def __init__(self, version: int) -> None:
        self.loaded_at = timezone.now()
        self.aliases = alias_pairs()
        self.main = load_index(version)
        self.delta: RadiusIndex | None = None
        self.stale = np.zeros(0, dtype=np.int64)  # ids whose `main` entry is out of date

    @property
    def version(self) -> int:
        return self.delta.version if self.delta is not None else self.main.version

    def refresh(self, version: int) -> LiveIndex:
        changed = Subscription.objects.filter(
            kind=SubscriptionKind.RADIUS, changed_at__gte=self.loaded_at - _SKEW
        )
        if changed.count() > _RELOAD_SHARE * max(len(self.main), 1000):
            return LiveIndex(version)
        self.stale = np.array(sorted(changed.values_list("id", flat=True)), dtype=np.int64)
        self.delta = load_index(version, changed_since=self.loaded_at - _SKEW)
        return self

    def match(self, new: list[NewCase]) -> tuple[Ints, Ints, Floats]:
        subs, cases, distances = self.main.match(new)
        if self.delta is None:
            return subs, cases, distances
        fresh = ~np.isin(subs, self.stale)
        more = self.delta.match(new)
        return (
            np.concatenate([subs[fresh], more[0]]),
            np.concatenate([cases[fresh], more[1]]),
            np.concatenate([distances[fresh], more[2]]),
        )


def radius_index() -> LiveIndex:
    """The confirmed radius subscriptions, brought up to date when `IndexVersion` moved."""
    global _index  # noqa: PLW0603 - one index per worker process, shared by its batches
    version = IndexVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    # The subscriptions' filters are read through the renamed-category aliases: when those change
    # (a few rows, read in two small queries), every filter is read again.
    if _index is None or _index.aliases != alias_pairs():
        _index = LiveIndex(version)
    elif _index.version != version:
        _index = _index.refresh(version)
    return _index


def load_index(version: int = 0, *, changed_since: datetime | None = None) -> RadiusIndex:
    """The confirmed radius subscriptions of enabled addresses (those changed since, if given)."""
    layer_ids = dict(Layer.objects.values_list("slug", "id"))
    # A subscription to a renamed category follows it under either name (`cases.aliases`).
    code_pairs, group_pairs = alias_pairs()
    rows = Subscription.objects.filter(
        kind=SubscriptionKind.RADIUS,
        confirmed_at__isnull=False,
        subscriber__disabled_at__isnull=True,
    )
    if changed_since is not None:
        rows = rows.filter(changed_at__gte=changed_since)
    # The row tuples straight from the cursor: a million subscriptions through the ORM's JSON
    # decoding of three list columns took most of a worker's start-up, and nearly all are "[]".
    columns = ("id", "lat", "lon", "radius_m", "center_cell", "layers", "services",
               "service_groups", "include_closed")  # fmt: skip
    sql, params = rows.values_list(*columns).query.sql_with_params()
    ids, lats, lons, radii, masks, closed, cells = [], [], [], [], [], [], []
    filters: dict[int, tuple[set[str], set[str]]] = {}
    layer_filters: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(20_000):
            for sub_id, lat, lon, radius, cell, layers, services, groups, include in chunk:
                ids.append(sub_id)
                cells.append(cell or 0)
                lats.append(lat if lat is not None else math.nan)
                lons.append(lon if lon is not None else math.nan)
                radii.append(float(radius or 0))
                closed.append(bool(include))
                wanted = {layer_ids[slug] for slug in _listed(layers) if slug in layer_ids}
                mask = 0
                for layer_id in wanted:
                    mask |= layer_bit(layer_id)
                masks.append(mask)
                if mask & layer_bit(SHARED_BIT):
                    layer_filters[sub_id] = wanted
                if (services and services != "[]") or (groups and groups != "[]"):
                    filters[sub_id] = (set(names_merged(_listed(services), code_pairs)),
                                       set(names_merged(_listed(groups), group_pairs)))  # fmt: skip
    return RadiusIndex(
        ids=ids, lats=lats, lons=lons, radii=radii, layer_masks=masks,
        include_closed=closed, service_filters=filters, cells=cells, version=version,
        layer_filters=layer_filters,
    )  # fmt: skip


def _listed(value: Any) -> list[str]:
    """A JSON list column as the driver gives it: text on SQLite, a list on PostgreSQL."""
    if not value or value == "[]":
        return []
    found = json.loads(value) if isinstance(value, str) else value
    return [str(v) for v in found] if isinstance(found, list) else []


# How long a gap in event ids may be waited for. On PostgreSQL an id is taken when a row is
# written, not when its transaction commits: while an import holds ids 101-200 uncommitted, a note
# written beside it as 201 can be seen first. Moving the cursor past 201 would lose 101-200 for
# good, so the cursor stops before a gap until the gap is this old (a rolled-back or deleted
# event leaves a gap that never fills). Events past the gap are matched anyway; matching them
# again later adds nothing, as the outbox keeps one item per (subscription, case, kind).
GAP_WAIT = timedelta(minutes=2)


def match_new_events(*, batch_size: int | None = None) -> int:
    """Match every event after the cursor; returns how many outbox items were added."""
    added, read_to, held = 0, None, False
    while True:
        n, read_to, held, more = _match_batch(
            batch_size or settings.ALERTS_MATCH_BATCH, read_to=read_to, held=held
        )
        added += n
        if not more:
            return added


def _match_batch(size: int, *, read_to: int | None, held: bool) -> tuple[int, int, bool, bool]:
    """Match one batch after `read_to` (the cursor, at first). Returns the items added, the last
    id read, whether the cursor is held before a gap, and whether more events may follow."""
    with transaction.atomic():
        cursor, _ = MatcherCursor.objects.select_for_update().get_or_create(pk=1)
        start = cursor.last_event_id if read_to is None else read_to
        events = list(
            CaseEvent.objects.filter(id__gt=start)
            .order_by("id")
            .values_list("id", "case_id", "kind", "recorded_at")[:size]
        )
        if not events:
            return 0, start, held, False
        items = _items_for([(i, case_id, kind) for i, case_id, kind, _ in events])
        created = OutboxItem.objects.bulk_create(items, batch_size=2000, ignore_conflicts=True)
        if not held:
            safe = _before_young_gap(cursor.last_event_id, events, timezone.now())
            held = safe < events[-1][0]
            cursor.last_event_id = safe
            cursor.save(update_fields=["last_event_id"])
    return len(created), events[-1][0], held, len(events) == size


def _before_young_gap(
    last: int, events: list[tuple[int, int, str, datetime]], now: datetime
) -> int:
    """The id the cursor may move to: the last event before the first gap in ids that is younger
    than GAP_WAIT (measured by the event just after it), else the last event."""
    expected = last + 1
    for event_id, _, _, recorded_at in events:
        if event_id != expected and now - recorded_at < GAP_WAIT:
            return expected - 1
        expected = event_id + 1
    return events[-1][0]


def _items_for(events: list[tuple[int, int, str]]) -> list[OutboxItem]:
    case_ids = {case_id for _, case_id, _ in events}
    # The one query path: private services never reach an alert.
    public: dict[int, Any] = {
        c["id"]: c
        for c in cases(CaseFilter())
        .filter(id__in=case_ids)
        .values(
            "id",
            "lat",
            "lon",
            "location_approximate",
            "h3_cell",
            "layer_id",
            "service__code",
            "service__group",
        )  # fmt: skip
    }
    items: list[OutboxItem] = []
    # Followed cases: every event is news.
    follows = defaultdict(list)
    for sub_id, case_id in Subscription.objects.filter(
        kind=SubscriptionKind.CASE, confirmed_at__isnull=False, case_id__in=public
    ).values_list("id", "case_id"):
        follows[case_id].append(sub_id)
    news: list[tuple[int, int, str]] = []  # event id, case id, "opened" / "closed"
    for event_id, case_id, kind in events:
        if case_id not in public:
            continue
        for sub_id in follows.get(case_id, []):
            items.append(OutboxItem(subscription_id=sub_id, case_id=case_id,
                                    kind=f"event:{event_id}", event_id=event_id))  # fmt: skip
        if kind == EventKind.CREATED:
            news.append((event_id, case_id, "opened"))
        elif kind == EventKind.CLOSED:
            news.append((event_id, case_id, "closed"))
    if not news:
        return items
    items.extend(_area_items(news, public))
    items.extend(_radius_items(news, public))
    return items


def _area_items(news: list[tuple[int, int, str]], public: dict[int, Any]) -> list[OutboxItem]:
    case_areas = defaultdict(set)
    for case_id, area_id in CaseArea.objects.filter(
        case_id__in={c for _, c, _ in news}
    ).values_list("case_id", "area_id"):
        case_areas[case_id].add(area_id)
    subs = Subscription.objects.filter(
        kind=SubscriptionKind.AREA,
        confirmed_at__isnull=False,
        subscriber__disabled_at__isnull=True,
        area_id__in={a for areas in case_areas.values() for a in areas},
    )
    layer_slugs = dict(Layer.objects.values_list("id", "slug"))
    code_pairs, group_pairs = alias_pairs()
    items = []
    for sub in subs:
        codes = set(names_merged(sub.services or [], code_pairs))
        groups = set(names_merged(sub.service_groups or [], group_pairs))
        for event_id, case_id, kind in news:
            case = public[case_id]
            if sub.area_id not in case_areas.get(case_id, ()):
                continue
            if kind == "closed" and not sub.include_closed:
                continue
            if sub.layers and layer_slugs.get(case["layer_id"]) not in sub.layers:
                continue
            if codes and case["service__code"] not in codes:
                continue
            if groups and case["service__group"] not in groups:
                continue
            items.append(OutboxItem(subscription_id=sub.id, case_id=case_id, kind=kind,
                                    event_id=event_id))  # fmt: skip
    return items


def _radius_items(news: list[tuple[int, int, str]], public: dict[int, Any]) -> list[OutboxItem]:
    batch: list[NewCase] = []
    event_of: dict[tuple[int, bool], int] = {}
    for event_id, case_id, kind in news:
        case = public[case_id]
        # A placeholder point (City Hall for "somewhere in the city") has no cell: never matched.
        if case["location_approximate"] or case["h3_cell"] is None or case["lat"] is None:
            continue
        closed = kind == "closed"
        event_of[(case_id, closed)] = event_id
        batch.append(
            NewCase(
                case_id=case_id,
                lat=case["lat"],
                lon=case["lon"],
                layer_id=case["layer_id"],
                service_code=case["service__code"] or "",
                service_group=case["service__group"] or "",
                closed=closed,
            )
        )
    if not batch:
        return []
    index = radius_index()
    items: list[OutboxItem] = []
    # Several events of one case in a batch: match each (case, closed) once.
    seen: set[tuple[int, bool]] = set()
    unique = []
    for c in batch:
        if (c.case_id, c.closed) not in seen:
            seen.add((c.case_id, c.closed))
            unique.append(c)
    for part in (False, True):
        chunk = [c for c in unique if c.closed is part]
        sub_ids, case_ids, distances = index.match(chunk)
        live = _still_subscribed(set(sub_ids.tolist()))
        kind = "closed" if part else "opened"
        for sub_id, case_id, d in zip(
            sub_ids.tolist(), case_ids.tolist(), distances.tolist(), strict=True
        ):
            if sub_id in live:
                event_id = event_of[(case_id, part)]
                items.append(OutboxItem(subscription_id=sub_id, case_id=case_id, kind=kind,
                                        event_id=event_id, distance_m=d))  # fmt: skip
    return items


def _still_subscribed(ids: set[int]) -> set[int]:
    """The matched subscriptions that still exist: one may have been cancelled since the index
    was loaded (its version moves on, but this batch already used the old one)."""
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 5000):
        found.update(
            Subscription.objects.filter(
                id__in=ordered[start : start + 5000],
                confirmed_at__isnull=False,
                subscriber__disabled_at__isnull=True,
            ).values_list("id", flat=True)
        )
    return found
