"""The addresses the city's own data holds: found by what they start with, or by their id.

CivicStat keeps no master address list, so an address is one that located public cases carry, and
its id is the id of the first such case. The id is stable while that case stays public, short
enough for an Open311 client to keep, and looked up through the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, Min, QuerySet

from civicstat.cases.models import Case
from civicstat.cases.query import CaseFilter, cases
from civicstat.lib import params


@dataclass(frozen=True)
class Address:
    address_id: str
    name: str
    lat: float
    lon: float
    count: int  # how many cases carry it: the search ranks well-known addresses first


def _located() -> QuerySet[Case]:
    # A sensitive layer's addresses are not published (`civicstat.cases.sensitive`).
    return (
        cases(CaseFilter()).exclude(address="").filter(h3_cell__isnull=False)
        .exclude(layer__sensitive=True)
    )  # fmt: skip


def addresses_starting(text: str, *, limit: int = 8) -> list[Address]:
    """Addresses that start with `text` (any case), the most used first."""
    rows = (
        _located().filter(address__istartswith=text)
        .values("address").annotate(lat=Avg("lat"), lon=Avg("lon"), n=Count("id"), first=Min("id"))
        .order_by("-n", "address")[:limit]
    )  # fmt: skip
    return [Address(str(r["first"]), r["address"], r["lat"], r["lon"], r["n"]) for r in rows]


def address_find(address_id: str) -> Address | None:
    """The address with this id; None when no public located case has it as its first."""
    if not params.is_id(address_id):
        return None
    name = _located().filter(id=int(address_id)).values_list("address", flat=True).first()
    if name is None:
        return None
    row = _located().filter(address=name).aggregate(
        lat=Avg("lat"), lon=Avg("lon"), n=Count("id"), first=Min("id"))  # fmt: skip
    if str(row["first"]) != address_id:
        return None  # a later case at a known address: its id is not the address's
    return Address(address_id, name, row["lat"], row["lon"], row["n"])
