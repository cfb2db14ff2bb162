from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.performance.numbers import parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100%", (100.0, "percent")),
        ("$10.4M", (10_400_000.0, "dollars")),
        ("$10M", (10_000_000.0, "dollars")),
        ("5,900", (5900.0, "")),
        ("N/A", (None, "")),
        ("", (None, "")),
        ("-3.5", (-3.5, "")),
        ("$1,250", (1250.0, "dollars")),
        ("2.5k", (2500.0, "")),
    ],
)
def test_it_reads_published_numbers(text: str, expected: tuple[float | None, str]) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["about 40", "4O", "1,00", "12%M", "$"])
def test_it_rejects_what_is_not_a_number_and_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="5,900|separators"):
        parse_number(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separated_integers_read_back(n: int) -> None:
    assert parse_number(f"{n:,}") == (float(n), "")
