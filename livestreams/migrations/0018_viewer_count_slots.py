"""A stream's kept viewer count is spread over slots: one ViewerCount row per
stream and slot, the count being their sum. The triggers (0016's, replaced here)
move the row of the writing session's slot, on PostgreSQL its backend's process id
modulo SLOTS, so that concurrent joins through different connections never wait
for each other on one row. With a single row per stream, every join held that row
from its insert to its commit, and a join burst went at the pace of one commit at
a time.

The same triggers now raise the stream's peak (`peak_viewers`) to the count when
a viewer arrives (on PostgreSQL, also when a present viewer joins again, to catch
up on a peak skipped during a burst), in the statement that wrote the presence: a
join no longer sends an UPDATE of its own for it, nor does an arrival reported by
Agora. SQLite has one writer at a time: its peak never lags.

A viewer can leave through another session than the one they joined through: the
leave takes one off its own slot's row if it has one, else off the stream's
first row. A slot may so go below zero; the sum stays exact. A stream that has no
row at all (being deleted: Django deletes its counts before its participants) is
left alone, as before.

SQLite has one writer at a time: its triggers use slot 0 only.

Django cannot turn a one-column primary key into a composite one: the table is
made again (the counts are recounted into slot 0 of the new one). As in 0016, a
later migration that rebuilds the participant table on SQLite drops its triggers
and must create them again (CREATE_SQLITE below).
"""

from importlib import import_module

from django.db import migrations, models

# 0016's triggers and count, for going back; its backfill fills slot 0 going forward
# (a ViewerCount made without a slot is in slot 0).
single_row = import_module("livestreams.migrations.0016_viewer_count")

TABLE = "livestreams_participant"
COUNTS = "livestreams_viewercount"
SLOTS = 64  # livestreams.models.VIEWER_COUNT_SLOTS
STREAMS = "livestreams_livestream"

# `%%`: the statement goes through the driver's parameter substitution.
CREATE_POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION livestreams_viewers_kept() RETURNS trigger AS $$
DECLARE
    my_slot smallint := pg_backend_pid() %% {SLOTS};
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.is_present THEN
        IF TG_OP = 'DELETE' OR NOT NEW.is_present
                OR NEW.live_stream_id <> OLD.live_stream_id THEN
            UPDATE {COUNTS} SET viewers = viewers - 1
            WHERE live_stream_id = OLD.live_stream_id AND slot = my_slot;
            IF NOT FOUND THEN
                UPDATE {COUNTS} SET viewers = viewers - 1
                WHERE live_stream_id = OLD.live_stream_id AND slot = (
                    SELECT min(slot) FROM {COUNTS} WHERE live_stream_id = OLD.live_stream_id
                );
            END IF;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_present THEN
        IF TG_OP = 'INSERT' OR NOT OLD.is_present
                OR NEW.live_stream_id <> OLD.live_stream_id THEN
            INSERT INTO {COUNTS} (live_stream_id, slot, viewers)
            VALUES (NEW.live_stream_id, my_slot, 1)
            ON CONFLICT (live_stream_id, slot) DO UPDATE SET viewers = {COUNTS}.viewers + 1;
        END IF;
        -- The peak, on every write of a present row's presence (an arrival, or a
        -- join again while present): raised while the count is past it, never
        -- waiting for the stream's row. One locked elsewhere is skipped, so the
        -- peak can lag by the arrivals in flight, until the next join. FOR NO KEY
        -- UPDATE lets the other arrivals' rows take their foreign key's KEY SHARE.
        UPDATE {STREAMS} AS stream SET peak_viewers = counted.viewers
        FROM (
            SELECT sum(viewers) AS viewers FROM {COUNTS}
            WHERE live_stream_id = NEW.live_stream_id
        ) AS counted
        WHERE stream.id = NEW.live_stream_id AND stream.peak_viewers < counted.viewers
        AND stream.id IN (
            SELECT id FROM {STREAMS} WHERE id = NEW.live_stream_id
            FOR NO KEY UPDATE SKIP LOCKED
        );
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_triggers(add: str, take: str) -> list[str]:
    return [
        f"""CREATE TRIGGER livestreams_viewers_insert AFTER INSERT ON {TABLE}
        FOR EACH ROW WHEN NEW.is_present BEGIN {add} END;""",
        f"""CREATE TRIGGER livestreams_viewers_delete AFTER DELETE ON {TABLE}
        FOR EACH ROW WHEN OLD.is_present BEGIN {take} END;""",
        f"""CREATE TRIGGER livestreams_viewers_leave AFTER UPDATE OF is_present, live_stream_id
        ON {TABLE} FOR EACH ROW
        WHEN OLD.is_present AND (NOT NEW.is_present OR NEW.live_stream_id <> OLD.live_stream_id)
        BEGIN {take} END;""",
        f"""CREATE TRIGGER livestreams_viewers_arrive AFTER UPDATE OF is_present, live_stream_id
        ON {TABLE} FOR EACH ROW
        WHEN NEW.is_present AND (NOT OLD.is_present OR NEW.live_stream_id <> OLD.live_stream_id)
        BEGIN {add} END;""",
    ]


_SQLITE_NOW = f"(SELECT sum(viewers) FROM {COUNTS} WHERE live_stream_id = NEW.live_stream_id)"
CREATE_SQLITE = _sqlite_triggers(
    add=f"""
    INSERT INTO {COUNTS} (live_stream_id, slot, viewers) VALUES (NEW.live_stream_id, 0, 1)
    ON CONFLICT (live_stream_id, slot) DO UPDATE SET viewers = viewers + 1;
    UPDATE {STREAMS} SET peak_viewers = {_SQLITE_NOW}
    WHERE id = NEW.live_stream_id AND peak_viewers < {_SQLITE_NOW};
    """,
    take=f"""
    UPDATE {COUNTS} SET viewers = viewers - 1
    WHERE live_stream_id = OLD.live_stream_id AND slot = 0;
    """,
)
DROP_SQLITE = [
    f"DROP TRIGGER IF EXISTS livestreams_viewers_{name};"
    for name in ("insert", "delete", "leave", "arrive")
]


def slotted(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(CREATE_POSTGRESQL)  # the trigger stays: its function changes
    elif vendor == "sqlite":
        for statement in [*DROP_SQLITE, *CREATE_SQLITE]:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"No viewer-count triggers for {vendor}.")
    single_row.backfill(apps, schema_editor)  # every stream's count, in its slot 0


def back_to_a_single_row(apps, schema_editor):
    """0016's triggers and counts again (its table is back by now)."""
    single_row.drop_triggers(apps, schema_editor)
    single_row.create_triggers(apps, schema_editor)
    single_row.backfill(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0017_participant_no_pattern_indexes"),
    ]

    operations = [
        # Going back, this runs last: once 0016's table is there again.
        migrations.RunPython(migrations.RunPython.noop, back_to_a_single_row),
        migrations.DeleteModel(name="ViewerCount"),
        migrations.CreateModel(
            name="ViewerCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "live_stream_id",
                        "slot",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "live_stream",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="viewer_counts",
                        to="livestreams.livestream",
                        verbose_name="live stream",
                    ),
                ),
                ("slot", models.PositiveSmallIntegerField(default=0, verbose_name="slot")),
                ("viewers", models.IntegerField(default=0, verbose_name="viewers now")),
            ],
            options={
                "verbose_name": "viewer count",
                "verbose_name_plural": "viewer counts",
            },
        ),
        migrations.RunPython(slotted, migrations.RunPython.noop),
    ]
