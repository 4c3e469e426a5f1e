"""The viewer count is kept (ViewerCount, by the participant table's triggers), not
recounted: exact through every way a viewer arrives or leaves, one by one or in
bulk, repaired by `recount_viewers` when it drifts, and read by the lists without
scanning participants."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from livestreams.models import VIEWER_COUNT_SLOTS, LiveStream, Participant, ViewerCount
from livestreams.services.presence import presence_expire
from livestreams.tasks.periodic import recount_viewers
from tests.api import assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory
from tests.livestreams.test_audience import active_stream, duo_stream, join, leave
from tests.livestreams.test_money_concurrency import run_together

API = "/api/v1/live-stream"


def present(stream) -> int:
    return Participant.objects.filter(live_stream=stream, is_present=True).count()


def shown(client, stream) -> int:
    """The count the app sees (GET /live-stream/{id}/viewer-count)."""
    return assert_envelope(client.get(f"{API}/{stream.pk}/viewer-count"), 200)["viewerCount"]


def viewer_count(stream_id: str) -> int:
    """The kept count, as the database holds it: the sum of its slots (0 without
    any)."""
    return sum(
        ViewerCount.objects.filter(live_stream_id=stream_id).values_list("viewers", flat=True)
    )


def assert_kept(stream, expected: int) -> None:
    assert present(stream) == expected
    assert viewer_count(stream.pk) == expected


def ban(client, stream, target, action="BLOCK"):
    body = {"liveStreamId": stream.pk, "targetUserId": target.pk, "actionType": action}
    return assert_envelope(client.post("/api/v1/live-stream-ban", body, format="json"), 200)


@pytest.mark.django_db
def test_the_count_follows_joins_leaves_rejoins_bans_expiry_and_the_end(client_for):
    stream, (guest,) = duo_stream()
    viewers = UserFactory.create_batch(5)
    clients = [client_for(v) for v in viewers]
    observer = client_for(UserFactory())
    creator = client_for(stream.creator)
    assert_kept(stream, 0)
    assert shown(observer, stream) == 0

    for client in clients:
        assert_envelope(join(client, stream.pk), 200)
    assert_kept(stream, 5)
    assert shown(observer, stream) == 5
    # The guest broadcasting is not the audience.
    body = {"liveStreamId": stream.pk}
    assert_envelope(client_for(guest).post(f"{API}/join-as-guest", body, format="json"), 200)
    assert_kept(stream, 5)

    assert_envelope(join(clients[0], stream.pk), 200)  # a rejoin while present
    assert_kept(stream, 5)
    assert_envelope(leave(clients[1], stream.pk), 200)
    assert_envelope(leave(clients[1], stream.pk), 200)  # leaving twice takes one
    assert_kept(stream, 4)
    assert shown(observer, stream) == 4
    assert_envelope(join(clients[1], stream.pk), 200)  # back
    assert_kept(stream, 5)

    ban(creator, stream, viewers[2], "CHAT_ONLY")  # keeps watching
    assert_kept(stream, 5)
    ban(creator, stream, viewers[3])  # a BLOCK takes them out
    assert_kept(stream, 4)
    assert shown(observer, stream) == 4
    assert_error(join(clients[3], stream.pk), 403)
    assert_kept(stream, 4)

    # A viewer whose app died: presence expires after AGORA_PRESENCE_TIMEOUT.
    long_ago = timezone.now() - timedelta(days=1)
    Participant.objects.filter(live_stream=stream, user=viewers[4]).update(last_seen_at=long_ago)
    assert presence_expire() == 1
    assert_kept(stream, 3)
    assert shown(observer, stream) == 3

    assert_envelope(creator.post(f"{API}/{stream.pk}/end"), 200)
    assert_kept(stream, 0)
    assert shown(observer, stream) == 0
    assert Participant.objects.filter(live_stream=stream).count() == 5


@pytest.mark.django_db
def test_bulk_writes_keep_the_count_row_by_row():
    stream, other = active_stream(), active_stream()
    users = UserFactory.create_batch(6)
    Participant.objects.bulk_create(Participant(live_stream=stream, user=u) for u in users[:4])
    Participant.objects.bulk_create(
        [
            Participant(live_stream=stream, user=users[4], is_present=False),
            Participant(live_stream=other, user=users[5]),
        ]
    )
    assert_kept(stream, 4)
    assert_kept(other, 1)

    # One UPDATE over many rows, some already gone: each row that changes counts.
    Participant.objects.filter(live_stream=stream, user__in=users[2:5]).update(is_present=False)
    assert_kept(stream, 2)
    Participant.objects.filter(live_stream=stream).update(is_present=True)
    assert_kept(stream, 5)
    # A row moved to another stream moves its count.
    Participant.objects.filter(live_stream=stream, user=users[0]).update(live_stream=other)
    assert_kept(stream, 4)
    assert_kept(other, 2)
    # Deleting present rows takes them off; deleting a gone one changes nothing.
    Participant.objects.filter(live_stream=stream, user=users[4]).update(is_present=False)
    Participant.objects.filter(live_stream=stream, user__in=users[3:5]).delete()
    assert_kept(stream, 2)
    # Deleting the stream takes its count with it.
    stream.delete()
    assert not ViewerCount.objects.filter(live_stream_id=stream.pk).exists()
    assert_kept(other, 2)


@pytest.mark.django_db
def test_the_peak_follows_every_arrival_and_never_falls(client_for):
    stream = active_stream()
    users = UserFactory.create_batch(5)

    def peak() -> int:
        return LiveStream.objects.values_list("peak_viewers", flat=True).get(pk=stream.pk)

    Participant.objects.bulk_create(Participant(live_stream=stream, user=u) for u in users[:3])
    assert peak() == 3
    Participant.objects.filter(live_stream=stream).update(is_present=False)
    assert (viewer_count(stream.pk), peak()) == (0, 3)  # leaving never lowers it
    Participant.objects.filter(live_stream=stream, user=users[0]).update(is_present=True)
    assert (viewer_count(stream.pk), peak()) == (1, 3)
    for user in users:  # two first joins, three rejoins (one while present)
        assert_envelope(join(client_for(user), stream.pk), 200)
    assert (viewer_count(stream.pk), peak()) == (5, 5)
    assert_envelope(leave(client_for(users[4]), stream.pk), 200)
    assert (viewer_count(stream.pk), peak()) == (4, 5)


@pytest.mark.django_db
def test_a_stream_nobody_joined_counts_zero():
    stream = LiveStreamFactory()
    assert viewer_count(stream.pk) == 0


@pytest.mark.django_db
def test_recount_viewers_repairs_a_drift_and_says_what_it_did():
    stream, quiet = active_stream(), active_stream()
    Participant.objects.bulk_create(
        Participant(live_stream=stream, user=u) for u in UserFactory.create_batch(3)
    )
    ViewerCount.objects.filter(live_stream=stream).update(viewers=42)
    ViewerCount.objects.create(live_stream=quiet, slot=5, viewers=-2)

    out = StringIO()
    call_command("recount_viewers", "--dry-run", stdout=out)
    assert f"{stream.pk}: kept 42, present 3" in out.getvalue()
    assert "2 stream(s) whose viewer count drifted" in out.getvalue()
    assert viewer_count(stream.pk) == 42  # a dry run changes nothing

    out = StringIO()
    call_command("recount_viewers", stdout=out)
    assert "2 stream(s) checked, 2 viewer count(s) repaired" in out.getvalue()
    assert_kept(stream, 3)
    assert viewer_count(quiet.pk) == 0

    out = StringIO()
    call_command("recount_viewers", stdout=out)  # idempotent
    assert "0 stream(s) checked, 0 viewer count(s) repaired" in out.getvalue()


@pytest.mark.django_db
def test_the_periodic_job_repairs_a_missing_count_row():
    stream = active_stream()
    Participant.objects.bulk_create(
        Participant(live_stream=stream, user=u) for u in UserFactory.create_batch(2)
    )
    ViewerCount.objects.filter(live_stream=stream).delete()
    assert viewer_count(stream.pk) == 0

    assert recount_viewers() == {"checked": 1, "repaired": 1}
    assert_kept(stream, 2)


@pytest.mark.django_db
def test_featured_ranks_by_the_kept_count_without_scanning_participants(client_for):
    quiet, busy, middle = active_stream(), active_stream(), active_stream()
    for stream, size in ((quiet, 1), (busy, 4), (middle, 2)):
        Participant.objects.bulk_create(
            Participant(live_stream=stream, user=u) for u in UserFactory.create_batch(size)
        )
    client = client_for(UserFactory())

    with CaptureQueriesContext(connection) as queries:
        data = assert_envelope(client.get(f"{API}/featured"), 200)

    listed = [s["id"] for s in (data if isinstance(data, list) else data["list"])]
    assert listed[:3] == [busy.pk, middle.pk, quiet.pk]
    # The participant table is read only for the caller's own rows (their role).
    scans = [
        q["sql"]
        for q in queries
        if "livestreams_participant" in q["sql"]
        and '"livestreams_participant"."user_id" = ' not in q["sql"]
    ]
    assert scans == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_joins_and_leaves_keep_the_count_exact(client_for):
    stream = active_stream()
    stayers, leavers = UserFactory.create_batch(8), UserFactory.create_batch(4)
    for user in leavers:
        assert_envelope(join(client_for(user), stream.pk), 200)
    joiners = [client_for(u) for u in stayers]
    quitters = [client_for(u) for u in leavers]
    rejoiners = [client_for(u) for u in stayers[:4]]
    calls = [lambda c=c: join(c, stream.pk) for c in joiners]
    calls += [lambda c=c: leave(c, stream.pk) for c in quitters]
    calls += [lambda c=c: join(c, stream.pk) for c in rejoiners]

    responses = run_together(calls)

    assert [r.status_code for r in responses] == [200] * len(calls)
    assert_kept(stream, len(stayers))
    assert shown(client_for(UserFactory()), stream) == len(stayers)
    assert Participant.objects.filter(live_stream=stream).count() == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_joins_through_many_connections_count_in_slots_and_leave_through_any(client_for):
    """Each database connection moves its own slot of the count (concurrent joins
    never queue on one row); a viewer leaving through another connection than the
    one they joined through is still taken off, and the sum stays exact."""
    stream = active_stream()
    viewers = UserFactory.create_batch(12)

    clients = [client_for(v) for v in viewers]
    responses = run_together([lambda c=c: join(c, stream.pk) for c in clients])

    assert [r.status_code for r in responses] == [200] * len(viewers)
    assert_kept(stream, 12)
    slots = dict(ViewerCount.objects.filter(live_stream=stream).values_list("slot", "viewers"))
    assert len(slots) > 1, slots  # the threads' connections wrote different slots
    assert set(slots) <= set(range(VIEWER_COUNT_SLOTS))

    # This thread's connection joined nobody. Without a row of its own slot, each
    # leave through it takes one off the stream's first slot instead.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() %% %s", [VIEWER_COUNT_SLOTS])
        (mine,) = cursor.fetchone()
    if mine in slots:  # a joiner's connection shared it: move its count elsewhere
        other = min(set(slots) - {mine})
        ViewerCount.objects.filter(live_stream=stream, slot=other).update(
            viewers=slots[other] + slots.pop(mine)
        )
        ViewerCount.objects.filter(live_stream=stream, slot=mine).delete()
        slots[other] = ViewerCount.objects.get(live_stream=stream, slot=other).viewers
    first = min(slots)
    for viewer in viewers[:5]:
        assert_envelope(leave(client_for(viewer), stream.pk), 200)
    assert_kept(stream, 7)
    assert ViewerCount.objects.get(live_stream=stream, slot=first).viewers == slots[first] - 5
    assert not ViewerCount.objects.filter(live_stream=stream, slot=mine).exists()
    assert shown(client_for(UserFactory()), stream) == 7
    assert recount_viewers() == {"checked": 0, "repaired": 0}

    # The recount gathers a count back into slot 0.
    ViewerCount.objects.filter(live_stream=stream, slot=min(slots)).update(viewers=100)
    assert recount_viewers() == {"checked": 1, "repaired": 1}
    assert_kept(stream, 7)
    assert set(
        ViewerCount.objects.filter(live_stream=stream)
        .exclude(slot=0)
        .values_list("viewers", flat=True)
    ) == {0}
