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
