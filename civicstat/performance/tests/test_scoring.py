"""Status bands and scores respect the measure's direction; composites average what is known."""

from __future__ import annotations

import pytest

from civicstat.performance.scoring import SCORE_CAP, composite, score_of, status_of


def proximity(direction: str, value: float | None, target: float | None = 100.0) -> str:
    return status_of(rule="proximity", direction=direction, value=value, target=target,
                     on_track_band=5, near_band=15)  # fmt: skip


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("up", 120, "on_track"), ("up", 96, "on_track"), ("up", 90, "near"),
        ("up", 80, "off_track"),
        ("down", 80, "on_track"), ("down", 104, "on_track"), ("down", 110, "near"),
        ("down", 130, "off_track"), ("target", 104, "on_track"), ("target", 90, "near"),
        ("target", 120, "off_track"),
    ],
)  # fmt: skip
def test_proximity_bands_are_percentages_of_the_target(
    direction: str, value: float, expected: str
) -> None:
    assert proximity(direction, value) == expected


def test_without_a_value_or_target_there_is_no_status_to_give() -> None:
    assert proximity("up", None) == "no_data"
    assert proximity("up", 50, target=None) == ""


def test_thresholds_flip_when_lower_is_better() -> None:
    def t(direction: str, value: float) -> str:
        return status_of(rule="thresholds", direction=direction, value=value, target=None,
                         on_track_band=10, near_band=20)  # fmt: skip

    assert [t("down", v) for v in (8, 15, 25)] == ["on_track", "near", "off_track"]
    up = status_of(rule="thresholds", direction="up", value=25, target=None,
                   on_track_band=20, near_band=10)  # fmt: skip
    assert up == "on_track"


def test_manual_status_is_whatever_staff_chose() -> None:
    assert status_of(rule="manual", direction="up", value=1, target=99, manual="near") == "near"


def test_scores_invert_when_lower_is_better_and_are_capped() -> None:
    assert score_of(direction="up", value=90, target=100) == pytest.approx(0.9)
    assert score_of(direction="down", value=8, target=10) == pytest.approx(1.25)
    assert score_of(direction="down", value=1, target=10) == SCORE_CAP
    assert score_of(direction="target", value=110, target=100) == pytest.approx(0.9)
    assert score_of(direction="up", value=None, target=100) is None


def test_a_composite_is_the_mean_of_known_scores() -> None:
    assert composite([1.0, 0.5, None]) == pytest.approx(0.75)
    assert composite([None]) is None
