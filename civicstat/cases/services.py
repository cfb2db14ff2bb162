"""Writes to the cases core. Views, commands, connectors and tasks call these; none write models.

`case_upsert` is the hot path of every import and sync: it writes a whole batch with a handful of
multi-row statements instead of one ORM save per case, because the ORM's per-object overhead
alone would cap an import far below the 50,000 rows/s the project aims for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Field
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.text import slugify

from civicstat.cases.bulk import insert_rows, where_in
from civicstat.cases.derive import Adapt, Derived
from civicstat.cases.models import (
    Area,
    Case,
    CaseArea,
    CaseEvent,
    DataVersion,
    Department,
    DepartmentAlias,
    EventKind,
    Layer,
    Service,
    StatusGroup,
)
from civicstat.cases.records import CaseRecord, UpsertResult
from civicstat.cases.rollups import RollupDelta, as_date
from civicstat.cases.signals import ChangeScope, cases_changed
from civicstat.lib.geo import PolygonIndex
from civicstat.maps.cells import CellDelta

# The source's fields, in the order of the INSERT below. Derived columns follow them.
_SOURCE_FIELDS = (
    "external_id", "service_id", "department_id", "status", "status_group", "description",
    "address", "zip_code", "lat", "lon", "location_approximate", "requested_at", "updated_at",
    "closed_at", "expected_at", "channel", "attributes", "closed_approximate", "on_time",
)  # fmt: skip
_DERIVED_FIELDS = (
    "h3_cell",
    "public_lat",
    "public_lon",
    "requested_day",
    "closed_day",
    "close_bucket",
    "fingerprint",
    "ingested_at",
    "within_target",
)


def area_index() -> PolygonIndex:
    """All areas, ready for point-in-polygon. Build it once per import, not once per case."""
    return PolygonIndex(list(Area.objects.values_list("id", "geometry")))


def data_version() -> int:
    """The version cached public answers are keyed on. Read by every cached request, so in plain
    SQL: building the ORM query cost more than a cached answer's other work."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {DataVersion._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def data_version_bump(scope: ChangeScope | None = None) -> None:
    """Mark every cached public response stale: called in the transaction that changed cases.

    Once that transaction commits, `cases_changed` tells the apps that react to new data what
    changed (`scope`; None when anything may have).
    """
    data_version_touch(cases_changed=True)
    transaction.on_commit(
        lambda: cases_changed.send(sender=Case, version=data_version(), scope=scope), robust=True
    )


def data_version_touch(*, cases_changed: bool = False) -> None:
    """Move the data version for an edit that public pages show but that changed no case (a
    measure published or recomputed, a department renamed): every cached page and ETag goes
    stale at once, and nothing is recomputed (no `cases_changed`).

    `cases_changed` (from `data_version_bump`) also stamps the time pages give as "data as of".
    An `update()` skips `auto_now`, so both times are set here."""
    now = timezone.now()
    stamps: dict[str, Any] = {"changed_at": now}
    if cases_changed:
        stamps["cases_changed_at"] = now
    if not DataVersion.objects.filter(pk=1).update(version=F("version") + 1, **stamps):
        DataVersion.objects.create(version=1, **stamps)


def data_version_follows(
    *, saved: Sequence[type[models.Model]], deleted: Sequence[type[models.Model]], app: str
) -> None:
    """Move the data version (`data_version_touch`) whenever one of `saved` is saved or one of
    `deleted` is deleted, wherever it happens (the admin, the shell, a service): for the names,
    labels and figures public pages show, so no cached page keeps the old ones."""

    def touch(sender: Any, **kwargs: Any) -> None:
        data_version_touch()

    for signal, senders, what in ((post_save, saved, "saved"), (post_delete, deleted, "gone")):
        for model in senders:
            uid = f"{app}-pages-{model._meta.label_lower}-{what}"
            signal.connect(touch, sender=model, weak=False, dispatch_uid=uid)


