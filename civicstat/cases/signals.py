"""Signals the cases core sends for apps that react to new data without cases knowing them.

`cases_changed` fires after a transaction that changed cases has committed (an import batch, a
sync batch, a note, a request posted through Open311). Receivers should only enqueue work (alert
matching, measure refresh): the sender may be an import with more batches to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.dispatch import Signal

# Keyword arguments: version (the data version after the change) and scope (a ChangeScope, or
# None when anything may have changed).
cases_changed = Signal()


@dataclass(frozen=True)
class ChangeScope:
    """What a change touched, in the dimensions the rollups keep: ids of layers, services and
    departments (0 for "none") whose counts moved. All empty: no count moved (a note), so
    nothing computed from the rollups needs refreshing."""

    layers: frozenset[int] = field(default_factory=frozenset)
    services: frozenset[int] = field(default_factory=frozenset)
    departments: frozenset[int] = field(default_factory=frozenset)

    def is_empty(self) -> bool:
        return not (self.layers or self.services or self.departments)


# Sent in the transaction that turned a service private or public (keyword arguments: service,
# and scope, a ChangeScope of what its cases are filed under), after the data version has moved.
# Receivers must bring whatever they keep of public cases up to date before it commits.
service_privacy_changed = Signal()
