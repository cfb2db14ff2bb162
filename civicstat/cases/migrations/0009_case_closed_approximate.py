from django.db import migrations, models

from civicstat.lib.schema import AddColumnInPlace


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_packed_close_histograms"),
    ]

    operations = [
        AddColumnInPlace(
            model_name="case",
            name="closed_approximate",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="The source gave no closing time: `closed_at` is when it last changed "
                "the case.",
            ),
        ),
    ]
