"""The admin's sign-in is throttled per account and per client address.

Alice is staff; a guesser tries passwords for her account, then for others from one address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

LOGIN = "/admin/login/"
RIGHT = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", password=RIGHT, is_staff=True)


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=address)  # fmt: skip


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, alice):
    codes = [sign_in(client, "alice", f"guess {n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = sign_in(client, "alice", RIGHT)
    assert refused.status_code == 429
    assert not signed_in(client)
    page = refused.content.decode()
    assert "Too many failed sign-ins" in page and "try again in 15 minutes" in page
    assert refused["Retry-After"] == "900"


def test_the_account_is_the_username_in_any_case(client, alice):
    for n in range(5):
        sign_in(client, ["alice", "ALICE", "Alice"][n % 3], f"guess {n}")
    assert sign_in(client, "alice", RIGHT).status_code == 429
    # From another address too: the lockout is the account's.
    assert sign_in(client, "alice", RIGHT, address="198.51.100.9").status_code == 429


def test_the_right_password_works_once_the_lockout_is_over(client, alice):
    for n in range(5):
        sign_in(client, "alice", f"guess {n}")
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sign_in(client, "alice", RIGHT).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        response = sign_in(client, "alice", RIGHT)
    assert response.status_code == 302
    assert signed_in(client)


def test_one_address_guessing_many_accounts_is_locked_out(client, alice, settings):
    """Past LOGIN_FAILURES_PER_IP failures from an address, whatever the usernames, that address
    cannot sign in, while Alice still can from her own."""
    settings.LOGIN_FAILURES_PER_IP = 3
    codes = [sign_in(client, name, "guess").status_code for name in ("bob", "carol", "dave")]
    assert codes == [200, 200, 429]
    assert sign_in(client, "alice", RIGHT).status_code == 429
    # A forged X-Forwarded-For does not make a new client: no proxy is trusted.
    forged = client.post(LOGIN, {"username": "alice", "password": RIGHT},
                         REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.1")  # fmt: skip
    assert forged.status_code == 429
    assert sign_in(Client(), "alice", RIGHT, address="198.51.100.9").status_code == 302


def test_a_success_clears_the_accounts_count(client, alice):
    for n in range(4):
        sign_in(client, "alice", f"guess {n}")
    assert sign_in(client, "alice", RIGHT).status_code == 302
    client.post("/admin/logout/")
    codes = [sign_in(client, "alice", f"guess {n}").status_code for n in range(4)]
    assert codes == [200] * 4


def test_failures_are_logged_with_username_and_address_never_the_password(client, alice, caplog):
    with caplog.at_level(logging.WARNING, logger="civicstat.security"):
        for n in range(5):
            sign_in(client, "alice", f"secret guess {n}")
        sign_in(client, "alice", RIGHT)
    lines = [r.getMessage() for r in caplog.records if r.name == "civicstat.security"]
    assert len([line for line in lines if line.startswith("Failed admin sign-in")]) == 5
    assert all("'alice'" in line and "203.0.113.7" in line for line in lines)
    assert any("locked out" in line for line in lines)
    assert any("refused during a lockout" in line for line in lines)
    assert not any("secret guess" in line or RIGHT in line for line in lines)
