"""Categories that survive a renaming: a city renamed "Animal" to "Animals / Pets" and a request
type's code; a mapping profile (or the admin) says the old and new names are one category, and
every reader counts one category, whether the cases came in before or after the alias."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from civicstat.cases.admin import ServiceAliasForm, ServiceGroupAliasForm
from civicstat.cases.aliases import SOURCE_CODE_ATTRIBUTE, SOURCE_GROUP_ATTRIBUTE
from civicstat.cases.models import Case, Layer, Service, ServiceAlias, ServiceGroupAlias
from civicstat.cases.query import cases, parse_filters
from civicstat.cases.rollups import rebuild
from civicstat.cases.services import data_version
from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import ProfileError, load_profile
from civicstat.ingest.models import ImportRun
from civicstat.ingest.tests.helpers import rollup_state

pytestmark = pytest.mark.django_db

CSV = """\
CASE ID,CATEGORY,REQUEST TYPE,DEPARTMENT,STATUS,CREATED,CLOSED,LATITUDE,LONGITUDE
1,Animal,Animal At Large,NHS,RESOL,05/02/2015,05/04/2015,39.05,-94.55
2,Animal,Barking Dog,NHS,OPEN,06/01/2015,,39.06,-94.56
3,Animals / Pets,Animals / Pets-Stray-Confined,NHS,RESOL,07/01/2015,07/03/2015,39.07,-94.57
4,Storm Water / Sewer,Storm Water / Sewer-Sinkhole-Street,Water Services,RESOL,03/01/2019,03/09/2019,39.08,-94.58
5,Storm Water / Sewer,Sewer-Sinkhole-Street,Water Services,OPEN,09/01/2019,,39.09,-94.59
"""  # noqa: E501 - a real header line is as long as it is

TOML = """
[source]
name = "City 311"
timezone = "America/Chicago"

[layers.311-requests]
name = "311 requests"
noun = "request"

[columns]
external_id = "CASE ID"
service_code = "REQUEST TYPE"
service_name = "REQUEST TYPE"
service_group = "CATEGORY"
department = "DEPARTMENT"
status = "STATUS"
requested_date = "CREATED"
closed_date = "CLOSED"
lat = "LATITUDE"
lon = "LONGITUDE"

[formats]
date = "%m/%d/%Y"

[statuses]
OPEN = { group = "open", label = "Open" }
RESOL = { group = "closed", label = "Resolved" }
"""

ALIASES = """
[service_groups]
"Animal" = "Animals / Pets"