def department_resolve(*, name: str, aliases: dict[str, str] | None = None) -> Department | None:
    """The department a source's name means, following aliases; created on first sight."""
    name = " ".join(name.split())
    if not name:
        return None
    canonical = (aliases or {}).get(name, name)
    alias = DepartmentAlias.objects.select_related("department").filter(name=canonical).first()
    if alias is not None:
        return alias.department
    department, _ = Department.objects.get_or_create(
        name=canonical, defaults={"slug": _unique_slug(Department, canonical)}
    )
    if canonical != name:
        DepartmentAlias.objects.get_or_create(name=name, defaults={"department": department})
    return department


def service_get_or_create(
    *, layer: Layer, code: str, name: str, group: str = "", department: Department | None = None
) -> Service:
    """The service with this code in this layer, created on first sight; staff settings kept."""
    service, created = Service.objects.get_or_create(
        layer=layer,
        code=code,
        defaults={"name": name or code, "group": group, "department": department},
    )
    if not created and department is not None and service.department_id is None:
        service.department = department
        service.save(update_fields=["department"])
    return service


def services_ensure(
    *, layer: Layer, wanted: dict[str, tuple[str, str, int | None]]
) -> dict[str, int]:
    """Ids of this layer's services by code, creating the missing ones in one statement.

    `wanted` maps a code to (name, group, department id). Existing services keep what staff set.
    """
    found = dict(
        Service.objects.filter(layer=layer, code__in=list(wanted)).values_list("code", "id")
    )
    missing = [code for code in wanted if code not in found]
    if missing:
        Service.objects.bulk_create(
            [
                Service(
                    layer=layer,
                    code=code,
                    name=wanted[code][0] or code,
                    group=wanted[code][1],
                    department_id=wanted[code][2],
                )  # fmt: skip
                for code in missing
            ],
            ignore_conflicts=True,
        )
        found.update(
            Service.objects.filter(layer=layer, code__in=missing).values_list("code", "id")
        )
    return found


def _unique_slug(model: type[Department], name: str) -> str:
    base = slugify(name)[:45] or "department"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _chunks[T](items: Sequence[T], size: int | None) -> list[Sequence[T]]:
    size = min(size or 5000, 5000)
    return [items[i : i + size] for i in range(0, len(items), size)]


