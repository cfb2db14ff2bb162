"""The Kansas City demo: boundaries, 80,203 real 311 cases and 32,283 KCPD crime rows of 2017 (a
sensitive layer, published at generalised places only), shipped in `demo/kansas-city/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from civicstat.cases.areas import areas_load
from civicstat.cases.models import Area
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile
from civicstat.ingest.models import ImportRun
from civicstat.performance.demo import demo_measures_load
from civicstat.places.models import AddressPoint
from civicstat.places.services import addresses_from_cases, addresses_load

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "kansas-city"
CASES_FILE = DEMO_DIR / "kcmo311_2007_2020_80k.csv.gz"
DISTRICTS_FILE = DEMO_DIR / "council_districts_2012.geojson.gz"
NEIGHBORHOODS_FILE = DEMO_DIR / "neighborhoods_246.geojson.gz"
CRIME_FILE = DEMO_DIR / "kcpd_crime_2017_victim_rows.csv.gz"
ADDRESSES_FILE = DEMO_DIR / "address_points_east_kc_openaddresses.csv.gz"


def demo_load(
    *, force: bool = False, cases_file: Path = CASES_FILE, with_cases: bool = True,
    progress: Callable[[int, int], None] | None = None, crime_file: Path | None = CRIME_FILE,
) -> ImportRun | None:  # fmt: skip
    """Load the demo; returns the 311 import run, or None when the cases were already loaded (or
    `with_cases` is off: boundaries only, as the benchmarks want before generated cases).
    `crime_file` (None: none) is imported after them with the `kansas-city-crime` profile, once."""
    if force or not Area.objects.filter(kind="council-district").exists():
        areas_load(path=DISTRICTS_FILE, kind="council-district", name_field="DISTRICT",
                   code_field="DISTRICT", name_format="District {}")  # fmt: skip
    if force or not Area.objects.filter(kind="neighborhood").exists():
        areas_load(path=NEIGHBORHOODS_FILE, kind="neighborhood", name_field="nbhname",
                   code_field="nbhid")  # fmt: skip
    if not with_cases:
        return None
    done = ImportRun.objects.filter(file_name=cases_file.name, state=ImportRun.State.DONE)
    run = None
    if force or not done.exists():
        run = import_file(path=cases_file, profile=load_profile(name="kansas-city"),
                          progress=progress)  # fmt: skip
    if crime_file is not None:
        crime_done = ImportRun.objects.filter(file_name=crime_file.name, state=ImportRun.State.DONE)
        if force or not crime_done.exists():
            import_file(path=crime_file, profile=load_profile(name="kansas-city-crime"))
    demo_measures_load()  # the KCStat priority areas and measures, computed from these cases
    if force or run is not None or not AddressPoint.objects.exists():
        # The place search's index: KC's address points (east side) and the cases' addresses.
        addresses_load(path=ADDRESSES_FILE)
        addresses_from_cases()
    return run
