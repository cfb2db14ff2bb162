"""Typed readers for settings that come from the environment.

Each fails loudly on nonsense, so a typo in a deployment stops the start-up instead of silently
falling back to a default.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1"}
_FALSE = {"false", "0", ""}


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be True or False (or 1 or 0), not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default).strip()
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envlist(name: str, default: str) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def map_view(name: str, text: str) -> tuple[float, float, int] | None:
    """A map view written "lat,lon,zoom" (zoom 0–19): None when empty. `name` is the variable
    the text came from, for the message."""
    parts = [part.strip() for part in text.split(",")]
    if parts == [""]:
        return None
    try:
        lat, lon, zoom = float(parts[0]), float(parts[1]), int(parts[2])
        in_range = -90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= zoom <= 19
        if len(parts) != 3 or not in_range or not text.isascii():  # float("١") is 1.0
            raise ValueError(text)
    except (ValueError, IndexError):
        raise ImproperlyConfigured(
            f"{name} must be latitude,longitude,zoom (e.g. 42.36,-71.06,12; latitude -90 to 90, "
            f"longitude -180 to 180, zoom 0 to 19), not {text!r}"
        ) from None
    return (lat, lon, zoom)
