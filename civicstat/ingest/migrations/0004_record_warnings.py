import django.db.models.deletion
from django.db import migrations, models

# Each value a run leaves out of a record it stores (a bad date in an optional column, a point
# outside the city, a key sent twice) is kept with its reason, and each run counts them.


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0003_sync_runs_keep_rejects"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordWarning",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "line",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="As for a rejected row; empty for the whole run.",
                        null=True,
                    ),
                ),
                ("external_id", models.CharField(blank=True, max_length=64)),
                (
                    "field",
                    models.CharField(
                        blank=True,
                        help_text="The source's column or key that was left out.",
                        max_length=100,
                    ),
                ),
                (
                    "value",
                    models.CharField(blank=True, help_text="The value left out.", max_length=200),
                ),
                ("reason", models.CharField(max_length=500)),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="record_warnings",
                        to="ingest.importrun",
                    ),
                ),
                (
                    "sync_run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="record_warnings",
                        to="ingest.syncrun",
                    ),
                ),
            ],
            options={
                "ordering": ["run", "sync_run", "line", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("run__isnull", False), ("sync_run__isnull", True)),
                            models.Q(("run__isnull", True), ("sync_run__isnull", False)),
                            _connector="OR",
                        ),
                        name="recordwarning_of_one_run",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="importrun",
            name="warnings",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Values left out of stored rows, and notes about the whole file.",
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="warnings",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Values left out of stored records, and notes about the whole run.",
            ),
        ),
    ]
