"""Every run any ingest test leaves behind accounts for each record its source sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from civicstat.ingest.models import ImportRun, SyncRun
from civicstat.ingest.tests.helpers import assert_accounted


@pytest.fixture(autouse=True)
def _every_run_accounts_for_every_record(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test with a database: read = created + updated + unchanged + rejected, on every
    import and sync run, and each counted reject and warning is stored."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "admin_client"} & set(request.fixturenames)  # fmt: skip
    if uses_db:
        request.getfixturevalue("db" if "transactional_db" not in request.fixturenames
                                else "transactional_db")  # fmt: skip
    yield
    if uses_db:
        for sync_run in SyncRun.objects.all():
            assert_accounted(sync_run)
        for import_run in ImportRun.objects.all():
            assert_accounted(import_run)
