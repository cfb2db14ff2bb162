"""Schema changes that stay cheap on the big tables, on both engines."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


class AddColumnInPlace(migrations.AddField):
    """AddField as one `ALTER TABLE … ADD COLUMN … DEFAULT … NOT NULL`, on SQLite too.

    For a NOT NULL column Django's SQLite editor copies the whole table into a new one, which on
    the cases or case events of a city is minutes of work and twice the disk. SQLite adds such a
    column in place when it has a constant default, so a field with a `db_default` constant is
    added the way every other database adds it. The default stays in the schema, as `db_default`
    says it does.
    """

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: Any,
        to_state: Any,
    ) -> None:  # fmt: skip
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        if not field.has_db_default():
            raise ValueError(f"{self.model_name}.{self.name}: AddColumnInPlace needs a db_default")
        BaseDatabaseSchemaEditor.add_field(schema_editor, model, field)
