from django.db import migrations, models

# A sync source may be a dataset on any Socrata portal, read through a mapping of its fields.


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0006_syncsource_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncsource",
            name="app_token",
            field=models.CharField(
                blank=True,
                help_text="Socrata: an app token from the portal (sent as X-App-Token), so that the portal does not throttle the sync.",
                max_length=100,
            ),
        ),
        migrations.AddField(
            model_name="syncsource",
            name="mapping",
            field=models.TextField(
                blank=True,
                help_text="Socrata: how the dataset's fields map onto cases, as TOML, written as a mapping file for import_cases (see README, “A mapping for another city”). Its layer defaults to the layer above.",
            ),
        ),
        migrations.AlterField(
            model_name="syncsource",
            name="kind",
            field=models.CharField(
                choices=[
                    ("open311", "Open311 GeoReport v2"),
                    ("seeclickfix", "SeeClickFix API v2"),
                    ("socrata", "Socrata dataset (SODA)"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="syncsource",
            name="url",
            field=models.URLField(
                help_text="Open311: the endpoint base, ending in /. SeeClickFix: the API base, such as https://seeclickfix.com/api/v2/. Socrata: the dataset's API endpoint, such as https://data.example.gov/resource/abcd-1234.json (or its page on the portal)."
            ),
        ),
    ]
