from __future__ import annotations

from django.apps import AppConfig


class PlacesConfig(AppConfig):
    """The city's own places: address points (the geocoder's index) and finding them by text."""

    name = "civicstat.places"
    label = "places"
    verbose_name = "Places and addresses"
