"""Fill each subscriber's key, and merge the subscribers that are one mailbox spelt twice.

Earlier releases stored addresses lower-cased, so two rows of one mailbox are rare (an
international domain written both ways, a quoted local part, an address staff typed in the admin).
The oldest row stays, preferring one with a confirmed alert; the others' alerts and emails move to
it and they are deleted. The merged address stays disabled only if every row was: a row still
receiving mail shows the mailbox works. A moved alert keeps its unsubscribe link; a deleted row's
"manage my alerts" link no longer opens anything, which is why rows are merged only when they
truly are one mailbox.
"""

from collections import defaultdict

from django.db import migrations

from civicstat.lib.email_address import email_key, email_normalize

MAX_LENGTH = 254


def fill_and_merge(apps, schema_editor):
    Subscriber = apps.get_model("alerts", "Subscriber")
    Subscription = apps.get_model("alerts", "Subscription")
    Delivery = apps.get_model("alerts", "Delivery")
    confirmed = set(
        Subscription.objects.filter(confirmed_at__isnull=False)
        .values_list("subscriber_id", flat=True)
        .distinct()
    )
    rows = defaultdict(list)
    for subscriber in Subscriber.objects.order_by("created_at", "pk").iterator():
        address, key = email_normalize(subscriber.email), email_key(subscriber.email)
        if len(address) > MAX_LENGTH or len(key) > MAX_LENGTH:  # an IDNA domain grew too long
            address, key = subscriber.email, subscriber.email.lower()
        subscriber.email = address
        subscriber.email_key = key
        rows[key].append(subscriber)
    kept = []
    for same in rows.values():
        keep = next((s for s in same if s.pk in confirmed), same[0])
        others = [s.pk for s in same if s.pk != keep.pk]
        if others:
            Subscription.objects.filter(subscriber_id__in=others).update(subscriber_id=keep.pk)
            Delivery.objects.filter(subscriber_id__in=others).update(subscriber_id=keep.pk)
            if any(s.disabled_at is None for s in same):
                keep.disabled_at, keep.bounce_reason = None, ""
            Subscriber.objects.filter(pk__in=others).delete()
        kept.append(keep)
    Subscriber.objects.bulk_update(
        kept, ["email", "email_key", "disabled_at", "bounce_reason"], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_subscriber_email_key"),
    ]

    operations = [
        migrations.RunPython(fill_and_merge, migrations.RunPython.noop),
    ]
