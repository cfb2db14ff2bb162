"""Multi-row INSERT statements: the bulk write primitive of `case_upsert` and the rollups.

One `INSERT … VALUES (…), (…), …` per few hundred rows instead of one statement per row: on
PostgreSQL each statement is a round trip and a plan, so this is many times faster than
`executemany`; on SQLite it is as fast or faster. Works on both with `ON CONFLICT` suffixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

_MAX_ROWS = 500  # per statement: large enough to amortise, small enough to plan quickly


def insert_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], suffix: str = ""
) -> None:
    """INSERT `rows` (tuples in `columns` order) into `table`, `suffix` appended to each statement.

    Rows must not repeat a conflict key within one call when `suffix` is an ON CONFLICT clause.
    """
    if not rows:
        return
    width = len(columns)
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(_MAX_ROWS, limit // width))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [value for row in chunk for value in row]
        cursor.execute(
            head + ", ".join([one] * len(chunk)) + (" " + suffix if suffix else ""), params
        )
