# A subscriber's lookup key, filled by 0004 and made unique by 0005: three migrations, since
# PostgreSQL refuses to alter a table whose rows the same transaction has just changed.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_subscription_changed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="email_key",
            field=models.CharField(editable=False, max_length=254, null=True),
        ),
    ]
