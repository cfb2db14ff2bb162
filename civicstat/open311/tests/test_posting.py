"""Posting requests: API keys, locations, attributes, contacts kept private, nothing half-made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import defusedxml.ElementTree as DET
import pytest
import time_machine
from django.test import Client

from civicstat.cases.models import Case, CaseContact, CaseEvent
from civicstat.cases.services import data_version
from civicstat.open311.models import ApiKey, RequestToken
from civicstat.open311.services import api_key_revoke

URL = "/open311/v2/requests.json"


def post(client: Any, key: str, **fields: Any) -> Any:
    data = {
        "api_key": key,
        "service_code": "POT",
        "lat": "39.0997",
        "long": "-94.5786",
        "description": "Deep pothole by the bus stop",
        "attribute[SIZE]": "L",
        **fields,
    }
    return client.post(URL, data)


def test_a_posted_request_becomes_a_case_with_a_created_event(client, city, fixit_key,
                                                              schema_check):  # fmt: skip
    """The answer carries the new id and a token; the case, its event and contact exist."""
    before = data_version()
    response = post(client, fixit_key, email="rita@example.org", first_name="Rita",
                    phone="816-555-0101", **{"attribute[LANES][]": ["N", "S"],
                                             "attribute[DEPTH]": "12.5"})  # fmt: skip
    assert response.status_code == 200, response.content
    doc = response.json()[0]
    case = Case.objects.get(external_id=doc["service_request_id"])
    assert case.service == city["pothole"] and case.status_group == "open"
    assert case.attributes == {"SIZE": "L", "LANES": ["N", "S"], "DEPTH": 12.5}
    assert list(case.events.values_list("kind", flat=True)) == ["created"]
    assert case.contact.email == "rita@example.org"
    assert data_version() > before
    # The token leads back to the request.
    token = client.get(f"/open311/v2/tokens/{doc['token']}.json").json()
    assert token == [{"service_request_id": case.external_id, "token": doc["token"]}]
    # It is readable at once, and the reporter's details appear nowhere in it.
    shown = client.get(f"/open311/v2/requests/{case.external_id}.json", {"extensions": "true"})
    assert schema_check("requests.json", shown.json()) == []
    assert b"rita@example.org" not in shown.content and b"555-0101" not in shown.content


def test_a_request_can_be_located_by_address_alone_and_answered_in_xml(client, city, fixit_key):
    """address_string is enough; the XML answer names the new request."""
    response = client.post(
        "/open311/v2/requests.xml",
        {"api_key": fixit_key, "service_code": "GRAF", "address_string": "1200 Main St"},
    )
    assert response.status_code == 200
    root = DET.fromstring(response.content)
    request_id = root.findtext("request/service_request_id")
    assert Case.objects.get(external_id=request_id).address == "1200 Main St"


def test_a_request_can_be_located_by_the_address_id_the_place_search_gives(
    client, city, fixit_key, schema_check
):
    """The map's place search gives each known address an id; posting it places the request
    there, on the map, with the address's text."""
    places = client.get("/map/places.json", {"q": "414 E"}).json()["places"]
    [place] = [p for p in places if p["kind"] == "address"]
    response = post(client, fixit_key, lat="", long="", address_id=place["address_id"])
    assert response.status_code == 200, response.content
    shown = client.get(f"/open311/v2/requests/{response.json()[0]['service_request_id']}.json")
    [doc] = shown.json()
    assert schema_check("requests.json", [doc]) == []
    assert doc["address"] == "414 E 12th St"
    assert (doc["lat"], doc["long"]) == (pytest.approx(39.1), pytest.approx(-94.58))
    assert Case.objects.get(external_id=doc["service_request_id"]).h3_cell is not None


