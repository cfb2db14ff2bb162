"""Fetching one page from a remote, with timeouts and retries that back off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import defusedxml.ElementTree as DET
import httpx
from django.conf import settings

from civicstat.ingest.sync.remote import Doc


class FetchError(Exception):
    """A page that could not be fetched even after retrying; the message says what went wrong."""


class _Retry(Exception):
    pass


class Fetcher:
    """GETs pages, retrying timeouts, dropped connections, 5xx/429 and malformed bodies."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.timeout = float(settings.SYNC_TIMEOUT_SECONDS)
        self.attempts = max(1, int(settings.SYNC_ATTEMPTS))
        self.backoff = settings.SYNC_BACKOFF_MS / 1000
        self.sleep = sleep
        self.retries = 0
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=True,
                                   headers={"User-Agent": "CivicStat sync"})  # fmt: skip

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, params: Mapping[str, str], parse: Callable[[bytes], Any], *,
            missing_ok: bool = False, headers: Mapping[str, str] | None = None) -> Any:  # fmt: skip
        """`parse` of the page at `url`; None for a 404 when `missing_ok` (a part that may be gone,
        such as a deleted issue's comments)."""
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.client.get(url, params=dict(params), headers=headers)
                if response.status_code == 404 and missing_ok:
                    return None
                if response.status_code >= 500 or response.status_code == 429:
                    raise _Retry(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    # A 4xx will not change by asking again: the source's settings need fixing.
                    raise FetchError(f"{url} answered HTTP {response.status_code}: "
                                     f"{response.text[:300]}")  # fmt: skip
                return parse(response.content)
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
            except httpx.TransportError as exc:
                last = f"connection failed ({exc.__class__.__name__})"
            except _Retry as exc:
                last = str(exc)
            except (ValueError, DET.ParseError, KeyError, TypeError) as exc:
                last = f"malformed page ({exc.__class__.__name__}: {str(exc)[:200]})"
        raise FetchError(f"{url} failed after {self.attempts} attempts: {last}")


def parse_json(content: bytes) -> Any:
    """JSON whose objects are `Doc`s, which know the keys a server gave twice."""
    return json.loads(content, object_pairs_hook=Doc)


# Elements whose children are a list (each child the same kind of thing), not named fields.
LIST_TAGS = frozenset({"notes", "attributes", "values", "service_requests", "services"})


def element(node: Any) -> Any:
    """An Open311 XML element as its JSON form would be: text, a list, or a Doc of its children."""
    children = list(node)
    if not children:
        text = (node.text or "").strip()
        return text or None
    if node.tag in LIST_TAGS:
        return [element(child) for child in children]
    return Doc((child.tag, element(child)) for child in children)


def parse_xml_list(content: bytes) -> list[Any]:
    """An Open311 XML list (service_requests, services) as the dicts its JSON form would give."""
    root = DET.fromstring(content)
    if root.tag == "errors":
        raise ValueError("the remote answered an error list")
    return [element(child) for child in root]
