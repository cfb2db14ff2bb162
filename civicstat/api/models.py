"""Models of the open data API. `SodaDataset`: a city's old Socrata dataset id and field names for
a layer, so that its residents' scripts keep their URLs when the city leaves Socrata."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from civicstat.cases.models import Layer

DATASET_ID = r"^[a-z0-9]{4}-[a-z0-9]{4}$"


class SodaDataset(models.Model):
    """How one layer answers at /resource/<identifier>.json. A layer without one still answers,
    at an id derived from its slug (`civicstat.api.soda.datasets.default_identifier`)."""

    layer = models.OneToOneField(Layer, on_delete=models.CASCADE, related_name="soda_dataset")
    identifier = models.CharField(
        max_length=9,
        unique=True,
        validators=[
            RegexValidator(
                DATASET_ID,
                "Socrata's form: four letters or digits, a dash, "
                "four more (lower case), such as 7at3-sxhp.",
            )
        ],  # fmt: skip
        help_text="The old Socrata dataset id (the 4x4 in /resource/7at3-sxhp.json).",
    )
    field_names = models.JSONField(
        default=dict,
        blank=True,
        help_text="CivicStat's column name to the old dataset's, e.g. {\"request_type\": "
        '"type", "requested_datetime": "creation_date"}. Columns not named keep theirs.',
    )
    name = models.CharField(max_length=200, blank=True, help_text="Blank: the layer's name.")

    class Meta:
        verbose_name = "SODA dataset"

    def __str__(self) -> str:
        return f"{self.identifier} ({self.layer})"

    def clean(self) -> None:
        """Field names that name a column, read as SoQL names, and leave every column one name."""
        from civicstat.api.soda.datasets import COLUMNS  # the columns module reads this one

        names = {c.name for c in COLUMNS}
        given = self.field_names if isinstance(self.field_names, dict) else None
        if given is None:
            raise ValidationError({"field_names": 'Give an object: {"our name": "old name"}.'})
        unknown = sorted(set(given) - names)
        if unknown:
            raise ValidationError({"field_names": f"No such column: {', '.join(unknown)}. "
                                   f"Columns: {', '.join(sorted(names))}."})  # fmt: skip
        bad = [v for v in given.values()
               if not isinstance(v, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", v)]  # fmt: skip
        if bad:
            raise ValidationError({"field_names": f"Old names are lower-case letters, digits and "
                                   f"underscores, not {bad[0]!r}."})  # fmt: skip
        final = [given.get(n, n) for n in names]
        clashes = sorted({n for n in final if final.count(n) > 1})
        if clashes:
            raise ValidationError({"field_names": f"Two columns would both be called "
                                   f"{', '.join(clashes)}."})  # fmt: skip