def case_upsert(
    *,
    layer: Layer,
    records: Sequence[CaseRecord],
    areas: PolygonIndex | None = None,
    deferred: bool = False,
) -> UpsertResult:
    """Create or update a batch of one layer's cases, with their areas, history and rollups.

    Re-sending an unchanged case changes nothing. A changed status becomes a `CaseEvent`
    (status changed, closed or reopened); a new case gets a `created` event carrying the status it
    arrived with. All of it commits together or not at all.

    `deferred`: part of a bulk load (`civicstat.cases.bulkload`) that rebuilds the rollups and map
    cells once at its end, so this batch neither updates them nor tells the apps of new data.
    """
    result = UpsertResult()
    if not records:
        return result
    # The last record wins when a batch names a case twice.
    by_id = {r.external_id: r for r in records}
    records = list(by_id.values())
    zone = ZoneInfo(settings.TIME_ZONE)
    index = areas if areas is not None else area_index()
    area_lists = index.containing([r.lat for r in records], [r.lon for r in records])
    # The targets staff set on the batch's request types: a case the source gives no target
    # is judged against its request type's.
    service_ids = {r.service_id for r in records if r.service_id is not None}
    targets: dict[int, int | None] = {}
    if service_ids:
        with_target = Service.objects.filter(pk__in=service_ids, target_days__isnull=False)
        targets = dict(with_target.order_by().values_list("id", "target_days"))

    now = timezone.now()
    ops = connection.ops
    qn = ops.quote_name
    table = Case._meta.db_table
    limit = connection.features.max_query_params
    with transaction.atomic(), connection.cursor() as cursor:
        sensitive = _layer_sensitive(cursor, layer)
        derived = {
            r.external_id: Derived(r, zone, a, targets.get(r.service_id or 0), sensitive=sensitive)
            for r, a in zip(records, area_lists, strict=True)
        }
        existing: dict[str, tuple[int, int, str, str, int | None, int | None, str, str | None,
                                  int | None, bool | None]] = {}  # fmt: skip
        for chunk in _chunks(list(by_id), (limit or 5000) - 1):
            where, params = where_in("external_id", chunk)
            cursor.execute(
                "SELECT external_id, id, fingerprint, status, status_group, service_id,"
                " department_id, requested_day, closed_day, close_bucket, within_target"
                f" FROM {table} WHERE layer_id = %s AND {where}",
                [layer.id, *params],
            )
            for row in cursor.fetchall():
                existing[row[0]] = row[1:]

        new = [r for r in records if r.external_id not in existing]
        changed = [
            r for r in records
            if r.external_id in existing
            and existing[r.external_id][1] != derived[r.external_id].fingerprint
        ]  # fmt: skip
        result.unchanged = len(records) - len(new) - len(changed)
        if not new and not changed:
            return result

        adapt = Adapt()
        now_value = adapt.dt(now)

        def values(r: CaseRecord) -> list[Any]:
            d = derived[r.external_id]
            return [
                r.external_id, r.service_id, r.department_id, r.status, r.status_group,
                r.description, r.address, r.zip_code, r.lat, r.lon, r.location_approximate,
                adapt.dt(r.requested_at), adapt.dt(r.updated_at), adapt.dt(r.closed_at),
                adapt.dt(r.expected_at), r.channel, adapt.json(r.attributes, d.attributes_json),
                r.closed_approximate, r.on_time, d.cell, d.public_lat, d.public_lon,
                adapt.day(d.requested_day), adapt.day(d.closed_day), d.close_bucket,
                d.fingerprint, now_value, d.within_target,
            ]  # fmt: skip

        columns = [_column(f) for f in (*_SOURCE_FIELDS, *_DERIVED_FIELDS)]
        delta: RollupDelta | _Deferred = _Deferred() if deferred else RollupDelta()
        # The map's per-cell counts, kept like the rollups.
        cells: CellDelta | _Deferred = _Deferred() if deferred else CellDelta()
        events: list[tuple[Any, ...]] = []
        links: list[tuple[int, int]] = []

        if new:
            insert_rows(cursor, table, ["layer_id", *(qn(c) for c in columns)],
                        [[layer.id, *values(r)] for r in new])  # fmt: skip
            ids: dict[str, int] = {}
            for chunk in _chunks([r.external_id for r in new], (limit or 5000) - 1):
                where, params = where_in("external_id", chunk)
                cursor.execute(
                    f"SELECT external_id, id FROM {table} WHERE layer_id = %s AND {where}",
                    [layer.id, *params],
                )
                ids.update(cursor.fetchall())
            for r in new:
                case_id, d = ids[r.external_id], derived[r.external_id]
                links.extend((case_id, a) for a in d.area_ids)
                # One event for a new case, whatever its status: the history records what
                # CivicStat saw happen, and a case first seen closed was not seen closing.
                events.append((case_id, EventKind.CREATED.value, r.requested_at, "", r.status))
                delta.add_case(sign=1, layer_id=layer.id, service_id=r.service_id,
                               department_id=r.department_id, area_ids=d.area_ids,
                               status_group=r.status_group, requested_day=d.requested_day,
                               closed_day=d.closed_day, close_bucket=d.close_bucket,
                               within_target=d.within_target)  # fmt: skip
            # Counted in before its area links are written: the links are passed.
            cells.count_stored(cursor, list(ids.values()), sign=1,
                               areas={ids[r.external_id]: derived[r.external_id].area_ids
                                      for r in new})  # fmt: skip
            result.created = len(new)

        if changed:
            old_areas = _areas_of(cursor, [existing[r.external_id][0] for r in changed])
            assignments = ", ".join(f"{qn(c)} = %s" for c in columns[1:])
            changed_ids = [existing[r.external_id][0] for r in changed]
            cells.count_stored(cursor, changed_ids, sign=-1, areas=old_areas)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = %s",
                [[*values(r)[1:], existing[r.external_id][0]] for r in changed],
            )
            cells.count_stored(cursor, changed_ids, sign=1,
                               areas={existing[r.external_id][0]: derived[r.external_id].area_ids
                                      for r in changed})  # fmt: skip
            unlink: list[tuple[int, int]] = []
            for r in changed:
                case_id, _, status, group, svc, dept, rday, cday, bucket, was_within = existing[
                    r.external_id
                ]
                d = derived[r.external_id]
                before = old_areas.get(case_id, set())
                if before != set(d.area_ids):
                    unlink.extend((case_id, a) for a in before - set(d.area_ids))
                    links.extend((case_id, a) for a in set(d.area_ids) - before)
                delta.add_case(sign=-1, layer_id=layer.id, service_id=svc, department_id=dept,
                               area_ids=before, status_group=group,
                               requested_day=as_date(rday) or d.requested_day,
                               closed_day=as_date(cday), close_bucket=bucket,
                               within_target=None if was_within is None
                               else bool(was_within))  # fmt: skip
                delta.add_case(sign=1, layer_id=layer.id, service_id=r.service_id,
                               department_id=r.department_id, area_ids=d.area_ids,
                               status_group=r.status_group, requested_day=d.requested_day,
                               closed_day=d.closed_day, close_bucket=d.close_bucket,
                               within_target=d.within_target)  # fmt: skip
                if status != r.status:
                    events.append(_transition_event(case_id, status, group, r, now))
            if unlink:
                cursor.executemany(
                    f"DELETE FROM {CaseArea._meta.db_table} WHERE case_id = %s AND area_id = %s",
                    unlink,
                )
            result.updated = len(changed)

        if links:
            insert_rows(cursor, CaseArea._meta.db_table, ["case_id", "area_id"], links)
        if events:
            event_rows: list[Any] = [
                (e[0], e[1], adapt.dt(e[2]), e[3], e[4], "", now_value) for e in events
            ]
            event_columns = ["case_id", "kind", "at", "status_from", "status_to", "note",
                             "recorded_at"]  # fmt: skip
            insert_rows(cursor, CaseEvent._meta.db_table, event_columns, event_rows)
        result.events = len(events)
        delta.apply(adapt.day)
        cells.apply(cursor)
        if not deferred:
            data_version_bump(
                _scope(layer.id, [*new, *changed], [existing[r.external_id] for r in changed])
            )
    return result


