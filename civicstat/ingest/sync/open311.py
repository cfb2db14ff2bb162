"""Reading a remote Open311 GeoReport v2 server, incrementally and page by page.

With `updated_after` (a common extension) each sync asks only for what changed since the last
one. A server that knows only the spec is read in 90-day windows of `start_date`/`end_date`.
Either way the cursor saved after each page lets a failed sync resume where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.http import Fetcher, parse_json, parse_xml_list
from civicstat.ingest.sync.remote import Page, RemoteCase, later, moment, number, text

PAGE_SIZE = 100
WINDOW = timedelta(days=90)
FIRST_LOOKBACK = timedelta(days=90)
# A spec-only server cannot say what changed: re-read the recent past to catch status changes.
REREAD = timedelta(days=7)


class Open311Client:
    def __init__(self, source: SyncSource, fetcher: Fetcher) -> None:
        self.source = source
        self.fetcher = fetcher
        self.base = source.url if source.url.endswith("/") else source.url + "/"
        self.high: str | None = None
        self.started = timezone.now()

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        if self.source.jurisdiction:
            params["jurisdiction_id"] = self.source.jurisdiction
        fmt = self.source.format
        parse = _parse_xml if fmt == "xml" else _parse_json
        data: list[dict[str, Any]] = self.fetcher.get(f"{self.base}{path}.{fmt}", params, parse)
        return data

    def services(self) -> dict[str, tuple[str, str]]:
        """Code → (name, group) of the remote's services."""
        return {
            text(s.get("service_code")): (text(s.get("service_name")), text(s.get("group")))
            for s in self._get("services", {})
            if isinstance(s, dict) and s.get("service_code") not in (None, "")
        }

    def pages(self, cursor: dict[str, Any]) -> Iterator[Page]:
        if self.source.updated_after:
            yield from self._by_update(cursor)
        else:
            yield from self._by_window(cursor)

    def final_cursor(self) -> dict[str, Any]:
        if self.source.updated_after:
            return {"since": self.high or self.since}
        return {"window_start": (self.started - REREAD).isoformat()}

    def _by_update(self, cursor: dict[str, Any]) -> Iterator[Page]:
        self.since = cursor.get("since") or (self.started - FIRST_LOOKBACK).isoformat()
        self.high = cursor.get("high")
        params = {"updated_after": self.since, "extensions": "true"}
        for page, cases, skipped in self._paged(params, int(cursor.get("page", 1))):
            for case in cases:
                self.high = later(self.high, case.updated_at or case.requested_at)
            yield Page(cases, {"since": self.since, "page": page + 1, "high": self.high}, skipped)

    def _by_window(self, cursor: dict[str, Any]) -> Iterator[Page]:
        start = moment(cursor.get("window_start")) or self.started - FIRST_LOOKBACK
        first_page = int(cursor.get("page", 1))
        while start < self.started:
            end = min(start + WINDOW, self.started)
            params = {"start_date": start.isoformat(), "end_date": end.isoformat(),
                      "extensions": "true"}  # fmt: skip
            for page, cases, skipped in self._paged(params, first_page):
                yield Page(cases, {"window_start": start.isoformat(), "page": page + 1}, skipped)
            first_page, start = 1, end
            yield Page([], {"window_start": start.isoformat(), "page": 1})

    def _paged(
        self, params: dict[str, str], page: int
    ) -> Iterator[tuple[int, list[RemoteCase], int]]:
        seen: list[str] | None = None
        while True:
            docs = self._get("requests", {**params, "page": str(page),
                                          "page_size": str(PAGE_SIZE)})  # fmt: skip
            ids = [text(d.get("service_request_id")) for d in docs if isinstance(d, dict)]
            if not docs or ids == seen:
                # Empty, or the same page again: a server without paging gave everything at once.
                return
            cases = [c for c in (case_of(d) for d in docs if isinstance(d, dict)) if c]
            yield page, cases, len(docs) - len(cases)
            if len(docs) < PAGE_SIZE:
                return
            seen, page = ids, page + 1


def _parse_json(content: bytes) -> list[dict[str, Any]]:
    """A JSON list of objects; anything else is a malformed page (retried like a 500)."""
    data = parse_json(content)
    if not isinstance(data, list):
        raise ValueError("the answer is not a list")
    return [d for d in data if isinstance(d, dict)]


def _parse_xml(content: bytes) -> list[dict[str, Any]]:
    return parse_xml_list(content)


def case_of(doc: dict[str, Any]) -> RemoteCase | None:
    """One remote request; None when it lacks what every request must have."""
    requested = moment(doc.get("requested_datetime"))
    request_id = text(doc.get("service_request_id"), 64)
    if requested is None or not request_id:
        return None
    ext = doc.get("extended_attributes") if isinstance(doc.get("extended_attributes"), dict) else {}
    assert isinstance(ext, dict)  # noqa: S101 - narrowed above, for mypy
    group = "closed" if text(doc.get("status")).lower() == "closed" else "open"
    # CivicStat servers publish their local status code; other servers give only open/closed.
    code = text(ext.get("status_code"), 50) or group
    label = text(doc.get("status_notes"), 100) if ext.get("status_code") else group.capitalize()
    updated = moment(doc.get("updated_datetime"))
    closed = moment(ext.get("closed_datetime")) or (updated if group == "closed" else None)
    notes: list[tuple[datetime, str, str]] = []
    for note in doc.get("notes") or []:
        if not isinstance(note, dict) or note.get("type") not in (None, "note"):
            continue  # status notes are recreated from the status changes a sync sees
        at, body = moment(note.get("datetime")), text(note.get("description"))
        if at and body:
            notes.append((at, body, ""))
    attributes = {"media_url": text(doc["media_url"], 500)} if doc.get("media_url") else {}
    return RemoteCase(
        external_id=request_id, service_code=text(doc.get("service_code"), 100),
        service_name=text(doc.get("service_name"), 255), status_code=code, status_group=group,
        status_label=label or code, requested_at=requested, updated_at=updated,
        closed_at=closed, expected_at=moment(doc.get("expected_datetime")),
        agency=text(doc.get("agency_responsible"), 150), description=text(doc.get("description")),
        address=text(doc.get("address"), 255), zip_code=text(doc.get("zipcode"), 10),
        lat=number(doc.get("lat")), lon=number(doc.get("long")),
        channel=text(ext.get("channel"), 50), attributes=attributes, notes=notes,
    )  # fmt: skip
