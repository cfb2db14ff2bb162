"""Close-time histograms packed into one value: a whole month of a request type in one row.

A month's close times for one request type spread over as many 2 %-wide buckets as it has cases
(`civicstat.lib.quantiles`), so a median over years of a group of request types read bucket rows
by the hundred thousand at 10 M cases, and the database and the driver spent a microsecond or more
on each. Packed, the same counts are a few bytes per bucket in one row per request type and month:
the rows come back by the thousand, and NumPy adds them up in one pass (`dense`).

The format is little-endian (bucket: uint16, count: int32) pairs, in bucket order, no zero counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from civicstat.lib.quantiles import MAX_BUCKET

ENTRY = np.dtype([("bucket", "<u2"), ("count", "<i4")])  # packed: 6 bytes, no padding
WIDTH = MAX_BUCKET + 1  # a dense histogram's length: buckets 0..MAX_BUCKET


def pack(counts: Mapping[int, int]) -> bytes:
    """The histogram {bucket: count} packed; buckets with no cases are left out."""
    kept = sorted((b, n) for b, n in counts.items() if n)
    for b, n in kept:
        if not 0 <= b <= MAX_BUCKET or n < 0:
            raise ValueError(f"bucket {b} with {n} cases cannot be stored")
    return np.array(kept, dtype=ENTRY).tobytes()


def unpack(blob: bytes | memoryview) -> dict[int, int]:
    """The histogram a packed value holds."""
    entries = np.frombuffer(blob, dtype=ENTRY)
    return dict(zip(entries["bucket"].tolist(), entries["count"].tolist(), strict=True))


def merge(blob: bytes | memoryview | None, delta: Mapping[int, int]) -> dict[int, int]:
    """A packed histogram (None: none yet) with `delta` added, as {bucket: count}."""
    counts = unpack(blob) if blob is not None else {}
    for b, n in delta.items():
        counts[b] = counts.get(b, 0) + n
    return counts


def dense(rows: Sequence[tuple[int, bytes | memoryview]], length: int) -> npt.NDArray[np.float64]:
    """Packed histograms summed by slot: `rows` are (slot, packed), slots 0..length-1 (periods,
    say); the answer is a length × WIDTH array of counts, a slot's histogram in its row.

    The counts are float64, as `np.bincount` sums them: exact for any whole number of cases below
    2**53, and converting a month-by-bucket array to integers cost as much as the sum."""
    if not rows:
        return np.zeros((length, WIDTH))
    blobs = [blob for _, blob in rows]
    entries = np.frombuffer(b"".join(blobs), dtype=ENTRY)
    sizes = np.fromiter((len(blob) for blob in blobs), dtype=np.int64, count=len(blobs))
    slots = np.fromiter((slot for slot, _ in rows), dtype=np.int64, count=len(rows))
    at = np.repeat(slots, sizes // ENTRY.itemsize) * WIDTH + entries["bucket"]
    summed = np.bincount(at, weights=entries["count"], minlength=length * WIDTH)
    return summed.reshape(length, WIDTH)
