"""Status and score of a value against its target, respecting the measure's direction.

Score (CityScore-style): value / target, inverted when lower is better, so 1.0 means "on target",
above 1 better than target; capped at SCORE_CAP so one runaway measure cannot carry a composite.
For "on target is best", the score falls from 1 by the relative distance from the target.
A goal's or priority area's composite score is the mean of its measures' latest scores.
"""

from __future__ import annotations

from collections.abc import Iterable

from civicstat.performance.models import Direction, Status, StatusRule

SCORE_CAP = 1.5


def status_of(
    *, rule: str, direction: str, value: float | None, target: float | None,
    manual: str = "", on_track_band: float | None = None, near_band: float | None = None,
) -> str:  # fmt: skip
    """One of Status's values. Proximity bands are percentages of the target; thresholds are
    edges in the measure's own units (the on-track edge, then the near edge)."""
    if rule == StatusRule.NONE:
        return Status.NONE
    if rule == StatusRule.MANUAL:
        return manual
    if value is None:
        return Status.NO_DATA
    if rule == StatusRule.THRESHOLDS:
        if on_track_band is None or near_band is None:
            return Status.NONE
        sign = 1.0 if direction == Direction.UP else -1.0  # lower is better: flip the comparison
        if sign * value >= sign * on_track_band:
            return Status.ON_TRACK
        return Status.NEAR if sign * value >= sign * near_band else Status.OFF_TRACK
    if target is None:
        return Status.NONE
    shortfall = {
        Direction.UP: target - value,
        Direction.DOWN: value - target,
        Direction.TARGET: abs(value - target),
    }[Direction(direction)]
    if shortfall <= 0:
        return Status.ON_TRACK
    relative = 100.0 * shortfall / abs(target) if target else float("inf")
    if relative <= (on_track_band or 0.0):
        return Status.ON_TRACK
    if relative <= (near_band or 0.0):
        return Status.NEAR
    return Status.OFF_TRACK


def score_of(*, direction: str, value: float | None, target: float | None) -> float | None:
    if value is None or target is None:
        return None
    if direction == Direction.TARGET:
        if target == 0:
            return 1.0 if value == 0 else 0.0
        return max(0.0, 1.0 - abs(value - target) / abs(target))
    if direction == Direction.DOWN:
        ratio = SCORE_CAP if value <= 0 else target / value
    else:
        ratio = (SCORE_CAP if value > 0 else 1.0) if target == 0 else value / target
    return max(0.0, min(SCORE_CAP, ratio))


def composite(scores: Iterable[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return sum(known) / len(known) if known else None
