"""Import a city's export file: stream it, normalise each row, upsert in batches, report rejects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from civicstat.cases import bulkload
from civicstat.cases.aliases import (
    SOURCE_CODE_ATTRIBUTE,
    SOURCE_GROUP_ATTRIBUTE,
    AliasError,
    category_aliases_apply,
    category_aliases_store,
    group_aliases,
    service_aliases,
)
from civicstat.cases.areas import areas_by_code
from civicstat.cases.models import Layer
from civicstat.cases.records import CaseRecord, UpsertResult
from civicstat.cases.services import (
    area_index,
    case_upsert,
    department_resolve,
    layer_ensure,
    services_ensure,
)
from civicstat.ingest.ledger import Ledger
from civicstat.ingest.mapping import Profile, ProfileError
from civicstat.ingest.models import ImportRun
from civicstat.ingest.normalize import Normalized, Reject, RowNormalizer, as_text
from civicstat.ingest.readers import Row, RowReader


class _Resolver:
    """Department, service and area ids by name or code, created on first sight, remembered."""

    def __init__(self, profile: Profile, layers: dict[str, Layer]) -> None:
        self.profile = profile
        self.layers = layers
        self.groups = group_aliases()
        by_layer = service_aliases()
        self.codes = {
            slug: {old: new for (lid, old), new in by_layer.items() if lid == layer.pk}
            for slug, layer in layers.items()
        }
        self.departments: dict[str, int | None] = {}
        self.services: dict[str, dict[str, int]] = {slug: {} for slug in layers}
        self.areas: dict[str, dict[str, int]] = {a.kind: {} for a in profile.areas}
        self.area_names = {a.kind: a.name for a in profile.areas}

    def department(self, name: str) -> int | None:
        if name not in self.departments:
            dept = department_resolve(name=name, aliases=self.profile.departments)
            self.departments[name] = dept.id if dept else None
        return self.departments[name]

    def _merge_renamed(self, n: Normalized, codes: dict[str, str]) -> None:
        """File the row under its merged category; the source's own names stay in its
        attributes."""
        if group := self.groups.get(n.service_group):
            n.record.attributes[SOURCE_GROUP_ATTRIBUTE] = n.service_group
            n.service_group = group
        if code := codes.get(n.service_code):
            n.record.attributes[SOURCE_CODE_ATTRIBUTE] = n.service_code
            if n.service_name == n.service_code:  # the source names types by their code
                n.service_name = code
            n.service_code = code

    def records(self, slug: str, batch: list[Normalized]) -> list[CaseRecord]:
        """The batch's records with department, service and area ids filled in."""
        known = self.services[slug]
        wanted: dict[str, tuple[str, str, int | None]] = {}
        codes: defaultdict[str, set[str]] = defaultdict(set)
        renamed = self.codes[slug]
        for n in batch:
            n.record.department_id = self.department(n.department)
            self._merge_renamed(n, renamed)
            if n.service_code and n.service_code not in known:
                wanted[n.service_code] = (n.service_name, n.service_group, n.record.department_id)
            for kind, code in n.area_codes:
                if code not in self.areas[kind]:
                    codes[kind].add(code)
        if wanted:
            known.update(services_ensure(layer=self.layers[slug], wanted=wanted))
        for kind, missing in codes.items():
            name = self.area_names[kind]
            self.areas[kind].update(
                areas_by_code(kind=kind, names={c: name.format(c) for c in missing})
            )
        for n in batch:
            n.record.service_id = known[n.service_code] if n.service_code else None
            if n.area_codes:
                n.record.area_ids = tuple(self.areas[kind][code] for kind, code in n.area_codes)
        return [n.record for n in batch]


def generations[T](items: Sequence[T], key: Callable[[T], str]) -> list[list[T]]:
    """The items in lists that name each case (`key`) once, in order.

    A batch that names a case twice (a file with a row per status change) is written in turns,
    so the later record updates the earlier one: each is counted, and the change between them
    becomes history instead of one of them vanishing.
    """
    turns: list[list[T]] = []
    seen: dict[str, int] = {}
    for item in items:
        k = key(item)
        turn = seen.get(k, 0)
        seen[k] = turn + 1
        if turn == len(turns):
            turns.append([])
        turns[turn].append(item)
    return turns


def _external_id(r: CaseRecord) -> str:
    return r.external_id


