"""clientSeq is an unsigned 64-bit integer (Agora's documentation): stored
shifted by -2**63 in the same BIGINT column (`UnsignedBigIntegerField`), so that
0 .. 2**64-1 round-trips, in order, on PostgreSQL and SQLite. The existing values
(0 .. 2**63-1) are shifted here; 2**63 is subtracted as two halves, which fit in
a 64-bit integer on both databases."""

import livestreams.models.agora
from django.db import migrations

HALF = 2**62
TABLES = ("livestreams_agoranotice", "livestreams_agoraclientsequence")


def shift(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    column = quote("client_seq")
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"UPDATE {quote(table)} SET {column} = {column} - {HALF} - {HALF} "
                f"WHERE {column} IS NOT NULL"
            )


def unshift(apps, schema_editor):
    # Values of 2**63 and above did not exist before: the notice forgets them, the
    # per-user order keeps the largest value the old column holds.
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    column = quote("client_seq")
    with connection.cursor() as cursor:
        for table, above in zip(TABLES, ("NULL", str(2**63 - 1)), strict=True):
            cursor.execute(
                f"UPDATE {quote(table)} SET {column} = CASE WHEN {column} < 0 "
                f"THEN {column} + {HALF} + {HALF} ELSE {above} END WHERE {column} IS NOT NULL"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0008_moderators_see_reports_and_gifts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="agoraclientsequence",
            name="client_seq",
            field=livestreams.models.agora.UnsignedBigIntegerField(
                verbose_name="last applied client sequence"
            ),
        ),
        migrations.AlterField(
            model_name="agoranotice",
            name="client_seq",
            field=livestreams.models.agora.UnsignedBigIntegerField(
                blank=True, null=True, verbose_name="client sequence"
            ),
        ),
        migrations.RunPython(shift, unshift),
    ]
