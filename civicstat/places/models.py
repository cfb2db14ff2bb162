from __future__ import annotations

from django.db import models


class AddressPoint(models.Model):
    """One address the geocoder finds: from an OpenAddresses file or the city's own cases."""

    source = models.CharField(
        max_length=100, help_text='Where it came from: the file\'s name, or "cases".'
    )
    source_id = models.CharField(
        max_length=64, help_text="Its id in that source (OpenAddresses' HASH or ID)."
    )
    number = models.CharField(max_length=20, help_text='The house number: "414", "1010A".')
    street = models.CharField(max_length=150, help_text='As the source writes it: "E 12TH ST".')
    unit = models.CharField(max_length=50, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="address_unique_in_source")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.street}"
