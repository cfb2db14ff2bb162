"""A body gzipped once, with slots filled for each copy, unpacks to the body with those values."""

from __future__ import annotations

import gzip
import zlib

from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.gzipslots import Part, _multiply, _shift, gzip_join, gzip_parts

# Runs of bytes and slots as a page makes them: bytes, a slot, bytes, …, bytes.
runs = st.lists(st.tuples(st.binary(max_size=3000), st.sampled_from([0, 1])), max_size=5)
values = st.binary(max_size=200)


@given(runs, st.binary(max_size=3000), values, values)
def test_a_joined_copy_unpacks_to_the_body_with_its_values(
    pairs: list[tuple[bytes, int]], last: bytes, nonce: bytes, token: bytes
) -> None:
    parts: tuple[Part, ...] = (*(p for pair in pairs for p in pair), last)
    filled = {0: nonce, 1: token}
    joined = gzip_join(gzip_parts(parts), filled)
    # gzip checks the trailer: the CRC-32 and the length of what it unpacked.
    assert gzip.decompress(joined) == b"".join(
        filled[p] if isinstance(p, int) else p for p in parts
    )


def test_each_copy_has_its_own_values_and_the_fixed_runs_compress() -> None:
    page = b"<p>" + b"the same words again and again " * 500
    packed = gzip_parts((page, 1, page))
    first = gzip_join(packed, {1: b"A" * 64})
    second = gzip_join(packed, {1: b"B" * 64})
    assert gzip.decompress(first) == page + b"A" * 64 + page
    assert gzip.decompress(second) == page + b"B" * 64 + page
    assert len(first) < len(page) / 10


@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_a_crc_shifted_past_the_second_part_combines_as_zlibs_crc32_combine(
    a: bytes, b: bytes
) -> None:
    combined = _multiply(_shift(len(b)), zlib.crc32(a)) ^ zlib.crc32(b)
    assert combined == zlib.crc32(a + b)
