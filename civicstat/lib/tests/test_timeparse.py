"""The compiled date parser reads what `strptime` reads, and refuses what it should refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.timeparse import DateFormatError, combine, compile_parser, describe

ROUND_TRIP_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y",
    "%I:%M %p",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%m/%d/%y %H:%M",
]


def _strptime(text: str, fmt: str) -> datetime:
    """The standard library's reading: the reference the parser must agree with."""
    return datetime.strptime(text, fmt)  # noqa: DTZ007 - naive, like the parser without %z


def _strptime_or_error(text: str, fmt: str) -> datetime | type[ValueError]:
    try:
        return _strptime(text, fmt)
    except ValueError:
        return ValueError


def _parse_or_error(text: str, fmt: str) -> datetime | type[ValueError]:
    try:
        return compile_parser(fmt)(text)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
@given(dt=st.datetimes())
def test_it_reads_every_formatted_datetime_exactly_as_strptime_does(fmt: str, dt: datetime) -> None:
    """Whatever strftime writes, the parser returns the same datetime as strptime.

    Years before 1000 are written without padding, which neither reads; both then refuse.
    """
    text = dt.strftime(fmt)
    assert _parse_or_error(text, fmt) == _strptime_or_error(text, fmt)


@pytest.mark.parametrize("fmt", ["%I:%M %p", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S"])
@given(a=st.integers(0, 99), b=st.integers(0, 99), c=st.integers(0, 9999), pm=st.booleans())
def test_it_never_accepts_a_string_that_strptime_rejects_or_reads_it_differently(
    fmt: str, a: int, b: int, c: int, pm: bool
) -> None:
    """On number-shaped strings of the format, any value the parser returns is strptime's value."""
    fields = {
        "%I:%M %p": f"{a:02d}:{b:02d} {'PM' if pm else 'AM'}",
        "%m/%d/%Y": f"{a:02d}/{b:02d}/{c:04d}",
        "%Y-%m-%d %H:%M:%S": f"{c:04d}-{a:02d}-{b:02d} {a % 30:02d}:{b:02d}:{a:02d}",
    }
    text = fields[fmt]
    got = _parse_or_error(text, fmt)
    if got is not ValueError:
        assert got == _strptime(text, fmt)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1/20 0:05", datetime(2020, 1, 1, 0, 5)),
     ("12/31/68 23:59", datetime(2068, 12, 31, 23, 59)),
     ("7/4/69 12:00", datetime(1969, 7, 4, 12, 0)),
     ("3/15/99 8:30", datetime(1999, 3, 15, 8, 30))],
)  # fmt: skip
def test_it_reads_a_two_digit_year_as_strptime_does(text: str, expected: datetime) -> None:
    """`%y`: 00-68 are this century, 69-99 the last (a real export writes `1/1/20 0:05`)."""
    assert compile_parser("%m/%d/%y %H:%M")(text) == expected == _strptime(text, "%m/%d/%y %H:%M")


def test_it_rejects_a_day_first_date_given_a_year_first_format() -> None:
    """A day-first export does not slip through as some other date."""
    parse = compile_parser("%Y-%m-%d %H:%M:%S")
    with pytest.raises(ValueError, match=r"is not in the form 2024-01-31 13:05:09"):
        parse("21/01/2022 10:30:00")


def test_it_rejects_a_month_first_reading_of_a_day_first_date() -> None:
    """A day above 12 in the month position is not a date, so day-first files are caught."""
    with pytest.raises(ValueError, match="not a real date"):
        compile_parser("%m/%d/%Y")("21/01/2022")


def test_it_rejects_an_impossible_date_with_a_readable_message() -> None:
    """February 30th names the text and says why it is wrong."""
    with pytest.raises(ValueError) as caught:
        compile_parser("%Y-%m-%d")("2024-02-30")
    message = str(caught.value)
    assert "'2024-02-30'" in message
    assert "not a real date" in message
    assert "day is out of range for month" in message


def test_it_accepts_the_29th_of_february_only_in_a_leap_year() -> None:
    """Leap days follow the calendar."""
    parse = compile_parser("%Y-%m-%d")
    assert parse("2024-02-29") == datetime(2024, 2, 29)
    with pytest.raises(ValueError):
        parse("2023-02-29")


@pytest.mark.parametrize("text", ["24:00:00", "12:60:00", "12:00:60"])
def test_it_rejects_a_clock_time_out_of_range(text: str) -> None:
    """Hours, minutes and seconds beyond the clock are refused."""
    with pytest.raises(ValueError):
        compile_parser("%H:%M:%S")(text)


