"""Mappings for exports as cities really write them: two-digit years, several date forms in one
column, fixed values, typed JSON lines whose records leave out null keys, a bad value in a column
a case can do without, council districts by number, and a time zone nobody set.

Each file is written here the way the export it stands for writes it. Whatever the file holds,
each row ends created, updated, unchanged or rejected, and each value left out is a warning.
"""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from civicstat.cases.models import Area, Case
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import ProfileError, load_profile
from civicstat.ingest.models import ImportRun, RecordWarning, RejectedRow
from civicstat.ingest.tests.helpers import assert_accounted

pytestmark = pytest.mark.django_db

# A police department's incident export: no department column (every row is the Police's), a
# two-digit year, times with and without seconds, council districts by number.
INCIDENTS_CSV = """\
Incident Number,Reported,Cleared,Offense,Disposition,Block Address,Council District,Latitude,Longitude
PD20-000101,1/1/20 0:05,1/1/20 2:40:10,Burglary,Cleared,100 BLOCK MAIN ST,4,39.0997,-94.5786
PD20-000102,1/1/20 1:17:44,,Theft,Open,1200 BLOCK GRAND BLVD,13,39.1010,-94.5810
PD20-000103,12/31/19 23:59,1/2/20 9:00,Vandalism,Cleared,4000 BLOCK TROOST AVE,3,,
PD20-000104,2020-01-03 10:00,,Theft,Open,1 BLOCK W 10TH ST,4,39.1,-94.58
PD20-000105,1/3/20 11:00,true,Theft,Cleared,200 BLOCK OAK ST,,39.09,-94.57
"""  # noqa: E501 - a real header line is as long as it is
INCIDENTS_TOML = """
[source]
name = "Police incidents"
timezone = "America/Chicago"
layer = "crime"
require_location = false

[layers.crime]
name = "Crime incidents"
noun = "incident"

[columns]
external_id = "Incident Number"
status = "Disposition"
requested_at = "Reported"
closed_at = "Cleared"
service_code = "Offense"
service_name = "Offense"
department = { value = "Police" }
channel = { value = "Police report" }
address = "Block Address"
lat = "Latitude"
lon = "Longitude"

[areas.council-district]
column = "Council District"
name = "District {}"

[formats]
datetime = ["%m/%d/%y %H:%M", "%m/%d/%y %H:%M:%S"]

[statuses]
Open = { group = "open", label = "Under investigation" }
Cleared = { group = "closed", label = "Cleared" }
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def incidents(tmp_path: Path, **replace: str) -> tuple[Path, Any]:
    mapping = INCIDENTS_TOML
    for old, new in replace.items():
        mapping = mapping.replace(old, new)
    profile = load_profile(path=write(tmp_path, "incidents.toml", mapping))
    return write(tmp_path, "incidents.csv", INCIDENTS_CSV), profile


def test_two_digit_years_several_forms_per_column_and_fixed_values(tmp_path):
    """`1/1/20 0:05` and `1/1/20 2:40:10` in one column read with the formats tried in order;
    every row gets the department and channel the mapping fixes; a date in no listed form
    rejects its row, naming the forms."""
    path, profile = incidents(tmp_path)
    run = import_file(path=path, profile=profile)
    assert run.state == "done", run.error
    assert_accounted(run)
    burglary = Case.objects.get(external_id="PD20-000101")
    assert burglary.requested_at.isoformat() == "2020-01-01T06:05:00+00:00"
    assert burglary.closed_at.isoformat() == "2020-01-01T08:40:10+00:00"
    late = Case.objects.get(external_id="PD20-000103").requested_at
    assert late == datetime(2019, 12, 31, 23, 59, tzinfo=ZoneInfo("America/Chicago"))
    assert set(Case.objects.values_list("department__name", "channel")) == {
        ("Police", "Police report")}  # fmt: skip
    reject = RejectedRow.objects.get(run=run)
    assert (reject.line, reject.external_id) == (5, "PD20-000104")
    assert reject.reason.startswith("bad date in 'Reported': '2020-01-03 10:00' is not in the "
                                    "form 01/31/24 13:05 (%m/%d/%y %H:%M) or 01/31/24 13:05:09 "
                                    "(%m/%d/%y %H:%M:%S)")  # fmt: skip


def test_a_bad_value_in_a_column_a_case_can_do_without_is_left_out_with_a_warning(tmp_path):
    """`Cleared: "true"` keeps the incident, without a clearing time, and says so with the line,
    the column, the value and why; a bad opening date still rejects the row."""
    path, profile = incidents(tmp_path)
    run = import_file(path=path, profile=profile)
    assert (run.rows_read, run.created, run.rejected) == (5, 4, 1)
    warning = RecordWarning.objects.get(run=run, external_id="PD20-000105")
    assert (warning.line, warning.field, warning.value) == (6, "Cleared", "true")
    assert warning.reason.startswith("bad date in 'Cleared': 'true' is not in the form")
    assert warning.reason.endswith("the value was left out")
    case = Case.objects.get(external_id="PD20-000105")
    assert case.status_group == "closed" and case.closed_at is None


def test_council_districts_come_from_their_numbers_when_the_city_has_no_outlines(tmp_path):
    """District "13" becomes the area with code 13 (made, with no outline, the first time);
    a case with no point still gets its district; an empty cell gets none."""
    path, profile = incidents(tmp_path)
    import_file(path=path, profile=profile)
    districts = dict(Area.objects.filter(kind="council-district").values_list("code", "name"))
    assert districts == {"3": "District 3", "4": "District 4", "13": "District 13"}
    assert list(Case.objects.get(external_id="PD20-000102").areas.values_list("code", flat=True)
                ) == ["13"]  # fmt: skip
    unplaced = Case.objects.get(external_id="PD20-000103")
    assert unplaced.lat is None and list(unplaced.areas.values_list("code", flat=True)) == ["3"]
    assert not Case.objects.get(external_id="PD20-000105").areas.exists()
    # Importing again changes nothing: the district is part of what a row says.
    again = import_file(path=path, profile=profile)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_district_number_names_the_loaded_boundary_with_that_code(tmp_path, kc_areas):
    """With Kansas City's districts loaded (codes 1-6), "4" is that district, outline and all;
    only "13", which no boundary has, is made."""
    path, profile = incidents(tmp_path)
    import_file(path=path, profile=profile)
    loaded = Area.objects.get(kind="council-district", code="4")
    assert loaded.geometry["coordinates"]  # the boundary file's, not a new one
    assert Case.objects.filter(areas=loaded, external_id="PD20-000101").exists()
    assert Area.objects.filter(kind="council-district").count() == 6 + 1


def test_a_time_zone_left_unset_or_unlike_time_zone_is_a_warning_on_the_run(tmp_path, settings):
    """The times are read in some zone either way: the run says which, and what to set."""
    settings.TIME_ZONE = "America/Chicago"
    path, profile = incidents(tmp_path, **{'timezone = "America/Chicago"\n': ""})
    run = import_file(path=path, profile=profile)
    note = RecordWarning.objects.get(run=run, line=None)
    assert note.reason.startswith("the mapping 'Police incidents' sets no source.timezone, so "
                                  "the times in the source are read as TIME_ZONE "
                                  "(America/Chicago)")  # fmt: skip
    path, profile = incidents(tmp_path, **{"America/Chicago": "America/Denver"})
    run = import_file(path=path, profile=profile)
    note = RecordWarning.objects.get(run=run, line=None)
    assert "set TIME_ZONE=America/Denver" in note.reason
    path, profile = incidents(tmp_path)
    assert not RecordWarning.objects.filter(run=import_file(path=path, profile=profile),
                                            line=None).exists()  # fmt: skip


# A JSON-lines export: its first record leaves out the null `closed_dt` and `location`; values
# are typed (a boolean, numbers, an object); points are GeoJSON.
JSONL = [
    {"case_id": "J-1", "status": "Open", "opened": "2024-03-01 08:00:00", "type": "Pothole",
     "on_time": True, "priority": 2, "score": 0.75, "tags": {"source": "app"},
     "location": {"type": "Point", "coordinates": [-71.0589, 42.3601]}},
    {"case_id": "J-2", "status": "Closed", "opened": "2024-03-01 09:00:00",
     "closed_dt": "2024-03-02 10:30:00", "type": "Graffiti", "on_time": False, "priority": 1,
     "updated_datetime": "true", "location": "POINT (-71.0636 42.3555)"},
    {"case_id": "J-3", "status": "Open", "opened": "2024-03-01 10:00:00", "type": "Pothole",
     "on_time": None, "location": {"type": "Point", "coordinates": [-71.0512, 42.3662]},
     "zip": 2108},
]  # fmt: skip
JSONL_TOML = """
[source]
name = "Boston lines"
format = "jsonl"
timezone = "America/New_York"

