"""Reading a dataset on any Socrata portal (SODA 2.x), through a mapping of its fields.

Many cities publish 311 requests, code violations and crime incidents on Socrata. Each row is an
object like a JSON line (numbers as strings, null fields left out, point columns as GeoJSON), so
it goes through the same mapping, normaliser and batches as a file import. A sync asks for the
rows changed since the last one (`$where=:updated_at > '…'`, the portal's own change time), in a
stable order (`$order=:id`) a page at a time (`$limit`, `$offset`); the cursor saved after each
page lets a failed sync resume there. A first sync reads the whole dataset, or what changed from
the source's start date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from civicstat.ingest.importer import CaseBatches
from civicstat.ingest.ledger import Ledger
from civicstat.ingest.mapping import Profile, source_profile
from civicstat.ingest.models import SyncSource
from civicstat.ingest.normalize import Normalized, Reject, RowNormalizer, as_text
from civicstat.ingest.sync.http import Fetcher, parse_json
from civicstat.ingest.sync.remote import Page, Rejected, moment, raw_text

PAGE_SIZE = 1000
_DATASET_ID = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}")


def resource_url(url: str) -> str:
    """The dataset's JSON endpoint, from that endpoint or from the dataset's page on the portal
    (`…/311-Call-Center-Service-Requests/d4px-6rwg`)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if "/resource/" in path:
        if not last.endswith(".json"):
            path = path.removesuffix(".csv").removesuffix(".geojson") + ".json"
    elif _DATASET_ID.fullmatch(last):
        path = f"/resource/{last}.json"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _rows(content: bytes) -> list[Any]:
    data = parse_json(content)
    if not isinstance(data, list):
        raise ValueError("the answer is not a list of rows")
    return data


class SocrataClient:
    def __init__(self, source: SyncSource, fetcher: Fetcher) -> None:
        self.source = source
        self.fetcher = fetcher
        self.profile: Profile = source_profile(source)
        self.url = resource_url(source.url)
        self.normalize = RowNormalizer(self.profile, None, ZoneInfo(settings.TIME_ZONE))
        self.warnings = self.profile.zone_warnings(settings.TIME_ZONE)
        self.headers = {"X-App-Token": source.app_token} if source.app_token else None
        self.since = ""
        self.high: str | None = None
        self.checked = False

    def writer(self, ledger: Ledger) -> SocrataWriter:
        return SocrataWriter(self.profile, ledger)

    def pages(self, cursor: dict[str, Any]) -> Iterator[Page]:
        self.since = cursor.get("since") or self._start()
        self.high = cursor.get("high")
        offset = int(cursor.get("offset", 0))
        while True:
            params = {"$select": ":*, *", "$order": ":id", "$limit": str(PAGE_SIZE),
                      "$offset": str(offset)}  # fmt: skip
            if self.since:
                params["$where"] = f":updated_at > '{self.since}'"
            rows = self.fetcher.get(self.url, params, _rows, headers=self.headers)
            if rows and not self.checked:
                keys: dict[str, None] = {}
                for row in rows:
                    if isinstance(row, dict):
                        keys.update(dict.fromkeys(row))
                self.profile.check_header(list(keys), only_required=True)
                self.checked = True
            records = [self._record(row) for row in rows]
            offset += len(rows)
            yield Page(records, {"since": self.since, "offset": offset, "high": self.high})
            if len(rows) < PAGE_SIZE:
                return

    def final_cursor(self) -> dict[str, Any]:
        return {"since": self.high or self.since}

    def _start(self) -> str:
        """The start date as Socrata writes a timestamp (:updated_at is in UTC); "" for all."""
        if self.source.start_date is None:
            return ""
        start = timezone.make_aware(datetime.combine(self.source.start_date, time.min))
        return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000")

    def _record(self, row: Any) -> Normalized | Rejected:
        if not isinstance(row, dict):
            return Rejected("not a row: the page holds " + type(row).__name__, raw=raw_text(row))
        changed = row.get(":updated_at")
        at = moment(changed) if isinstance(changed, str) else None
        if at is not None and (self.high is None or (moment(self.high) or at) < at):
            self.high = changed  # kept as Socrata wrote it, to give back in $where
        try:
            return self.normalize(row)
        except Reject as exc:
            external_id = as_text(row.get(self.profile.columns["external_id"]))
            return Rejected(str(exc), external_id, raw_text(row))


class SocrataWriter:
    """Rows of a page into cases through the file import's batches, each numbered in the run."""

    def __init__(self, profile: Profile, ledger: Ledger) -> None:
        self.ledger = ledger
        self.batches = CaseBatches(profile=profile, ledger=ledger)

    def write(self, records: Sequence[Normalized | Rejected]) -> None:
        ledger = self.ledger
        for item in records:
            ledger.read += 1
            if isinstance(item, Rejected):
                ledger.reject(line=ledger.read, reason=item.reason, external_id=item.external_id,
                              raw=item.raw)  # fmt: skip
            else:
                item.line = ledger.read
                self.batches.add(item)
        self.batches.write()