@pytest.mark.parametrize("text", ["13:05 PM", "13:05 AM", "00:30 AM"])
def test_it_rejects_a_twelve_hour_clock_hour_outside_1_to_12(text: str) -> None:
    """ "13:05 AM" is not silently read as 01:05; strptime refuses it too."""
    with pytest.raises(ValueError):
        compile_parser("%I:%M %p")(text)


@pytest.mark.parametrize(
    ("text", "hour"),
    [("12:00 AM", 0), ("12:30 am", 0), ("01:05 AM", 1), ("12:00 PM", 12), ("1:05 pm", 13)],
)
def test_it_reads_midnight_noon_and_either_case_of_am_pm(text: str, hour: int) -> None:
    """12 AM is midnight, 12 PM is noon, and am/pm may be lower case."""
    assert compile_parser("%I:%M %p")(text).hour == hour


def test_it_rejects_trailing_text_after_the_format() -> None:
    """The whole string must match, not just its start."""
    with pytest.raises(ValueError):
        compile_parser("%Y-%m-%d")("2024-01-31 10:00")


def test_it_ignores_surrounding_whitespace_and_reads_runs_of_spaces_as_one() -> None:
    """Padding from fixed-width exports does not matter."""
    parse = compile_parser("%Y-%m-%d %H:%M:%S")
    assert parse("  2024-01-31   10:20:30 \n") == datetime(2024, 1, 31, 10, 20, 30)


@pytest.mark.parametrize(
    ("fmt", "code"), [("%Y-%m-%d %a", "a"), ("%b %d %Y", "b"), ("%j", "j"), ("%U-%m-%d", "U")]
)
def test_it_raises_a_date_format_error_for_an_unsupported_directive(fmt: str, code: str) -> None:
    """The error names the directive and is raised when the format is compiled, before any text."""
    with pytest.raises(DateFormatError, match=f"unsupported directive %{code}"):
        compile_parser(fmt)


def test_a_date_format_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a bad format."""
    assert issubclass(DateFormatError, ValueError)


def test_it_reads_a_literal_percent_sign() -> None:
    """%% in the format stands for one % in the text."""
    assert compile_parser("%Y%%%m")("2024%07") == datetime(2024, 7, 1)


@pytest.mark.parametrize(
    ("digits", "micro"), [("5", 500_000), ("05", 50_000), ("123456", 123_456), ("000001", 1)]
)
def test_it_reads_a_short_fraction_of_a_second_as_leading_digits(digits: str, micro: int) -> None:
    """ ".5" is half a second, as strptime reads it."""
    fmt = "%H:%M:%S.%f"
    text = f"10:00:00.{digits}"
    assert compile_parser(fmt)(text).microsecond == micro == _strptime(text, fmt).microsecond


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2024-01-02T03:04:05Z", timedelta(0)),
        ("2024-01-02T03:04:05+05:30", timedelta(hours=5, minutes=30)),
        ("2024-01-02T03:04:05-0500", timedelta(hours=-5)),
    ],
)
def test_it_returns_an_aware_datetime_when_the_format_has_an_offset(
    text: str, offset: timedelta
) -> None:
    """%z accepts Z, ±HH:MM and ±HHMM and attaches that fixed offset."""
    got = compile_parser("%Y-%m-%dT%H:%M:%S%z")(text)
    assert got.utcoffset() == offset
    assert got == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(offset))


def test_it_returns_a_naive_datetime_when_the_format_has_no_offset() -> None:
    """The caller attaches the city's zone."""
    assert compile_parser("%Y-%m-%d")("2024-01-02").tzinfo is None


def test_a_time_only_format_lands_on_the_first_of_january_1900() -> None:
    """The same placeholder date as strptime."""
    assert compile_parser("%H:%M")("07:45") == datetime(1900, 1, 1, 7, 45)


@pytest.mark.parametrize(
    ("fmt", "example"),
    [
        ("%m/%d/%Y", "01/31/2024"),
        ("%Y-%m-%dT%H:%M:%S.%f%z", "2024-01-31T13:05:09.000000+00:00"),
        ("%I:%M %p", "01:05 PM"),
    ],
)
def test_describe_shows_an_example_of_the_format(fmt: str, example: str) -> None:
    """The example is what an error message shows people."""
    assert describe(fmt) == example


def test_combine_takes_the_date_from_one_value_and_the_time_from_the_other() -> None:
    """The clock's own 1900-01-01 date is discarded."""
    day = datetime(2024, 3, 9, 23, 59)
    clock = datetime(1900, 1, 1, 14, 5, 6, 700)
    assert combine(day, clock) == datetime(2024, 3, 9, 14, 5, 6, 700)


def test_combine_without_a_clock_returns_the_day_unchanged() -> None:
    """A missing time column keeps the date's own time."""
    day = datetime(2024, 3, 9, 8, 0, tzinfo=UTC)
    assert combine(day, None) is day