[columns]
external_id = "case_id"
status = "status"
requested_at = "opened"
closed_at = "closed_dt"
updated_at = "updated_datetime"
service_code = "type"
description = "on_time"
zip_code = "zip"
location = "location"

[attributes]
on_time = "on_time"
priority = "priority"
score = "score"
tags = "tags"
queue = "queue"

[statuses]
Open = { group = "open" }
Closed = { group = "closed" }
"""


def test_json_lines_are_read_by_key_from_every_record_with_their_types_kept(tmp_path, settings):
    """The first record lacks `closed_dt`: the import starts anyway. A JSON true is stored as
    true (and reads "true" in a text field), numbers as numbers; points as GeoJSON or text."""
    settings.TIME_ZONE = "America/New_York"
    path = write(tmp_path, "cases.jsonl", "\n".join(json.dumps(r) for r in JSONL) + "\n")
    run = import_file(path=path, profile=load_profile(path=write(tmp_path, "m.toml", JSONL_TOML)))
    assert run.state == "done", run.error
    assert (run.rows_read, run.created) == (3, 3)
    assert_accounted(run)
    first = Case.objects.get(external_id="J-1")
    assert first.attributes == {"on_time": True, "priority": 2, "score": 0.75,
                                "tags": {"source": "app"}}  # fmt: skip
    assert first.description == "true" and (first.lat, first.lon) == (42.3601, -71.0589)
    second = Case.objects.get(external_id="J-2")
    assert second.attributes == {"on_time": False, "priority": 1}
    assert second.closed_at.isoformat() == "2024-03-02T15:30:00+00:00"
    assert (second.lat, second.lon) == (42.3555, -71.0636)
    assert second.updated_at is None  # "true" is no date: left out, with a warning
    assert Case.objects.get(external_id="J-3").zip_code == "2108"
    warnings = {(w.line, w.field): w.reason for w in RecordWarning.objects.filter(run=run)}
    assert warnings[(2, "updated_datetime")].startswith("bad date in 'updated_datetime': 'true'")
    # A column no record has is named, in case it is misspelled.
    assert warnings[(None, "queue")] == ("no record has the column 'queue' that the mapping "
                                         "names: check its spelling")  # fmt: skip


def test_json_lines_missing_a_column_no_row_can_do_without_refuse_to_start(tmp_path):
    """A required column in none of the first records is a mapping error, said at once."""
    path = write(tmp_path, "cases.jsonl", "\n".join(json.dumps(r) for r in JSONL) + "\n")
    mapping = write(tmp_path, "m.toml", JSONL_TOML.replace('"case_id"', '"id"'))
    with pytest.raises(ProfileError, match="the file has no column 'id'.*case_id, status"):
        import_file(path=path, profile=load_profile(path=mapping))
    assert not ImportRun.objects.exists()


def test_a_file_naming_a_case_twice_counts_both_rows_and_keeps_the_change(tmp_path):
    """A row per status change: the second row updates the first (one batch or not), both are
    counted, and the closing becomes history."""
    header, cleared = INCIDENTS_CSV.splitlines()[:2]
    still_open = cleared.replace(",1/1/20 2:40:10,", ",,").replace(",Cleared,", ",Open,")
    text = "\n".join([header, still_open, cleared]) + "\n"
    path = tmp_path / "twice.csv"
    path.write_text(text, encoding="utf-8")
    _, profile = incidents(tmp_path)
    run = import_file(path=path, profile=profile)
    assert (run.rows_read, run.created, run.updated) == (2, 1, 1)
    case = Case.objects.get(external_id="PD20-000101")
    assert list(case.events.values_list("kind", flat=True)) == ["created", "closed"]


def test_import_cases_lists_the_warnings_and_the_admin_shows_them(tmp_path, admin_client):
    path, _ = incidents(tmp_path)
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("import_cases", str(path), "--mapping", str(tmp_path / "incidents.toml"),
                     stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "5 rows read, 4 created, 0 updated, 0 unchanged, 1 rejected." in text
    assert "1 warning (values left out of stored rows, or notes on the whole file):" in text
    assert "  line 6: bad date in 'Cleared': 'true'" in text
    run = ImportRun.objects.get()
    page = admin_client.get(f"/admin/ingest/importrun/{run.id}/change/").content.decode()
    assert "bad date in &#x27;Cleared&#x27;: &#x27;true&#x27;" in page
    assert "PD20-000104" in page  # the rejected row


def test_a_value_longer_than_its_field_is_cut_with_a_warning(tmp_path, settings):
    """A 300-character address keeps its first 255 characters, and the run says the rest went."""
    settings.TIME_ZONE = "America/New_York"
    record = {**JSONL[0], "location": {"type": "Point", "coordinates": [-71.05, 42.36]}}
    mapping = JSONL_TOML.replace('zip_code = "zip"', 'zip_code = "zip"\naddress = "addr"')
    path = write(tmp_path, "long.jsonl", json.dumps({**record, "addr": "9 " + "Long " * 60}))
    run = import_file(path=path, profile=load_profile(path=write(tmp_path, "m.toml", mapping)))
    assert len(Case.objects.get(external_id="J-1").address) == 255
    warning = RecordWarning.objects.get(run=run, field="addr")
    assert warning.reason == "longer than 255 characters: the rest was left out"
