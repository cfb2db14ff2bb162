import django.db.models.deletion
from django.db import migrations, models

# A sync run keeps the records it could not take, as an import run does: a rejected row belongs
# to one or the other, and a sync run counts its rejects.


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0002_syncsource_syncrun"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="rejectedrow",
            options={"ordering": ["run", "sync_run", "line"]},
        ),
        migrations.AddField(
            model_name="rejectedrow",
            name="sync_run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rejects",
                to="ingest.syncrun",
            ),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="rejected",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="rejectedrow",
            name="line",
            field=models.PositiveIntegerField(
                help_text="Line in the file where the row starts; in a sync or an Open311 file, "
                "the record's number in the run."
            ),
        ),
        migrations.AlterField(
            model_name="rejectedrow",
            name="run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rejects",
                to="ingest.importrun",
            ),
        ),
        migrations.AddConstraint(
            model_name="rejectedrow",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("run__isnull", False), ("sync_run__isnull", True)),
                    models.Q(("run__isnull", True), ("sync_run__isnull", False)),
                    _connector="OR",
                ),
                name="rejectedrow_of_one_run",
            ),
        ),
    ]
