"""Reading the Open311 server: discovery, services, definitions and requests, in JSON and XML."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DET
import pytest
from django.utils import timezone

from civicstat.cases.models import Case
from civicstat.cases.services import case_add_note, case_upsert
from civicstat.open311.tests.conftest import record

BASE = "/open311/v2"
EXAMPLES = Path(__file__).resolve().parents[3] / "tests" / "data" / "open311" / "spec_examples"


def get_json(client: Any, path: str, expect: int = 200, **params: str) -> Any:
    response = client.get(f"{BASE}/{path}", params)
    assert response.status_code == expect, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["service_request_id"] for d in docs]


def tags(element: Any) -> set[str]:
    return {child.tag for child in element}


def test_the_service_list_validates_and_leaves_out_private_services(client, city, schema_check):
    """services.json lists public services only and passes the official schema."""
    docs = get_json(client, "services.json")
    assert schema_check("services.json", docs) == []
    assert {d["service_code"] for d in docs} == {"POT", "GRAF"}
    pothole = next(d for d in docs if d["service_code"] == "POT")
    assert pothole["metadata"] is True and pothole["type"] == "realtime"


def test_a_service_definition_carries_all_six_datatypes_in_order(client, city, schema_check):
    """A definition lists its attributes in their order, with the values of list attributes."""
    doc = get_json(client, "services/POT.json")
    assert schema_check("service-definition.json", doc) == []
    assert [a["code"] for a in doc["attributes"]] == ["SIZE", "LANES", "DEPTH", "SEEN", "NEAR",
                                                      "MORE", "NOTE"]  # fmt: skip
    assert {a["datatype"] for a in doc["attributes"]} == {
        "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}  # fmt: skip
    assert doc["attributes"][0]["values"] == [{"key": "S", "name": "Small"},
                                              {"key": "L", "name": "Large"}]  # fmt: skip
    assert get_json(client, "service/POT.json") == doc


def test_an_unknown_or_private_service_definition_is_a_404_error_list(client, city, schema_check):
    """Unknown and private services are both answered with the spec's error list."""
    for code in ("NOPE", "ABUSE"):
        errors = get_json(client, f"services/{code}.json", expect=404)
        assert errors[0]["code"] == 404 and code in errors[0]["description"]


def test_requests_default_to_the_last_90_days_and_validate(client, city, schema_check):
    """Without parameters the list holds the last 90 days, newest first, private cases left out."""
    docs = get_json(client, "requests.json")
    assert schema_check("requests.json", docs) == []
    assert ids(docs) == ["1001", "1002", "1003"]
    first = docs[0]
    assert first["status"] == "open" and first["status_notes"] == "Received"
    assert first["service_code"] == "POT" and first["agency_responsible"] == "Public Works"
    assert first["requested_datetime"][-6] in "+-"  # carries its offset
    assert docs[1]["status"] == "closed" and docs[1]["status_notes"] == "Resolved"


def test_requests_filter_by_service_status_and_dates(client, city):
    """service_code and status narrow the list; a date window reaches older cases."""
    assert ids(get_json(client, "requests.json", service_code="GRAF")) == ["1003"]
    assert ids(get_json(client, "requests.json", status="closed")) == ["1002"]
    assert ids(get_json(client, "requests.json", service_code="POT,GRAF", status="open")) == [
        "1001", "1003"]  # fmt: skip
    start = (timezone.now() - timedelta(days=250)).isoformat()
    end = (timezone.now() - timedelta(days=190)).isoformat()
    assert ids(get_json(client, "requests.json", start_date=start, end_date=end)) == ["1004"]


def test_service_request_id_overrides_every_other_parameter(client, city):
    """A comma list of ids wins over dates and statuses, and never reveals a private case."""
    docs = get_json(client, "requests.json", service_request_id="1004,1002,9001", status="open",
                    start_date="2001-01-01")  # fmt: skip
    assert sorted(ids(docs)) == ["1002", "1004"]


