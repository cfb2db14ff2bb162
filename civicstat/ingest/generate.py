"""Synthetic cases for benchmarks at 1 M and 10 M: Kansas City's own distributions, resampled.

Each generated case copies the request type, department, status, channel and days-to-close of a
real KC case drawn at random, gets a new opening time spread over the same years (the file is in
opening order, as city exports are) and a location
jittered ~200 m around the real one, and is written in KC's export format so that it goes through
the same `kansas-city` import profile as the real file. The same seed gives the same file.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from civicstat.ingest.demo import CASES_FILE
from civicstat.lib.timeparse import compile_parser

_KEEP = (
    "SOURCE", "DEPARTMENT", "WORK GROUP", "REQUEST TYPE", "CATEGORY", "TYPE", "DETAIL",
    "STATUS", "EXCEEDED EST TIMEFRAME", "STREET ADDRESS", "ZIP CODE", "PARCEL ID NO",
)  # fmt: skip
_START = datetime(2007, 1, 1)  # noqa: DTZ001 - local wall-clock times, as KC writes them
_SPAN_DAYS = (datetime(2020, 8, 31) - _START).days  # noqa: DTZ001


@functools.cache
def _templates(
    source: Path,
) -> tuple[list[str], list[list[str]], np.ndarray, np.ndarray, list[float | None]]:
    day = compile_parser("%m/%d/%Y")
    with gzip.open(source, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        rows: list[list[str]] = []
        lats: list[float] = []
        lons: list[float] = []
        days: list[float | None] = []
        for values in reader:
            rows.append([values[col[k]] for k in _KEEP])
            lats.append(float(values[col["LATITUDE"]]))
            lons.append(float(values[col["LONGITUDE"]]))
            closed = values[col["CLOSED DATE"]]
            if closed:
                opened = day(values[col["CREATION DATE"]])
                days.append(float((day(closed) - opened).days))
            else:
                days.append(None)
    return header, rows, np.array(lats), np.array(lons), days


def generate(
    *, count: int, seed: int, output: Path, source: Path = CASES_FILE,
    progress: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write `count` synthetic cases to `output` (CSV, gzipped if it ends in .gz)."""
    header, rows, lats, lons, days = _templates(source)
    col = {name: i for i, name in enumerate(header)}
    rng = np.random.default_rng(seed)
    # Opening times for the whole file, in order: a city's export lists cases as they were opened
    # (KC's is sorted by case id), and an import of rows in random time order would measure
    # random B-tree inserts that no real export causes.
    opened_at = np.sort(rng.integers(0, _SPAN_DAYS * 86400, count))
    opener = gzip.open if output.suffix == ".gz" else open
    chunk = 100_000
    with opener(output, "wt", encoding="utf-8", newline="") as raw:
        out = csv.writer(raw)
        out.writerow(header)
        written = 0
        while written < count:
            n = min(chunk, count - written)
            picks = rng.integers(0, len(rows), n)
            offsets = opened_at[written : written + n]
            jitter_lat = rng.normal(0, 0.0018, n)
            jitter_lon = rng.normal(0, 0.0023, n)
            for j in range(n):
                k = int(picks[j])
                template = rows[k]
                opened = _START + timedelta(seconds=int(offsets[j]))
                line = [""] * len(header)
                for name, value in zip(_KEEP, template, strict=True):
                    line[col[name]] = value
                line[col["CASE ID"]] = str(9_000_000_000 + written + j)
                line[col["CREATION DATE"]] = opened.strftime("%m/%d/%Y")
                line[col["CREATION TIME"]] = opened.strftime("%I:%M %p")
                took = days[k]
                if took is not None:
                    closed = opened + timedelta(days=took)
                    line[col["CLOSED DATE"]] = closed.strftime("%m/%d/%Y")
                line[col["LATITUDE"]] = f"{lats[k] + jitter_lat[j]:.6f}"
                line[col["LONGITUDE"]] = f"{lons[k] + jitter_lon[j]:.6f}"
                out.writerow(line)
            written += n
            if progress:
                progress(n)
    return written
