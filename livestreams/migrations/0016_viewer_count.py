"""The viewer count is kept, not recounted: one ViewerCount row per stream, kept by
row-level triggers on the participant table in the transaction that changes a
participant's presence (an insert present, an update of `is_present` or of the
stream, a delete). Existing streams get their count now. The index on presence per
stream, which only the recount used, goes; so does the index of the participant's
stream alone (the unique (live_stream, user) starts with it).

Triggers, not F() updates from Python: an earlier attempt with F() updates deadlocked
under concurrent joins; the triggers run in the same transaction, row by row, so every
bulk update (a stream ending, a kick, a ban, a presence sweep) keeps the count exact.

SQLite: a migration that rebuilds the participant table (most AlterField and
RemoveField operations do, by copying it into a new table) drops its triggers. Such a
migration must create them again afterwards and recount: with 0018's CREATE_SQLITE,
which replaced these triggers (the count is kept in slots since 0018).
"""

from django.db import migrations, models
from django.db.models import Count

TABLE = "livestreams_participant"
COUNTS = "livestreams_viewercount"

CREATE_POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION livestreams_viewers_kept() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.is_present THEN
        IF TG_OP = 'DELETE' OR NOT NEW.is_present
                OR NEW.live_stream_id <> OLD.live_stream_id THEN
            UPDATE {COUNTS} SET viewers = viewers - 1
            WHERE live_stream_id = OLD.live_stream_id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_present THEN
        IF TG_OP = 'INSERT' OR NOT OLD.is_present
                OR NEW.live_stream_id <> OLD.live_stream_id THEN
            INSERT INTO {COUNTS} (live_stream_id, viewers) VALUES (NEW.live_stream_id, 1)
            ON CONFLICT (live_stream_id) DO UPDATE SET viewers = {COUNTS}.viewers + 1;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER livestreams_viewers_kept
AFTER INSERT OR DELETE OR UPDATE OF is_present, live_stream_id ON {TABLE}
FOR EACH ROW EXECUTE FUNCTION livestreams_viewers_kept();
"""

DROP_POSTGRESQL = f"""
DROP TRIGGER IF EXISTS livestreams_viewers_kept ON {TABLE};
DROP FUNCTION IF EXISTS livestreams_viewers_kept();
"""

_SQLITE_ADD = f"""
    INSERT INTO {COUNTS} (live_stream_id, viewers) VALUES (NEW.live_stream_id, 1)
    ON CONFLICT (live_stream_id) DO UPDATE SET viewers = viewers + 1;
"""
_SQLITE_TAKE = f"""
    UPDATE {COUNTS} SET viewers = viewers - 1 WHERE live_stream_id = OLD.live_stream_id;
"""
CREATE_SQLITE = [
    f"""CREATE TRIGGER livestreams_viewers_insert AFTER INSERT ON {TABLE}
    FOR EACH ROW WHEN NEW.is_present BEGIN {_SQLITE_ADD} END;""",
    f"""CREATE TRIGGER livestreams_viewers_delete AFTER DELETE ON {TABLE}
    FOR EACH ROW WHEN OLD.is_present BEGIN {_SQLITE_TAKE} END;""",
    f"""CREATE TRIGGER livestreams_viewers_leave AFTER UPDATE OF is_present, live_stream_id
    ON {TABLE} FOR EACH ROW
    WHEN OLD.is_present AND (NOT NEW.is_present OR NEW.live_stream_id <> OLD.live_stream_id)
    BEGIN {_SQLITE_TAKE} END;""",
    f"""CREATE TRIGGER livestreams_viewers_arrive AFTER UPDATE OF is_present, live_stream_id
    ON {TABLE} FOR EACH ROW
    WHEN NEW.is_present AND (NOT OLD.is_present OR NEW.live_stream_id <> OLD.live_stream_id)
    BEGIN {_SQLITE_ADD} END;""",
]
DROP_SQLITE = [
    f"DROP TRIGGER IF EXISTS livestreams_viewers_{name};"
    for name in ("insert", "delete", "leave", "arrive")
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(CREATE_POSTGRESQL)
    elif vendor == "sqlite":
        for statement in CREATE_SQLITE:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"No viewer-count triggers for {vendor}.")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(DROP_POSTGRESQL)
    elif vendor == "sqlite":
        for statement in DROP_SQLITE:
            schema_editor.execute(statement)


def backfill(apps, schema_editor):
    """Every stream gets its row, with the audience present now."""
    LiveStream = apps.get_model("livestreams", "LiveStream")
    Participant = apps.get_model("livestreams", "Participant")
    ViewerCount = apps.get_model("livestreams", "ViewerCount")
    present = dict(
        Participant.objects.filter(is_present=True)
        .order_by()
        .values("live_stream")
        .annotate(n=Count("pk"))
        .values_list("live_stream", "n")
    )
    ids = LiveStream.objects.values_list("pk", flat=True).iterator(chunk_size=2000)
    batch = []
    for pk in ids:
        batch.append(ViewerCount(live_stream_id=pk, viewers=present.get(pk, 0)))
        if len(batch) >= 2000:
            ViewerCount.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ViewerCount.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0015_moderators_see_chat"),
    ]

    operations = [
        migrations.CreateModel(
            name="ViewerCount",
            fields=[
                (
                    "live_stream",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="viewer_count",
                        serialize=False,
                        to="livestreams.livestream",
                        verbose_name="live stream",
                    ),
                ),
                ("viewers", models.IntegerField(default=0, verbose_name="viewers now")),
            ],
            options={
                "verbose_name": "viewer count",
                "verbose_name_plural": "viewer counts",
            },
        ),
        migrations.RemoveIndex(
            model_name="participant",
            name="participant_stream_present",
        ),
        migrations.AlterField(
            model_name="participant",
            name="live_stream",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="participants",
                to="livestreams.livestream",
                verbose_name="live stream",
            ),
        ),
        # Last: on SQLite the AlterField above rebuilds the participant table.
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