class CaseBatches:
    """Normalised records into cases, a batch at a time, each layer's with its own services."""

    def __init__(self, *, profile: Profile, ledger: Ledger, bulk: bool = False) -> None:
        statuses = {code: (rule.group, rule.label) for code, rule in profile.statuses.items()}
        self.layers = {
            slug: layer_ensure(
                slug=slug,
                name=spec.name,
                noun=spec.noun,
                position=spec.position,
                statuses=statuses,
                description=spec.description,
                sensitive=spec.sensitive,
            )  # fmt: skip
            for slug, spec in profile.layers.items()
        }
        if profile.service_groups or profile.request_types:
            _aliases_take(profile, list(self.layers.values()))
        self.resolve = _Resolver(profile, self.layers)
        self.areas = area_index()
        self.ledger = ledger
        self.bulk = bulk
        self.pending: defaultdict[str, list[Normalized]] = defaultdict(list)

    def add(self, n: Normalized) -> None:
        for column, value, reason in n.warnings:
            self.ledger.warn(line=n.line, external_id=n.record.external_id, field=column,
                             value=value, reason=reason)  # fmt: skip
        self.pending[n.layer].append(n)

    def write(self) -> UpsertResult:
        """Store the pending records; what they became goes to the ledger (saved by the caller,
        in the same transaction when there is one)."""
        total = UpsertResult()
        for slug, batch in self.pending.items():
            for turn in generations(self.resolve.records(slug, batch), key=_external_id):
                total.add(case_upsert(layer=self.layers[slug], records=turn, areas=self.areas,
                                      deferred=self.bulk))  # fmt: skip
        self.pending.clear()
        self.ledger.stored(total)
        return total


def _aliases_take(profile: Profile, layers: list[Layer]) -> None:
    """Store the profile's renamed categories and move the cases already imported onto the
    merged ones, so the new rows and the old agree."""
    try:
        category_aliases_store(layers=layers, groups=profile.service_groups,
                               request_types=profile.request_types)  # fmt: skip
    except AliasError as exc:
        raise ProfileError(f"{profile.path}: {exc}") from None
    category_aliases_apply()


def import_file(
    *,
    path: Path,
    profile: Profile,
    date_format: str | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    bulk: bool | None = None,
) -> ImportRun:
    """Import every valid row of `path`; store each rejected row with its line and reason, and
    each value left out of a stored row with a warning.

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
        # A JSON line leaves out the keys it has no value for: its records are read by key, and
        # only the columns no row can do without must be in the first records.
        by_key = reader.format == "jsonl"
        profile.check_header(header, only_required=by_key)
        normalize = RowNormalizer(profile, None if by_key else header,
                                  ZoneInfo(settings.TIME_ZONE), date_format)  # fmt: skip
        id_key: Any = profile.columns["external_id"]
        if not by_key:
            id_key = header.index(id_key)
        bulkload.catch_up()  # a bulk load stopped half-way left the rollups stale
        if bulk is None:
            bulk = bulkload.should_defer()
        growing = bulkload.GrowingStatistics()
        if bulk:
            bulkload.defer()
        run = ImportRun.objects.create(profile=profile.name, file_name=path.name)
        ledger = Ledger(run)
        for warning in profile.zone_warnings(settings.TIME_ZONE):
            ledger.warn(reason=warning)
        try:
            batches = CaseBatches(profile=profile, ledger=ledger, bulk=bool(bulk))
        except ProfileError:
            run.delete()  # nothing was read: no run to show (renamed categories contradicted)
            raise
        size = batch_size or settings.INGEST_BATCH_SIZE
        unseen = profile.used_columns() - set(header) if by_key else set()

        def flush() -> None:
            batches.write()
            ledger.save()
            if bulk:
                growing.written(ledger.result.created)
            if progress:
                progress(reader.bytes_read, reader.size)

        try:
            row: Row
            for row in reader:
                ledger.read += 1
                if row.problem:
                    ledger.reject(line=row.line, reason=row.problem, raw=row.raw(),
                                  external_id=_row_external_id(row, id_key))  # fmt: skip
                    continue
                if unseen and isinstance(row.values, dict):
                    unseen.difference_update(row.values)
                try:
                    n = normalize(row.values)
                except Reject as exc:
                    ledger.reject(line=row.line, reason=str(exc), raw=row.raw(),
                                  external_id=_row_external_id(row, id_key))  # fmt: skip
                    continue
                n.line = row.line
                batches.add(n)
                if ledger.read % size == 0:
                    flush()
            for column in sorted(unseen):
                ledger.warn(field=column, reason=f"no record has the column {column!r} that the "
                                                 "mapping names: check its spelling")  # fmt: skip
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


def _row_external_id(row: Row, key: Any) -> str:
    if isinstance(row.values, dict):
        return as_text(row.values.get(key))
    if isinstance(key, int) and len(row.values) > key:
        return row.values[key]
    return ""
