"""The cached stream (issue 13): the viewer count and the stream's
audience-independent representation come from the shared cache, the caller's
part is computed on top, and every write that changes what a user sees forgets
the entry when it commits, so the next read (on any node: the cache is shared)
shows the change.

These tests commit (`transaction=True`): inside a test's transaction nothing is
ever cached, since the forgets wait for a commit that never comes. Query counts
include the one query of authentication (the caller's row and photo)."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from livestreams.caching import stream_key, viewers_key
from livestreams.lifecycle import LiveStreamStatus
from livestreams.services.moderation import (
    livestream_admin_update,
    livestream_set_prices,
    livestream_update_replay_settings,
)
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, UserFactory
from tests.livestreams.test_audience import active_stream, duo_stream, join, leave
from tests.livestreams.test_money import scheduled_stream

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/live-stream"
AUTH = 1  # authentication: the caller with their photo


def detail(client, stream):
    return assert_envelope(client.get(f"{API}/{stream.pk}"), 200)


def viewers(client, stream):
    return assert_envelope(client.get(f"{API}/{stream.pk}/viewer-count"), 200)["viewerCount"]


# --- Reads on a cache hit ----------------------------------------------------------------


def test_a_viewer_count_poll_costs_no_query_when_cached(client_for, django_assert_num_queries):
    stream = active_stream()
    assert_envelope(join(client_for(UserFactory()), stream.pk), 200)
    client = client_for(UserFactory())
    assert viewers(client, stream) == 1  # a miss: one query on the kept count

    with django_assert_num_queries(AUTH):
        assert viewers(client, stream) == 1


def test_a_stream_poll_costs_one_query_when_cached(client_for, django_assert_num_queries):
    stream, (guest,) = duo_stream()
    viewer = UserFactory()
    client = client_for(viewer)
    first = detail(client, stream)  # a miss

    # The caller's part: one query for their flags (audience, rental).
    with django_assert_num_queries(AUTH + 1):
        again = detail(client, stream)
    assert again == first
    assert again["role"] is None
    assert_envelope(join(client, stream.pk), 200)
    with django_assert_num_queries(AUTH + 1):
        assert detail(client, stream)["role"] == "audience"
    # The creator and the guests are known from the snapshot itself.
    with django_assert_num_queries(AUTH):
        host = detail(client_for(stream.creator), stream)
    assert (host["role"], host["replayAccess"]["status"]) == ("host", "owner")
    with django_assert_num_queries(AUTH):
        assert detail(client_for(guest), stream)["role"] == "guest"
    # Apart from the caller's part, everyone sees the same object.
    strip = ("role", "replayAccess", "recordingUrl")
    assert {k: v for k, v in host.items() if k not in strip} == {
        k: v for k, v in first.items() if k not in strip
    }


def test_a_join_on_a_cached_stream(client_for, django_assert_num_queries):
    stream = active_stream()
    detail(client_for(UserFactory()), stream)  # cached
    client = client_for(UserFactory())

    # The caller's flags with the stream's status and price, then the insert (its
    # triggers keep the count and the peak), committed on its own: no transaction.
    with django_assert_num_queries(AUTH + 2):
        data = assert_envelope(join(client, stream.pk), 200)
    assert data["liveStream"]["role"] == "audience"
    assert data["liveStream"]["id"] == stream.pk
    assert viewers(client_for(UserFactory()), stream) == 1


def test_a_failing_cache_is_not_an_error(client_for, monkeypatch):
    stream = active_stream()

    asked = []

    def broken(name):
        def fail(*args, **kwargs):
            asked.append(name)
            raise ConnectionError("the cache is down")

        return fail

    for name in ("get", "set", "delete_many"):
        monkeypatch.setattr(cache, name, broken(name))
    client = client_for(UserFactory())
    assert detail(client, stream)["id"] == stream.pk
    assert_envelope(join(client, stream.pk), 200)
    assert viewers(client, stream) == 1
    # Every kind of cache call was made, and failed.
    assert {"get", "set", "delete_many"} <= set(asked), asked


# --- Every write forgets it ----------------------------------------------------------------


def test_a_price_change_is_seen_at_once_and_forgotten_on_commit(client_for, superuser):
    stream = active_stream()
    client = client_for(UserFactory())
    assert detail(client, stream)["price"] is None
    assert cache.get(stream_key(stream.pk)) is not None

    with transaction.atomic():
        livestream_set_prices(actor=superuser, live_stream_id=stream.pk, price=Decimal("7.00"))
        # Not before the commit: another node would cache what is not committed.
        assert cache.get(stream_key(stream.pk)) is not None
    # Every node reads the shared cache: the entry is gone for all of them.
    assert cache.get(stream_key(stream.pk)) is None
    data = detail(client, stream)
    assert (data["price"], data["accessType"]) == (7.0, "paid")


def test_a_rolled_back_write_leaves_no_trace_in_the_cache(client_for, superuser):
    stream = active_stream()
    client = client_for(UserFactory())

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        livestream_admin_update(
            actor=superuser, live_stream_id=stream.pk, changes={"title": "Not kept"}
        )
        # Read inside the writing transaction: served, never cached.
        assert detail(client, stream)["title"] == "Not kept"
        raise Undo
    assert detail(client, stream)["title"] == stream.title


def test_edits_status_changes_and_replay_settings_are_seen(client_for, superuser):
    stream = active_stream(recording=True)
    client = client_for(UserFactory())
    creator = client_for(stream.creator)
    detail(client, stream)

    livestream_admin_update(actor=superuser, live_stream_id=stream.pk, changes={"title": "New"})
    assert detail(client, stream)["title"] == "New"

    assert_envelope(creator.post(f"{API}/{stream.pk}/end"), 200)
    data = detail(client, stream)
    assert data["status"] == LiveStreamStatus.ENDED
    assert data["broadcasters"][0]["hasJoined"] is False

    livestream_update_replay_settings(
        actor=stream.creator,
        live_stream_id=stream.pk,
        is_active_replay_on_creator_profile=True,
        replay_credit_price=Decimal("3.00"),
    )
    data = detail(client, stream)
    assert (data["isActiveReplayOnCreatorProfile"], data["replayCreditPrice"]) == (True, 3.0)


def test_broadcasters_coming_and_going_are_seen(client_for):
    stream, (guest,) = duo_stream()
    client = client_for(UserFactory())
    guest_client = client_for(guest)
    body = {"liveStreamId": stream.pk}
    assert [b["hasJoined"] for b in detail(client, stream)["broadcasters"]] == [True, False]

    assert_envelope(guest_client.post(f"{API}/join-as-guest", body, format="json"), 200)
    assert [b["hasJoined"] for b in detail(client, stream)["broadcasters"]] == [True, True]
    assert_envelope(leave(guest_client, stream.pk), 200)
    assert [b["hasJoined"] for b in detail(client, stream)["broadcasters"]] == [True, False]
    assert_envelope(leave(client_for(stream.creator), stream.pk), 200)
    assert [b["hasJoined"] for b in detail(client, stream)["broadcasters"]] == [False, False]

    # A BLOCK takes a guest off the broadcast.
    assert_envelope(guest_client.post(f"{API}/join-as-guest", body, format="json"), 200)
    detail(client, stream)
    ban = {"liveStreamId": stream.pk, "targetUserId": guest.pk, "actionType": "BLOCK"}
    creator = client_for(stream.creator)
    assert_envelope(creator.post("/api/v1/live-stream-ban", ban, format="json"), 200)
    assert [b["hasJoined"] for b in detail(client, stream)["broadcasters"]] == [False, False]


def test_funding_is_seen(client_for):
    stream = scheduled_stream(funding_goal="100")
    backer = UserFactory(credits="50.00")
    client = client_for(UserFactory())
    assert detail(client, stream)["collectedFunding"] == 0

    body = {"amount": 20}
    assert_envelope(client_for(backer).post(f"{API}/{stream.pk}/fund", body, format="json"), 201)
    data = detail(client, stream)
    assert (data["collectedFunding"], data["fundingPercentage"]) == (20.0, 20.0)


def test_a_new_guest_is_seen(client_for):
    stream, _guests = duo_stream()
    client = client_for(UserFactory())
    assert len(detail(client, stream)["guests"]) == 1
    added = GuestFactory(live_stream=stream)
    guests = detail(client, stream)["guests"]
    assert len(guests) == 2
    assert added.user_id in guests


def test_a_removed_stream_is_gone_from_the_detail_and_the_count(client_for, moderator):
    stream = scheduled_stream(funding_goal=None)
    client = client_for(UserFactory())
    detail(client, stream)
    assert viewers(client, stream) == 0
    assert cache.get(viewers_key(stream.pk)) == 0

    assert_envelope(client_for(moderator).delete(f"{API}/{stream.pk}"), 200)
    assert_error(client.get(f"{API}/{stream.pk}"), 404)
    assert_error(client.get(f"{API}/{stream.pk}/viewer-count"), 404)
    assert_error(join(client, stream.pk), 404)


def test_the_count_is_forgotten_by_joins_and_leaves(client_for):
    stream = active_stream()
    observer = client_for(UserFactory())
    viewer = client_for(UserFactory())
    assert viewers(observer, stream) == 0
    assert_envelope(join(viewer, stream.pk), 200)
    assert viewers(observer, stream) == 1
    assert_envelope(leave(viewer, stream.pk), 200)
    assert viewers(observer, stream) == 0
    assert_envelope(join(viewer, stream.pk), 200)
    assert viewers(observer, stream) == 1
