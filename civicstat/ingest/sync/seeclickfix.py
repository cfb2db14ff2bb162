"""Reading SeeClickFix's API v2 `issues`, page by page, by `updated_at_after`.

SeeClickFix pages by `metadata.pagination.next_page` (null on the last page); its statuses are
Open, Acknowledged, Closed and Archived; its request types become services. Each changed issue's
comments (its `comment_url`, `GET issues/{id}/comments`) become notes in the case's history: the
comment text and time only, never the commenter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.http import Fetcher, parse_json
from civicstat.ingest.sync.remote import Page, RemoteCase, later, moment, number, text

PER_PAGE = 100
FIRST_LOOKBACK = timedelta(days=90)
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
        self.since = cursor.get("since") or (timezone.now() - FIRST_LOOKBACK).isoformat()
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
            issues = [i for i in data["issues"] if isinstance(i, dict)]
            cases = []
            for i in issues:
                if case := case_of(i):
                    case.notes = self._comments(i)
                    cases.append(case)
            for case in cases:
                self.high = later(self.high, case.updated_at or case.requested_at)
            next_page = data["metadata"]["pagination"].get("next_page")
            page = int(next_page) if next_page else None
            yield Page(cases, {"since": self.since, "page": page or 1, "high": self.high},
                       len(issues) - len(cases))  # fmt: skip

    def final_cursor(self) -> dict[str, Any]:
        return {"since": self.high or self.since}

    def _comments(self, issue: dict[str, Any]) -> list[tuple[datetime, str, str]]:
        """The issue's comments as (time, text) notes; none when SeeClickFix has none for it."""
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
                    continue
                at, body = moment(comment.get("created_at")), text(comment.get("comment"))
                if at and body:
                    notes.append((at, body, ""))
            next_page = ((data.get("metadata") or {}).get("pagination") or {}).get("next_page")
            # Only forward: a page pointing back at itself must not loop forever.
            page = next_page if isinstance(next_page, int) and next_page > page else None
        return notes

    def _comment_url(self, issue: dict[str, Any]) -> str:
        # Followed only on the source's own host: a remote's data must not point the sync elsewhere.
        given = text(issue.get("comment_url") or issue.get("comments_url"), 500)
        home = urlsplit(self.url)
        if given and urlsplit(given)[:2] == home[:2]:
            return given
        return self.url + f"/{text(issue['id'], 64)}/comments"


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


def case_of(issue: dict[str, Any]) -> RemoteCase | None:
    requested = moment(issue.get("created_at"))
    if requested is None or issue.get("id") in (None, ""):
        return None
    status = text(issue.get("status"), 50) or "Open"
    group = GROUPS.get(status.lower(), "open")
    kind = issue.get("request_type") if isinstance(issue.get("request_type"), dict) else None
    summary = text(issue.get("summary"), 255)
    code = text(kind.get("id"), 100) if kind else "summary:" + summary[:90]
    name = text(kind.get("title"), 255) if kind else summary
    description = text(issue.get("description"))
    return RemoteCase(
        external_id=text(issue["id"], 64), service_code=code, service_name=name or code,
        status_code=status, status_group=group, status_label=status, requested_at=requested,
        updated_at=moment(issue.get("updated_at")),
        closed_at=moment(issue.get("closed_at")) if group == "closed" else None,
        description=f"{summary}\n\n{description}".strip() if description else summary,
        address=text(issue.get("address"), 255), lat=number(issue.get("lat")),
        lon=number(issue.get("lng")), channel="SeeClickFix",
        attributes={"url": text(issue.get("html_url"), 500)} if issue.get("html_url") else {},
    )  # fmt: skip
