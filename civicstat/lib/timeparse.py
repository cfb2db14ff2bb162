"""Fast, strict parsing of the date and time formats that city exports use.

`datetime.strptime` costs several microseconds a call; an import of millions of rows parses two
or three dates per row, so each strftime-style format is compiled once into a regular expression.
Parsing stays strict: "21/01/2022" does not match "%Y-%m-%d", which is how day-first files are
caught instead of being silently misread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time

_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",  # 69-99 are 1969-1999 and 00-68 are 2000-2068, as strptime reads them
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "I": r"(?P<I>0?[1-9]|1[0-2])",  # 1-12, as strptime: "13:05 AM" is refused, not read as 01:05
    "M": r"(?P<M>\d{2})",
    "S": r"(?P<S>\d{2})",
    "f": r"(?P<f>\d{1,6})",
    "p": r"(?P<p>[AaPp][Mm])",
    "z": r"(?P<z>Z|[+-]\d{2}:?\d{2})",
}

# How each directive reads to a person, for error messages.
_EXAMPLE = {
    "Y": "2024",
    "y": "24",
    "m": "01",
    "d": "31",
    "H": "13",
    "I": "01",
    "M": "05",
    "S": "09",
    "f": "000000",
    "p": "PM",
    "z": "+00:00",
}


class DateFormatError(ValueError):
    """A format string uses a directive this parser does not know."""


def describe(fmt: str) -> str:
    """An example of `fmt`, for messages: "%m/%d/%Y" -> "01/31/2024"."""
    return re.sub(r"%(.)", lambda m: _EXAMPLE.get(m.group(1), m.group(0)), fmt)


def _compile(fmt: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            if code == "%":
                out.append("%")
            elif code in _DIRECTIVES:
                out.append(_DIRECTIVES[code])
            else:
                raise DateFormatError(
                    f"unsupported directive %{code} in date format {fmt!r}; "
                    f"use %{', %'.join(_DIRECTIVES)}"
                )
            i += 2
        else:
            out.append(r"\s+" if ch == " " else re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z")


def compile_parser(fmt: str) -> Callable[[str], datetime]:
    """A function that parses `fmt` into a datetime (naive unless the format has %z).

    It raises ValueError for text that does not match or for an impossible date (2024-02-30).
    """
    pattern = _compile(fmt)
    example = describe(fmt)

    def parse(text: str) -> datetime:
        m = pattern.match(text.strip())
        if m is None:
            raise ValueError(f"{text!r} is not in the form {example}")
        g = m.groupdict()
        hour = int(g["H"]) if g.get("H") is not None else 0
        if g.get("I") is not None:
            hour = int(g["I"]) % 12
            if g["p"].upper() == "PM":
                hour += 12
        micro = int(g["f"].ljust(6, "0")) if g.get("f") else 0
        tzinfo = None
        if g.get("z"):
            tzinfo = datetime.fromisoformat("2000-01-01T00:00:00" + g["z"]).tzinfo
        if g.get("Y") is not None:
            year = int(g["Y"])
        elif g.get("y") is not None:
            short = int(g["y"])
            year = short + (2000 if short < 69 else 1900)
        else:
            year = 1900
        try:
            return datetime(  # noqa: DTZ001 - the caller attaches the city's zone
                year,
                int(g["m"]) if g.get("m") else 1,
                int(g["d"]) if g.get("d") else 1,
                hour,
                int(g["M"]) if g.get("M") else 0,
                int(g["S"]) if g.get("S") else 0,
                micro,
                tzinfo=tzinfo,
            )
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a real date or time ({exc})") from None

    return parse


def combine(day: datetime, clock: datetime | None) -> datetime:
    """A date from one column and a time of day from another."""
    if clock is None:
        return day
    return datetime.combine(
        date(day.year, day.month, day.day),
        time(clock.hour, clock.minute, clock.second, clock.microsecond),
    )


# The years a date from a request may name. Far from any case, and near the calendar's ends a
# window around the date (a day after, 90 days before, a time zone's offset) runs off it: year 1
# minus 90 days is no date at all, and was a 500 once.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def out_of_range(name: str, text: str, day: date) -> str | None:
    """A message for a requested date outside FIRST_YEAR..LAST_YEAR, else None."""
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return None
    return f"{name}={text!r} is out of range; give a year from {FIRST_YEAR} to {LAST_YEAR}"
