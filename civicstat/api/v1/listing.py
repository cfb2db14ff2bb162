"""The control parameters of `cases` (`_fields`, `_sort`/`_sort_desc`, `_size`, `_next`) and
keyset paging: a page continues after the last row of the one before, so deep pages cost what the
first does, and a case added meanwhile neither repeats nor skips a row.

The cursor (`_next`) is opaque to clients: the sort value and the id of the last row, base64
JSON. Anything else sent as a cursor is a 400 saying to follow `next_url` as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from civicstat.api.v1.rows import COLUMNS, FIELDS
from civicstat.cases.models import Case
from civicstat.lib import params
from civicstat.lib.params import ParamError

DEFAULT_SIZE = 100
MAX_SIZE = 1000
# Sortable times; the nullable ones sort a case without that time as if at this instant (last
# when newest first), so every case has a place in the order and paging can continue past it.
SORTS = {"requested_at": False, "updated_at": True, "closed_at": True}
_NEVER = datetime(1900, 1, 1, tzinfo=UTC)
CONTROL = ("_fields", "_sort", "_sort_desc", "_size", "_next", "facet")


@dataclass(frozen=True)
class Listing:
    fields: tuple[str, ...]
    sort: str
    descending: bool
    size: int
    after: tuple[datetime, int] | None


def parse_fields(query: Mapping[str, Any]) -> tuple[str, ...]:
    wanted = params.items(query, "_fields")
    if not wanted:
        return FIELDS
    unknown = [w for w in wanted if w not in FIELDS]
    if unknown:
        raise ParamError(f"unknown field {', '.join(map(repr, unknown))} in _fields; "
                         f"known: {', '.join(FIELDS)}")  # fmt: skip
    return tuple(dict.fromkeys(wanted))


def parse_listing(query: Mapping[str, Any]) -> Listing:
    """The page the client asks for; raises ParamError with what would work."""
    asc, desc = params.text(query, "_sort"), params.text(query, "_sort_desc")
    if asc and desc:
        raise ParamError("give _sort or _sort_desc, not both")
    sort = asc or desc or "requested_at"
    if sort not in SORTS:
        raise ParamError(f"cannot sort by {sort[:40]!r}; sort by {', '.join(SORTS)}")
    size = params.integer(query, "_size", low=1, high=MAX_SIZE, default=DEFAULT_SIZE)
    after = cursor_read(params.text(query, "_next")) if params.text(query, "_next") else None
    return Listing(parse_fields(query), sort, not asc, size, after)


def cursor_write(key: datetime, pk: int) -> str:
    raw = json.dumps([key.astimezone(UTC).isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_read(text: str) -> tuple[datetime, int]:
    message = "_next is not a cursor this API gave: follow next_url as it is"
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        stamp, pk = json.loads(raw)
        moment = datetime.fromisoformat(stamp)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ParamError(message) from None
    if (not isinstance(pk, int) or isinstance(pk, bool) or not 1 <= pk <= params.MAX_ID
            or moment.tzinfo is None):  # fmt: skip
        raise ParamError(message)
    return moment, pk


def page(qs: QuerySet[Case], listing: Listing) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows (`values(*COLUMNS)`) and the cursor of the next (None on the last)."""
    key: F | Coalesce = F(listing.sort)
    if SORTS[listing.sort]:
        key = Coalesce(listing.sort, Value(_NEVER), output_field=DateTimeField())
    qs = qs.annotate(sort_key=key)
    if listing.after:
        moment, pk = listing.after
        op = "lt" if listing.descending else "gt"
        qs = qs.filter(Q(**{f"sort_key__{op}": moment}) | Q(sort_key=moment, **{f"id__{op}": pk}))
    order = ("-sort_key", "-id") if listing.descending else ("sort_key", "id")
    rows = list(qs.order_by(*order).values(*COLUMNS, "sort_key")[: listing.size + 1])
    if len(rows) <= listing.size:
        return rows, None
    last = rows[listing.size - 1]
    return rows[: listing.size], cursor_write(last["sort_key"], last["id"])
