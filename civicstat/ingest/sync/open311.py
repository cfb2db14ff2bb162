"""Reading a remote Open311 GeoReport v2 server, incrementally and page by page.

With `updated_after` (a common extension) each sync asks only for what changed since the last
one. A server that knows only the spec is read in 90-day windows of `start_date`/`end_date`.
Either way the cursor saved after each page lets a failed sync resume where it stopped. A first
sync starts from the source's start date (by default, 90 days back).

Requests are read as real servers write them (`case_of`): `long`, `lon` or `lng`; numbers as
strings; `"null"`, `""` and `"none"` as nothing; every note type as history; `status_notes`,
`extended_attributes` and `attributes` kept with the case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from civicstat.ingest.models import SyncSource
from civicstat.ingest.normalize import as_text
from civicstat.ingest.sync.http import Fetcher, parse_json, parse_xml_list
from civicstat.ingest.sync.remote import (
    Page,
    Rejected,
    RemoteCase,
    Values,
    blank,
    later,
    moment,
    raw_text,
)

PAGE_SIZE = 100
WINDOW = timedelta(days=90)
# A spec-only server cannot say what changed: re-read the recent past to catch status changes.
REREAD = timedelta(days=7)


class Open311Client:
    def __init__(self, source: SyncSource, fetcher: Fetcher) -> None:
        self.source = source
        self.fetcher = fetcher
        self.base = source.url if source.url.endswith("/") else source.url + "/"
        self.high: str | None = None
        self.since = ""
        self.started = timezone.now()

    def _get(self, path: str, params: dict[str, str]) -> list[Any]:
        if self.source.jurisdiction:
            params["jurisdiction_id"] = self.source.jurisdiction
        fmt = self.source.format
        parse = _parse_xml if fmt == "xml" else _parse_json
        data: list[Any] = self.fetcher.get(f"{self.base}{path}.{fmt}", params, parse)
        return data

    def services(self) -> dict[str, tuple[str, str]]:
        """Code → (name, group) of the remote's services."""
        found = {}
        for s in self._get("services", {}):
            if isinstance(s, dict) and not blank(s.get("service_code")):
                v = Values(s)
                found[v.text("service_code", 100)] = (v.text("service_name", 255),
                                                      v.text("group", 150))  # fmt: skip
        return found

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
        self.since = cursor.get("since") or self.source.first_sync_from(self.started).isoformat()
        self.high = cursor.get("high")
        params = {"updated_after": self.since, "extensions": "true"}
        for page, records in self._paged(params, int(cursor.get("page", 1))):
            for case in records:
                if isinstance(case, RemoteCase):
                    self.high = later(self.high, case.updated_at or case.requested_at)
            yield Page(records, {"since": self.since, "page": page + 1, "high": self.high})

    def _by_window(self, cursor: dict[str, Any]) -> Iterator[Page]:
        start = moment(cursor.get("window_start")) or self.source.first_sync_from(self.started)
        first_page = int(cursor.get("page", 1))
        while start < self.started:
            end = min(start + WINDOW, self.started)
            params = {"start_date": start.isoformat(), "end_date": end.isoformat(),
                      "extensions": "true"}  # fmt: skip
            for page, records in self._paged(params, first_page):
                yield Page(records, {"window_start": start.isoformat(), "page": page + 1})
            first_page, start = 1, end
            yield Page([], {"window_start": start.isoformat(), "page": 1})

    def _paged(
        self, params: dict[str, str], page: int
    ) -> Iterator[tuple[int, list[RemoteCase | Rejected]]]:
        seen: list[str] | None = None
        while True:
            docs = self._get("requests", {**params, "page": str(page),
                                          "page_size": str(PAGE_SIZE)})  # fmt: skip
            ids = [as_text(d.get("service_request_id")) for d in docs if isinstance(d, dict)]
            if not docs or ids == seen:
                # Empty, or the same page again: a server without paging gave everything at once.
                return
            yield page, [case_of(d) for d in docs]
            if len(docs) < PAGE_SIZE:
                return
            seen, page = ids, page + 1


def _parse_json(content: bytes) -> list[Any]:
    """A JSON list; anything else is a malformed page (retried like a 500)."""
    data = parse_json(content)
    if not isinstance(data, list):
        raise ValueError("the answer is not a list")
    return data


def _parse_xml(content: bytes) -> list[Any]:
    return parse_xml_list(content)


# Note types in words. A type not named here is shown as written, its underscores as spaces.
NOTE_LABELS = {
    "opened": "Opened", "created": "Opened", "submitted": "Submitted", "activity": "Activity",
    "follow_on_created": "Follow-on request created",
    "follow_on_closed": "Follow-on request closed", "closed": "Closed", "reopened": "Reopened",
    "status_changed": "Status changed", "comment": "Comment", "update": "Update",
}  # fmt: skip
# A CivicStat server's own status history, which a sync records itself as it sees the statuses
# change; kept as notes too, it would show every change twice.
CIVICSTAT_STATUS_EVENTS = frozenset({"created", "status_changed", "closed", "reopened"})


