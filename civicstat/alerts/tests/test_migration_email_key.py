"""Migrating to the subscriber key fills it, and merges two rows that are one mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("alerts", "0003_subscriber_email_key")]
AFTER = [("alerts", "0005_subscriber_email_key_unique")]
AT = datetime(2026, 11, 1, tzinfo=UTC)


def migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_key(transactional_db: None) -> Iterator[Any]:
    """The alerts tables as they were before the key; the latest schema again afterwards."""
    apps = migrate(BEFORE)
    try:
        yield apps
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_the_key_is_filled_and_one_mailbox_spelt_twice_becomes_one_subscriber(before_the_key):
    """Bob's two rows (his domain written in Unicode and in IDNA) become the one holding his
    confirmed alert, with both alerts and emails; Carol's row is only given its key."""
    apps = before_the_key
    Subscriber = apps.get_model("alerts", "Subscriber")
    Subscription = apps.get_model("alerts", "Subscription")
    Delivery = apps.get_model("alerts", "Delivery")
    unicode = Subscriber.objects.create(email="bob@bücher.de", disabled_at=AT, bounce_reason="550")
    idna = Subscriber.objects.create(email="bob@xn--bcher-kva.de")
    carol = Subscriber.objects.create(email="Carol@Example.org")
    first = Subscription.objects.create(subscriber=unicode, kind="radius", lat=39.1, lon=-94.6,
                                        radius_m=500)  # fmt: skip
    second = Subscription.objects.create(subscriber=idna, kind="radius", lat=39.1, lon=-94.6,
                                         radius_m=250, confirmed_at=AT)  # fmt: skip
    Delivery.objects.create(subscriber=unicode, subscription=first, kind="confirm", subject="s",
                            text="t", html="h", next_attempt_at=AT)  # fmt: skip

    apps = migrate(AFTER)
    Subscriber = apps.get_model("alerts", "Subscriber")
    Subscription = apps.get_model("alerts", "Subscription")
    Delivery = apps.get_model("alerts", "Delivery")
    bob = Subscriber.objects.get(email_key="bob@xn--bcher-kva.de")
    assert bob.pk == idna.pk and bob.email == "bob@xn--bcher-kva.de"
    assert bob.disabled_at is None and bob.bounce_reason == ""  # one row still received mail
    assert set(Subscription.objects.values_list("id", "subscriber_id")) == {
        (first.pk, bob.pk), (second.pk, bob.pk)}  # fmt: skip
    assert list(Delivery.objects.values_list("subscriber_id", flat=True)) == [bob.pk]
    carol = Subscriber.objects.get(pk=carol.pk)
    assert (carol.email, carol.email_key) == ("Carol@example.org", "carol@example.org")
    assert Subscriber.objects.count() == 2
