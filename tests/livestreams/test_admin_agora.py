"""The Agora jobs in the back office (issue 11): moderators see kicks, recordings
and notices, read-only, and find the failures with the "needs attention" filter."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livestreams.models import (
    AgoraKickStatus,
    AgoraNotice,
    RecordingStatus,
)
from livestreams.services.agora_kicks import MAX_ATTEMPTS
from tests.factories import LiveStreamFactory, UserFactory, agora_kick, recording

KICKS = reverse("admin:livestreams_agorakick_changelist")
RECORDINGS = reverse("admin:livestreams_recording_changelist")
NOTICES = reverse("admin:livestreams_agoranotice_changelist")


def staff(*, moderator: bool) -> Client:
    user = UserFactory(is_staff=True)
    if moderator:
        user.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", [KICKS, RECORDINGS, NOTICES])
def test_moderators_see_the_agora_jobs_and_others_do_not(url):
    assert staff(moderator=True).get(url).status_code == 200
    assert staff(moderator=False).get(url).status_code == 403


@pytest.mark.django_db
def test_the_jobs_are_read_only():
    client = staff(moderator=True)
    stream = LiveStreamFactory()
    job = agora_kick(stream)
    assert client.get(reverse("admin:livestreams_agorakick_add")).status_code == 403
    assert (
        client.get(reverse("admin:livestreams_agorakick_delete", args=[job.pk])).status_code == 403
    )
    page = client.get(reverse("admin:livestreams_agorakick_change", args=[job.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    index = client.get(reverse("admin:index")).content.decode()
    for name in ("Agora kicks", "Recordings", "Agora notices"):
        assert name in index


@pytest.mark.django_db
def test_failing_given_up_and_stuck_kicks_are_easy_to_find():
    stream = LiveStreamFactory(title="Gece yayını")
    now = timezone.now()
    failing = agora_kick(
        stream, status=AgoraKickStatus.FAILED, attempts=2, last_error="HTTP 500 from Agora"
    )
    given_up = agora_kick(
        stream, status=AgoraKickStatus.FAILED, attempts=MAX_ATTEMPTS, last_error="HTTP 401"
    )
    stuck = agora_kick(stream, next_attempt_at=now - timedelta(hours=1))
    done = agora_kick(stream, status=AgoraKickStatus.DONE, rule_id=1001)
    client = staff(moderator=True)

    def shown(query: str) -> set[int]:
        page = client.get(f"{KICKS}?{query}")
        assert page.status_code == 200
        return {
            k.pk
            for k in (failing, given_up, stuck, done)
            if f"/admin/livestreams/agorakick/{k.pk}/change/" in page.content.decode()
        }

    assert shown("attention=failing") == {failing.pk}
    assert shown("attention=given_up") == {given_up.pk}
    assert shown("attention=stuck") == {stuck.pk}
    page = client.get(f"{KICKS}?attention=given_up").content.decode()
    assert "given up" in page and "HTTP 401" in page and "Gece yayını" in page


@pytest.mark.django_db
def test_failed_and_retrying_recordings_are_easy_to_find():
    stream = LiveStreamFactory()
    failed = recording(
        stream, status=RecordingStatus.FAILED, last_error="Gave up after 10 attempts."
    )
    retrying = recording(
        LiveStreamFactory(), status=RecordingStatus.STOPPING, last_error="Stopping failed: HTTP 500"
    )
    ready = recording(
        LiveStreamFactory(), status=RecordingStatus.READY, url="https://cdn.example.com/r.m3u8"
    )
    client = staff(moderator=True)

    failed_page = client.get(f"{RECORDINGS}?attention=failed").content.decode()
    retrying_page = client.get(f"{RECORDINGS}?attention=retrying").content.decode()
    everything = client.get(RECORDINGS).content.decode()

    assert f"/recording/{failed.pk}/change/" in failed_page
    assert f"/recording/{retrying.pk}/change/" not in failed_page
    assert f"/recording/{retrying.pk}/change/" in retrying_page
    assert "https://cdn.example.com/r.m3u8" in everything
    assert f"/recording/{ready.pk}/change/" in everything


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "make"), [(KICKS, "kicks"), (RECORDINGS, "recordings"), (NOTICES, "notices")]
)
def test_the_job_lists_cost_the_same_whatever_their_length(url, make):
    client = staff(moderator=True)
    client.get(url)  # sessions, permissions and content types warmed up

    def add(count: int) -> None:
        for _ in range(count):
            stream = LiveStreamFactory()
            if make == "kicks":
                agora_kick(stream)
            elif make == "recordings":
                recording(stream)
            else:
                AgoraNotice.objects.create(
                    notice_id=f"n{AgoraNotice.objects.count()}",
                    event_type=105,
                    channel_name=stream.channel_name,
                    occurred_at=timezone.now(),
                )

    add(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(20)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [KICKS, RECORDINGS, NOTICES])
@pytest.mark.parametrize("term", ["abc", "123", "ş'\"<>%_", "9" * 40, "-1"])
def test_any_search_term_is_answered(url, term):
    stream = LiveStreamFactory()
    agora_kick(stream)
    recording(stream)
    assert staff(moderator=True).get(url, {"q": term}).status_code == 200
