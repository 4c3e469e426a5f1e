"""Reminders (API-more §7.9): setting one, when it fires (once, through the
notifier the settings name), and when it is dropped; the staff command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import (
    BanAction,
    LiveStream,
    LiveStreamBan,
    ReminderMode,
    ReminderState,
    StreamReminder,
)
from livestreams.notifiers import LoggingNotifier, ReminderNotice, reminder_notifier
from livestreams.services.broadcasting import livestream_join_as_creator
from livestreams.services.jobs import livestream_expire
from livestreams.services.moderation import livestream_cancel, livestream_end, livestream_remove
from livestreams.services.reminders import reminder_set, reminders_run_due
from tests.api import assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory


def moderator_user():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    return user


def reminder_url(stream_id) -> str:
    return f"/api/v1/live-stream/{stream_id}/reminder"


def scheduled(in_minutes: int = 120, **fields) -> LiveStream:
    start = timezone.now() + timedelta(minutes=in_minutes)
    return LiveStreamFactory(status=S.SCHEDULED, planned_start_date=start, **fields)


class RecordingNotifier:
    """Keeps what it was asked to send; `fail` makes it raise instead."""

    sent: list[ReminderNotice] = []
    fail = False

    def send_reminder(self, notice: ReminderNotice) -> None:
        if RecordingNotifier.fail:
            raise ConnectionError("push provider down")
        RecordingNotifier.sent.append(notice)


@pytest.fixture
def notifier(settings):
    settings.REMINDER_NOTIFIER = "tests.livestreams.test_reminders.RecordingNotifier"
    RecordingNotifier.sent = []
    RecordingNotifier.fail = False
    return RecordingNotifier


# --- Setting a reminder -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_reminder_before_the_start(client_for):
    stream = scheduled(in_minutes=120)
    fan = UserFactory()

    data = assert_envelope(client_for(fan).post(reminder_url(stream.pk), {"minute": 15}), 200)

    expected = stream.planned_start_date - timedelta(minutes=15)
    assert data == {
        "streamId": stream.pk,
        "minute": 15,
        "mode": "BEFORE_START",
        "scheduledFor": expected.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{expected.microsecond // 1000:03d}Z",
        "status": "ARMED",
    }
    reminder = StreamReminder.objects.get()
    assert (reminder.user_id, reminder.live_stream_id, reminder.minute) == (fan.pk, stream.pk, 15)
    assert (reminder.mode, reminder.state, reminder.scheduled_for) == (
        ReminderMode.BEFORE_START,
        ReminderState.ARMED,
        expected,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"minute": None}, {"minute": 0}])
def test_no_minute_means_when_it_starts(client_for, body):
    stream = scheduled(in_minutes=120)
    response = client_for(UserFactory()).post(reminder_url(stream.pk), body, format="json")
    data = assert_envelope(response, 200)
    assert (data["minute"], data["mode"], data["status"]) == (0, "ON_START", "ARMED_ON_START")
    assert data["scheduledFor"] is not None  # the planned start


@pytest.mark.django_db
def test_a_minute_already_past_becomes_on_start(client_for):
    stream = scheduled(in_minutes=10)
    data = assert_envelope(
        client_for(UserFactory()).post(reminder_url(stream.pk), {"minute": 30}), 200
    )
    assert (data["minute"], data["mode"], data["status"]) == (30, "ON_START", "ARMED_ON_START")


@pytest.mark.django_db
def test_a_preparing_stream_without_a_planned_start(client_for):
    stream = LiveStreamFactory(status=S.PREPARING)
    data = assert_envelope(
        client_for(UserFactory()).post(reminder_url(stream.pk), {"minute": 5}), 200
    )
    assert (data["mode"], data["scheduledFor"]) == ("ON_START", None)


@pytest.mark.django_db
def test_calling_again_replaces_the_minute(client_for):
    stream = scheduled(in_minutes=120)
    client = client_for(UserFactory())
    assert_envelope(client.post(reminder_url(stream.pk), {"minute": 15}), 200)
    data = assert_envelope(client.post(reminder_url(stream.pk), {"minute": 0}), 200)
    assert data["mode"] == "ON_START"
    assert StreamReminder.objects.get().minute == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "minute", [-1, 1441, "soon", 1.5, True, [], {"a": 1}], ids=lambda m: repr(m)
)
def test_a_bad_minute_is_a_400(client_for, minute):
    stream = scheduled()
    response = client_for(UserFactory()).post(
        reminder_url(stream.pk), {"minute": minute}, format="json"
    )
    assert_error(response, 400, contains="minute:")
    assert not StreamReminder.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.ACTIVE, S.ENDED, S.EXPIRED, S.CANCELLED_BY_HOST])
def test_only_a_stream_not_started_takes_reminders(client_for, status):
    stream = LiveStreamFactory(status=status)
    assert_error(client_for(UserFactory()).post(reminder_url(stream.pk), {}), 409)
    assert not StreamReminder.objects.exists()


@pytest.mark.django_db
def test_who_may_set_a_reminder(client_for):
    stream = scheduled()
    blocked, chat_only = UserFactory(), UserFactory()
    for user, action in ((blocked, BanAction.BLOCK), (chat_only, BanAction.CHAT_ONLY)):
        LiveStreamBan.objects.create(
            live_stream=stream, user=user, action_type=action, created_by=stream.creator
        )
    assert_error(client_for(blocked).post(reminder_url(stream.pk), {}), 403, contains="banned")
    assert_error(APIClient().post(reminder_url(stream.pk), {}), 401)
    assert_error(client_for(blocked).post(reminder_url(new_object_id()), {}), 404)
    assert_error(client_for(blocked).post(reminder_url("nope"), {}), 400, contains="id:")
    assert not StreamReminder.objects.exists()
    for user in (chat_only, stream.creator, moderator_user()):
        assert_envelope(client_for(user).post(reminder_url(stream.pk), {}), 200)
    assert StreamReminder.objects.count() == 3


# --- Firing -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_before_start_reminder_fires_once_when_its_time_comes(notifier):
    stream = scheduled(in_minutes=60)
    fan = UserFactory()
    reminder = reminder_set(user=fan, live_stream_id=stream.pk, minute=15)

    assert reminders_run_due().fired == 0  # 45 minutes early
    later = timezone.now() + timedelta(minutes=46)
    run = reminders_run_due(now=later)

    assert (run.fired, run.failed) == (1, 0)
    (notice,) = notifier.sent
    assert (notice.user_id, notice.live_stream_id, notice.mode, notice.minute) == (
        fan.pk,
        stream.pk,
        "BEFORE_START",
        15,
    )
    assert notice.is_live is False and notice.starts_at == stream.planned_start_date
    reminder.refresh_from_db()
    assert (reminder.state, reminder.fired_at) == (ReminderState.FIRED, later)
    assert reminders_run_due(now=later).fired == 0  # once
    assert len(notifier.sent) == 1


@pytest.mark.django_db
def test_an_on_start_reminder_fires_when_the_stream_goes_live(notifier):
    stream = scheduled(in_minutes=5)
    reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=0)
    assert reminders_run_due(now=timezone.now() + timedelta(minutes=10)).fired == 0
    livestream_join_as_creator(user=stream.creator, live_stream_id=stream.pk)

    assert reminders_run_due().fired == 1
    (notice,) = notifier.sent
    assert notice.is_live is True and notice.mode == "ON_START"
    assert notice.starts_at == LiveStream.objects.get(pk=stream.pk).started_at


@pytest.mark.django_db
def test_a_before_start_reminder_of_a_stream_that_started_early_fires_too(notifier):
    stream = scheduled(in_minutes=120)
    reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=15)
    livestream_join_as_creator(user=stream.creator, live_stream_id=stream.pk)
    assert reminders_run_due().fired == 1
    assert notifier.sent[0].is_live is True


@pytest.mark.django_db
def test_a_failing_notifier_keeps_the_reminder_for_the_next_run(notifier):
    stream = scheduled(in_minutes=5)
    reminder = reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=0)
    livestream_join_as_creator(user=stream.creator, live_stream_id=stream.pk)
    notifier.fail = True
    run = reminders_run_due()
    assert (run.fired, run.failed) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.ARMED
    notifier.fail = False
    assert reminders_run_due().fired == 1


def _drop_by(how: str, stream: LiveStream) -> None:
    if how == "cancel":
        livestream_cancel(actor=stream.creator, live_stream_id=stream.pk)
    elif how == "remove":
        livestream_remove(actor=stream.creator, live_stream_id=stream.pk)
    elif how == "expire":
        LiveStream.objects.filter(pk=stream.pk).update(
            planned_start_date=timezone.now() - timedelta(hours=2)
        )
        assert livestream_expire(live_stream_id=stream.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["cancel", "remove", "expire"])
def test_a_stream_that_will_not_start_drops_its_reminders(client_for, notifier, how):
    stream = scheduled(in_minutes=30)
    fan = UserFactory()
    reminder_set(user=fan, live_stream_id=stream.pk, minute=10)
    reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=0)
    kept = reminder_set(user=fan, live_stream_id=scheduled().pk, minute=0)

    _drop_by(how, stream)

    states = set(StreamReminder.objects.filter(live_stream=stream).values_list("state", flat=True))
    assert states == {ReminderState.DROPPED}
    assert StreamReminder.objects.get(pk=kept.pk).state == ReminderState.ARMED
    assert reminders_run_due(now=timezone.now() + timedelta(hours=3)).fired == 0
    assert notifier.sent == []


@pytest.mark.django_db
def test_a_stream_that_went_by_unnoticed_drops_its_reminder(notifier):
    stream = scheduled(in_minutes=5)
    reminder = reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=0)
    livestream_join_as_creator(user=stream.creator, live_stream_id=stream.pk)
    livestream_end(actor=stream.creator, live_stream_id=stream.pk)  # before any run

    run = reminders_run_due()

    assert (run.fired, run.dropped) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.DROPPED and notifier.sent == []


# --- The notifier and the staff command -----------------------------------------------------


def test_the_default_notifier_logs(settings, caplog):
    assert type(reminder_notifier()) is LoggingNotifier
    notice = ReminderNotice(
        reminder_id="r1",
        user_id="u1",
        live_stream_id="s1",
        title="Concert",
        mode="BEFORE_START",
        minute=15,
        starts_at=None,
        is_live=False,
    )
    with caplog.at_level("INFO", logger="allmine.reminders"):
        LoggingNotifier().send_reminder(notice)
    assert "Reminder r1: user u1, stream s1 (Concert) starts in 15 minutes" in caplog.text


@pytest.mark.django_db
def test_the_command_sends_the_due_reminders(notifier):
    stream = scheduled(in_minutes=5)
    reminder_set(user=UserFactory(), live_stream_id=stream.pk, minute=0)
    reminder_set(user=UserFactory(), live_stream_id=scheduled().pk, minute=0)
    livestream_join_as_creator(user=stream.creator, live_stream_id=stream.pk)

    out = StringIO()
    call_command("send_reminders", "--dry-run", stdout=out)
    assert "1 reminder(s) would be sent; 0 would be dropped." in out.getvalue()
    assert notifier.sent == []

    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert "Sent 1 reminder(s); 0 failed" in out.getvalue()
    assert len(notifier.sent) == 1
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert "Sent 0 reminder(s)" in out.getvalue()
    assert len(notifier.sent) == 1