def _layer_sensitive(cursor: Any, layer: Layer) -> bool:
    """The layer's `sensitive` flag as stored now, not as the caller's copy says: an import may
    have loaded its layer before staff changed the flag. On PostgreSQL the row is share-locked
    until the batch commits, so a change of the flag (which locks it for update, then rewrites the
    layer's public points) waits for the batch or the batch for it, and never misses its cases.
    (SQLite's write transactions already run one at a time.)"""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    cursor.execute(f"SELECT sensitive FROM {Layer._meta.db_table} WHERE id = %s{lock}", [layer.pk])
    row = cursor.fetchone()
    return bool(row[0]) if row else bool(layer.sensitive)


class _Deferred:
    """Stands in for the rollup and map-cell deltas in a bulk load: it keeps nothing."""

    def add_case(self, **_: Any) -> None:
        pass

    def count_stored(self, *_: Any, **__: Any) -> None:
        pass

    def apply(self, *_: Any) -> None:
        pass


def _scope(layer_id: int, records: list[CaseRecord], before: list[tuple[Any, ...]]) -> ChangeScope:
    """The layers, services and departments whose counts a batch moved: each written case's
    new ones, and a changed case's old ones."""
    return ChangeScope(
        layers=frozenset([layer_id]),
        services=frozenset([*(r.service_id or 0 for r in records), *(b[4] or 0 for b in before)]),
        departments=frozenset(
            [*(r.department_id or 0 for r in records), *(b[5] or 0 for b in before)]
        ),
    )


def _column(name: str) -> str:
    field = Case._meta.get_field(name)
    assert isinstance(field, Field)  # noqa: S101 - every name above is a concrete column
    return str(field.column)