def test_an_address_only_private_cases_carry_has_no_id(client, city, fixit_key):
    """An address known only from a private service's cases is not one the API will place by,
    and a later case's id at a known address is not that address's id."""
    private = Case.objects.get(external_id="9001")
    Case.objects.filter(pk=private.pk).update(address="1 Secret Way")
    later = Case.objects.filter(address="414 E 12th St", service__private=False).order_by("-id")[0]
    for address_id in (private.pk, later.pk):
        response = post(client, fixit_key, lat="", long="", address_id=str(address_id))
        assert response.status_code == 400 and "address_id" in response.json()[0]["description"]


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": "NOPE"}, 404, "NOPE"),
        ({"service_code": "ABUSE"}, 404, "ABUSE"),
        ({"service_code": ""}, 400, "service_code"),
        ({"lat": "", "long": ""}, 400, "location"),
        ({"lat": "north"}, 400, "lat"),
        ({"description": "x" * 5000}, 400, "4,000"),
        ({"attribute[SIZE]": ""}, 400, "SIZE"),
        ({"attribute[SIZE]": "XL"}, 400, "L, S"),
        ({"attribute[DEPTH]": "deep"}, 400, "number"),
        ({"attribute[SEEN]": "last week"}, 400, "W3C"),
        ({"attribute[COLOR]": "red"}, 400, "COLOR"),
        ({"description": "<x>\x00\x1b</x>"}, 400, "control characters"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"lat": "", "long": "", "address_id": "999999"}, 400, "address_id"),
        ({"lat": "", "long": "", "address_id": "414 E 12th St"}, 400, "address_id"),
        ({"address_id": "999999"}, 400, "address_id"),
    ],
)
def test_bad_posts_are_refused_and_nothing_is_created(client, city, fixit_key, fields, status,
                                                      words):  # fmt: skip
    """Each mistake is answered with the spec's error list and leaves no case, contact or token."""
    counts = (Case.objects.count(), CaseContact.objects.count(), CaseEvent.objects.count())
    key = fields.pop("api_key", fixit_key)
    response = post(client, key, **fields)
    assert response.status_code == status, response.content
    error = response.json()[0]
    assert error["code"] == status and words in error["description"]
    assert (Case.objects.count(), CaseContact.objects.count(), CaseEvent.objects.count()) == counts
    assert not RequestToken.objects.exists()


def test_a_revoked_key_is_refused(client, city, fixit_key):
    """Once staff revoke a key, posts with it get 403."""
    assert post(client, fixit_key).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(name="FixIt"))
    assert post(client, fixit_key).status_code == 403


def test_keys_are_stored_only_as_hashes(city, fixit_key):
    """The database never holds the raw key."""
    key = ApiKey.objects.get(name="FixIt")
    assert fixit_key not in (key.key_hash, key.prefix) and len(key.key_hash) == 64


def test_a_client_posting_too_often_is_slowed_down(client, city, fixit_key, settings):
    """Past OPEN311_POST_RATE a key gets 429 until the window passes."""
    settings.OPEN311_POST_RATE = "2/m"
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC), tick=False) as clock:
        codes = [post(client, fixit_key).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        clock.shift(timedelta(minutes=1))
        assert post(client, fixit_key).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_spellings_of_one_key_share_one_rate_limit(client, city, fixit_key, settings, fmt):
    """Spaces, tabs and newlines around a key reach the same key, so they count as the same
    client: the post past OPEN311_POST_RATE is a 429 with the error list and a Retry-After."""
    settings.OPEN311_POST_RATE = "4/h"
    spellings = [fixit_key, f"  {fixit_key}  ", f"\t{fixit_key}\t", f"\n{fixit_key} \t", fixit_key]
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC), tick=False):
        codes = [client.post(f"/open311/v2/requests.{fmt}", {
            "api_key": key, "service_code": "GRAF", "address_string": "1200 Main St",
        }).status_code for key in spellings]  # fmt: skip
        assert codes == [200, 200, 200, 200, 429]
        refused = client.post(
            f"/open311/v2/requests.{fmt}",
            {"api_key": f" {fixit_key}", "service_code": "GRAF", "address_string": "1 Main St"},
        )
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    if fmt == "json":
        [error] = refused.json()
        assert error["code"] == 429 and "at most 4/h" in error["description"]
    else:
        root = DET.fromstring(refused.content)
        assert root.tag == "errors" and root.findtext("error/code") == "429"
    assert Case.objects.filter(address="1 Main St").count() == 0


def test_unknown_keys_are_counted_per_client_address(client, city, fixit_key, settings):
    """Posts with keys that match nothing count against the client's address (through
    TRUSTED_PROXIES): a guesser is slowed down, another client and a real key are not."""
    settings.OPEN311_POST_RATE = "2/h"
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC), tick=False):
        guesser = Client(REMOTE_ADDR="203.0.113.7")
        codes = [post(guesser, f"guess-{i}").status_code for i in range(3)]
        assert codes == [403, 403, 429]
        assert post(Client(REMOTE_ADDR="203.0.113.8"), "guess-x").status_code == 403
        assert post(guesser, fixit_key).status_code == 200


def test_fields_in_the_query_string_are_read_as_the_swagger_file_sends_them(client, city,
                                                                            fixit_key):  # fmt: skip
    """The v2.1 Swagger file posts its fields in the query string; that works too."""
    response = client.post(f"{URL}?api_key={fixit_key}&service_code=GRAF&address_string=Main+St")
    assert response.status_code == 200, response.content
    assert Case.objects.filter(external_id=response.json()[0]["service_request_id"]).exists()
