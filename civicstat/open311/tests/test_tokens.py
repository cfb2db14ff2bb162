"""Service types: a batch service answers a token, looked up at tokens/{token}; blackbox neither."""

from __future__ import annotations

from typing import Any

import defusedxml.ElementTree as DET
import pytest

from civicstat.cases.models import Case
from civicstat.open311.models import ServiceType

URL = "/open311/v2/requests.json"
TOKEN_RESPONSE = "swagger.json#/definitions/TokenResponse"
REQUEST_RESPONSE = "swagger.json#/definitions/RequestResponse"


def post_graffiti(client: Any, key: str, fmt: str = "json") -> Any:
    return client.post(f"/open311/v2/requests.{fmt}", {
        "api_key": key, "service_code": "GRAF", "lat": "39.0997", "long": "-94.5786",
        "description": "Tags on the bridge"})  # fmt: skip


def items(response: Any, schema_check: Any, schema: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = response.json()
    assert all(schema_check(schema, doc) == [] for doc in docs), docs
    return docs


def test_services_show_the_type_staff_chose(client, city, schema_check):
    """services.json says batch for the service staff made batch, realtime for the others."""
    ServiceType.objects.create(service=city["graffiti"], type="batch")
    docs = client.get("/open311/v2/services.json").json()
    assert schema_check("services.json", docs) == []
    assert {d["service_code"]: d["type"] for d in docs} == {"GRAF": "batch", "POT": "realtime"}
    root = DET.fromstring(client.get("/open311/v2/services.xml").content)
    assert {s.findtext("service_code"): s.findtext("type") for s in root} == {
        "GRAF": "batch", "POT": "realtime"}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_batch_service_answers_a_token_that_leads_to_the_request(client, city, fixit_key,
                                                                   schema_check, fmt):  # fmt: skip
    """The POST answer holds a token and no id; tokens/{token} then gives token and id."""
    ServiceType.objects.create(service=city["graffiti"], type="batch")
    response = post_graffiti(client, fixit_key, fmt)
    assert response.status_code == 200, response.content
    if fmt == "json":
        [answer] = items(response, schema_check, REQUEST_RESPONSE)
        assert "service_request_id" not in answer
        token = answer["token"]
    else:
        request = DET.fromstring(response.content).find("request")
        assert request is not None and request.find("service_request_id") is None
        token = request.findtext("token")
    case = Case.objects.get(description="Tags on the bridge")
    found = client.get(f"/open311/v2/tokens/{token}.{fmt}")
    assert found.status_code == 200
    if fmt == "json":
        assert items(found, schema_check, TOKEN_RESPONSE) == [
            {"service_request_id": case.external_id, "token": token}]  # fmt: skip
    else:
        root = DET.fromstring(found.content)
        assert root.tag == "service_requests"
        assert (root.findtext("request/service_request_id"), root.findtext("request/token")) == (
            case.external_id, token)  # fmt: skip
    # The id leads on to the request itself.
    shown = client.get(f"/open311/v2/requests/{case.external_id}.json")
    assert schema_check("requests.json", shown.json()) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_token_is_a_404_with_the_error_list(client, city, fmt):
    """A token nobody was given is answered with the spec's error list."""
    response = client.get(f"/open311/v2/tokens/no-such-token.{fmt}")
    assert response.status_code == 404
    if fmt == "json":
        [error] = response.json()
        assert error["code"] == 404 and "no-such-token" in error["description"]
    else:
        root = DET.fromstring(response.content)
        assert root.tag == "errors" and root.findtext("error/code") == "404"


def test_a_token_does_not_reveal_a_request_that_is_not_published(client, city, fixit_key):
    """Once the service turns private, its token is unknown like any other."""
    ServiceType.objects.create(service=city["graffiti"], type="batch")
    token = post_graffiti(client, fixit_key).json()[0]["token"]
    city["graffiti"].private = True
    city["graffiti"].save()
    assert client.get(f"/open311/v2/tokens/{token}.json").status_code == 404


def test_a_realtime_service_answers_the_id_at_once(client, city, fixit_key, schema_check):
    """Without a chosen type a service is realtime: the id comes in the POST answer."""
    [answer] = items(post_graffiti(client, fixit_key), schema_check, REQUEST_RESPONSE)
    assert Case.objects.filter(external_id=answer["service_request_id"]).exists()


def test_a_blackbox_service_answers_neither_id_nor_token(client, city, fixit_key, schema_check):
    """The request is still created and shows on the map; the client is told only the notice."""
    ServiceType.objects.create(service=city["graffiti"], type="blackbox")
    [answer] = items(post_graffiti(client, fixit_key), schema_check, REQUEST_RESPONSE)
    assert set(answer) == {"service_notice"}
    case = Case.objects.get(description="Tags on the bridge")
    assert case.h3_cell is not None


def test_staff_set_a_service_type_in_the_admin(admin_client, city):
    """The admin form makes a service batch, and services.json says so at once, even to a client
    holding the old document's ETag."""
    etag = admin_client.get("/open311/v2/services.json")["ETag"]
    response = admin_client.post("/admin/open311/servicetype/add/",
                                 {"service": city["graffiti"].pk, "type": "batch"})  # fmt: skip
    assert response.status_code == 302, response.content
    again = admin_client.get("/open311/v2/services.json", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert {d["service_code"]: d["type"] for d in again.json()}["GRAF"] == "batch"
