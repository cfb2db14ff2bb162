"""The baseline for `bench_open311.py`: the same requests.json query in a minimal FastAPI app.

No ORM, no middleware but gzip, no ETag, no private-service check beyond the one join: stdlib
sqlite3 and the same SQL shape, rows written as the same GeoReport fields. Run by uvicorn with the
database in BENCH_DB.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Query
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import Response

app = FastAPI()
# FastAPI's documented way to compress answers (Starlette's defaults): clients ask for gzip.
app.add_middleware(GZipMiddleware)
_local = threading.local()

SQL = """
SELECT c.external_id, c.status_group, c.status, s.name, s.code, c.description, d.name,
       c.requested_at, c.updated_at, c.closed_at, c.expected_at, c.address, c.zip_code,
       c.lat, c.lon
FROM cases_case c JOIN cases_service s ON s.id = c.service_id
LEFT JOIN cases_department d ON d.id = c.department_id
WHERE s.private = 0 AND s.code = ? AND c.requested_at >= ? AND c.requested_at <= ?
ORDER BY c.requested_at DESC, c.id DESC LIMIT 1000
"""


def _db() -> sqlite3.Connection:
    if not hasattr(_local, "db"):
        _local.db = sqlite3.connect(os.environ["BENCH_DB"], check_same_thread=False)
    db: sqlite3.Connection = _local.db
    return db


def _stamp(text: str | None) -> str | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat(timespec="seconds")


def _sql_time(text: str) -> str:
    return str(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
               .replace(tzinfo=None))  # fmt: skip


@app.get("/open311/v2/requests.json")
def requests(service_code: str, start_date: str = Query(), end_date: str = Query()) -> Response:
    rows = _db().execute(SQL, (service_code, _sql_time(start_date), _sql_time(end_date)))
    docs: list[dict[str, Any]] = [
        {"service_request_id": r[0], "status": r[1], "status_notes": r[2], "service_name": r[3],
         "service_code": r[4], "description": r[5], "agency_responsible": r[6],
         "service_notice": None, "requested_datetime": _stamp(r[7]),
         "updated_datetime": _stamp(r[9] or r[8] or r[7]), "expected_datetime": _stamp(r[10]),
         "address": r[11], "address_id": None, "zipcode": r[12], "lat": r[13], "long": r[14],
         "media_url": None}
        for r in rows
    ]  # fmt: skip
    body = json.dumps(docs, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type="application/json")
