from django.db import migrations, models

import civicstat.ingest.models

# A sync checks a case's point against the city's bounds, as a file import does.


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0005_syncsource_start_date"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncsource",
            name="bounds",
            field=models.CharField(
                blank=True,
                help_text="west,south,east,north: a case placed outside (or at 0, 0) keeps no "
                "location, with a warning in its run. Blank: only (0, 0) is checked.",
                max_length=100,
                validators=[civicstat.ingest.models.bounds_validate],
            ),
        ),
    ]
