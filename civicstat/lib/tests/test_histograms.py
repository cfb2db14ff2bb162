"""Packed close-time histograms: what goes in comes out, and sums and quantiles match the dicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.histograms import dense, merge, pack, unpack
from civicstat.lib.quantiles import MAX_BUCKET, quantile, quantile_dense

histograms = st.dictionaries(
    st.integers(min_value=0, max_value=MAX_BUCKET), st.integers(min_value=1, max_value=10**6),
    max_size=60,
)  # fmt: skip


@given(counts=histograms)
def test_a_packed_histogram_unpacks_to_what_was_packed(counts: dict[int, int]) -> None:
    blob = pack(counts)
    assert unpack(blob) == counts
    assert len(blob) == 6 * len(counts)  # six bytes a bucket, nothing for an empty one


def test_empty_buckets_are_left_out_and_impossible_ones_refused() -> None:
    assert unpack(pack({3: 2, 4: 0})) == {3: 2}
    with pytest.raises(ValueError, match="bucket 1401"):
        pack({MAX_BUCKET + 1: 1})
    with pytest.raises(ValueError, match="-1 cases"):
        pack({5: -1})


def test_merge_adds_a_delta_to_a_stored_histogram() -> None:
    assert merge(pack({1: 2, 9: 5}), {9: -5, 10: 1}) == {1: 2, 9: 0, 10: 1}
    assert merge(None, {4: 3}) == {4: 3}


@given(rows=st.lists(st.tuples(st.integers(min_value=0, max_value=4), histograms), max_size=12))
def test_dense_sums_each_slots_histograms(rows: list[tuple[int, dict[int, int]]]) -> None:
    summed = dense([(slot, pack(counts)) for slot, counts in rows], 5)
    assert summed.shape == (5, MAX_BUCKET + 1)
    for slot in range(5):
        expected: dict[int, int] = {}
        for s, counts in rows:
            if s == slot:
                for b, n in counts.items():
                    expected[b] = expected.get(b, 0) + n
        assert {b: int(n) for b, n in enumerate(summed[slot]) if n} == expected


@given(counts=histograms, q=st.floats(min_value=0, max_value=1))
def test_a_quantile_of_a_dense_histogram_is_the_same_as_of_its_dict(
    counts: dict[int, int], q: float
) -> None:
    assert quantile_dense(dense([(0, pack(counts))], 1)[0], q) == quantile(counts, q)
