"""Settings read from the environment are typed, and nonsense stops the start-up."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from civicstat.lib.env import envbool, envint, envlist, envstr

NAME = "CIVICSTAT_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "tRuE", "1", " true ", "1\n"])
def test_envbool_reads_true_and_1_in_any_case_as_true(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Case and surrounding whitespace do not matter."""
    monkeypatch.setenv(NAME, value)
    assert envbool(NAME, "false") is True


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0", " 0 ", ""])
def test_envbool_reads_false_0_and_empty_as_false(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """An empty variable is off, as an unset flag would be in a shell."""
    monkeypatch.setenv(NAME, value)
    assert envbool(NAME, "true") is False


@pytest.mark.parametrize("value", ["yes", "no", "on", "off", "t", "2", "truee"])
def test_envbool_rejects_anything_else_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """ "yes" is a typo to fix in the deployment, not a silent False."""
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be True or False.*{value!r}"):
        envbool(NAME, "false")


@pytest.mark.parametrize(("default", "expected"), [("true", True), ("False", False), ("0", False)])
def test_envbool_falls_back_to_the_default_when_unset(default: str, expected: bool) -> None:
    """The default is written as the environment would write it."""
    assert envbool(NAME, default) is expected


def test_envbool_rejects_a_nonsense_default_too() -> None:
    """A bad default in settings is caught the first time it is read."""
    with pytest.raises(ImproperlyConfigured):
        envbool(NAME, "yes")


@pytest.mark.parametrize(("value", "expected"), [("10", 10), (" 42 ", 42), ("-3", -3), ("0", 0)])
def test_envint_reads_whole_numbers(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int
) -> None:
    """Signs and surrounding whitespace are fine."""
    monkeypatch.setenv(NAME, value)
    assert envint(NAME, "7") == expected


@pytest.mark.parametrize("value", ["ten", "4.5", "1e3", "", "10 000"])
def test_envint_rejects_anything_but_a_whole_number(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The message names the variable and repeats the bad value."""
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be a whole number.*{value!r}"):
        envint(NAME, "7")


def test_envint_falls_back_to_the_default_when_unset() -> None:
    """The default is parsed like a value from the environment."""
    assert envint(NAME, "7") == 7


def test_envstr_returns_the_value_untouched_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Strings are not stripped: a secret may legitimately end in a space."""
    assert envstr(NAME, "fallback") == "fallback"
    monkeypatch.setenv(NAME, " spaced value ")
    assert envstr(NAME, "fallback") == " spaced value "


def test_envstr_keeps_an_empty_value_rather_than_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A variable set to empty is set."""
    monkeypatch.setenv(NAME, "")
    assert envstr(NAME, "fallback") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a,b,c", ["a", "b", "c"]),
        (" a , b ,c ", ["a", "b", "c"]),
        ("a,,b,", ["a", "b"]),
        (",, ,", []),
        ("", []),
        ("example.org", ["example.org"]),
    ],
)
def test_envlist_splits_on_commas_strips_items_and_drops_blanks(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    """A trailing comma or a doubled one does not add an empty host name."""
    monkeypatch.setenv(NAME, value)
    assert envlist(NAME, "default.example") == expected


def test_envlist_falls_back_to_the_default_when_unset() -> None:
    """The default is split the same way."""
    assert envlist(NAME, "localhost, 127.0.0.1,") == ["localhost", "127.0.0.1"]
