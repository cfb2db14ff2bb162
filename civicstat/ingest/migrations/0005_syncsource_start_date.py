from django.db import migrations, models

# A source's first sync reads from a date staff choose, so a city's history can come in; without
# one it reads the last 90 days, as before.


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0004_record_warnings"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncsource",
            name="start_date",
            field=models.DateField(
                blank=True,
                help_text="A first sync reads what changed from this date on (blank: the last 90 "
                "days). To bring in a city's whole history, give the date its records begin.",
                null=True,
            ),
        ),
    ]
