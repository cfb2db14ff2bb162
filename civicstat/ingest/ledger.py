"""Every record's fate in one run, for files and syncs alike.

A run reads N records; each is created, updated, unchanged or rejected (with a reason a person can
act on), so the four always add up to N. A value left out of a stored record (a bad date in an
optional column, a point outside the city, a key the source sent twice) is kept as a warning with
its reason. Rejects and warnings are written with the batch that read them, so what a run reports
is what its committed batches did.
"""

from __future__ import annotations

from typing import Any

from civicstat.cases.records import UpsertResult
from civicstat.ingest.models import ImportRun, RecordWarning, RejectedRow, SyncRun
from civicstat.ingest.readers import printable

RAW_MAX = 2000


def clip(value: Any, limit: int) -> str:
    """Text of `value` that fits a column of `limit` characters, safe to store."""
    text = printable(value if isinstance(value, str) else str(value))
    text = text.replace("\x00", "\ufffd")  # PostgreSQL takes no NUL in text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Ledger:
    def __init__(self, run: ImportRun | SyncRun) -> None:
        self.run = run
        self.read = 0
        self.result = UpsertResult()
        self.rejected = 0
        self.warnings = 0
        self._rejects: list[RejectedRow] = []
        self._warnings: list[RecordWarning] = []
        self._saved = self._counts()

    def _counts(self) -> tuple[int, int, int, int, int, int, int]:
        r = self.result
        return (self.read, r.created, r.updated, r.unchanged, r.events, self.rejected,
                self.warnings)  # fmt: skip

    def rollback(self) -> None:
        """Forget what was counted since the last save: its batch was rolled back."""
        self._rejects.clear()
        self._warnings.clear()
        (self.read, self.result.created, self.result.updated, self.result.unchanged,
         self.result.events, self.rejected, self.warnings) = self._saved  # fmt: skip
        self._on_run()

    def _owner(self) -> dict[str, Any]:
        return {"sync_run": self.run} if isinstance(self.run, SyncRun) else {"run": self.run}

    def reject(self, *, line: int, reason: str, external_id: str = "", raw: str = "") -> None:
        self.rejected += 1
        self._rejects.append(
            RejectedRow(
                line=line,
                external_id=clip(external_id, 64),
                reason=clip(reason, 500),
                raw=clip(raw, RAW_MAX),
                **self._owner(),
            )  # fmt: skip
        )

    def warn(self, *, reason: str, line: int | None = None, external_id: str = "",
             field: str = "", value: Any = "") -> None:  # fmt: skip
        """A value left out of the record at `line` (or, with no line, a note on the run)."""
        self.warnings += 1
        self._warnings.append(
            RecordWarning(
                line=line,
                external_id=clip(external_id, 64),
                field=clip(field, 100),
                value=clip(value, 200),
                reason=clip(reason, 500),
                **self._owner(),
            )  # fmt: skip
        )

    def stored(self, result: UpsertResult) -> None:
        self.result.add(result)

    def _on_run(self) -> list[str]:
        """Put the counts on the run; the names of the fields set."""
        run, r = self.run, self.result
        run.created, run.updated, run.unchanged = r.created, r.updated, r.unchanged
        run.rejected, run.warnings = self.rejected, self.warnings
        if isinstance(run, SyncRun):
            run.fetched, run.events = self.read, r.events
            return ["created", "updated", "unchanged", "rejected", "warnings", "fetched", "events"]
        run.rows_read = self.read
        return ["created", "updated", "unchanged", "rejected", "warnings", "rows_read"]

    def save(self) -> None:
        """Write the pending rejects and warnings and the run's counts (in the caller's
        transaction, with the batch they belong to)."""
        RejectedRow.objects.bulk_create(self._rejects)
        RecordWarning.objects.bulk_create(self._warnings)
        self._rejects.clear()
        self._warnings.clear()
        self.run.save(update_fields=self._on_run())
        self._saved = self._counts()
