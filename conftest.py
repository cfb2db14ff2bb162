"""Shared fixtures: the real data files, the Kansas City boundaries, and a person per role."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from civicstat.cases.areas import areas_load
from civicstat.ingest.demo import DISTRICTS_FILE, NEIGHBORHOODS_FILE

DATA = Path(__file__).parent / "tests" / "data"

# Commands and servers that tests start in their own processes refuse the public development key
# with DEBUG off (civicstat/lib/secretkey.py): they get a key of their own, made for this run.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

# Property tests check results, not speed: on two cores shared with a parallel suite (and the
# browser tests), one example can take longer than Hypothesis's default 200 ms deadline and fail
# as "flaky". No deadline, for every property test at once.
hypothesis_settings.register_profile("civicstat", deadline=None)
hypothesis_settings.load_profile("civicstat")


@pytest.fixture(autouse=True)
def _fresh_response_cache() -> Iterator[None]:
    """Each test starts with empty caches: tests roll their data back, so the data version
    repeats from one test to the next and would serve another test's answer (a whole response,
    or a figure kept by data version in the default cache, such as where maps open)."""
    from django.core.cache import caches

    caches["responses"].clear()
    caches["default"].clear()
    from civicstat.places import geocoder

    geocoder.index_forget()  # the address index is kept by data version too
    yield


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def kc_areas(db: None) -> None:
    """Kansas City's 6 council districts and its named neighborhoods, from the demo files."""
    areas_load(path=DISTRICTS_FILE, kind="council-district", name_field="DISTRICT",
               code_field="DISTRICT", name_format="District {}")  # fmt: skip
    areas_load(path=NEIGHBORHOODS_FILE, kind="neighborhood", name_field="nbhname",
               code_field="nbhid")  # fmt: skip


@pytest.fixture(scope="module")
def kc_sample(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """The real 10,000-case KC sample imported once per test module (tests roll back on top)."""
    from django.core.management import call_command

    from civicstat.ingest.importer import import_file
    from civicstat.ingest.mapping import load_profile

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        areas_load(path=DISTRICTS_FILE, kind="council-district", name_field="DISTRICT",
                   code_field="DISTRICT", name_format="District {}")  # fmt: skip
        areas_load(path=NEIGHBORHOODS_FILE, kind="neighborhood", name_field="nbhname",
                   code_field="nbhid")  # fmt: skip
        # Batch by batch, not as a bulk load: tests that compare the rollups kept by ingest with
        # a rebuild need them kept by ingest (ingest/tests/test_bulkload.py covers bulk loads).
        import_file(path=DATA / "kansas-city" / "kcmo311_sample_10k.csv.gz",
                    profile=load_profile(name="kansas-city"), bulk=False)  # fmt: skip
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    """Tests render templates without `collectstatic` (production serves hashed, compressed files)
    and hash test passwords cheaply (production uses PBKDF2). Expensive public reads are counted
    and timed as in production, with limits only the tests of those limits reach (a module makes
    more than 30 of them a minute from one address, and a loaded machine can be slow)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PUBLIC_READ_RATE = "100000/m"
    settings.PUBLIC_QUERY_TIMEOUT_MS = 120_000
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
