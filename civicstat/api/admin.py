from __future__ import annotations

from django.contrib import admin

from civicstat.api.models import SodaDataset


@admin.register(SodaDataset)
class SodaDatasetAdmin(admin.ModelAdmin[SodaDataset]):
    """A layer's old Socrata dataset id and field names, so existing scripts keep working."""

    list_display = ["identifier", "layer", "name"]
