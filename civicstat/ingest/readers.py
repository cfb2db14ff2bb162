"""Streaming readers for CSV, TSV and JSON-lines files (optionally gzipped), row by row.

Rows come out with the line they start on, so a reject can point a person at the exact place in
the file: a CSV row as a list of strings in header order, a JSON line as its object, with its
values as JSON typed them and only the keys it has. Nothing holds the whole file in memory.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from civicstat.ingest.mapping import Profile

# Bytes that are not valid in the file's encoding survive decoding as lone surrogates.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
csv.field_size_limit(10_000_000)
# JSON lines read before the import starts, for the keys the mapping's columns are checked
# against: a record leaves out a key it has no value for, so one record is not enough.
HEADER_SAMPLE = 1000


class CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk (compressed or not) for a progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


@dataclass
class Row:
    line: int
    values: list[str] | dict[str, Any]  # a CSV row in header order, or a JSON line's object
    problem: str = ""  # set when the row cannot be read at all

    def raw(self) -> str:
        if isinstance(self.values, dict):
            return printable(json.dumps(self.values, ensure_ascii=False, default=str)[:2000])
        return printable("\t".join(self.values)[:2000])


def printable(text: str) -> str:
    """Text safe to store: bytes that were not valid in the file's encoding become U+FFFD."""
    if not _UNDECODABLE.search(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class RowReader:
    """Opens a file for a profile and yields its rows."""

    def __init__(self, path: Path, profile: Profile) -> None:
        self.path = path
        self.profile = profile
        self.size = path.stat().st_size
        raw = path.open("rb")
        self.counter = CountingReader(raw)
        buffered = io.BufferedReader(self.counter, buffer_size=1 << 20)
        binary: BinaryIO = gzip.GzipFile(fileobj=buffered) if path.suffix == ".gz" else buffered  # type: ignore[assignment]
        self.text = io.TextIOWrapper(binary, encoding=profile.encoding, errors="surrogateescape",
                                     newline="")  # fmt: skip
        stem = path.name.removesuffix(".gz")
        self.format = "jsonl" if stem.endswith((".jsonl", ".ndjson")) else profile.format
        self.delimiter = profile.delimiter or ("\t" if stem.endswith(".tsv") else ",")
        self.header: list[str] = []
        self._rows = self._jsonl() if self.format == "jsonl" else self._csv()

    def close(self) -> None:
        self.text.close()

    @property
    def bytes_read(self) -> int:
        return self.counter.position

    def __iter__(self) -> Iterator[Row]:
        return self._rows

    def _csv(self) -> Iterator[Row]:
        reader = csv.reader(self.text, delimiter=self.delimiter, strict=False)
        try:
            self.header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        width = len(self.header)
        line = reader.line_num
        for values in reader:
            start, line = line + 1, reader.line_num
            if not values:
                continue
            if len(values) != width:
                yield Row(start, values, f"the row has {len(values)} fields but the header has "
                                         f"{width} (a stray delimiter or quote?)")  # fmt: skip
                continue
            joined = "".join(values)
            if _UNDECODABLE.search(joined):
                yield Row(start, values, self._encoding_problem())
                continue
            yield Row(start, values)

    def _jsonl(self) -> Iterator[Row]:
        for number, text in enumerate(self.text, start=1):
            if not text.strip():
                continue
            if _UNDECODABLE.search(text):
                yield Row(number, [text], self._encoding_problem())
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Row(number, [text], f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield Row(number, [text], "a JSON line must hold one object")
                continue
            yield Row(number, obj)

    def _encoding_problem(self) -> str:
        return (f"the row has bytes that are not valid {self.profile.encoding}; save the file as "
                "UTF-8 or set source.encoding in the mapping (for example \"cp1252\")")  # fmt: skip

    def read_header(self) -> list[str]:
        """Reads up to the header without losing a row: a CSV file's first line; for JSON lines,
        the keys of the first HEADER_SAMPLE records, in the order they first appear."""
        if self.format != "jsonl":
            first = next(self._rows, None)
            ahead = [first] if first is not None else []
        else:
            ahead = []
            keys: dict[str, None] = {}
            for row in self._rows:
                ahead.append(row)
                if isinstance(row.values, dict):
                    keys.update(dict.fromkeys(row.values))
                if len(ahead) >= HEADER_SAMPLE:
                    break
            self.header = list(keys)
        rest = self._rows

        def chain() -> Iterator[Row]:
            yield from ahead
            yield from rest

        self._rows = chain()
        return self.header
