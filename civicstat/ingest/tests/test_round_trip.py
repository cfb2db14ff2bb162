"""CivicStat A keeps itself in sync with CivicStat B's Open311 server, over real HTTP.

B is a second CivicStat: its own process, serving on loopback, on its own migrated SQLite file
(`city_b.py`). A is this test's database. They share no database, no settings object and no
memory, so what A ends with is only what B's Open311 answers carried. A reads B twice over, once
in JSON and once in XML, into two layers.
"""

from __future__ import annotations

from typing import Any

from civicstat.cases.services import layer_ensure
from civicstat.ingest.models import SyncSource
from civicstat.ingest.sync.runner import source_sync
from civicstat.ingest.tests.city_b import city_b, state

FORMATS = ["json", "xml"]


def test_a_ends_with_the_same_cases_statuses_and_history_as_b(db, settings, tmp_path):
    """Two syncs, with a status change and a note on B between them, leave A identical to B."""
    settings.SYNC_BACKOFF_MS = 1
    sources = {}
    for fmt in FORMATS:
        layer = layer_ensure(slug=f"a-{fmt}", name=f"A requests ({fmt})", noun="request",
                             statuses={})  # fmt: skip
        sources[fmt] = SyncSource.objects.create(name=f"b-{fmt}", kind="open311", format=fmt,
                                                 layer=layer)  # fmt: skip
    with city_b(tmp_path) as b:
        b.do("seed")
        for source in sources.values():
            source.url = f"{b.url}/open311/v2/"
            source.save()
            first = source_sync(source=source)
            assert first.state == "done", first.error
        b_first: Any = b.do("state")
        assert len(b_first["cases"]) == 3
        for fmt in FORMATS:
            assert state(f"a-{fmt}") == b_first, fmt

        # B resolves case 1 and notes case 3; A's next sync asks only for what changed.
        b.do("change")
        seconds = {fmt: source_sync(source=source) for fmt, source in sources.items()}
        b_second = b.do("state")
    assert b_second != b_first
    assert [e[0] for e in b_second["cases"]["B-1"][-1]] == ["created", "closed"]
    assert [e[3] for e in b_second["cases"]["B-3"][-1]] == ["", "Checked again"]
    for fmt, second in seconds.items():
        assert second.state == "done", second.error
        # B-1 changed status and B-3 has a new note (a note moves a request's
        # updated_datetime); B-2 may come again (updated_after works to the second), unchanged.
        assert (second.created, second.updated) == (0, 2)
        assert sources[fmt].runs.count() == 2
        assert state(f"a-{fmt}") == b_second, fmt
