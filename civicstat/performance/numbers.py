"""Reading the numbers people publish: "100%", "$10.4M", "5,900", "N/A"."""

from __future__ import annotations

import re

_MISSING = {"", "n/a", "na", "-", "—", "none", "null", "tbd"}
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}
_NUMBER = re.compile(r"^(?P<sign>-)?(?P<dollar>\$)?(?P<digits>\d[\d,]*(\.\d+)?|\.\d+)"
                     r"(?P<scale>[kmb])?(?P<percent>%)?$", re.IGNORECASE)  # fmt: skip


def parse_number(text: str | float | int | None) -> tuple[float | None, str]:
    """The value and the unit it was written in ("percent", "dollars" or ""); None for "N/A".

    Raises ValueError, naming the text, for anything else ("about 40").
    """
    if text is None:
        return None, ""
    if isinstance(text, int | float):
        return float(text), ""
    cleaned = text.strip().replace(" ", "")
    if cleaned.lower() in _MISSING:
        return None, ""
    match = _NUMBER.match(cleaned)
    if not match or (match["scale"] and match["percent"]):
        raise ValueError(f"{text!r} is not a number (write it as 42, 5,900, 12.5%, $10.4M or N/A)")
    digits = match["digits"].replace(",", "")
    if "," in match["digits"] and not re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?", match["digits"]):
        raise ValueError(f"{text!r} has its thousands separators in the wrong places")
    value = float(digits) * _SCALE[(match["scale"] or "").lower()]
    if match["sign"]:
        value = -value
    unit = "percent" if match["percent"] else "dollars" if match["dollar"] else ""
    return value, unit
