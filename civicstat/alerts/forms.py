"""Subscription forms: every rule a person can break gets a message they can act on."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from django import forms
from django.conf import settings

from civicstat.alerts.models import MIN_RADIUS_M, Frequency
from civicstat.cases.models import Area, Layer, Service
from civicstat.cases.services import area_index
from civicstat.lib import params
from civicstat.lib.email_address import email_normalize
from civicstat.places.geocoder import places_find

RADIUS_CHOICES = [(250, "250 m"), (500, "500 m"), (1000, "1 km"), (2000, "2 km")]
_SEVERAL = "Hold Ctrl (⌘ on a Mac) to choose several; none chosen: all."


def service_choices() -> list[tuple[str, str]]:
    """Public request types by code (one code may exist in several layers: offered once)."""
    seen: dict[str, str] = {}
    for code, name in (
        Service.objects.filter(private=False).order_by("name", "code").values_list("code", "name")
    ):
        seen.setdefault(code, name)
    return list(seen.items())


def service_group_choices() -> list[tuple[str, str]]:
    groups = Service.objects.filter(private=False).exclude(group="").values_list("group", flat=True)
    return [(g, g) for g in sorted(set(groups))]


def query_initial(query: Mapping[str, str]) -> dict[str, Any]:
    """The form's starting values from a link such as the map's "watch this place": the map's
    filter names (`layer`, `service`, `service_group`, comma lists) and `lat`/`lon`/`radius`."""
    initial: dict[str, Any] = {"radius_m": 500}
    for param, field in (("layer", "layers"), ("service", "services"),
                         ("service_group", "service_groups")):  # fmt: skip
        try:
            if values := params.items(query, param):
                initial[field] = values
        except params.ParamError:
            continue
    limit = settings.ALERTS_MAX_RADIUS_M
    for field, read in (
        ("lat", partial(params.number, query, "lat", low=-90, high=90)),
        ("lon", partial(params.number, query, "lon", low=-180, high=180)),
        ("radius_m", partial(params.integer, query, "radius", low=1, high=limit)),
    ):
        try:
            initial[field] = read()
        except params.ParamError:  # absent or unreadable: the form's own default
            continue
    return initial


class AddressField(forms.EmailField):
    """An email address in the one spelling alerts are sent to (see lib/email_address)."""

    def __init__(self, **kwargs: Any) -> None:
        # The subscriber table's limit: a longer address would fail there, not here.
        super().__init__(max_length=254, **kwargs)

    def clean(self, value: Any) -> str:
        address = email_normalize(super().clean(value))
        if len(address) > 254:  # an international domain grows in its IDNA form
            raise forms.ValidationError("This email address is too long.")
        return address


class FollowForm(forms.Form):
    email = AddressField(label="Your email address")


class FiltersForm(forms.Form):
    """What kinds of case a place or area watch is about; nothing chosen means everything."""

    layers = params.PlainModelMultipleChoiceField(
        queryset=Layer.objects.all(), to_field_name="slug", required=False,
        widget=forms.CheckboxSelectMultiple, label="Kinds (none ticked: all)",
    )  # fmt: skip
    services = forms.MultipleChoiceField(
        required=False, label="Request types", help_text=_SEVERAL,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )  # fmt: skip
    service_groups = forms.MultipleChoiceField(
        required=False, label="Service groups", help_text=_SEVERAL,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: request types arrive with every import.
        self.fields["services"].choices = service_choices()  # type: ignore[attr-defined]
        self.fields["service_groups"].choices = service_group_choices()  # type: ignore[attr-defined]

    def chosen(self) -> dict[str, list[str]]:
        """The cleaned choices as a subscription stores them."""
        data = self.cleaned_data
        return {
            "layers": [layer.slug for layer in data.get("layers") or []],
            "services": list(data.get("services") or []),
            "service_groups": list(data.get("service_groups") or []),
        }


class WatchForm(FiltersForm):
    field_order = [
        "email", "place", "lat", "lon", "area", "radius_m", "layers", "services",
        "service_groups", "frequency", "include_closed",
    ]  # fmt: skip

    email = AddressField(label="Your email address")
    place = params.PlainTextField(
        label="Address",
        required=False,
        max_length=255,
        help_text="Such as 4305 Troost Ave. Or click the map, use your location, or give "
        "coordinates below.",
    )
    lat = params.DecimalNumberField(label="Latitude", required=False)
    lon = params.DecimalNumberField(label="Longitude", required=False)
    area = params.IdChoiceField(
        queryset=Area.objects.all(), required=False, label="Or a whole area",
        empty_label="— a place and radius instead —",
    )  # fmt: skip
    radius_m = params.WholeNumberField(label="Radius in metres", required=False, initial=500)
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
        if radius is None or not MIN_RADIUS_M <= radius <= limit:
            self.add_error("radius_m", f"Choose a radius from {MIN_RADIUS_M} to {limit} metres.")
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None or lon is None) and data.get("place"):
            # The place search's own index (civicstat.places): the address a resident types, in
            # any usual spelling; the best match is the place watched and the name it is kept by.
            found = [p for p in places_find(data["place"], limit=3) if p.kind == "address"]
            if not found:
                self.add_error(
                    "place",
                    "No address found for that: give a house number and "
                    'street ("4305 Troost Ave"), or coordinates instead.',
                )
                return data
            lat, lon, data["place"] = found[0].lat, found[0].lon, found[0].name
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
