"""Cases judged against their target ("% closed within target"), counted in the rollups.

Cases stored before keep no source verdict (a re-import with an [on_time] mapping adds it); those
closed are judged here by their target date, else their request type's target days. If any was,
the rollups are marked stale, so the next import or `manage.py rebuild_rollups` counts them.
"""

from django.db import migrations, models


def judge_stored_cases(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        within_days = "(julianday(closed_at) - julianday(requested_at)) <= s.target_days"
    else:
        within_days = "closed_at - requested_at <= s.target_days * interval '1 day'"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET within_target = closed_at <= expected_at"
            " WHERE close_bucket IS NOT NULL AND expected_at IS NOT NULL"
        )
        judged = cursor.rowcount
        cursor.execute(
            f"UPDATE cases_case SET within_target = (SELECT {within_days} FROM cases_service s"
            " WHERE s.id = cases_case.service_id)"
            " WHERE close_bucket IS NOT NULL AND expected_at IS NULL AND service_id IN"
            " (SELECT id FROM cases_service WHERE target_days IS NOT NULL)"
        )
        judged += cursor.rowcount
        if judged:
            cursor.execute("UPDATE cases_dataversion SET rollups_stale = true WHERE id = 1")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_layer_sensitive_case_public_point"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="monthlycasecount",
            name="monthly_case_count_cover",
        ),
        migrations.AddField(
            model_name="case",
            name="on_time",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="within_target",
            field=models.BooleanField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="dailycasecount",
            name="late",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="dailycasecount",
            name="on_time",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="monthlycasecount",
            name="late",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="monthlycasecount",
            name="on_time",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="monthlypubliccount",
            name="late",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="monthlypubliccount",
            name="on_time",
            field=models.IntegerField(db_default=0, default=0),
        ),
        migrations.AddIndex(
            model_name="monthlycasecount",
            index=models.Index(
                fields=[
                    "area_id",
                    "department_id",
                    "month",
                    "layer_id",
                    "service_id",
                    "status_group",
                    "opened",
                    "closed",
                    "on_time",
                    "late",
                ],
                name="monthly_case_count_cover",
            ),
        ),
        migrations.RunPython(judge_stored_cases, migrations.RunPython.noop),
    ]