def test_an_empty_parameter_counts_as_absent(client, city):
    """`?service_code=&status=` reads like no parameters at all."""
    assert ids(get_json(client, "requests.json", service_code="", status="", start_date="")) == [
        "1001", "1002", "1003"]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}, 400, "90"),
        ({"start_date": "yesterday"}, 400, "W3C"),
        # Found by schemathesis: the 90-day default window ran off the calendar (a 500).
        ({"end_date": "0001-01-01T00:00:00Z"}, 400, "out of range"),
        ({"start_date": "9999-12-31T00:00:00Z"}, 400, "out of range"),
        ({"updated_after": "0001-01-01"}, 400, "1900"),
        ({"status": "pending"}, 400, "open, closed"),
        ({"service_code": "NOPE"}, 404, "NOPE"),
        ({"service_code": "ABUSE"}, 404, "ABUSE"),
        ({"page_size": "5000"}, 400, "page_size"),
        ({"bbox": "1,2,3"}, 400, "bbox"),
    ],
)
def test_bad_parameters_are_answered_with_the_spec_error_list(client, city, params, status, words):
    """Each mistake gets its status and a description that says what would work."""
    errors = get_json(client, "requests.json", expect=status, **params)
    assert errors[0]["code"] == status and words in errors[0]["description"]


def test_paging_and_page_size_walk_the_whole_list(client, city):
    """page/page_size split the list without losing or repeating a request."""
    pages = [ids(get_json(client, "requests.json", page_size="2", page=str(n))) for n in (1, 2, 3)]
    assert pages == [["1001", "1002"], ["1003"], []]


def test_updated_after_returns_only_recent_changes_whatever_their_age(client, city):
    """A syncing client asks by update time and is not held to the 90-day default."""
    since = (timezone.now() - timedelta(days=2)).isoformat()
    assert ids(get_json(client, "requests.json", updated_after=since)) == ["1001"]
    before = (timezone.now() - timedelta(days=100)).isoformat()
    assert ids(get_json(client, "requests.json", updated_before=before)) == ["1004"]


def test_bbox_q_and_agency_extensions_filter(client, city):
    """bbox, q (text) and agency_responsible narrow the list."""
    assert ids(get_json(client, "requests.json", bbox="-95,39,-94,40", q="case 1003")) == ["1003"]
    assert ids(get_json(client, "requests.json", bbox="-80,30,-79,31")) == []
    assert ids(get_json(client, "requests.json", agency_responsible="Parks")) == []


def test_extensions_add_the_history_as_notes(client, city, schema_check):
    """extensions=true adds the case history as notes[] and extended attributes."""
    case = Case.objects.get(external_id="1001")
    case_add_note(case=case, note="Crew scheduled", at=timezone.now())
    docs = get_json(client, "requests/1001.json", extensions="true")
    assert schema_check("requests.json", docs) == []
    notes = docs[0]["notes"]
    assert [n["type"] for n in notes] == ["created", "note"]
    assert notes[1]["description"] == "Crew scheduled"
    assert docs[0]["extended_attributes"]["status_code"] == "OPEN"
    assert "notes" not in get_json(client, "requests/1001.json")[0]


def test_one_request_is_a_one_element_list_and_unknown_is_404(client, city, schema_check):
    """requests/{id} answers a list of one; an unknown or private id is a 404 error list."""
    docs = get_json(client, "requests/1003.json")
    assert schema_check("requests.json", docs) == [] and ids(docs) == ["1003"]
    assert get_json(client, "request/1003.json") == docs
    assert get_json(client, "requests/9001.json", expect=404)[0]["code"] == 404


def test_xml_answers_use_the_spec_element_names(client, city):
    """Every XML answer parses and uses the element names of the spec's own examples."""
    example = DET.fromstring((EXAMPLES / "get_service_requests.xml").read_bytes())
    response = client.get(f"{BASE}/requests.xml")
    assert response["Content-Type"].startswith("text/xml")
    root = DET.fromstring(response.content)
    assert root.tag == example.tag == "service_requests"
    assert tags(root[0]) == tags(example[0])
    assert [r.findtext("service_request_id") for r in root] == ["1001", "1002", "1003"]

    example = DET.fromstring((EXAMPLES / "get_service_list.xml").read_bytes())
    root = DET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert root.tag == example.tag and tags(root[0]) == tags(example[0])

    example = DET.fromstring((EXAMPLES / "get_service_definition.xml").read_bytes())
    root = DET.fromstring(client.get(f"{BASE}/services/POT.xml").content)
    assert root.tag == example.tag and tags(root) == tags(example)
    ex_attr, attr = example.find("attributes/attribute"), root.find("attributes/attribute")
    assert tags(attr) == tags(ex_attr)
    assert tags(attr.find("values/value")) == tags(ex_attr.find("values/value"))

    root = DET.fromstring(client.get(f"{BASE}/requests.xml", {"status": "nope"}).content)
    assert root.tag == "errors" and tags(root[0]) == {"code", "description"}


