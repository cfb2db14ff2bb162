"""One sync of one source: fetch page by page, upsert each page, save the cursor, record the run.

Every record a source sends is counted once: created, updated, unchanged or rejected (kept with
its reason, as an import's rejected rows are), so a run's counts add up to what it fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from civicstat.cases import bulkload
from civicstat.cases.models import Case, Department, Layer, StatusMapping
from civicstat.cases.records import CaseRecord, UpsertResult
from civicstat.cases.services import (
    case_events_add,
    case_upsert,
    department_resolve,
    layer_ensure,
    services_ensure,
)
from civicstat.ingest.importer import generations
from civicstat.ingest.ledger import Ledger
from civicstat.ingest.mapping import ProfileError
from civicstat.ingest.models import SyncRun, SyncSource
from civicstat.ingest.normalize import location_problem
from civicstat.ingest.sync.http import Fetcher, FetchError
from civicstat.ingest.sync.open311 import Open311Client
from civicstat.ingest.sync.remote import Page, Rejected, RemoteCase
from civicstat.ingest.sync.seeclickfix import SeeClickFixClient
from civicstat.ingest.sync.socrata import SocrataClient

log = logging.getLogger(__name__)


class Writer(Protocol):
    def write(self, records: Sequence[Any]) -> None: ...


def client_for(source: SyncSource, fetcher: Fetcher) -> Any:
    if source.kind == SyncSource.Kind.SEECLICKFIX:
        return SeeClickFixClient(source, fetcher)
    if source.kind == SyncSource.Kind.SOCRATA:
        return SocrataClient(source, fetcher)
    return Open311Client(source, fetcher)


def source_sync(
    *, source: SyncSource, progress: Callable[[SyncRun], None] | None = None,
    fetcher: Fetcher | None = None,
) -> SyncRun:  # fmt: skip
    """Bring `source`'s cases up to date and record the run; a failure keeps the cursor."""
    fetcher = fetcher or Fetcher()
    run = SyncRun.objects.create(source=source, cursor_before=source.cursor)
    ledger = Ledger(run)
    try:
        client = client_for(source, fetcher)
        if isinstance(client, SocrataClient):
            writer: Writer = client.writer(ledger)
        else:
            writer = RemoteWriter(source.layer, ledger, bounds=source.bounds_box())
            writer.services(client.services())
        for warning in getattr(client, "warnings", []):
            ledger.warn(reason=warning)
        ledger.save()
        page: Page
        for page in client.pages(dict(source.cursor)):
            try:
                with transaction.atomic():
                    writer.write(page.records)
                    ledger.save()
                    source.cursor = page.cursor
                    source.save(update_fields=["cursor"])
            except BaseException:
                ledger.rollback()  # the page's counts went with its transaction
                raise
            run.pages += 1
            if progress:
                progress(run)
        source.cursor = client.final_cursor()
        if run.created:
            bulkload.map_statistics_refresh()  # a first sync may grow the cases from nothing
        run.state = SyncRun.State.DONE
    except (FetchError, ProfileError) as exc:
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


