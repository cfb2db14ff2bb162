"""The request parameter parser: ASCII numbers in range, real dates, plain text, or a ParamError."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import BadRequest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib import params
from civicstat.lib.params import ParamError

UNICODE_DIGITS = ["²", "١٢", "𝟗", "٣", "1²", "१२३", "Ⅻ", "½"]


@pytest.mark.parametrize("text", UNICODE_DIGITS)
def test_it_refuses_unicode_digits_that_python_reads_as_numbers(text):
    """`"²".isdigit()` is true and `int("١٢")` is 12; a request's number is ASCII digits only."""
    with pytest.raises(ParamError, match="page must be a whole number from 1 to 100"):
        params.whole("page", text, low=1, high=100)
    with pytest.raises(ParamError, match="lat must be a decimal number from -90 to 90"):
        params.decimal("lat", text, low=-90, high=90)


def test_it_reads_ascii_whole_numbers_within_their_range():
    assert params.whole("page", " 42 ", low=1, high=100) == 42
    assert params.whole("offset", "-3", low=-10, high=10) == -3
    for text in ("0", "101", "", "4.0", "1e2", "0x10", "1_0", "9" * 5000):
        with pytest.raises(ParamError):
            params.whole("page", text, low=1, high=100)


def test_it_reads_plain_decimals_and_refuses_nan_infinity_and_exponents():
    assert params.decimal("lat", "39.0997", low=-90, high=90) == 39.0997
    assert params.decimal("lon", "-94.5", low=-180, high=180) == -94.5
    assert params.decimal("lon", ".5", low=-180, high=180) == 0.5
    for text in ("nan", "NaN", "inf", "-inf", "1e1", "91", "", "1,5", "--1", "٣.٥"):
        with pytest.raises(ParamError):
            params.decimal("lat", text, low=-90, high=90)


@given(st.text(max_size=60))
def test_whole_numbers_are_exactly_the_ascii_ones_in_range(text):
    """For any text at all: an int in range from ASCII digits, or a ParamError; nothing else."""
    try:
        value = params.whole("n", text, low=-1000, high=1000)
    except ParamError:
        stripped = text.strip().lstrip("+-")
        assert not (stripped.isascii() and stripped.isdigit() and abs(int(stripped)) <= 1000)
    else:
        assert -1000 <= value <= 1000 and text.strip().lstrip("+-").isascii()


@given(st.text(max_size=60))
def test_decimals_are_finite_and_in_range_or_refused(text):
    try:
        value = params.decimal("x", text, low=-180, high=180)
    except ParamError:
        pass
    else:
        assert -180 <= value <= 180 and text.strip().isascii()


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\x1b[31m", "\x7f", "\x85", "\ufffe", "a\nb"])
def test_it_refuses_control_characters_in_text(text):
    """NUL reaching PostgreSQL is an error; other controls break XML and have no use in a URL."""
    with pytest.raises(ParamError, match="q holds control characters"):
        params.text({"q": text}, "q")


def test_free_text_may_hold_tabs_and_line_breaks_but_no_nul():
    query = QueryDict(mutable=True)
    query["description"] = "Deep pothole\r\n\tby the stop"
    assert params.text(query, "description", free_text=True) == "Deep pothole\r\n\tby the stop"
    with pytest.raises(ParamError):
        params.text(query, "description")
    query["description"] = "pothole\x00"
    with pytest.raises(ParamError):
        params.text(query, "description", free_text=True)


def test_a_parameter_error_is_a_bad_request_django_answers_with_400():
    assert issubclass(ParamError, BadRequest) and issubclass(ParamError, ValueError)


def test_it_reads_dates_written_yyyy_mm_dd_in_a_sane_year_range():
    assert params.day("since", "2024-02-29") == date(2024, 2, 29)
    for text in ("2024-02-30", "20240101", "٢٠٢٤-٠١-٠١", "2024-1-1", "yesterday"):
        with pytest.raises(ParamError, match="is not a date; write it as YYYY-MM-DD"):
            params.day("since", text)
    with pytest.raises(ParamError, match="give a year from 1900"):
        params.day("since", "0001-01-01")


def test_it_reads_a_bounding_box_and_says_what_one_looks_like():
    assert params.bbox("bbox", ["-95", "38", "-94", "40"]) == (-95.0, 38.0, -94.0, 40.0)
    for parts in (["1", "2", "3"], ["a", "b", "c", "d"], ["-95", "38", "-94", "nan"],
                  ["-94", "38", "-95", "40"], ["-95", "91", "-94", "92"]):  # fmt: skip
        with pytest.raises(ParamError, match="bbox must be four numbers west,south,east,north"):
            params.bbox("bbox", parts)


def test_it_reads_lists_choices_and_required_or_default_numbers():
    query = QueryDict("layer=a,b&layer=%20c%20,,&page=&kind=open")
    assert params.items(query, "layer") == ["a", "b", "c"]
    assert params.integer(query, "page", low=1, high=9, default=1) == 1
    with pytest.raises(ParamError, match="page is required: a whole number from 1 to 9"):
        params.integer(query, "page", low=1, high=9)
    assert params.choice("kind", params.text(query, "kind"), ("open", "closed")) == "open"
    with pytest.raises(ParamError, match="kind must be one of open, closed"):
        params.choice("kind", "both", ("open", "closed"))


def test_database_ids_are_ascii_digits_a_big_integer_holds():
    assert params.is_id("12") and params.is_id(str(params.MAX_ID))
    assert not any(params.is_id(t) for t in ("0", "-1", "²", "١٢", str(params.MAX_ID + 1), ""))


def test_form_fields_refuse_what_django_s_own_fields_let_through():
    """IntegerField takes "١٢", FloatField takes "nan" and "1e3", CharField takes ESC."""
    from django import forms

    class Watch(forms.Form):
        radius = params.WholeNumberField(required=False)
        lat = params.DecimalNumberField(required=False)
        place = params.PlainTextField(required=False)

    assert Watch({"radius": "500", "lat": "39.1", "place": "414 E 12th St"}).is_valid()
    for data in ({"radius": "١٢"}, {"radius": "²"}, {"lat": "nan"}, {"lat": "1e3"},
                 {"lat": "٣.٥"}, {"place": "414\x1b E 12th"}, {"place": "a\x00"}):  # fmt: skip
        form = Watch(data)
        assert not form.is_valid() and set(form.errors) == set(data), data
