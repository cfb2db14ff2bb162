from django.db import migrations, models

from civicstat.lib.schema import AddColumnInPlace


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_case_closed_approximate"),
    ]

    operations = [
        AddColumnInPlace(
            model_name="caseevent",
            name="label",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text='What the source called this entry, in words ("Follow-on request '
                'closed").',
                max_length=100,
            ),
        ),
    ]
