"""A log-bucketed histogram of durations: medians and other quantiles from counts alone.

Rollups store, per day and dimension, how many cases closed after a duration that falls in each
bucket. Buckets grow by 2 % from one minute up, so a quantile read back from the counts (interpolated
within its bucket) is within 1 % of the exact value, and a year of close times per service fits in a
few hundred rows whatever the number of cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

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
    return min(MAX_BUCKET, 2 + int(math.log(seconds / FIRST_EDGE) / _LOG_RATIO))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The [low, high) seconds a bucket covers."""
    if bucket <= 0:
        return (0.0, 0.0)
    if bucket == 1:
        return (0.0, FIRST_EDGE)
    low = FIRST_EDGE * RATIO ** (bucket - 2)
    return (low, low * RATIO)


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) in seconds of the durations counted by bucket; None if empty.

    Follows the "median of an even count is the mean of the two middle values" convention by
    estimating the value at rank q * (n - 1) (0-based), interpolating geometrically inside a bucket.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be between 0 and 1")
    total = sum(counts.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if n <= 0:
            continue
        if rank < seen + n:
            low, high = bucket_bounds(bucket)
            if bucket <= 1:
                return low + (high - low) * ((rank - seen + 0.5) / n)
            # Spread the n values evenly in log space across the bucket.
            fraction = (rank - seen + 0.5) / n
            return low * (high / low) ** fraction
        seen += n
    low, high = bucket_bounds(max(counts))
    return high


def median(counts: Mapping[int, int]) -> float | None:
    return quantile(counts, 0.5)