def _transition_event(
    case_id: int, old_status: str, old_group: str, r: CaseRecord, now: datetime
) -> tuple[Any, ...]:
    if old_group == StatusGroup.OPEN and r.status_group == StatusGroup.CLOSED:
        return (case_id, EventKind.CLOSED.value, r.closed_at or r.updated_at or now, old_status,
                r.status)  # fmt: skip
    if old_group == StatusGroup.CLOSED and r.status_group == StatusGroup.OPEN:
        return (case_id, EventKind.REOPENED.value, r.updated_at or now, old_status, r.status)
    return (case_id, EventKind.STATUS_CHANGED.value, r.updated_at or now, old_status, r.status)


def _areas_of(cursor: object, case_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for chunk in _chunks(case_ids, (connection.features.max_query_params or 5000) - 1):
        where, params = where_in("case_id", chunk)
        cursor.execute(  # type: ignore[attr-defined]
            f"SELECT case_id, area_id FROM {CaseArea._meta.db_table} WHERE {where}", params
        )
        for case_id, area_id in cursor.fetchall():  # type: ignore[attr-defined]
            found.setdefault(case_id, set()).add(area_id)
    return found


def case_add_note(*, case: Case, note: str, at: datetime) -> CaseEvent:
    """Add a note to a case's history."""
    with transaction.atomic():
        event = CaseEvent.objects.create(case=case, kind=EventKind.NOTE, at=at, note=note)
        data_version_bump(ChangeScope())
    return event


def layer_ensure(
    *, slug: str, name: str, noun: str, position: int = 0, statuses: dict[str, tuple[str, str]],
    description: str = "", sensitive: bool = False,
) -> Layer:  # fmt: skip
    """The layer with this slug, created if missing, with its status map brought up to date.

    `statuses` maps a local code to (group, public label). Staff edits to a layer's name are kept.
    `sensitive`: the layer is marked sensitive (`civicstat.cases.sensitive`) if it is not yet;
    a mapping never unmarks one, so a re-import cannot publish exact points staff hid.
    """
    from civicstat.cases.models import StatusMapping

    with transaction.atomic():
        layer, _ = Layer.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "noun": noun, "position": position,
                      "description": description, "sensitive": sensitive},
        )  # fmt: skip
        if sensitive and not layer.sensitive:
            layer.sensitive = True
            layer.save(update_fields=["sensitive"])
        for code, (group, label) in statuses.items():
            StatusMapping.objects.update_or_create(
                layer=layer, code=code, defaults={"group": group, "label": label}
            )
    return layer


def case_create(*, layer: Layer, record: CaseRecord, contact: dict[str, Any] | None = None) -> Case:
    """One new case (with its `created` event) and its reporter's contact, kept apart from it."""
    from civicstat.cases.models import CaseContact

    with transaction.atomic():
        if Case.objects.filter(layer=layer, external_id=record.external_id).exists():
            raise ValueError(f"case {record.external_id} already exists")
        case_upsert(layer=layer, records=[record])
        case = Case.objects.get(layer=layer, external_id=record.external_id)
        if contact and any(contact.values()):
            CaseContact.objects.create(case=case, **contact)
    return case


def case_events_add(*, case_id: int, notes: Sequence[tuple[datetime, str, str]]) -> int:
    """Add notes a source reported to a case's history, skipping ones already recorded.

    Each note is (time, text, label): the label is what the source called it, in words
    ("Follow-on request closed"), or empty for a plain note. A sync sees the same notes again on
    every pass; a note is the same when its time, text and label are.
    """
    if not notes:
        return 0
    seen = set(
        CaseEvent.objects.filter(case_id=case_id, kind=EventKind.NOTE).values_list(
            "at", "note", "label"
        )
    )
    fresh = [n for n in dict.fromkeys(notes) if n not in seen]
    if fresh:
        with transaction.atomic():
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(case_id=case_id, kind=EventKind.NOTE, at=at, note=t, label=label)
                    for at, t, label in fresh
                ]
            )
            data_version_bump(ChangeScope())
    return len(fresh)
