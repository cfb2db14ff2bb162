"""Gzip a body once, with slots whose bytes change in every copy sent (a nonce, a CSRF token).

`gzip_parts` compresses the fixed runs of bytes between the slots once: raw deflate, each run
fully flushed, so it ends on a byte boundary and nothing after it refers back across a slot.
`gzip_join` then makes a valid gzip file for given slot values by putting each value in between
as a stored (uncompressed) deflate block. The gzip trailer's CRC-32 covers the whole body; it is
combined from each run's CRC, computed once, and the values' own, as zlib's `crc32_combine` does
(CRC-32 is linear), so a copy costs no pass over the fixed bytes: for a 120 kB page that pass
was most of what filling the slots cost.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from typing import NamedTuple

type Part = bytes | int  # a run of bytes, or the number of a slot

_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS
_POLY = 0xEDB88320  # CRC-32's polynomial, bit-reversed


class Packed(NamedTuple):
    """Raw-deflate blocks, one per part (slots stay numbers), the end of the deflate stream, and
    for each run of bytes its CRC-32, its length and the operator that shifts a CRC past it."""

    blocks: tuple[Part, ...]
    tail: bytes
    sums: tuple[tuple[int, int, int], ...]


def gzip_parts(parts: tuple[Part, ...], level: int = 6) -> Packed:
    deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    blocks: list[Part] = []
    sums: list[tuple[int, int, int]] = []
    for part in parts:
        if isinstance(part, int):
            blocks.append(part)
            continue
        blocks.append(deflate.compress(part) + deflate.flush(zlib.Z_FULL_FLUSH))
        sums.append((zlib.crc32(part), len(part), _shift(len(part))))
    return Packed(tuple(blocks), deflate.flush(), tuple(sums))


def gzip_join(packed: Packed, values: dict[int, bytes]) -> bytes:
    """The gzip file of the body with `values[n]` in slot n (each value under 64 kB)."""
    out = [_HEADER]
    sums = iter(packed.sums)
    crc = size = 0
    for block in packed.blocks:
        if isinstance(block, int):
            value = values[block]
            # A stored block, not the last: its header byte, LEN, NLEN (LEN's complement), bytes.
            out.append(b"\x00" + struct.pack("<HH", len(value), len(value) ^ 0xFFFF) + value)
            part_crc, length, shift = zlib.crc32(value), len(value), _shift(len(value))
        else:
            out.append(block)
            part_crc, length, shift = next(sums)
        crc = _multiply(shift, crc) ^ part_crc
        size += length
    out += [packed.tail, struct.pack("<II", crc, size & 0xFFFFFFFF)]
    return b"".join(out)


# CRC-32 arithmetic as zlib's crc32.c: polynomials over GF(2) modulo CRC-32's, bit-reversed.
def _multiply(a: int, b: int) -> int:
    """a(x)·b(x) modulo the CRC polynomial; `a` must not be 0."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                return product
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _powers() -> list[int]:
    power = [1 << 30]  # x¹
    for _ in range(31):
        power.append(_multiply(power[-1], power[-1]))
    return power


_X2N = _powers()  # x^(2^k) for k = 0…31


@lru_cache(maxsize=256)
def _shift(length: int) -> int:
    """x^(8·length): multiplying a CRC by it moves the CRC past `length` more bytes."""
    product, k = 1 << 31, 3  # x⁰; a byte is 2³ bits
    while length:
        if length & 1:
            product = _multiply(_X2N[k & 31], product)
        length >>= 1
        k += 1
    return product
