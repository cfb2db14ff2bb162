"""Reading SeeClickFix's API v2 `issues`, page by page, by `updated_at_after`.

SeeClickFix pages by `metadata.pagination.next_page` (null on the last page); its statuses are
Open, Acknowledged, Closed and Archived; its request types become services. Each changed issue's
comments (its `comment_url`, `GET issues/{id}/comments`) become notes in the case's history: the
comment text and time only, never the commenter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from civicstat.ingest.models import SyncSource
from civicstat.ingest.normalize import as_text
from civicstat.ingest.sync.http import Fetcher, parse_json
from civicstat.ingest.sync.remote import Page, Rejected, RemoteCase, Values, blank, later, raw_text

PER_PAGE = 100
GROUPS = {"open": "open", "acknowledged": "open", "closed": "closed", "archived": "closed"}


class SeeClickFixClient:
    def __init__(self, source: SyncSource, fetcher: Fetcher) -> None:
        self.source = source
        self.fetcher = fetcher
        self.url = source.url.rstrip("/") + "/issues"
        self.high: str | None = None
        self.since = ""

    def services(self) -> dict[str, tuple[str, str]]:
        return {}  # request types arrive with each issue

    def pages(self, cursor: dict[str, Any]) -> Iterator[Page]:
        self.since = cursor.get("since") or self.source.first_sync_from(timezone.now()).isoformat()
        self.high = cursor.get("high")
        page: int | None = int(cursor.get("page", 1))
        while page:
            # Without `status` SeeClickFix leaves archived issues out: a case archived there would
            # never be seen again, and one archived before the first sync never seen at all.
            params = {"updated_at_after": self.since, "page": str(page),
                      "per_page": str(PER_PAGE), "sort": "updated_at",
                      "status": ",".join(GROUPS)}  # fmt: skip
            if self.source.jurisdiction:
                params["place_url"] = self.source.jurisdiction
            data = self.fetcher.get(self.url, params, _checked)
            records = [case_of(i) for i in data["issues"]]
            for issue, case in zip(data["issues"], records, strict=True):
                if isinstance(case, RemoteCase):
                    case.notes = self._comments(issue, case)
                    self.high = later(self.high, case.updated_at or case.requested_at)
            next_page = data["metadata"]["pagination"].get("next_page")
            page = int(next_page) if next_page else None
            yield Page(records, {"since": self.since, "page": page or 1, "high": self.high})

    def final_cursor(self) -> dict[str, Any]:
        return {"since": self.high or self.since}

    def _comments(self, issue: dict[str, Any], case: RemoteCase) -> list[tuple[datetime, str, str]]:
        """The issue's comments as (time, text, "") notes; none when SeeClickFix has none. What
        cannot be read of them becomes the case's warnings."""
        if issue.get("comment_count") == 0:
            return []
        url = self._comment_url(issue)
        notes: list[tuple[datetime, str, str]] = []
        page: int | None = 1
        while page:
            params = {"page": str(page), "per_page": str(PER_PAGE)}
            data = self.fetcher.get(url, params, _checked_comments, missing_ok=True)
            if data is None:
                break  # the issue was deleted since it was listed
            for comment in data["comments"]:
                if not isinstance(comment, dict):
                    case.warnings.append(("comments", raw_text(comment, 200),
                                          "a comment that is not an object; left out"))  # fmt: skip
                    continue
                v = Values(comment)
                at, body = v.when("created_at"), v.text("comment")
                case.warnings.extend(v.warnings)
                if at and body:
                    notes.append((at, body, ""))
                elif body:
                    case.warnings.append(("comments", body[:200], "a comment with no time; "
                                                                  "left out"))  # fmt: skip
            next_page = ((data.get("metadata") or {}).get("pagination") or {}).get("next_page")
            # Only forward: a page pointing back at itself must not loop forever.
            page = next_page if isinstance(next_page, int) and next_page > page else None
        return notes

    def _comment_url(self, issue: dict[str, Any]) -> str:
        # Followed only on the source's own host: a remote's data must not point the sync elsewhere.
        given = as_text(issue.get("comment_url") or issue.get("comments_url"))[:500]
        home = urlsplit(self.url)
        if given and urlsplit(given)[:2] == home[:2]:
            return given
        return self.url + f"/{as_text(issue['id'])[:64]}/comments"


def _checked(content: bytes) -> dict[str, Any]:
    """A page of issues, or ValueError when it does not have the real shape (to retry it)."""
    data = parse_json(content)
    if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
        raise ValueError("no issues list in the page")
    pagination = (data.get("metadata") or {}).get("pagination")
    if not isinstance(pagination, dict):
        raise ValueError("no metadata.pagination in the page")
    return data


def _checked_comments(content: bytes) -> dict[str, Any]:
    data = parse_json(content)
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ValueError("no comments list in the page")
    return data


def case_of(issue: Any) -> RemoteCase | Rejected:
    if not isinstance(issue, dict):
        return Rejected("not an issue: the list holds " + type(issue).__name__, raw=raw_text(issue))
    v = Values(issue)
    issue_id = v.text("id", 1000)
    if not issue_id:
        return Rejected("no id", raw=raw_text(issue))
    if len(issue_id) > 64:
        return Rejected("the id is longer than 64 characters", raw=raw_text(issue))
    requested = v.when("created_at")
    if requested is None:
        return Rejected("no created_at date and time", issue_id, raw_text(issue))
    status = v.text("status", 50) or "Open"
    group = GROUPS.get(status.lower(), "open")
    kind = issue.get("request_type") if isinstance(issue.get("request_type"), dict) else None
    summary = v.text("summary", 255)
    code = as_text(kind.get("id"))[:100] if kind and not blank(kind.get("id")) else ""
    code = code or "summary:" + summary[:90]
    name = v.text("title", 255, doc=kind) if kind else summary
    description = v.text("description")
    attributes: dict[str, Any] = {}
    if url := v.text("html_url", 500):
        attributes["url"] = url
    return RemoteCase(
        external_id=issue_id, service_code=code, service_name=name or code,
        status_code=status, status_group=group, status_label=status, requested_at=requested,
        updated_at=v.when("updated_at"),
        closed_at=v.when("closed_at") if group == "closed" else None,
        description=f"{summary}\n\n{description}".strip() if description else summary,
        address=v.text("address", 255), lat=v.number("lat"), lon=v.number("lng", "long", "lon"),
        channel="SeeClickFix", attributes=attributes, warnings=v.warnings,
    )  # fmt: skip