def test_discovery_lists_the_endpoint_in_both_formats(client, city):
    """discovery names this server's endpoint and both formats."""
    doc = get_json(client, "discovery.json")
    assert doc["endpoints"][0]["url"].endswith("/open311/v2/")
    assert set(doc["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    root = DET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format") is not None


def test_a_configured_jurisdiction_is_checked(client, city, settings):
    """With OPEN311_JURISDICTION set, another jurisdiction_id is a 404; the right one works."""
    settings.OPEN311_JURISDICTION = "kcmo.gov"
    assert get_json(client, "services.json", expect=404, jurisdiction_id="other.gov")
    assert len(get_json(client, "services.json", jurisdiction_id="kcmo.gov")) == 2


def test_an_unknown_format_or_path_gets_the_error_list(client, city):
    """requests.csv or a misspelt path is a 404 with the spec's error list, not a web page."""
    for path in ("requests.csv", "requets.json", "services"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404 and response.json()[0]["code"] == 404
    root = DET.fromstring(client.get(f"{BASE}/nothing.xml").content)
    assert root.tag == "errors"


def test_text_with_control_characters_is_still_valid_xml(client, city):
    """A description imported with control characters does not break the XML answer."""
    Case.objects.filter(external_id="1001").update(description="bell\x07 and tab\t")
    root = DET.fromstring(client.get(f"{BASE}/requests/1001.xml").content)
    assert root.findtext("request/description") == "bell and tab\t"


def test_a_nul_byte_in_a_parameter_is_a_400_not_a_server_error(client, city):
    """PostgreSQL cannot store or compare NUL: it is refused (schemathesis found it)."""
    errors = get_json(client, "requests.json", expect=400, service_code="POT\x00")
    assert "control characters" in errors[0]["description"]


def test_a_repeated_query_is_served_from_the_cache_until_new_data_arrives(
    client, city, django_assert_num_queries
):
    """The second client asking the same thing gets the same answer without a case query; once
    an import adds a case, the next answer has it."""
    first = get_json(client, "requests.json", service_code="POT")
    with django_assert_num_queries(1):  # the data version, for the ETag and the cache key
        response = client.get(f"{BASE}/requests.json", {"service_code": "POT"})
    assert response.json() == first
    assert response["Content-Type"].startswith("application/json")

    case_upsert(layer=city["layer"], records=[record("1005", city["pothole"], days_ago=0.5)])
    assert ids(get_json(client, "requests.json", service_code="POT")) == ["1005", *ids(first)]


def test_a_service_turned_private_leaves_even_a_cached_answer_at_once(client, city):
    """Staff mark a service private (in the admin or anywhere else): the very next answer to the
    same query leaves its requests out, though nothing about the cases changed."""
    first = ids(get_json(client, "requests.json"))
    assert "1003" in first  # graffiti, public for now; the answer is now cached
    city["graffiti"].private = True
    city["graffiti"].save()
    assert ids(get_json(client, "requests.json")) == [i for i in first if i != "1003"]
    city["graffiti"].description = "Paint on walls"  # another edit: nothing to refresh
    city["graffiti"].private = False
    city["graffiti"].save()
    assert ids(get_json(client, "requests.json")) == first


def test_clients_that_accept_gzip_get_the_same_answer_gzipped(client, city):
    """Browsers and HTTP libraries ask for gzip: they get the same list, smaller, and a repeat
    with the ETag they were given is still a 304."""
    plain = client.get(f"{BASE}/requests.json")
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding")
    for _ in range(2):  # the answer that fills the cache, then one served from it
        packed = client.get(f"{BASE}/requests.json", headers={"Accept-Encoding": "gzip, br"})
        assert packed.status_code == 200
        assert packed["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in packed["Vary"]
        assert gzip.decompress(packed.content) == plain.content
        assert packed["Access-Control-Allow-Origin"] == "*"
    assert packed["ETag"] == f"W/{plain['ETag']}"
    repeat = {"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]}
    again = client.get(f"{BASE}/requests.json", headers=repeat)
    assert again.status_code == 304
    identity = client.get(f"{BASE}/requests.json", headers={"Accept-Encoding": "identity"})
    assert identity.content == plain.content and not identity.has_header("Content-Encoding")


def test_a_cached_request_keeps_its_cors_header(client, city):
    """A cached answer is the whole answer, the CORS header browsers' apps need included."""
    for _ in range(2):
        response = client.get(f"{BASE}/requests/1001.json")
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "*"
