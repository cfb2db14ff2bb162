"""A saved Open311 GeoReport v2 answer (`requests.json` or `requests.xml`, optionally gzipped),
imported through the same reading and writing as a sync of a live server.

The file is streamed a request at a time, so a dump of a city's history never sits in memory
whole. Each request's fate goes to an import run: created, updated, unchanged, or rejected with
its number in the file (the n-th request) and a reason.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import defusedxml.ElementTree as DET
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from civicstat.cases.services import layer_ensure
from civicstat.ingest.ledger import Ledger
from civicstat.ingest.models import ImportRun
from civicstat.ingest.readers import CountingReader
from civicstat.ingest.sync.http import element
from civicstat.ingest.sync.open311 import case_of
from civicstat.ingest.sync.remote import Doc
from civicstat.ingest.sync.runner import RemoteWriter

PROFILE_NAME = "Open311 GeoReport v2"
_CHUNK = 1 << 16


def is_open311_file(path: Path) -> bool:
    return path.name.removesuffix(".gz").endswith((".json", ".xml"))


class Open311FileError(ValueError):
    """The file is not a GeoReport v2 list of requests; the message says where it went wrong."""


def json_array_items(text: IO[str]) -> Iterator[Any]:
    """The items of a JSON array, one at a time, read in chunks (objects as `Doc`s)."""
    decoder = json.JSONDecoder(object_pairs_hook=Doc)
    buf, pos, eof = "", 0, False

    def fill() -> bool:
        nonlocal buf, pos, eof
        chunk = text.read(_CHUNK)
        if not chunk:
            eof = True
            return False
        buf, pos = buf[pos:] + chunk, 0
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not fill():
                return ""

    if skip_space() != "[":
        raise Open311FileError("the file is not a JSON list of requests (it must start with [)")
    pos += 1
    if skip_space() == "]":
        return
    while True:
        skip_space()
        while True:
            try:
                item, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if not eof and fill():
                    continue
                raise Open311FileError(f"not valid JSON ({exc.msg})") from None
            # A number or word cut at the chunk's end reads as a shorter value: read on first.
            if end == len(buf) and not eof and fill():
                continue
            break
        pos = end
        yield item
        separator = skip_space()
        if separator == "]":
            return
        if separator != ",":
            raise Open311FileError("not valid JSON (expected , or ] between requests)")
        pos += 1


def xml_requests(binary: IO[bytes]) -> Iterator[Any]:
    """Each child of the XML answer's root (`<request>`), as its JSON form would be."""
    depth = 0
    root = None
    try:
        for event, node in DET.iterparse(binary, events=("start", "end")):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = node
                    if node.tag == "errors":
                        raise Open311FileError("the file is an Open311 error list")
                continue
            depth -= 1
            if depth == 1 and root is not None:
                yield element(node)
                root.clear()  # keep memory flat: the request is read
    except DET.ParseError as exc:
        raise Open311FileError(f"not valid XML ({exc})") from None


def open311_file_import(
    *, path: Path, layer: str = "311-requests",
    bounds: tuple[float, float, float, float] | None = None, batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportRun:  # fmt: skip
    """Import the requests of a saved GeoReport v2 answer into `layer` (created if missing)."""
    target = layer_ensure(slug=layer, name=layer.replace("-", " ").capitalize(), noun="request",
                          statuses={})  # fmt: skip
    run = ImportRun.objects.create(profile=PROFILE_NAME, file_name=path.name)
    ledger = Ledger(run)
    writer = RemoteWriter(target, ledger, bounds=bounds)
    size = batch_size or settings.INGEST_BATCH_SIZE
    total = path.stat().st_size
    with path.open("rb") as raw:
        counter = CountingReader(raw)
        buffered = io.BufferedReader(counter, buffer_size=1 << 20)
        binary: IO[bytes] = gzip.GzipFile(fileobj=buffered) if path.suffix == ".gz" else buffered  # type: ignore[assignment]
        if path.name.removesuffix(".gz").endswith(".xml"):
            docs = xml_requests(binary)
        else:
            docs = json_array_items(io.TextIOWrapper(binary, encoding="utf-8-sig"))

        def write(chunk: list[Any]) -> None:
            with transaction.atomic():
                writer.write([case_of(d) for d in chunk])
                ledger.save()
            if progress:
                progress(counter.position, total)

        try:
            pending: list[Any] = []
            try:
                for doc in docs:
                    pending.append(doc)
                    if len(pending) >= size:
                        write(pending)
                        pending = []
            except (Open311FileError, UnicodeDecodeError, EOFError, OSError) as exc:
                # What was read before the fault is kept; the error says where reading stopped.
                run.error = f"{path.name}: {exc} (after request {ledger.read + len(pending)})"
            write(pending)
        except DatabaseError as exc:
            run.error = f"database error: {exc}"
        run.state = ImportRun.State.FAILED if run.error else ImportRun.State.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "finished_at"])
    return run
