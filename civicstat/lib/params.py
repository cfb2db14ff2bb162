"""Reading request parameters: the one place a value from a URL, a query string or a form is
turned into a number, a date, a choice or text.

Python is generous where a request must not be: `"²".isdigit()` is true and `int("²")` raises,
`int("١٢")` is 12, `float("nan")` is a number, and PostgreSQL refuses a NUL in text with an error.
So numbers here are ASCII digits only, every range is checked, and text holds no control
characters (free text may hold tabs and line breaks). A value that cannot be read raises
`ParamError`, which the site answers with a 400 and the message (`civicstat.web`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import BadRequest, ValidationError

from civicstat.lib.timeparse import out_of_range


class ParamError(ValueError, BadRequest):
    """A request parameter that cannot be read; the message says what would work."""


# C0 controls, DEL and C1 controls: NUL breaks PostgreSQL, the others have no place in a
# parameter and break XML. Tab and line breaks are allowed in free text only (a description).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Code points XML 1.0 cannot carry: an Open311 answer could not hold them.
_NONCHARACTER = re.compile("[\ufffe\uffff]")
_WHOLE = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MAX_NUMBER_LENGTH = 40  # far more than any real number needs; int() of 5,000 digits is slow
MAX_ID = 2**63 - 1  # the largest id a database's big integer key holds


def plain(name: str, value: str, *, free_text: bool = False) -> str:
    """`value` itself, refused if it holds a control character (`free_text`, such as a
    description, may hold tabs and line breaks)."""
    pattern = _CONTROL_FREE_TEXT if free_text else _CONTROL
    if pattern.search(value) or _NONCHARACTER.search(value):
        raise ParamError(f"{_shown(name)} holds control characters, which are not allowed; "
                         "send plain text")  # fmt: skip
    return value


def whole(name: str, text: str, *, low: int, high: int) -> int:
    """A whole number written in ASCII digits, from `low` to `high`."""
    text = text.strip()
    if not _is_whole(text) or not low <= int(text) <= high:
        raise ParamError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def is_id(text: str) -> bool:
    """Whether `text` is a database id: ASCII digits, from 1 to MAX_ID."""
    try:
        whole("id", text, low=1, high=MAX_ID)
    except ParamError:
        return False
    return True


def decimal(name: str, text: str, *, low: float, high: float) -> float:
    """A decimal number written in ASCII digits (no exponent, no nan or inf), `low` to `high`."""
    text = text.strip()
    value = float(text) if _is_decimal(text) else math.nan
    if not low <= value <= high:  # nan compares false
        raise ParamError(f"{name} must be a decimal number from {_figure(low)} to {_figure(high)}")
    return value


def day(name: str, text: str) -> date:
    """A calendar date written YYYY-MM-DD, in the years a request may name."""
    text = text.strip()
    try:
        if not _ISO_DAY.match(text):
            raise ValueError(text)
        found = date.fromisoformat(text)
    except ValueError:
        raise ParamError(f"{name}={text[:40]!r} is not a date; write it as YYYY-MM-DD") from None
    if problem := out_of_range(name, text, found):
        raise ParamError(problem)
    return found


def choice(name: str, text: str, choices: Collection[str]) -> str:
    """One of `choices`, exactly."""
    if text not in choices:
        raise ParamError(f"{name} must be one of {', '.join(choices)}")
    return text


def bbox(name: str, parts: list[str]) -> tuple[float, float, float, float]:
    """west,south,east,north in degrees, with west <= east and south <= north."""
    message = f"{name} must be four numbers west,south,east,north (longitude, latitude)"
    if len(parts) != 4:
        raise ParamError(message)
    try:
        west, east = (decimal(name, p, low=-180, high=180) for p in (parts[0], parts[2]))
        south, north = (decimal(name, p, low=-90, high=90) for p in (parts[1], parts[3]))
    except ParamError:
        raise ParamError(message + ", longitudes -180 to 180, latitudes -90 to 90") from None
    if not (west <= east and south <= north):
        raise ParamError(message + ", with west <= east and south <= north")
    return (west, south, east, north)


# ---- Reading a query string or a form ----------------------------------------------------------


def values(query: Mapping[str, Any], name: str) -> list[str]:
    """Every value of `name` (a query string may repeat a parameter), control characters refused."""
    raw = query.getlist(name) if hasattr(query, "getlist") else [query.get(name)]
    return [plain(name, str(v)) for v in raw if v is not None]


def text(query: Mapping[str, Any], name: str, *, free_text: bool = False) -> str:
    """The (last) value of `name`, trimmed; "" when absent. No control characters."""
    value = query.get(name)
    return plain(name, str(value), free_text=free_text).strip() if value is not None else ""


def items(query: Mapping[str, Any], name: str) -> list[str]:
    """The comma-separated items of every value of `name`, trimmed, blanks left out."""
    return [part.strip() for value in values(query, name) for part in value.split(",")
            if part.strip()]  # fmt: skip


def integer(
    query: Mapping[str, Any], name: str, *, low: int, high: int, default: int | None = None
) -> int:
    """`name` as a whole number from `low` to `high`; `default` when absent or blank (None: the
    parameter is required)."""
    if value := text(query, name):
        return whole(name, value, low=low, high=high)
    if default is None:
        raise ParamError(f"{name} is required: a whole number from {low} to {high}")
    return default


def number(
    query: Mapping[str, Any], name: str, *, low: float, high: float, default: float | None = None
) -> float:
    """`name` as a decimal number from `low` to `high`; `default` when absent or blank (None: the
    parameter is required)."""
    if value := text(query, name):
        return decimal(name, value, low=low, high=high)
    if default is None:
        raise ParamError(
            f"{name} is required: a decimal number from {_figure(low)} to {_figure(high)}"
        )
    return default


# ---- Form fields: the same rules where a Django form reads a value -----------------------------


class WholeNumberField(forms.IntegerField):
    """Django's IntegerField reads any Unicode digit (`int("١٢")`): this one ASCII digits only."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip() and not _is_whole(value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class DecimalNumberField(forms.FloatField):
    """Django's FloatField reads "١٢.٥", "1e3" and "nan": this one plain ASCII decimals only."""

    def to_python(self, value: Any) -> float | None:  # type: ignore[override]
        if isinstance(value, str) and value.strip() and not _is_decimal(value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class PlainTextField(forms.CharField):
    """Text with no control characters (Django's CharField refuses NUL only)."""

    def to_python(self, value: Any) -> str | None:
        found = super().to_python(value)
        if found and (_CONTROL.search(found) or _NONCHARACTER.search(found)):
            raise ValidationError("Remove the control characters from this text.", code="invalid")
        return found


class PlainModelMultipleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Values with control characters are refused before the database is asked for them
    (PostgreSQL answers a NUL with an error, not a miss)."""

    def clean(self, value: Any) -> Any:
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str) and (_CONTROL.search(item) or _NONCHARACTER.search(item)):
                message = self.error_messages["invalid_choice"]
                raise ValidationError(message, "invalid_choice", {"value": repr(item[:40])})
        return super().clean(value)


class IdChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A ModelChoiceField by id, written in ASCII digits (the plain one takes `int("١٢")`)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not _is_whole(value.strip()):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def _is_whole(text: str) -> bool:
    return len(text) <= _MAX_NUMBER_LENGTH and _WHOLE.match(text) is not None


def _is_decimal(text: str) -> bool:
    return len(text) <= _MAX_NUMBER_LENGTH and _DECIMAL.match(text) is not None


def _figure(x: float) -> str:
    """A range's bound as a person writes it: 1000000000000, not 1e+12."""
    return str(int(x)) if float(x).is_integer() else str(x)


def _shown(text: str) -> str:
    """A parameter's name or value as a message may show it: short, and quoted."""
    return repr(text[:40]) if _CONTROL.search(text) or len(text) > 40 else text
