"""`manage.py load_demo_data` (what `make run` loads): on an empty database it makes
the users and the streams it announces, in the states it claims, through the
services; run again, it makes nothing and changes nothing; the ledger adds up."""

import io
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import CreditTransaction, ProfilePhoto, User
from livestreams.lifecycle import LiveStreamStatus, is_fundable, is_rentable
from livestreams.management.commands.load_demo_data import (
    ADMIN_USERNAME,
    DEMO_CHAT,
    DEMO_GIFTS,
    DEMO_PASSWORD,
    DEMO_USERS,
    MODERATOR_USERNAME,
)
from livestreams.models import (
    ChatMessage,
    Gift,
    GiftType,
    Guest,
    LiveStream,
    LiveStreamType,
    Participant,
    ReportStatus,
    StreamReminder,
    StreamReport,
    Superlike,
)
from tests.helpers import assert_balances_add_up, world_snapshot

S = LiveStreamStatus
READY = re.compile(r"Demo data ready \((\d+) objects created\)\.")


def load() -> str:
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for label in ("allmine", "accounts", "livestreams")
        for model in apps.get_app_config(label).get_models()
    }


def stream(title: str) -> LiveStream:
    return LiveStream.objects.select_related("creator").get(title=title)


@pytest.mark.django_db
def test_demo_data_loads_twice_on_an_empty_database(moderators_group, media_root):
    assert not User.objects.exists() and not LiveStream.objects.exists()

    first = load()

    made = int(READY.search(first).group(1))
    usernames = [username for username, *_ in DEMO_USERS]
    # Gift types, viewers, chat messages, a superlike, gifts, a report, a reminder.
    room = len(DEMO_GIFTS) + 2 + len(DEMO_CHAT) + 1 + 2 + 1 + 1
    assert made == len(usernames) + 2 + 4 + 1 + room  # users, admin and moderator, streams, photo
    assert set(User.objects.values_list("username", flat=True)) == {
        *usernames,
        ADMIN_USERNAME,
        MODERATOR_USERNAME,
    }
    for username in usernames:  # each login announced with its id, and working
        user = User.objects.get(username=username)
        assert re.search(rf"^  {username} .*_id={user.pk}$", first, re.M), first
        assert user.check_password(DEMO_PASSWORD)
    admin = User.objects.get(username=ADMIN_USERNAME)
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    moderator = User.objects.get(username=MODERATOR_USERNAME)
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.all()) == [moderators_group]
    assert moderator.has_perm("livestreams.moderate_livestream")
    assert ProfilePhoto.objects.filter(user__username="demo_creator").exists()

    # The states it claims.
    assert LiveStream.objects.count() == 4
    scheduled = stream("Yeni ürün tanıtımı")
    assert scheduled.status == S.SCHEDULED
    assert scheduled.live_stream_type == LiveStreamType.DUOSELF
    assert is_fundable(scheduled) and scheduled.collected_funding == 0
    assert scheduled.planned_start_date > scheduled.created_at
    assert list(Guest.objects.filter(live_stream=scheduled).values_list("user__username")) == [
        ("demo_guest",)
    ]
    replay = stream("Dünkü akustik konser")
    assert replay.status == S.ENDED
    assert replay.started_at < replay.ended_at
    assert replay.recording and replay.recording_url.startswith("https://")
    assert is_rentable(replay)
    cancelled = stream("İptal edilen soru-cevap")
    assert cancelled.status == S.CANCELLED_BY_HOST
    assert cancelled.started_at is None
    live = stream("Canlı oyun gecesi")
    assert live.status == S.ACTIVE
    assert live.host_present and live.started_at is not None
    assert live.creator.username == "demo_host"
    assert not LiveStream.objects.filter(deleted_at__isnull=False).exists()
    assert_balances_add_up()

    # Again: nothing made, nothing changed.
    counts, before = row_counts(), world_snapshot()

    second = load()

    assert READY.search(second).group(1) == "0"
    assert row_counts() == counts
    assert world_snapshot() == before
    assert_balances_add_up()


@pytest.mark.django_db
def test_demo_data_is_never_loaded_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="never loaded in production"):
        load()

    assert not User.objects.exists() and not LiveStream.objects.exists()


@pytest.mark.django_db
def test_the_demo_has_a_live_room_and_runs_twice_harmlessly(moderators_group, media_root):
    call_command("load_demo_data", stdout=io.StringIO())

    live = LiveStream.objects.get(title="Canlı oyun gecesi")
    assert live.status == LiveStreamStatus.ACTIVE
    viewers = Participant.objects.filter(live_stream=live, is_present=True)
    assert set(viewers.values_list("user__username", flat=True)) == {"demo_fan", "demo_viewer"}
    assert live.__class__.objects.get(pk=live.pk).peak_viewers == 2
    assert GiftType.objects.filter(is_active=True).count() == 3
    assert Gift.objects.filter(live_stream=live, sender__username="demo_fan").count() == 2
    report = StreamReport.objects.get(live_stream=live)
    assert (report.status, report.reporter.username) == (ReportStatus.OPEN, "demo_fan")
    assert StreamReminder.objects.filter(user__username="demo_viewer").count() == 1
    assert CreditTransaction.objects.filter(kind="gift_revenue", user=live.creator).exists()
    chat = ChatMessage.objects.filter(live_stream=live).order_by("created_at", "id")
    assert [(m.sender.username, m.content) for m in chat] == DEMO_CHAT
    superlike = Superlike.objects.get(live_stream=live)
    assert superlike.sender.username == "demo_fan"
    assert CreditTransaction.objects.filter(kind="superlike_revenue", user=live.creator).exists()
    before = row_counts()

    out = io.StringIO()
    call_command("load_demo_data", stdout=out)

    assert row_counts() == before
    assert "(0 objects created)" in out.getvalue()
