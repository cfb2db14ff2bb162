"""Medians and quantiles read back from bucket counts stay close to the exact values."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.quantiles import (
    FIRST_EDGE,
    MAX_BUCKET,
    RATIO,
    bucket_bounds,
    bucket_of,
    median,
    quantile,
)

durations = st.floats(min_value=1, max_value=3e8, allow_nan=False, allow_infinity=False)


def _counts(values: list[float]) -> Counter[int]:
    return Counter(bucket_of(v) for v in values)


def _error_bound(value: float) -> float:
    """How far one value's estimate may sit from it: anywhere in (0, 60 s), else 2 % of it."""
    return FIRST_EDGE if value < FIRST_EDGE else (RATIO - 1) * value


@given(values=st.lists(durations, min_size=1, max_size=200))
def test_the_median_from_counts_is_within_2_percent_of_the_exact_median(
    values: list[float],
) -> None:
    """Within 2 %, or 60 s for a middle value under a minute, of `statistics.median`."""
    ordered = sorted(values)
    n = len(ordered)
    middle = ordered[(n - 1) // 2 : n // 2 + 1]
    allowed = sum(_error_bound(v) for v in middle) / len(middle)
    exact = statistics.median(values)
    got = median(_counts(values))
    assert got is not None
    assert abs(got - exact) <= allowed * (1 + 1e-9)


@given(values=st.lists(st.floats(min_value=FIRST_EDGE, max_value=3e8), min_size=1, max_size=200))
def test_the_median_of_durations_over_a_minute_is_within_2_percent(values: list[float]) -> None:
    """For durations of a minute or more the error is relative: at most 2 %."""
    exact = statistics.median(values)
    got = median(_counts(values))
    assert got is not None
    assert abs(got - exact) <= 0.02 * exact * (1 + 1e-9)


@given(
    values=st.lists(durations, min_size=1, max_size=100),
    q=st.floats(min_value=0, max_value=1),
)
def test_every_quantile_stays_within_the_range_of_the_data(values: list[float], q: float) -> None:
    """A quantile stays within the range the data spans, widened by the bucket error."""
    got = quantile(_counts(values), q)
    assert got is not None
    low, high = min(values), max(values)
    assert low - _error_bound(low) <= got <= high + _error_bound(high)


@given(values=st.lists(durations, min_size=1, max_size=100))
def test_quantiles_never_decrease_as_q_grows(values: list[float]) -> None:
    """The 10th percentile is at most the median, which is at most the 90th."""
    counts = _counts(values)
    qs = [quantile(counts, q / 20) for q in range(21)]
    assert all(a is not None and b is not None and a <= b for a, b in zip(qs, qs[1:], strict=False))


@given(value=durations)
def test_a_bucket_contains_the_values_it_was_chosen_for(value: float) -> None:
    """`bucket_bounds(bucket_of(v))` is [low, high) around v."""
    low, high = bucket_bounds(bucket_of(value))
    assert low <= value < high


def test_every_buckets_lower_edge_belongs_to_it_and_its_upper_edge_to_the_next() -> None:
    """Values exactly on an edge, or a hair either side of it, fall on the right side of it."""
    for bucket in range(2, MAX_BUCKET):
        low, high = bucket_bounds(bucket)
        assert bucket_of(low) == bucket, bucket
        assert bucket_of(math.nextafter(high, 0)) == bucket, bucket
        assert bucket_of(high) == bucket + 1, bucket
        assert bucket_bounds(bucket + 1)[0] == high, bucket


def test_buckets_grow_by_2_percent_from_one_minute() -> None:
    """Bucket 1 holds everything under a minute; each later bucket is 2 % wide."""
    assert bucket_bounds(1) == (0.0, 60.0)
    low, high = bucket_bounds(2)
    assert low == 60.0
    assert high == pytest.approx(61.2)
    for bucket in (2, 50, 500):
        low, high = bucket_bounds(bucket)
        assert high / low == pytest.approx(1.02)
        assert bucket_bounds(bucket + 1)[0] == pytest.approx(high)


@pytest.mark.parametrize("seconds", [0, 0.0, -5, -1e9])
def test_zero_and_negative_durations_go_in_bucket_zero(seconds: float) -> None:
    """A case closed the moment it opened, or with a clock error, counts as zero."""
    assert bucket_of(seconds) == 0
    assert bucket_bounds(0) == (0.0, 0.0)


def test_the_median_of_zero_durations_is_zero() -> None:
    """Bucket zero reads back as exactly zero seconds."""
    assert median({0: 5}) == 0.0
    assert quantile({0: 5}, 0.9) == 0.0


def test_zero_durations_pull_the_median_down() -> None:
    """Three zeros and two hours: the median is zero."""
    counts = _counts([0, 0, 0, 7200, 7200])
    assert median(counts) == 0.0
    assert quantile(counts, 1) == pytest.approx(7200, rel=0.02)


def test_durations_under_a_minute_share_one_bucket() -> None:
    """Anything under a minute reads back somewhere under a minute."""
    assert {bucket_of(s) for s in (0.001, 1, 30, 59.999)} == {1}
    got = median({1: 3})
    assert got is not None
    assert 0 < got < FIRST_EDGE


def test_huge_durations_are_clamped_to_the_last_bucket() -> None:
    """A nonsense duration does not create an unbounded bucket number."""
    assert bucket_of(1e300) == MAX_BUCKET


@pytest.mark.parametrize("counts", [{}, {5: 0}, {1: 0, 100: 0}])
def test_empty_counts_have_no_median(counts: dict[int, int]) -> None:
    """No cases, no median: None rather than zero."""
    assert median(counts) is None
    assert quantile(counts, 0.25) is None


def test_buckets_with_zero_counts_are_ignored() -> None:
    """An empty bucket below the data does not shift the answer."""
    assert median({10: 0, 300: 1}) == median({300: 1})


def test_a_single_value_reads_back_as_its_buckets_geometric_middle() -> None:
    """One value in a bucket is estimated at the bucket's centre in log space."""
    low, high = bucket_bounds(300)
    assert median({300: 1}) == pytest.approx((low * high) ** 0.5)


def test_the_median_of_an_even_count_averages_the_two_middle_values() -> None:
    """Like statistics.median: one hour and three hours give about two hours."""
    got = median(_counts([3600, 10800]))
    assert got == pytest.approx(7200, rel=0.02)


@pytest.mark.parametrize("q", [-0.01, 1.01, 2])
def test_it_rejects_a_quantile_outside_0_to_1(q: float) -> None:
    """q is a fraction, not a percentage."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile({5: 1}, q)
