"""The management commands an operator runs: import_cases, load_demo, generate_cases, …"""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from civicstat.cases.models import Area, Case
from civicstat.ingest.demo import demo_load
from civicstat.ingest.generate import generate
from civicstat.ingest.models import ImportRun
from civicstat.ingest.tests.helpers import read_source

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run manage.py in its own process, as an operator would, on this test's database."""
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=300, check=False,
    )  # fmt: skip


def test_import_cases_prints_a_summary_and_lists_rejects(data_dir):
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_cases", str(data_dir / "boston" / "boston311-100-bad.tsv"),
                     "--profile", "boston", stdout=out)  # fmt: skip
    assert exit_code.value.code == 2  # some rows rejected
    text = out.getvalue()
    assert "100 rows read, 99 created, 0 updated, 0 unchanged, 1 rejected." in text
    assert "line 41: the row has 30 fields but the header has 29" in text


def test_import_cases_exits_zero_when_every_row_is_imported(data_dir):
    out = StringIO()
    call_command("import_cases", str(data_dir / "boston" / "boston311-100.jsonl"),
                 "--profile", "boston", stdout=out)  # fmt: skip
    assert "100 created" in out.getvalue() and "0 rejected" in out.getvalue()


def test_an_unknown_profile_fails_at_once_and_lists_the_available_ones(data_dir):
    with pytest.raises(CommandError, match="unknown profile 'boston2'; available: boston, "
                                           "kansas-city"):  # fmt: skip
        call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"),
                     "--profile", "boston2")  # fmt: skip
    assert not ImportRun.objects.exists()


def test_a_mapping_that_names_a_missing_column_fails_at_once_listing_the_columns(
    data_dir, tmp_path
):
    mapping = tmp_path / "my-city.toml"
    mapping.write_text(
        '[source]\nname = "My City"\n[columns]\nexternal_id = "case_id"\nstatus = "case_status"\n'
        'requested_at = "open_dt"\n[statuses]\nOpen = { group = "open" }\n', encoding="utf-8"
    )  # fmt: skip
    with pytest.raises(CommandError) as caught:
        call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"),
                     "--mapping", str(mapping))  # fmt: skip
    message = str(caught.value)
    assert "the file has no column 'case_id' that the mapping 'My City' names" in message
    assert "its columns are: case_enquiry_id, open_dt" in message
    assert not Case.objects.exists()


def test_a_mapping_file_for_another_city_imports_its_export(data_dir, tmp_path):
    mapping = tmp_path / "my-city.toml"
    mapping.write_text("""
[source]
name = "Somewhere 311"
layer = "requests"
[columns]
external_id = "case_enquiry_id"
status = "case_status"
requested_at = "open_dt"
lat = "latitude"
lon = "longitude"
department = "department"
[formats]
datetime = "%Y-%m-%d %H:%M:%S"
[statuses]
Open = { group = "open", label = "Being worked on" }
Closed = { group = "closed", label = "Done" }
""", encoding="utf-8")  # fmt: skip
    call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"), "--mapping",
                 str(mapping), stdout=StringIO())  # fmt: skip
    assert Case.objects.filter(layer__slug="requests").count() == 100


def test_a_broken_mapping_file_says_what_is_wrong(data_dir, tmp_path):
    mapping = tmp_path / "bad.toml"
    mapping.write_text('[columns]\nexternal_id = "id"\nstatus = "s"\nwhen = "x"\n', "utf-8")
    with pytest.raises(CommandError, match=r"\[columns\] has unknown field\(s\) when"):
        call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"),
                     "--mapping", str(mapping))  # fmt: skip


def test_load_demo_loads_once_and_a_second_run_skips(data_dir, monkeypatch):
    sample = data_dir / "kansas-city" / "kcmo311_sample_10k.csv.gz"
    first = demo_load(cases_file=sample, crime_file=None)
    assert first is not None and first.created == 10_000
    assert Area.objects.filter(kind="council-district").count() == 6
    assert Area.objects.filter(kind="neighborhood").count() == 240  # 6 unnamed polygons skipped
    assert demo_load(cases_file=sample, crime_file=None) is None
    assert ImportRun.objects.count() == 1


def test_rebuild_rollups_reports_what_it_rebuilt(data_dir, kc_areas):
    call_command("import_cases", str(data_dir / "boston" / "boston311-100.csv"),
                 "--profile", "boston", stdout=StringIO())  # fmt: skip
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "daily count rows" in out.getvalue()


def test_generated_cases_follow_the_kansas_city_mix_and_repeat_by_seed(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv.gz", tmp_path / "c.csv"
    generate(count=20_000, seed=7, output=a)
    generate(count=20_000, seed=7, output=b)
    generate(count=2_000, seed=8, output=c)
    assert a.read_bytes() == gzip.decompress(b.read_bytes())
    assert a.read_bytes()[:5000] != c.read_bytes()[:5000]
    rows = list(csv.DictReader(a.open(encoding="utf-8", newline="")))
    assert len(rows) == 20_000 and len({r["CASE ID"] for r in rows}) == 20_000
    real = read_source(Path(ROOT / "demo" / "kansas-city" / "kcmo311_2007_2020_80k.csv.gz"))
    for column in ("DEPARTMENT", "STATUS"):
        made, truth = Counter(r[column] for r in rows), Counter(r[column] for r in real)
        for value, n in truth.most_common(3):
            assert abs(made[value] / 20_000 - n / len(real)) < 0.02, (column, value)


def test_generate_cases_imports_what_it_generates(transactional_db, tmp_path):
    out = StringIO()
    call_command("generate_cases", "--count", "500", "--seed", "3", stdout=out)
    assert "Generated and imported 500 cases" in out.getvalue()
    assert Case.objects.count() == 500


def test_import_cases_runs_from_the_command_line_with_its_exit_code(data_dir, tmp_path):
    db = tmp_path / "cli.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert manage("migrate", "-v0", env=env).returncode == 0
    bad = manage("import_cases", str(data_dir / "boston" / "boston311-100-bad.tsv"),
                 "--profile", "boston", env=env)  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    assert "1 rejected" in bad.stdout
    wrong = manage("import_cases", "nope.csv", "--profile", "boston", env=env)
    assert wrong.returncode == 1 and "no file at nope.csv" in wrong.stderr