[request_types]
"Storm Water / Sewer-Sinkhole-Street" = "Sewer-Sinkhole-Street"
"""


def _files(tmp_path: Path, aliases: str = ALIASES) -> tuple[Path, Path]:
    data, mapping = tmp_path / "cases.csv", tmp_path / "city.toml"
    data.write_text(CSV, encoding="utf-8")
    mapping.write_text(TOML + aliases, encoding="utf-8")
    return data, mapping


def _import(tmp_path: Path, aliases: str = ALIASES) -> None:
    data, mapping = _files(tmp_path, aliases)
    run = import_file(path=data, profile=load_profile(path=mapping), bulk=False)
    assert run.state == "done", run.error
    assert run.created + run.updated + run.unchanged == 5


def _groups() -> dict[str, str]:
    return dict(Case.objects.values_list("external_id", "service__group"))


def _codes() -> dict[str, str]:
    return dict(Case.objects.values_list("external_id", "service__code"))


def test_a_profile_files_old_names_under_the_merged_category_and_keeps_the_sources(
    tmp_path: Path,
) -> None:
    _import(tmp_path)
    assert set(_groups().values()) == {"Animals / Pets", "Storm Water / Sewer"}
    assert _codes()["4"] == "Sewer-Sinkhole-Street"
    one, four = Case.objects.get(external_id="1"), Case.objects.get(external_id="4")
    assert one.attributes[SOURCE_GROUP_ATTRIBUTE] == "Animal"
    assert four.attributes[SOURCE_CODE_ATTRIBUTE] == "Storm Water / Sewer-Sinkhole-Street"
    assert SOURCE_GROUP_ATTRIBUTE not in Case.objects.get(external_id="3").attributes
    assert not Service.objects.filter(code="Storm Water / Sewer-Sinkhole-Street").exists()
    assert ServiceGroupAlias.objects.get(name="Animal").group == "Animals / Pets"


def test_cases_imported_before_the_alias_move_onto_the_merged_category(tmp_path: Path) -> None:
    """The command stores the profile's aliases and moves every case in one go: rollups as a
    rebuild from the cases gives them, the data version moved, the emptied request type gone."""
    _import(tmp_path, aliases="")
    assert _groups()["1"] == "Animal" and _codes()["4"] == "Storm Water / Sewer-Sinkhole-Street"
    before = data_version()
    out = StringIO()
    call_command("merge_categories", mapping=str(_files(tmp_path)[1]), stdout=out)
    assert "2 alias(es) added" in out.getvalue()
    assert "1 case(s) moved" in out.getvalue()
    assert data_version() > before
    assert _groups() == {"1": "Animals / Pets", "2": "Animals / Pets", "3": "Animals / Pets",
                         "4": "Storm Water / Sewer", "5": "Storm Water / Sewer"}  # fmt: skip
    assert _codes()["4"] == _codes()["5"] == "Sewer-Sinkhole-Street"
    assert Case.objects.get(external_id="2").attributes[SOURCE_GROUP_ATTRIBUTE] == "Animal"
    assert not Service.objects.filter(code="Storm Water / Sewer-Sinkhole-Street").exists()
    moved = rollup_state()
    rebuild()
    assert moved == rollup_state()
    # Importing the same file again with the aliases changes no case's category.
    _import(tmp_path)
    assert _codes()["4"] == "Sewer-Sinkhole-Street"


def test_a_filter_on_either_name_means_the_merged_category(tmp_path: Path) -> None:
    """A saved measure or alert on the old name, or a map link, still finds every case."""
    _import(tmp_path)
    for given in ("Animal", "Animals / Pets"):
        f = parse_filters({"service_group": given})
        assert sorted(cases(f).values_list("external_id", flat=True)) == ["1", "2", "3"]
    f = parse_filters({"service": "Storm Water / Sewer-Sinkhole-Street"})
    assert sorted(cases(f).values_list("external_id", flat=True)) == ["4", "5"]


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ('[service_groups]\n"Animal" = "Animal"\n', "cannot be merged into itself"),
        ('[service_groups]\n"Animal" = ["Pets", "Animals / Pets"]\n', "into two others"),
        ('[service_groups]\n"Animal" = "Pets"\n"Animal " = "Animals / Pets"\n', "into two others"),
        ('[service_groups]\n"Animal" = "Pets"\n"Pets" = "Animals / Pets"\n', "itself merged"),
        ('[request_types]\n"A-1" = "A-1"\n', "cannot be merged into itself"),
    ],
)
def test_the_profile_loader_refuses_a_merge_into_itself_or_two_others(
    tmp_path: Path, aliases: str, message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(path=_files(tmp_path, aliases)[1])


def test_a_profile_that_contradicts_the_stored_aliases_is_refused_before_any_row(
    tmp_path: Path,
) -> None:
    _import(tmp_path)
    with pytest.raises(ProfileError, match="into two others"):
        _import(tmp_path, aliases='[service_groups]\n"Animal" = "Pets"\n')
    assert ServiceGroupAlias.objects.get(name="Animal").group == "Animals / Pets"
    assert ImportRun.objects.count() == 1


def _form_errors(form: Any) -> str:
    assert not form.is_valid()
    return " ".join(str(e) for e in form.errors.values())


def test_the_admin_refuses_a_merge_into_itself_or_two_others(tmp_path: Path) -> None:
    _import(tmp_path)
    assert "into itself" in _form_errors(
        ServiceGroupAliasForm(data={"name": "Trash", "group": "Trash"})
    )
    assert "already exists" in _form_errors(
        ServiceGroupAliasForm(data={"name": "Animal", "group": "Pets"})
    )
    assert "itself merged" in _form_errors(
        ServiceGroupAliasForm(data={"name": "Pets", "group": "Animal"})
    )
    layer = Layer.objects.get(slug="311-requests").pk
    assert "into itself" in _form_errors(
        ServiceAliasForm(data={"layer": layer, "old_code": "X", "code": "X"})
    )
    assert ServiceGroupAliasForm(data={"name": "Pets", "group": "Animals / Pets"}).is_valid()


def test_an_alias_added_in_the_admin_moves_the_cases_with_its_action(
    tmp_path: Path, admin_client: Any
) -> None:
    _import(tmp_path, aliases="")
    response = admin_client.post(
        reverse("admin:cases_servicealias_add"),
        {
            "layer": Layer.objects.get(slug="311-requests").pk,
            "code": "Sewer-Sinkhole-Street",
            "old_code": "Storm Water / Sewer-Sinkhole-Street",
        },  # fmt: skip
    )
    assert response.status_code == 302
    alias = ServiceAlias.objects.get()
    response = admin_client.post(
        reverse("admin:cases_servicealias_changelist"),
        {"action": "merge_categories", "_selected_action": [alias.pk]},
        follow=True,
    )
    assert "1 case(s) moved" in response.content.decode()
    assert _codes()["4"] == "Sewer-Sinkhole-Street"
