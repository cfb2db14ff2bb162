"""The README's mappings are real: each parses, and its worked example of a second city imports
with exactly the output the README shows."""

from __future__ import annotations

import re
import textwrap
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from civicstat.cases.models import Area, Case
from civicstat.ingest.mapping import load_profile

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
EXAMPLE = README[README.index("### A worked example: a second city") :]


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of `language`, indented ones (in a list item) dedented."""
    found = re.findall(rf"^( *)```{language}\n(.*?)^\1```$", text, flags=re.M | re.S)
    return [textwrap.dedent(body) for _, body in found]


def test_every_mapping_in_the_readme_parses(tmp_path):
    mappings = blocks(README, "toml")
    assert len(mappings) >= 3  # the reference, the worked example, the Socrata dataset
    for n, text in enumerate(mappings):
        if "[columns]" not in text:
            # A fragment showing one feature: it must read as TOML, and as part of the
            # reference mapping (the first) when that does not already have its tables.
            fragment = tomllib.loads(text)
            if not set(fragment) & set(tomllib.loads(mappings[0])):
                text = mappings[0] + "\n" + text
        path = tmp_path / f"readme-{n}.toml"
        path.write_text(text, encoding="utf-8")
        load_profile(path=path)


@pytest.mark.django_db
def test_the_worked_example_imports_with_the_output_the_readme_shows(tmp_path, settings):
    settings.TIME_ZONE = "America/New_York"
    data = tmp_path / "riverton-pwd.csv"
    data.write_text(blocks(EXAMPLE, "csv")[0], encoding="utf-8")
    mapping = tmp_path / "riverton.toml"
    mapping.write_text(blocks(EXAMPLE, "toml")[0], encoding="utf-8")
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_cases", str(data), "--mapping", str(mapping), stdout=out)
    assert exit_code.value.code == 2
    shown = re.search(r"prints:\n\n```\n(.*?)```", EXAMPLE, flags=re.S)
    assert shown is not None
    assert out.getvalue() == shown[1]
    assert set(Case.objects.values_list("department__name", flat=True)) == {"Public Works"}
    assert sorted(Area.objects.filter(kind="council-district").values_list("name", flat=True)) == [
        "District 13", "District 2", "District 4"]  # fmt: skip
    crossing = Case.objects.get(external_id="RV-2020-000103")
    assert crossing.lat is None and crossing.areas.get().name == "District 2"
    assert Case.objects.get(external_id="RV-2020-000101").zip_code == "02151"
