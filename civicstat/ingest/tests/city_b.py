"""CivicStat B: a second CivicStat in a process of its own, on a SQLite file of its own.

`python -m civicstat.ingest.tests.city_b` (with DATABASE_URL naming a new SQLite file) migrates
that database, serves the whole site on a free loopback port through Django's threaded WSGI
server, prints `{"url": …}`, then obeys commands on standard input (`seed`, `change`, `state`),
answering each with one line of JSON. The round-trip test drives it with `city_b()`; A, the test's
own database, reaches B only over HTTP.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings

STATUSES = {"OPEN": ("open", "Received"), "ASSIG": ("open", "Crew assigned"),
            "RESOL": ("closed", "Resolved")}  # fmt: skip
LAYER = "requests"
# A loaded two-core machine can take this long to start Django or migrate.
WAIT_SECONDS = 120


def _second(value: datetime | None) -> str | None:
    # Open311 datetimes carry whole seconds: finer detail never crosses the wire.
    return value.replace(microsecond=0).isoformat() if value else None


def state(layer_slug: str) -> Any:
    """What a person would compare, as JSON: each case's facts, status and history, and the
    layer's statuses with their public labels."""
    from civicstat.cases.models import Case, StatusMapping

    cases = {}
    for c in Case.objects.filter(layer__slug=layer_slug).select_related("service", "department"):
        events = [[e.kind, e.status_from, e.status_to, e.note, _second(e.at)]
                  for e in c.events.order_by("at", "id")]  # fmt: skip
        cases[c.external_id] = [
            c.status, c.status_group, c.service.code if c.service else "",
            c.department.name if c.department else "", c.description, c.address, c.zip_code,
            c.lat, c.lon, c.channel, _second(c.requested_at), _second(c.closed_at), events,
        ]  # fmt: skip
    statuses = sorted(
        StatusMapping.objects.filter(layer__slug=layer_slug).values_list("code", "group", "label")
    )
    return json.loads(json.dumps({"cases": cases, "statuses": statuses}))


def _record(n: int, status: str, **extra: Any) -> Any:
    from django.utils import timezone

    from civicstat.cases.models import Service
    from civicstat.cases.records import CaseRecord

    service = Service.objects.get(layer__slug=LAYER, code="POT")
    at = timezone.now() - timedelta(days=n)
    group = STATUSES[status][0]
    return CaseRecord(external_id=f"B-{n}", status=status, status_group=group, requested_at=at,
                      updated_at=extra.pop("updated_at", at), service_id=service.id,
                      department_id=service.department_id, description=f"case {n} ünïcode",
                      address=f"{n} Main St", zip_code="64106", lat=39.1 + n / 100, lon=-94.58,
                      closed_at=at + timedelta(hours=3) if group == "closed" else None,
                      channel="phone", **extra)  # fmt: skip


def seed() -> None:
    """Three cases in three statuses, one with a note."""
    from django.utils import timezone

    from civicstat.cases.models import Case, Service
    from civicstat.cases.services import (
        case_add_note,
        case_upsert,
        department_resolve,
        layer_ensure,
    )

    layer = layer_ensure(slug=LAYER, name="311 requests", noun="request", statuses=STATUSES)
    works = department_resolve(name="Public Works")
    Service.objects.create(layer=layer, code="POT", name="Potholes", department=works)
    case_upsert(layer=layer, records=[_record(1, "OPEN"), _record(2, "ASSIG"), _record(3, "RESOL")])
    case_add_note(case=Case.objects.get(external_id="B-2"), note="Crew booked",
                  at=timezone.now() - timedelta(hours=2))  # fmt: skip


def change() -> None:
    """B resolves case 1 and notes case 3."""
    from django.utils import timezone

    from civicstat.cases.models import Case, Layer
    from civicstat.cases.services import case_add_note, case_upsert

    layer = Layer.objects.get(slug=LAYER)
    case_upsert(layer=layer, records=[_record(1, "RESOL", updated_at=timezone.now())])
    case_add_note(case=Case.objects.get(external_id="B-3"), note="Checked again",
                  at=timezone.now())  # fmt: skip


def _serve() -> str:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    print(json.dumps({"url": _serve()}), flush=True)
    commands = {"seed": seed, "change": change, "state": lambda: state(LAYER)}
    for line in sys.stdin:
        print(json.dumps(commands[line.strip()]()), flush=True)


# The test's side.


@dataclass
class CityB:
    process: subprocess.Popen[str]
    log: Path
    url: str = ""

    def read(self) -> Any:
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        ready, _, _ = select.select([stdout], [], [], WAIT_SECONDS)
        line = stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"CivicStat B did not answer: {self.log.read_text()[-3000:]}")
        return json.loads(line)

    def do(self, command: str) -> Any:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(command + "\n")
        stdin.flush()
        return self.read()


@contextmanager
def city_b(folder: Path) -> Iterator[CityB]:
    """B, migrated and live on loopback, on a new database in `folder`; stopped on leaving."""
    database = folder / "b.sqlite3"
    log = folder / "b.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "OPEN311_LAYERS": "",
           "DJANGO_SETTINGS_MODULE": "civicstat.settings"}  # fmt: skip
    with log.open("w") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own module, run by this interpreter
            [sys.executable, "-m", "civicstat.ingest.tests.city_b"], cwd=settings.BASE_DIR,
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
    b = CityB(process, log)
    try:
        b.url = b.read()["url"]
        yield b
    finally:
        if process.stdin:
            process.stdin.close()  # B's command loop ends, and B with it
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=WAIT_SECONDS)


if __name__ == "__main__":
    main()