class RemoteWriter:
    """Turns remote cases into CivicStat cases through the same services as a file import,
    numbering each record and keeping in the ledger what became of it."""

    def __init__(self, layer: Layer, ledger: Ledger,
                 bounds: tuple[float, float, float, float] | None = None) -> None:  # fmt: skip
        self.layer = layer
        self.ledger = ledger
        self.bounds = bounds
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

    def write(self, records: Sequence[RemoteCase | Rejected]) -> None:
        ledger = self.ledger
        cases: list[RemoteCase] = []
        for item in records:
            ledger.read += 1
            if isinstance(item, Rejected):
                ledger.reject(line=ledger.read, reason=item.reason, external_id=item.external_id,
                              raw=item.raw)  # fmt: skip
                continue
            item.line = ledger.read
            self._locate(item)
            for key, value, reason in item.warnings:
                ledger.warn(line=item.line, external_id=item.external_id, field=key, value=value,
                            reason=reason)  # fmt: skip
            cases.append(item)
        if not cases:
            return
        missing: dict[str, tuple[str, str, int | None]] = {
                   r.service_code: (r.service_name, "", None) for r in cases
                   if r.service_code and r.service_code not in self.service_ids
        }  # fmt: skip
        if missing:
            self.service_ids.update(services_ensure(layer=self.layer, wanted=missing))
        new_statuses = {r.status_code: (r.status_group, r.status_label) for r in cases
                        if r.status_code not in self.statuses}  # fmt: skip
        if new_statuses:
            layer_ensure(slug=self.layer.slug, name=self.layer.name, noun=self.layer.noun,
                         statuses=new_statuses)  # fmt: skip
            self.statuses.update(new_statuses)
        total = UpsertResult()
        for turn in generations(cases, key=_external_id):
            # A case a page names twice is written in turns: the later one updates the earlier.
            before = {
                external_id: rest
                for external_id, *rest in Case.objects.filter(
                    layer=self.layer, external_id__in=[r.external_id for r in turn]
                ).values_list(
                    "external_id", "id", "status_group", "closed_at", "closed_approximate"
                )  # fmt: skip
            }
            now = timezone.now()
            total.add(case_upsert(layer=self.layer,
                                  records=[self._record(r, before.get(r.external_id), now)
                                           for r in turn]))  # fmt: skip
            noted = {r.external_id: r.notes for r in turn if r.notes}
            if noted:
                ids = dict(Case.objects.filter(layer=self.layer, external_id__in=list(noted))
                           .values_list("external_id", "id"))  # fmt: skip
                for external_id, notes in noted.items():
                    total.events += case_events_add(case_id=ids[external_id], notes=notes)
        ledger.stored(total)

    def _locate(self, r: RemoteCase) -> None:
        """The file import's checks: a point needs both halves, on Earth, not (0, 0), inside the
        city's bounds. A case keeps its other facts without it, with a warning."""
        if r.lat is None and r.lon is None:
            return
        if r.lat is None or r.lon is None:
            problem = "a latitude without a longitude, or the other way round"
        else:
            problem = location_problem(r.lat, r.lon, self.bounds) or ""
        if problem:
            r.warnings.append(("lat, long", f"{r.lat}, {r.lon}",
                               f"{problem}; the location was left out"))  # fmt: skip
            r.lat = r.lon = None

    def _record(self, r: RemoteCase, before: list[Any] | None, now: datetime) -> CaseRecord:
        if r.agency and r.agency not in self.departments:
            self.departments[r.agency] = department_resolve(name=r.agency)
        department = self.departments.get(r.agency) if r.agency else None
        closed, approximate = _closed_time(r, before, now)
        return CaseRecord(
            external_id=r.external_id, status=r.status_code, status_group=r.status_group,
            requested_at=r.requested_at, service_id=self.service_ids.get(r.service_code),
            department_id=department.id if department else None, description=r.description,
            address=r.address, zip_code=r.zip_code, lat=r.lat, lon=r.lon,
            updated_at=r.updated_at, closed_at=closed, closed_approximate=approximate,
            expected_at=r.expected_at, channel=r.channel, attributes=r.attributes,
        )  # fmt: skip


def _closed_time(r: RemoteCase, before: list[Any] | None,
                 now: datetime) -> tuple[datetime | None, bool]:  # fmt: skip
    """When a closed case closed, and whether that is approximate.

    The remote's own closing time when it gives one. Otherwise the time of the status change:
    a case this sync saw open and now sees closed closed at its last update (or, with none, at
    this sync); one already closed keeps the time worked out then, so a later note does not move
    it; one first seen closed gets its last update, marked approximate. Never before it opened.
    """
    if r.status_group != "closed":
        return None, False
    if r.closed_at is not None:
        return max(r.closed_at, r.requested_at), False
    if before is not None:
        _, group, closed_at, approximate = before
        if group == "closed" and closed_at is not None:
            return closed_at, approximate
        if group == "open":
            return max(r.updated_at or now, r.requested_at), r.updated_at is None
    if r.updated_at is None:
        return None, False
    return max(r.updated_at, r.requested_at), True


def _external_id(r: RemoteCase) -> str:
    return r.external_id
