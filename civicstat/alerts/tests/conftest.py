"""A real SMTP server on loopback, and a small city to alert about.

Bob is a resident who watches 500 m around his home; Alice follows a pothole she reported.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from civicstat.cases.models import Layer
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_upsert, layer_ensure

HOME = (39.0997, -94.5786)  # Bob's home in downtown Kansas City


@dataclass
class Inbox:
    """What the SMTP server received; `refuse` holds addresses answered with 550."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802, E501
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smtp:
    inbox: Inbox
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings: Any) -> Iterator[Smtp]:
    server = Smtp(inbox=Inbox(), port=free_port())
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    settings.SITE_URL = "http://testserver"
    yield server
    server.stop()


def body(message: Message, subtype: str = "plain") -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


@pytest.fixture
def layer(db: None) -> Layer:
    return layer_ensure(
        slug="311", name="311 requests", noun="request",
        statuses={"OPEN": ("open", "Open"), "RESOLVED": ("closed", "Resolved")},
    )  # fmt: skip


def import_cases(layer: Layer, *rows: dict[str, Any]) -> None:
    """One import batch through the same write path as a CSV import."""
    records = [
        CaseRecord(
            status=r.get("status", "OPEN"),
            status_group=r.get("group", "open"),
            requested_at=r.get("at", datetime(2026, 11, 20, 15, tzinfo=UTC)),
            closed_at=r.get("closed_at"),
            **{k: v for k, v in r.items() if k not in ("status", "group", "at", "closed_at")},
        )
        for r in rows
    ]
    case_upsert(layer=layer, records=records)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counts live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_index_from_another_test() -> None:
    """The matcher keeps its index per process by version; a rolled-back test reuses versions."""
    from civicstat.alerts import matcher

    matcher._index = None
