"""`import_cases requests.json` (or `.xml`, gzipped or not): a saved GeoReport v2 answer goes in
through the same reading and writing as a sync of the server that gave it."""

from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicstat.cases.models import Case
from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import ImportRun, RejectedRow, SyncSource
from civicstat.ingest.sync import files
from civicstat.ingest.sync.files import open311_file_import
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.helpers import assert_accounted
from civicstat.ingest.tests.loopback import ok, serving

pytestmark = pytest.mark.django_db
OPEN311 = Path(__file__).resolve().parents[3] / "tests" / "data" / "open311"
ANSWER = OPEN311 / "dialects" / "requests.json"
CHICAGO = "-87.94,41.64,-87.52,42.03"


def facts(layer: str) -> dict[str, Any]:
    """Each case as a person would compare two copies of it."""
    found = {}
    for c in Case.objects.filter(layer__slug=layer).select_related("service", "department"):
        notes = list(c.events.filter(kind="note").values_list("at", "note", "label"))
        found[c.external_id] = (c.status, c.status_group, c.service.code if c.service else "",
                                c.department.name if c.department else "", c.description,
                                c.address, c.zip_code, c.lat, c.lon, c.requested_at,
                                c.closed_at, c.closed_approximate, c.attributes, notes)  # fmt: skip
    return found


def test_a_saved_answer_imports_as_the_server_it_came_from_syncs(settings):
    """The file and a sync of the same answer give the same cases, rejects and warnings."""
    settings.SYNC_BACKOFF_MS = 1
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_cases", str(ANSWER), "--layer", "from-file", f"--bounds={CHICAGO}",
                     stdout=out)  # fmt: skip
    assert exit_code.value.code == 2  # some requests rejected
    text = out.getvalue()
    assert "requests.json: 10 requests read, 6 created, 0 updated, 0 unchanged, 4 rejected." in text
    assert "  request 6: no requested_datetime" in text
    assert "5 warnings (values left out of stored rows, or notes on the whole file):" in text
    run = ImportRun.objects.get()
    assert run.profile == "Open311 GeoReport v2" and run.state == "done"
    assert_accounted(run)

    layer = layer_ensure(slug="from-sync", name="Synced", noun="request", statuses={})
    with serving() as remote:
        remote.routes["/open311/v2/services.json"] = lambda q: ok(b"[]")
        remote.routes["/open311/v2/requests.json"] = lambda q: ok(ANSWER.read_bytes())
        synced = source_sync(source=SyncSource.objects.create(
            name="chicago", kind="open311", url=remote.url + "/open311/v2/", layer=layer,
            bounds=CHICAGO))  # fmt: skip
    assert (synced.created, synced.rejected, synced.warnings) == (6, 4, 5)
    assert facts("from-file") == facts("from-sync")
    assert list(RejectedRow.objects.filter(run=run).values_list("line", "reason")) == list(
        RejectedRow.objects.filter(sync_run=synced).values_list("line", "reason"))  # fmt: skip


def test_an_xml_answer_and_a_gzipped_one_import_too(tmp_path):
    """The spec's own XML example, and the JSON answer gzipped."""
    run = open311_file_import(path=OPEN311 / "spec_examples" / "get_service_requests.xml")
    assert (run.state, run.rows_read, run.created) == ("done", 2, 2)
    case = Case.objects.get(external_id="638344", layer__slug="311-requests")
    assert case.status_group == "closed" and case.closed_approximate
    assert case.attributes["status_notes"] == "Duplicate request."
    packed = tmp_path / "requests.json.gz"
    packed.write_bytes(gzip.compress(ANSWER.read_bytes()))
    run = open311_file_import(path=packed, layer="packed")
    assert (run.rows_read, run.created, run.rejected) == (10, 6, 4)
    assert_accounted(run)


def test_the_file_is_read_a_piece_at_a_time_whatever_the_pieces(tmp_path, monkeypatch):
    """Read in 7-character pieces, values split across pieces come out whole, as read at once."""
    monkeypatch.setattr(files, "_CHUNK", 7)
    whole = json.loads(ANSWER.read_text(encoding="utf-8"))
    with ANSWER.open(encoding="utf-8") as text:
        pieces = list(files.json_array_items(text))
    assert pieces == whole
    run = open311_file_import(path=ANSWER, layer="small-pieces", batch_size=3)
    assert (run.rows_read, run.created, run.rejected) == (10, 6, 4)
    assert_accounted(run)


def test_a_file_cut_short_keeps_what_came_before_and_says_where_it_stopped(tmp_path):
    text = ANSWER.read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"SR19-1004"') + 30], encoding="utf-8")
    run = open311_file_import(path=cut)
    assert run.state == "failed" and "cut.json: not valid JSON" in run.error
    assert "(after request 3)" in run.error
    assert (run.rows_read, run.created) == (3, 3)
    assert_accounted(run)
    not_a_list = tmp_path / "object.json"
    not_a_list.write_text('{"service_request_id": "1"}', encoding="utf-8")
    assert "must start with [" in open311_file_import(path=not_a_list).error


def test_a_file_that_is_not_an_open311_answer_needs_a_mapping(data_dir):
    with pytest.raises(CommandError, match="pass --profile or --mapping"):
        call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"))
    with pytest.raises(CommandError, match="--bounds: Give four numbers"):
        call_command("import_cases", str(ANSWER), "--bounds", "north")
