"""Which datasets the SODA API serves and their columns: one per public layer of cases.

Each column has CivicStat's name (below); a city that kept a Socrata portal sets its old dataset
id and its old field names per layer (`SodaDataset` in the admin), so `/resource/<old id>.json?
<old field>=…` keeps answering. A layer with no `SodaDataset` answers at an id derived from its
slug, which stays the same as long as the slug does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from civicstat.api.models import SodaDataset
from civicstat.cases.models import Layer


@dataclass(frozen=True)
class ColumnSpec:
    name: str  # CivicStat's name; `Dataset.columns` keys them by the name the dataset shows
    kind: str  # text, number, floating_timestamp, fixed_timestamp, point, meta_data
    path: str  # the Case field, or "lat"/"lon"/"location" for the ones `geo` maps
    label: str
    description: str


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("case_id", "text", "external_id", "Case ID", "The id the city's system gives it."),
    ColumnSpec("request_type", "text", "service__name", "Request type", "What it is about."),
    ColumnSpec("request_type_code", "text", "service__code", "Request type code",
               "The request type's code in the city's system."),
    ColumnSpec("category", "text", "service__group", "Category", "The request type's group."),
    ColumnSpec("department", "text", "department__name", "Department",
               "The department responsible."),
    ColumnSpec("status", "text", "status", "Status", "The source's own status code."),
    ColumnSpec("status_group", "text", "status_group", "Open or closed", '"open" or "closed".'),
    ColumnSpec("description", "text", "description", "Description", "As the source gives it."),
    ColumnSpec("address", "text", "address", "Address", "Street address, when given."),
    ColumnSpec("zip_code", "text", "zip_code", "ZIP code", "Postal code, when given."),
    ColumnSpec("channel", "text", "channel", "Channel", "How it reached the city (phone, web…)."),
    ColumnSpec("requested_datetime", "floating_timestamp", "requested_at", "Opened",
               "When it was opened, city time."),
    ColumnSpec("updated_datetime", "floating_timestamp", "updated_at", "Updated",
               "When the source last changed it, city time."),
    ColumnSpec("closed_datetime", "floating_timestamp", "closed_at", "Closed",
               "When it was closed, city time; none while open."),
    ColumnSpec("expected_datetime", "floating_timestamp", "expected_at", "Expected",
               "When the city expects to close it, when it says."),
    ColumnSpec("latitude", "number", "lat", "Latitude", "WGS 84 (generalised on sensitive "
               "layers)."),
    ColumnSpec("longitude", "number", "lon", "Longitude", "WGS 84 (generalised on sensitive "
               "layers)."),
    ColumnSpec("location", "point", "location", "Location", "The point of latitude and "
               "longitude; what within_circle and within_box filter on."),
)  # fmt: skip

SYSTEM_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(":id", "meta_data", "pk", "Row id", "CivicStat's row id."),
    ColumnSpec(":created_at", "meta_data", "requested_at", "Created",
               "When the case was opened (UTC)."),
    ColumnSpec(":updated_at", "meta_data", "ingested_at", "Row updated",
               "When CivicStat last wrote the row (UTC)."),
)  # fmt: skip
SYSTEM_KINDS = {":id": "number", ":created_at": "fixed_timestamp", ":updated_at": "fixed_timestamp"}


@dataclass
class Dataset:
    identifier: str
    layer: Layer
    name: str
    description: str
    # by the name this dataset shows (the city's old field name, else CivicStat's)
    columns: dict[str, ColumnSpec] = field(default_factory=dict)

    def public_name(self, spec: ColumnSpec) -> str:
        return next(name for name, s in self.columns.items() if s is spec)


def default_identifier(slug: str) -> str:
    """A Socrata-shaped id (`abcd-1234`) for a layer slug: the same slug, the same id."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids get read aloud and typed
    digest = hashlib.blake2b(slug.encode(), digest_size=8, person=b"civicstat-soda").digest()
    chars = [alphabet[b % len(alphabet)] for b in digest]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def _dataset(layer: Layer, saved: SodaDataset | None) -> Dataset:
    renames: dict[str, str] = {}
    if saved is not None and isinstance(saved.field_names, dict):
        renames = {str(k): str(v).lower() for k, v in saved.field_names.items()}
    # A sensitive layer's street addresses are as exact as its coordinates: no column to read
    # or filter on (`civicstat.cases.sensitive`).
    shown = [c for c in COLUMNS if not (layer.sensitive and c.name == "address")]
    columns = {renames.get(c.name, c.name): c for c in shown}
    columns.update({c.name: c for c in SYSTEM_COLUMNS})
    return Dataset(
        identifier=saved.identifier if saved else default_identifier(layer.slug),
        layer=layer,
        name=(saved.name if saved else "") or layer.name,
        description=layer.description,
        columns=columns,
    )


def all_datasets() -> list[Dataset]:
    saved = {s.layer_id: s for s in SodaDataset.objects.all()}
    return [_dataset(layer, saved.get(layer.id)) for layer in Layer.objects.all()]


def dataset_find(identifier: str) -> Dataset | None:
    """The dataset at `identifier`: a saved id, or a layer's derived one."""
    saved = SodaDataset.objects.select_related("layer").filter(identifier=identifier).first()
    if saved is not None:
        return _dataset(saved.layer, saved)
    return next((d for d in all_datasets() if d.identifier == identifier), None)
