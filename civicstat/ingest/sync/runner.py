"""One sync of one source: fetch page by page, upsert each page, save the cursor, record the run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from civicstat.cases import bulkload
from civicstat.cases.models import Case, Department, Layer, StatusMapping
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import (
    case_events_add,
    case_upsert,
    department_resolve,
    layer_ensure,
    services_ensure,
)
from civicstat.ingest.models import SyncRun, SyncSource
from civicstat.ingest.sync.http import Fetcher, FetchError
from civicstat.ingest.sync.open311 import Open311Client
from civicstat.ingest.sync.remote import Client, RemoteCase
from civicstat.ingest.sync.seeclickfix import SeeClickFixClient

log = logging.getLogger(__name__)


def client_for(source: SyncSource, fetcher: Fetcher) -> Open311Client | SeeClickFixClient:
    if source.kind == SyncSource.Kind.SEECLICKFIX:
        return SeeClickFixClient(source, fetcher)
    return Open311Client(source, fetcher)


def source_sync(
    *, source: SyncSource, progress: Callable[[SyncRun], None] | None = None,
    fetcher: Fetcher | None = None,
) -> SyncRun:  # fmt: skip
    """Bring `source`'s cases up to date and record the run; a failure keeps the cursor."""
    fetcher = fetcher or Fetcher()
    run = SyncRun.objects.create(source=source, cursor_before=source.cursor)
    client = client_for(source, fetcher)
    writer = _Writer(source.layer)
    try:
        writer.services(client.services())
        for page in _pages(client, dict(source.cursor)):
            with transaction.atomic():
                result = writer.write(page.cases)
                source.cursor = page.cursor
                source.save(update_fields=["cursor"])
            run.pages += 1
            run.fetched += len(page.cases)
            run.created += result[0]
            run.updated += result[1]
            run.unchanged += result[2]
            run.events += result[3]
            if progress:
                progress(run)
        source.cursor = client.final_cursor()
        if run.created:
            bulkload.map_statistics_refresh()  # a first sync may grow the cases from nothing
        run.state = SyncRun.State.DONE
    except FetchError as exc:
        run.state, run.error = SyncRun.State.FAILED, str(exc)
    except Exception as exc:  # a bug or a surprise from the remote: record it, keep the cursor
        log.exception("sync of %s failed", source.name)
        run.state, run.error = SyncRun.State.FAILED, f"{exc.__class__.__name__}: {exc}"[:2000]
    finally:
        fetcher.close()
    run.retries = fetcher.retries
    run.finished_at = source.last_run_at = timezone.now()
    run.cursor_after = source.cursor
    source.save(update_fields=["cursor", "last_run_at"])
    run.save()
    return run


def _pages(client: Client, cursor: dict[str, Any]) -> Any:
    return client.pages(cursor)


class _Writer:
    """Turns remote cases into CivicStat cases through the same services as a CSV import."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.service_ids: dict[str, int] = {}
        self.departments: dict[str, Department | None] = {}
        self.statuses = set(
            StatusMapping.objects.filter(layer=layer).values_list("code", flat=True)
        )

    def services(self, wanted: dict[str, tuple[str, str]]) -> None:
        if wanted:
            full: dict[str, tuple[str, str, int | None]] = {
                c: (n, g, None) for c, (n, g) in wanted.items()
            }
            self.service_ids.update(services_ensure(layer=self.layer, wanted=full))

    def write(self, remote: list[RemoteCase]) -> tuple[int, int, int, int]:
        if not remote:
            return (0, 0, 0, 0)
        missing: dict[str, tuple[str, str, int | None]] = {
                   r.service_code: (r.service_name, "", None) for r in remote
                   if r.service_code and r.service_code not in self.service_ids
        }  # fmt: skip
        if missing:
            self.service_ids.update(services_ensure(layer=self.layer, wanted=missing))
        new_statuses = {r.status_code: (r.status_group, r.status_label) for r in remote
                        if r.status_code not in self.statuses}  # fmt: skip
        if new_statuses:
            layer_ensure(slug=self.layer.slug, name=self.layer.name, noun=self.layer.noun,
                         statuses=new_statuses)  # fmt: skip
            self.statuses.update(new_statuses)
        records = [self._record(r) for r in remote]
        result = case_upsert(layer=self.layer, records=records)
        noted = {r.external_id: r.notes for r in remote if r.notes}
        events = result.events
        if noted:
            ids = dict(Case.objects.filter(layer=self.layer, external_id__in=list(noted))
                       .values_list("external_id", "id"))  # fmt: skip
            for external_id, notes in noted.items():
                events += case_events_add(case_id=ids[external_id], notes=notes)
        return (result.created, result.updated, result.unchanged, events)

    def _record(self, r: RemoteCase) -> CaseRecord:
        if r.agency and r.agency not in self.departments:
            self.departments[r.agency] = department_resolve(name=r.agency)
        department = self.departments.get(r.agency) if r.agency else None
        return CaseRecord(
            external_id=r.external_id, status=r.status_code, status_group=r.status_group,
            requested_at=r.requested_at, service_id=self.service_ids.get(r.service_code),
            department_id=department.id if department else None, description=r.description,
            address=r.address, zip_code=r.zip_code, lat=r.lat, lon=r.lon,
            updated_at=r.updated_at, closed_at=r.closed_at, expected_at=r.expected_at,
            channel=r.channel, attributes=r.attributes,
        )  # fmt: skip
