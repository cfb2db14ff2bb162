"""A log-bucketed histogram of durations: medians and other quantiles from counts alone.

Rollups store, per day and dimension, how many cases closed after a duration that falls in each
bucket. Buckets grow by 2 % from one minute up, so a quantile read back from the counts
(interpolated within its bucket) is within 2 % of the exact value, and a year of close times per
service fits in a few hundred rows whatever the number of cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

RATIO = 1.02
FIRST_EDGE = 60.0  # seconds: bucket 1 holds (0, 60 s); bucket 2 starts at one minute
_LOG_RATIO = math.log(RATIO)
MAX_BUCKET = 1400  # 60 s * 1.02**1400 is far beyond any real duration; larger values are clamped


def bucket_of(seconds: float) -> int:
    """The bucket for a duration: 0 for zero (or negative, clamped), then log-spaced."""
    if seconds <= 0:
        return 0
    if seconds < FIRST_EDGE:
        return 1
    bucket = min(MAX_BUCKET, 2 + int(math.log(seconds / FIRST_EDGE) / _LOG_RATIO))
    # The logarithm rounds: a value within a rounding error of an edge goes where its bounds say.
    low, high = bucket_bounds(bucket)
    if seconds < low:
        return bucket - 1
    if seconds >= high and bucket < MAX_BUCKET:
        return bucket + 1
    return bucket


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The [low, high) seconds a bucket covers."""
    if bucket <= 0:
        return (0.0, 0.0)
    if bucket == 1:
        return (0.0, FIRST_EDGE)
    return (FIRST_EDGE * RATIO ** (bucket - 2), FIRST_EDGE * RATIO ** (bucket - 1))


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) in seconds of the durations counted by bucket; None if empty.

    Uses the same convention as `statistics.median` and numpy's default: the value at rank
    q * (n - 1), interpolated linearly between the two values around it. Each value is estimated
    from its position in its bucket, the values of a bucket spread evenly in log space.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    ordered = [(b, n) for b, n in sorted(counts.items()) if n > 0]
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    rank = q * (total - 1)
    below = int(rank)
    low_value = _value_at(ordered, below)
    if rank == below:
        return low_value
    high_value = _value_at(ordered, below + 1)
    return low_value + (rank - below) * (high_value - low_value)


def _value_at(ordered: list[tuple[int, int]], index: int) -> float:
    """The estimated index-th smallest value (0-based)."""
    seen = 0
    for bucket, n in ordered:
        if index < seen + n:
            return _estimate(bucket, index - seen, n)
        seen += n
    raise IndexError(index)


def _estimate(bucket: int, offset: int, n: int) -> float:
    """The estimated offset-th smallest (0-based) of the n values in `bucket`."""
    low, high = bucket_bounds(bucket)
    fraction = (offset + 0.5) / n
    if bucket <= 1:
        return low + (high - low) * fraction
    return float(low * (high / low) ** fraction)


def quantile_dense(counts: npt.NDArray[Any], q: float) -> float | None:
    """`quantile` of a histogram held as an array of whole counts (integers or floats) indexed by
    bucket, the same answer to the bit: what a measure sums many packed histograms into
    (`civicstat.lib.histograms`)."""
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1]) if len(cumulative) else 0
    if total <= 0:
        return None
    rank = q * (total - 1)
    below = int(rank)
    low_value = _dense_value_at(counts, cumulative, below)
    if rank == below:
        return low_value
    high_value = _dense_value_at(counts, cumulative, below + 1)
    return low_value + (rank - below) * (high_value - low_value)


def _dense_value_at(counts: npt.NDArray[Any], cumulative: npt.NDArray[Any], index: int) -> float:
    # The first bucket whose running total passes `index` holds it (an empty bucket never does).
    bucket = int(np.searchsorted(cumulative, index, side="right"))
    n = int(counts[bucket])
    return _estimate(bucket, index - (int(cumulative[bucket]) - n), n)


def median(counts: Mapping[int, int]) -> float | None:
    return quantile(counts, 0.5)
