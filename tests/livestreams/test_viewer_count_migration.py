"""Migration 0018 (the viewer count in slots, the peak kept by the triggers) on a
database with an audience: forward, each stream's count is in its slot 0 and the
new triggers keep it; back to 0017, the single-row count and 0016's triggers are
there again, with the count exact."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from livestreams.models import LiveStream, Participant
from tests.factories import LiveStreamFactory, UserFactory

BEFORE = [("livestreams", "0017_participant_no_pattern_indexes")]
AFTER = [("livestreams", "0018_viewer_count_slots")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def counts() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM livestreams_viewercount ORDER BY 1, 2")
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_0018_moves_the_counts_into_slots_and_back():
    try:
        migrate(BEFORE)
        stream = LiveStreamFactory(status="active")
        Participant.objects.bulk_create(
            Participant(live_stream=stream, user=u) for u in UserFactory.create_batch(3)
        )
        assert counts() == [(stream.pk, 3)]  # 0016's single row

        migrate(AFTER)
        assert counts() == [(stream.pk, 0, 3)]
        late = UserFactory()
        Participant.objects.create(live_stream=stream, user=late)
        assert sum(row[2] for row in counts()) == 4
        assert LiveStream.objects.get(pk=stream.pk).peak_viewers == 4

        migrate(BEFORE)
        assert counts() == [(stream.pk, 4)]
        Participant.objects.filter(user=late).update(is_present=False)
        assert counts() == [(stream.pk, 3)]  # 0016's triggers keep it again
    finally:
        migrate(AFTER)
    assert counts() == [(stream.pk, 0, 3)]