def note_label(kind: str) -> str:
    """A note type in words; empty for a plain note."""
    if kind in ("", "note"):
        return ""
    return NOTE_LABELS.get(kind) or kind.replace("_", " ").strip().capitalize()[:100]


def case_of(doc: Any) -> RemoteCase | Rejected:
    """One remote request, or why it cannot be a case."""
    if not isinstance(doc, dict):
        return Rejected("not a request: the list holds " + type(doc).__name__, raw=raw_text(doc))
    v = Values(doc)
    request_id = v.text("service_request_id", 1000)
    if not request_id:
        reason = "no service_request_id"
        if not blank(doc.get("token")):
            reason += " (a request known only by its token, not yet a case on the server)"
        return Rejected(reason, raw=raw_text(doc))
    if len(request_id) > 64:
        return Rejected("the service_request_id is longer than 64 characters", raw=raw_text(doc))
    requested = v.when("requested_datetime")
    if requested is None:
        given = doc.get("requested_datetime")
        why = "no requested_datetime" if blank(given) else (
            f"requested_datetime {as_text(given)[:50]!r} is not a date and time")  # fmt: skip
        return Rejected(why, request_id, raw_text(doc))
    status = v.text("status", 50)
    if not status:
        return Rejected("no status (open or closed)", request_id, raw_text(doc))
    ext = v.mapping("extended_attributes")
    group = "closed" if status.lower() == "closed" else "open"
    status_notes = v.text("status_notes")
    if ext.get("status_code") and not blank(ext.get("status_code")):
        # A CivicStat server publishes its local status code, with the public label as notes.
        code, label = as_text(ext["status_code"])[:50], status_notes[:100]
    elif status.lower() in ("open", "closed"):
        code, label = group, group.capitalize()
    else:
        code, label = status, status  # a server with statuses of its own: kept as it names them
    notes, closed_note = _notes(v, doc.get("notes"), bool(ext.get("status_code")))
    closed = v.when("closed_datetime", doc=ext) if group == "closed" else None
    if closed is None and group == "closed":
        closed = closed_note  # a note saying when it closed says it better than a guess
    attributes: dict[str, Any] = {}
    if media := v.text("media_url", 500):
        attributes["media_url"] = media
    if status_notes:
        attributes["status_notes"] = status_notes
    if ext:
        attributes["extended_attributes"] = ext
    if not blank(doc.get("attributes")):
        attributes["attributes"] = doc["attributes"]
    return RemoteCase(
        external_id=request_id, service_code=v.text("service_code", 100),
        service_name=v.text("service_name", 255), status_code=code, status_group=group,
        status_label=label or code, requested_at=requested, updated_at=v.when("updated_datetime"),
        closed_at=closed, expected_at=v.when("expected_datetime"),
        agency=v.text("agency_responsible", 150), description=v.text("description"),
        address=v.text("address", 255) or v.text("address_string", 255),
        zip_code=v.text("zipcode", 10), lat=v.number("lat"), lon=v.number("long", "lon", "lng"),
        channel=v.text("channel", 50, doc=ext), attributes=attributes, notes=notes,
        warnings=v.warnings,
    )  # fmt: skip


def _notes(v: Values, given: Any, civicstat: bool) -> tuple[list[tuple[datetime, str, str]],
                                                           datetime | None]:  # fmt: skip
    """Every note as (time, text, label), and when a `closed` note says the case closed."""
    if blank(given):
        return [], None
    if isinstance(given, dict):
        given = [given]  # XML with one note, or a server that writes one as an object
    if not isinstance(given, list):
        v.warn("notes", given, "not a list of notes; left out")
        return [], None
    notes: list[tuple[datetime, str, str]] = []
    closed: datetime | None = None
    for note in given:
        if not isinstance(note, dict):
            v.warn("notes", note, "a note that is not an object; left out")
            continue
        kind = as_text(note.get("type")).lower() if not blank(note.get("type")) else ""
        if civicstat and kind in CIVICSTAT_STATUS_EVENTS and "status_code" in note:
            continue
        at = v.when("datetime", doc=note)
        summary, description = v.text("summary", doc=note), v.text("description", doc=note)
        if description and summary and summary not in description:
            body = f"{summary}: {description}"
        else:
            body = description or summary
        label = note_label(kind)
        if at is None:
            v.warn("notes", raw_text(note, 200), "a note with no time; left out")
            continue
        if not body and not label:
            continue  # an empty plain note says nothing
        if kind == "closed":
            closed = at if closed is None else max(closed, at)
        notes.append((at, body, label))
    return list(dict.fromkeys(notes)), closed
