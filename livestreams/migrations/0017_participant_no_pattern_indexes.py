"""Fewer indexes on the participant table, which every join writes: on PostgreSQL
Django gives each text id column (the row's id, its user, its charge) a second
`varchar_pattern_ops` index for LIKE; nothing ever searches ids with LIKE (the
admin looks streams and users up by exact id, and users by name on their own
table). The unique, primary-key and foreign-key indexes stay. Other databases have
no such indexes."""

from django.db import migrations

FIND = """
SELECT indexname FROM pg_indexes
WHERE tablename = 'livestreams_participant' AND indexdef LIKE '%%varchar_pattern_ops%%'
"""
COLUMNS = ("id", "user_id", "charge_id")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FIND)
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "livestreams_participant_{column}_like" '
            f'ON "livestreams_participant" ("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0016_viewer_count"),
    ]

    operations = [migrations.RunPython(drop, restore)]
