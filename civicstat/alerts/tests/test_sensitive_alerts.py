"""Bob watches 500 m around his home; a crime is reported near it. His email says what and
roughly where (the distance to the crime's public point), never the address or exact place."""

from __future__ import annotations

import re

from civicstat.alerts.matcher import match_new_events
from civicstat.alerts.sending import compose_due, send_due
from civicstat.alerts.tests.conftest import HOME, body, import_cases
from civicstat.cases.models import Case
from civicstat.cases.services import layer_ensure
from civicstat.lib.geo import h3_cell, h3_cell_centre, haversine_m

BOB = "bob@example.org"


def test_a_crime_alert_gives_no_exact_place(client, smtp, db):
    crime = layer_ensure(slug="crime-incidents", name="Crime incidents", noun="crime report",
                         statuses={"REPORTED": ("closed", "Reported")}, sensitive=True)  # fmt: skip
    client.post("/alerts", {"email": BOB, "lat": HOME[0], "lon": HOME[1], "radius_m": 500,
                            "frequency": "instant"})  # fmt: skip
    send_due()
    link = re.search(r"http://testserver(/alerts/confirm/\S+)", body(smtp.inbox.to(BOB)[-1]))
    assert link and client.get(link.group(1)).status_code == 200
    match_new_events()
    exact = (HOME[0] + 0.001234, HOME[1] - 0.000987)
    import_cases(crime, {"external_id": "r1", "address": "1234 Secret St", "lat": exact[0],
                         "lon": exact[1], "status": "REPORTED", "group": "closed"})  # fmt: skip
    match_new_events()
    compose_due()
    send_due()
    message = smtp.inbox.to(BOB)[-1]
    text, html = body(message), body(message, "html")
    for part in (text, html):
        assert "Secret St" not in part
        for value in exact:
            for digits in (6, 5, 4):
                assert f"{value:.{digits}f}" not in part
    case = Case.objects.get(external_id="r1")
    centre = h3_cell_centre(h3_cell(*exact))
    assert (case.public_lat, case.public_lon) == centre
    shown = round(haversine_m(HOME[0], HOME[1], *centre))
    assert f"{shown} m away" in text
    assert shown != round(haversine_m(HOME[0], HOME[1], *exact))  # the distances tell apart
