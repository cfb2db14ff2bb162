"""Signals the cases core sends for apps that react to new data without cases knowing them.

`cases_changed` fires after a transaction that changed cases has committed (an import batch, a
sync batch, a note, a request posted through Open311). Receivers should only enqueue work (alert
matching, measure refresh): the sender may be an import with more batches to write.
"""

from __future__ import annotations

from django.dispatch import Signal

cases_changed = Signal()  # keyword argument: version (the data version after the change)
