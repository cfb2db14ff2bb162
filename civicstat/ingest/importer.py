"""Import a city's export file: stream it, normalise each row, upsert in batches, report rejects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from civicstat.cases import bulkload
from civicstat.cases.models import Layer
from civicstat.cases.records import CaseRecord, UpsertResult
from civicstat.cases.services import (
    area_index,
    case_upsert,
    department_resolve,
    layer_ensure,
    services_ensure,
)
from civicstat.ingest.mapping import Profile
from civicstat.ingest.models import ImportRun, RejectedRow
from civicstat.ingest.normalize import Normalized, Reject, RowNormalizer
from civicstat.ingest.readers import Row, RowReader, printable


class _Resolver:
    """Department and service ids by name, created on first sight, remembered for the import."""

    def __init__(self, profile: Profile, layers: dict[str, Layer]) -> None:
        self.profile = profile
        self.layers = layers
        self.departments: dict[str, int | None] = {}
        self.services: dict[str, dict[str, int]] = {slug: {} for slug in layers}

    def department(self, name: str) -> int | None:
        if name not in self.departments:
            dept = department_resolve(name=name, aliases=self.profile.departments)
            self.departments[name] = dept.id if dept else None
        return self.departments[name]

    def records(self, slug: str, batch: list[Normalized]) -> list[CaseRecord]:
        """The batch's records with department and service ids filled in."""
        known = self.services[slug]
        wanted: dict[str, tuple[str, str, int | None]] = {}
        for n in batch:
            n.record.department_id = self.department(n.department)
            if n.service_code and n.service_code not in known:
                wanted[n.service_code] = (n.service_name, n.service_group, n.record.department_id)
        if wanted:
            known.update(services_ensure(layer=self.layers[slug], wanted=wanted))
        for n in batch:
            n.record.service_id = known[n.service_code] if n.service_code else None
        return [n.record for n in batch]


def import_file(
    *,
    path: Path,
    profile: Profile,
    date_format: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    bulk: bool | None = None,
) -> ImportRun:
    """Import every valid row of `path`; store each rejected row with its line and reason.

    Raises ProfileError before writing anything when the mapping does not fit the file. A database
    failure stops the import with the run marked failed; batches already committed stay, and
    importing the same file again picks up where it stopped (unchanged rows are skipped).
    `progress(bytes_read, file_size)` is called after each batch. `bulk`: build the rollups once
    at the end instead of batch by batch (`civicstat.cases.bulkload`); by default only into a
    database that holds no cases yet.
    """
    reader = RowReader(path, profile)
    try:
        header = reader.read_header()
        profile.check_header(header)
        normalize = RowNormalizer(profile, header, ZoneInfo(settings.TIME_ZONE), date_format)
        statuses = {code: (rule.group, rule.label) for code, rule in profile.statuses.items()}
        layers = {
            slug: layer_ensure(
                slug=slug, name=spec.name, noun=spec.noun, position=spec.position, statuses=statuses
            )  # fmt: skip
            for slug, spec in profile.layers.items()
        }
        resolve = _Resolver(profile, layers)
        id_column = header.index(profile.columns["external_id"])
        areas = area_index()
        bulkload.catch_up()  # a bulk load stopped half-way left the rollups stale
        if bulk is None:
            bulk = bulkload.should_defer()
        growing = bulkload.GrowingStatistics()
        if bulk:
            bulkload.defer()
        run = ImportRun.objects.create(profile=profile.name, file_name=path.name)
        size = batch_size or settings.INGEST_BATCH_SIZE
        pending: defaultdict[str, list[Normalized]] = defaultdict(list)
        rejects: list[RejectedRow] = []
        total = UpsertResult()
        count = 0

        def flush() -> None:
            for slug, batch in pending.items():
                records = resolve.records(slug, batch)
                total.add(case_upsert(layer=layers[slug], records=records, areas=areas,
                                      deferred=bool(bulk)))  # fmt: skip
            pending.clear()
            RejectedRow.objects.bulk_create(rejects)
            run.rows_read, run.rejected = count, run.rejected + len(rejects)
            run.created, run.updated, run.unchanged = total.created, total.updated, total.unchanged
            run.save(update_fields=["rows_read", "rejected", "created", "updated", "unchanged"])
            rejects.clear()
            if bulk:
                growing.written(total.created)
            if progress:
                progress(reader.bytes_read, reader.size)

        try:
            row: Row
            for row in reader:
                count += 1
                if row.problem:
                    rejects.append(_reject(run, row, row.problem, id_column))
                    continue
                try:
                    n = normalize(row.values)
                except Reject as exc:
                    rejects.append(_reject(run, row, str(exc), id_column))
                    continue
                pending[n.layer].append(n)
                if count % size == 0:
                    flush()
            flush()
            if bulk:
                bulkload.catch_up()
            else:
                bulkload.planner_statistics_refresh()
        except DatabaseError as exc:
            run.state, run.error = ImportRun.State.FAILED, f"database error: {exc}"
        else:
            run.state = ImportRun.State.DONE
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "error", "finished_at"])
        return run
    finally:
        reader.close()


def _reject(run: ImportRun, row: Row, reason: str, id_column: int) -> RejectedRow:
    external_id = printable(row.values[id_column][:64]) if len(row.values) > id_column else ""
    return RejectedRow(run=run, line=row.line, external_id=external_id, reason=reason[:500],
                       raw=row.raw())  # fmt: skip
