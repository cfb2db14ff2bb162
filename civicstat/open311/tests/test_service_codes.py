"""Every service is reachable by the code services.json lists, whatever the code holds.

Real codes hold slashes (336 of Kansas City's 812: "Animals / Pets-Bite"), spaces, `&`, commas,
`+`, `%` and letters beyond ASCII. A client may put a code in the path as it is (Python's HTTP
clients send the slashes raw and percent-encode the space) or percent-encoded (`%2F`); both must
answer, through Django's test client, a live server, and the production server (granian), since
WSGI servers decode `%2F` in their own ways.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import defusedxml.ElementTree as DET
import httpx
import pytest
from django.test import Client

from civicstat.alerts.tests.conftest import free_port
from civicstat.cases.models import Layer, Service
from civicstat.cases.services import case_upsert, service_get_or_create
from civicstat.open311.tests.conftest import record

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
ROOT = Path(__file__).resolve().parents[3]
CODES = (
    "Animals / Pets-Bite",
    "Streets/Roadways/Alleys-Snow / Ice-Snow Verify List",
    "Parks & Recreation-Services-Question",
    "Traffic Signal Pole Damage, Rust, Vandalism",
    "Lights / Signals-Street Light-5+ lights out",
    "Discount 50% / Rebate",
    "Parks & Recreation-Athletics-Fields – Central",
    "Café/Terrasse Été",
    "Questions or  Comments",
    "Vehicle Towed Without Owner's Permission",
    "Signs v1.2/Stop",
)


def encoded(code: str) -> str:
    return quote(code, safe="")


def raw(code: str) -> str:
    """The code as it is: httpx then encodes the spaces and leaves the slashes, as Python's HTTP
    clients do; Django's test client takes it as it is."""
    return code


@pytest.fixture
def awkward(city: dict[str, Any]) -> dict[str, Service]:
    """A service for each awkward code, each with one case."""
    layer: Layer = city["layer"]
    services = {}
    for n, code in enumerate(CODES):
        services[code] = service_get_or_create(layer=layer, code=code, name=f"Service {n}")
    case_upsert(layer=layer, records=[
        record(f"C{n}", services[code], days_ago=n + 1) for n, code in enumerate(CODES)
    ])  # fmt: skip
    return services


@pytest.mark.parametrize("form", [raw, encoded])
@pytest.mark.parametrize("prefix", ["services", "service"])
def test_every_listed_code_answers_its_definition_raw_or_encoded(
    client: Client, awkward: dict[str, Service], form: Any, prefix: str
) -> None:
    listed = [s["service_code"] for s in client.get(f"{BASE}/services.json").json()]
    assert set(CODES) <= set(listed)
    for code in listed:
        response = client.get(f"{BASE}/{prefix}/{form(code)}.json")
        assert response.status_code == 200, (code, response.content)
        assert response.json()["service_code"] == code
        xml = client.get(f"{BASE}/{prefix}/{form(code)}.xml")
        assert DET.fromstring(xml.content).findtext("service_code") == code


def test_an_unknown_code_with_a_slash_is_the_spec_error_list(
    client: Client, awkward: dict[str, Service]
) -> None:
    response = client.get(f"{BASE}/services/Animals%20%2F%20Nothing.json")
    assert response.status_code == 404
    assert "unknown service_code 'Animals / Nothing'" in response.json()[0]["description"]


@pytest.mark.parametrize("code", CODES)
def test_requests_filter_by_any_listed_code(
    client: Client, awkward: dict[str, Service], code: str
) -> None:
    """Commas too: a code with commas is one code, not a list of three unknown ones."""
    docs = client.get(f"{BASE}/requests.json", {"service_code": code}).json()
    assert [d["service_code"] for d in docs] == [code]


def test_a_list_of_codes_still_filters_by_each(client: Client, awkward: dict[str, Service]) -> None:
    docs = client.get(f"{BASE}/requests.json", {"service_code": "POT,Animals / Pets-Bite"}).json()
    assert {d["service_code"] for d in docs} == {"POT", "Animals / Pets-Bite"}


def test_a_request_id_with_a_slash_is_reachable(client: Client, city: dict[str, Any]) -> None:
    case_upsert(layer=city["layer"], records=[record("2024/00123", city["pothole"])])
    for path in ("requests/2024/00123.json", "requests/2024%2F00123.json"):
        docs = client.get(f"{BASE}/{path}").json()
        assert docs[0]["service_request_id"] == "2024/00123", path


@pytest.mark.parametrize("form", [raw, encoded])
def test_a_real_http_client_reaches_every_code_on_a_live_server(
    live_server: Any, awkward: dict[str, Service], form: Any
) -> None:
    with httpx.Client(base_url=f"{live_server.url}{BASE}") as http:
        for code in CODES:
            response = http.get(f"/services/{form(code)}.json")
            assert response.status_code == 200, (code, response.request.url.raw_path)
            assert response.json()["service_code"] == code


def test_the_production_server_hands_django_the_whole_code(tmp_path: Path) -> None:
    """granian decodes the path before Django reads it: %2F and a raw slash both arrive as "/"."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "civicstat.open311.tests.resolve_app:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}{BASE}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/services.json", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("granian did not start within 30 s")
                time.sleep(0.2)
        with httpx.Client(base_url=base) as http:
            for code in CODES:
                for form in (raw, encoded):
                    answer = http.get(f"/services/{form(code)}.json").json()
                    expected = {"code": code, "fmt": "json"}
                    assert answer == {"name": "open311-service", "kwargs": expected}, code
    finally:
        # The server and its worker process, whatever state they are in: a slow machine once
        # left both running after the test, holding the output of the test run.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
