"""Bob watches the "Nuisance" group; the city renames it "Neighborhood Nuisance" and staff say
the two names are one category. Bob keeps hearing of graffiti near home under the new name."""

from __future__ import annotations

import pytest

from civicstat.alerts.tests.conftest import HOME, body, import_cases
from civicstat.alerts.tests.test_radius_alerts import BOB, run_alerts, subscribe_and_confirm
from civicstat.cases.aliases import category_aliases_apply
from civicstat.cases.models import Layer, Service, ServiceGroupAlias
from civicstat.cases.services import service_get_or_create


@pytest.fixture
def graffiti(layer: Layer) -> Service:
    return service_get_or_create(layer=layer, code="NU-GRAF", name="Graffiti", group="Nuisance")


def test_a_watch_on_the_old_group_name_hears_of_cases_filed_under_the_new_one(
    client, smtp, layer, graffiti
):
    subscribe_and_confirm(client, smtp, service_groups=["Nuisance"])
    import_cases(layer, {"external_id": "g1", "address": "1 Old Name St", "lat": HOME[0] + 0.0009,
                         "lon": HOME[1], "service_id": graffiti.id})  # fmt: skip
    assert run_alerts() == 1  # the matcher's index is built with the old name
    ServiceGroupAlias.objects.create(name="Nuisance", group="Neighborhood Nuisance")
    assert category_aliases_apply().services_regrouped == 1
    graffiti.refresh_from_db()
    assert graffiti.group == "Neighborhood Nuisance"
    import_cases(layer, {"external_id": "g2", "address": "2 New Name St", "lat": HOME[0] - 0.0009,
                         "lon": HOME[1], "service_id": graffiti.id})  # fmt: skip
    assert run_alerts() == 1
    assert "2 New Name St" in body(smtp.inbox.to(BOB)[-1])
