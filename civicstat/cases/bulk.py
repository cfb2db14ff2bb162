"""Bulk INSERTs: the write primitive of `case_upsert` and the rollups.

SQLite: one `INSERT … VALUES (…), (…), …` per few hundred rows instead of one statement per row.
PostgreSQL: `COPY`, because Django binds parameters on the client, quoting every value in Python,
which made an 80k import spend most of its time formatting SQL text. An upsert (an `ON CONFLICT`
suffix) copies into a temporary table first and then runs one `INSERT … SELECT … ON CONFLICT`.
"""

from __future__ import annotations

import sqlite3
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
    if connection.vendor == "postgresql":
        _copy_rows(cursor, table, columns, rows, suffix)
        return
    width = len(columns)
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(_MAX_ROWS, limit // width))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ", ".join(["?"] * width) + ")"
    tail = " " + suffix if suffix else ""
    # sqlite3's own cursor, with its "?" placeholders: Django's wrapper rewrites every "%s" of a
    # statement with a regular expression, which for these statements of thousands of
    # placeholders cost more than SQLite took to run them. Full chunks repeat one statement
    # text, so sqlite3 reuses its prepared statement.
    raw = cursor.cursor  # Django's SQLiteCursorWrapper, a sqlite3.Cursor: call the base method
    full = head + ", ".join([one] * per_statement) + tail
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = full if len(chunk) == per_statement else head + ", ".join([one] * len(chunk)) + tail
        sqlite3.Cursor.execute(raw, sql, [value for row in chunk for value in row])


def where_in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column IN (…)` for SQLite; on PostgreSQL `column = ANY(%s)` with one array parameter,
    which binds in one step where thousands of separate parameters are each quoted in Python."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def where_keys_in(columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """`(columns…) IN (…)` for composite keys: on PostgreSQL one array parameter per column,
    zipped back together by `unnest`; on SQLite a `VALUES` list (keep `keys` under the engine's
    parameter limit divided by the number of columns)."""
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        arrays = ", ".join(["%s"] * len(columns))
        return f"({names}) IN (SELECT * FROM unnest({arrays}))", [
            [key[i] for key in keys] for i in range(len(columns))
        ]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"({names}) IN (VALUES {', '.join([one] * len(keys))})", [v for k in keys for v in k]


def _copy_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], suffix: str
) -> None:
    raw = cursor.cursor  # psycopg's cursor under Django's wrapper: the same transaction
    names = ", ".join(columns)
    target = table
    if suffix:
        target = f"bulk_{table}"
        # Dropped at commit; emptied after use, so a second upsert in one transaction reuses it.
        raw.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} ON COMMIT DROP AS"
            f" SELECT {names} FROM {table} WITH NO DATA"
        )
    with raw.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    if suffix:
        raw.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} {suffix}")
        raw.execute(f"DELETE FROM {target}")
