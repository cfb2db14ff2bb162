from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_subscriber_email_key_fill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscriber",
            name="email_key",
            field=models.CharField(editable=False, max_length=254, unique=True),
        ),
        migrations.AlterField(
            model_name="subscriber",
            name="email",
            field=models.EmailField(
                help_text="Where alerts go: as typed, its domain in IDNA form.", max_length=254
            ),
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                condition=models.Q(("confirmed_at__isnull", True)),
                fields=["created_at"],
                name="subscription_unconfirmed",
            ),
        ),
    ]
