"""Subscription forms: every rule a person can break gets a message they can act on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from civicstat.alerts.models import Frequency
from civicstat.cases.models import Area, Case, Layer
from civicstat.cases.services import area_index

RADIUS_CHOICES = [(250, "250 m"), (500, "500 m"), (1000, "1 km"), (2000, "2 km")]


class FollowForm(forms.Form):
    email = forms.EmailField(label="Your email address")


class WatchForm(forms.Form):
    email = forms.EmailField(label="Your email address")
    place = forms.CharField(
        label="Address",
        required=False,
        max_length=255,
        help_text="An address the city has cases at, or leave blank and give coordinates.",
    )
    lat = forms.FloatField(label="Latitude", required=False)
    lon = forms.FloatField(label="Longitude", required=False)
    area = forms.ModelChoiceField(
        queryset=Area.objects.all(), required=False, label="Or a whole area",
        empty_label="— a place and radius instead —",
    )  # fmt: skip
    radius_m = forms.IntegerField(label="Radius in metres", required=False, initial=500)
    layers = forms.ModelMultipleChoiceField(
        queryset=Layer.objects.all(), to_field_name="slug", required=False,
        widget=forms.CheckboxSelectMultiple, label="Kinds (none ticked: all)",
    )  # fmt: skip
    frequency = forms.ChoiceField(choices=Frequency.choices, initial=Frequency.INSTANT)
    include_closed = forms.BooleanField(required=False, label="Also tell me when cases close")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("area") is not None:
            return data
        radius = data.get("radius_m")
        limit = settings.ALERTS_MAX_RADIUS_M
        if radius is None or not 0 < radius <= limit:
            self.add_error("radius_m", f"Choose a radius from 1 to {limit} metres.")
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None or lon is None) and data.get("place"):
            found = (
                Case.objects.public()
                .filter(
                    address__iexact=data["place"].strip(),
                    location_approximate=False,
                    lat__isnull=False,
                )  # fmt: skip
                .values_list("lat", "lon")
                .first()
            )
            if found is None:
                self.add_error("place", "No case has that address; give coordinates instead.")
                return data
            lat, lon = found
        if lat is None or lon is None:
            self.add_error("lat", "Give an address, or both latitude and longitude.")
            return data
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not _in_city(lat, lon):
            self.add_error("lat", f"That point is outside {settings.CITY_NAME}.")
        data["lat"], data["lon"] = lat, lon
        return data


def _in_city(lat: float, lon: float) -> bool:
    """Inside one of the city's areas (any point goes when no areas are loaded)."""
    index = area_index()
    if index.tree is None:
        return True
    return bool(index.containing([lat], [lon])[0])
