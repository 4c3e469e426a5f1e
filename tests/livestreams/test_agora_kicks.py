"""Kicking users from Agora channels with kicking rules, done Agora's way
(issue 11): the moderator's action only records the kick; a background task
(eager here, run by the commit callbacks) creates the rule at the stand-in,
lifting the ban deletes it by its stored id, a kick is sent only while its ban
stands, a POST that timed out or answered 504 is followed by a GET before
anything is posted again, and no request waits on Agora."""

import io
import logging
import time
from datetime import timedelta

import kombu.exceptions
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from allmine.core.tasks import Send
from livestreams.agora import kicks as agora_kicks_api
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraKick,
    AgoraKickReason,
    AgoraKickStatus,
    BanAction,
    LiveStream,
    LiveStreamBan,
    Participant,
)
from livestreams.services import agora_kicks
from livestreams.services.agora_kicks import MAX_ATTEMPTS, backoff, kick_run
from livestreams.services.bans import ban_lift
from livestreams.tasks import periodic
from livestreams.tasks.agora import agora_kick_run
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, UserFactory
from tests.helpers import enqueued
from tests.livestreams.conftest import APP_ID, BASIC, KICK_TIMEOUT, SECRET

BAN_URL = "/api/v1/live-stream-ban"
API = "/api/v1/live-stream"
K = AgoraKickStatus


# --- Helpers ---------------------------------------------------------------------------


@pytest.fixture
def moderator(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def stream(db):
    now = timezone.now()
    return LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE, started_at=now, host_joined_at=now, host_present=True
    )


@pytest.fixture
def viewer(stream):
    participant = Participant.objects.create(live_stream=stream, user=UserFactory())
    return participant.user


def ban(client, stream, target, action=BanAction.BLOCK):
    body = {"liveStreamId": stream.pk, "targetUserId": target.pk, "actionType": action}
    return client.post(BAN_URL, body, format="json")


def lift(client, ban_id):
    return client.delete(f"{BAN_URL}/{ban_id}")


def end(client, stream):
    return client.post(f"{API}/{stream.pk}/end")


def kicking_rule(cname: str, uid: int | None = None, minutes: int = 60) -> dict:
    body = {"appid": APP_ID, "cname": cname}
    if uid is not None:
        body["uid"] = uid
    return {**body, "time": minutes, "privileges": ["join_channel"]}


def posts(agora):
    return [r.body for r in agora.requests_to("kicking-rule.post")]


def run_retry(*args) -> str:
    out = io.StringIO()
    call_command("retry_agora_kicks", *args, stdout=out)
    return out.getvalue()


def make_due(kick: AgoraKick) -> None:
    AgoraKick.objects.filter(pk=kick.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def banned(client_for, stream, viewer, capture, *, by=None):
    """Ban `viewer` through the API and run what the commit enqueued; the ban's id."""
    with capture(execute=True):
        data = assert_envelope(ban(client_for(by or stream.creator), stream, viewer), 200)
    return data["id"]


# --- A ban kicks, its lift un-kicks ----------------------------------------------------


@pytest.mark.django_db
def test_a_block_ban_creates_the_rule_once_after_the_commit(
    agora, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ban(client_for(moderator), stream, viewer)
        assert agora.requests == []  # nothing is sent before the ban commits

    assert_envelope(response, 200)
    assert len(enqueued(callbacks)) == 1
    (request,) = agora.requests
    assert (request.method, request.path, request.authorization, request.content_type) == (
        "POST",
        "/dev/v1/kicking-rule",
        BASIC,
        "application/json",
    )
    assert request.body == kicking_rule(stream.channel_name, viewer.agora_uid)
    kick = AgoraKick.objects.get()
    (rule_id,) = agora.rules
    assert (kick.status, kick.attempts, kick.reason, kick.uid, kick.last_error) == (
        K.DONE,
        1,
        AgoraKickReason.BAN,
        viewer.agora_uid,
        "",
    )
    assert kick.rule_id == rule_id
    assert kick.ban == LiveStreamBan.objects.get()
    assert kick.done_at is not None
    assert kick.live_stream_id == stream.pk


@pytest.mark.django_db
def test_lifting_the_ban_deletes_its_rule_by_its_id_and_leaves_no_rule(
    agora, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks, by=moderator)
    (rule_id,) = agora.rules

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = lift(client_for(moderator), ban_id)
        assert len(agora.requests) == 1  # nothing is deleted before the lift commits

    assert response.status_code == 200
    assert len(enqueued(callbacks)) == 1
    delete = agora.requests[-1]
    assert (delete.method, delete.route, delete.authorization) == (
        "DELETE",
        "kicking-rule.delete",
        BASIC,
    )
    assert delete.body == {"appid": APP_ID, "id": rule_id}
    assert agora.rules == {}
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.rule_id, kick.last_error) == (K.LIFTED, rule_id, "")
    assert kick.lift_requested_at is not None and kick.lifted_at is not None
    # Nothing is left to do: no retry sends or deletes anything.
    make_due(kick)
    assert "Sent 0 kick(s); lifted 0" in run_retry()
    assert len(agora.requests) == 2


@pytest.mark.django_db
def test_the_creator_banning_and_lifting_works_alike(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    assert posts(agora) == [kicking_rule(stream.channel_name, viewer.agora_uid)]
    with django_capture_on_commit_callbacks(execute=True):
        assert lift(client_for(stream.creator), ban_id).status_code == 200
    assert agora.rules == {}


@pytest.mark.django_db
def test_a_rule_gone_already_at_agora_counts_as_lifted(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    agora.rules.clear()  # it expired at Agora meanwhile: the DELETE answers 404

    with django_capture_on_commit_callbacks(execute=True):
        lift(client_for(stream.creator), ban_id)

    assert AgoraKick.objects.get().status == K.LIFTED


@pytest.mark.django_db
def test_a_failed_delete_is_retried_until_the_rule_is_gone(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    agora.answer("kicking-rule.delete", "error", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        lift(client_for(stream.creator), ban_id)
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (K.LIFTING, 1)
    assert "HTTP 500" in kick.last_error
    assert len(agora.rules) == 1

    make_due(kick)
    assert "lifted 1" in run_retry()

    assert agora.rules == {}
    assert AgoraKick.objects.get().status == K.LIFTED


@pytest.mark.django_db
def test_a_kick_is_never_sent_once_its_ban_is_lifted(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "error", status=500)
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    assert AgoraKick.objects.get().status == K.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        lift(client_for(stream.creator), ban_id)

    kick = AgoraKick.objects.get()
    assert kick.status == K.CANCELLED
    make_due(kick)
    run_retry()
    assert agora_kick_run.delay(kick.pk).get() == agora_kicks.SKIPPED
    assert len(agora.requests) == 1  # the one failed POST, nothing since
    assert agora.rules == {}


@pytest.mark.django_db
def test_a_retry_checks_the_ban_still_stands(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "error", status=500)
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    # The ban is lifted without the kicks being told (as if by an older release).
    LiveStreamBan.objects.filter(pk=ban_id).update(lifted_at=timezone.now())
    kick = AgoraKick.objects.get()
    make_due(kick)

    assert kick_run(kick_id=kick.pk) == agora_kicks.CANCELLED

    assert len(agora.requests) == 1
    assert AgoraKick.objects.get().status == K.CANCELLED


@pytest.mark.django_db
def test_a_ban_lifted_while_its_rule_is_being_created_gets_its_rule_deleted(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks, monkeypatch
):
    create = agora_kicks_api.create_rule

    def create_while_the_ban_is_lifted(**kwargs):
        rule_id = create(**kwargs)
        ban_lift(actor=stream.creator, ban_id=LiveStreamBan.objects.get().pk)
        return rule_id

    monkeypatch.setattr(agora_kicks_api, "create_rule", create_while_the_ban_is_lifted)
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)

    assert [r.route for r in agora.requests] == ["kicking-rule.post", "kicking-rule.delete"]
    assert agora.rules == {}
    assert AgoraKick.objects.get().status == K.LIFTED


@pytest.mark.django_db
def test_a_chat_only_ban_kicks_nobody(
    agora, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(moderator), stream, viewer, BanAction.CHAT_ONLY), 200)

    assert agora.requests == []
    assert not AgoraKick.objects.exists()


@pytest.mark.django_db
def test_a_refused_ban_kicks_nobody(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    stranger = UserFactory()  # neither the creator nor a moderator
    with django_capture_on_commit_callbacks(execute=True):
        assert ban(client_for(stranger), stream, viewer).status_code == 403

    assert agora.requests == []
    assert not AgoraKick.objects.exists()


@pytest.mark.django_db
def test_ending_a_stream_keeps_everyone_out_of_its_channel(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = end(client_for(stream.creator), stream)

    assert assert_envelope(response, 200)["status"] == "ended"
    assert posts(agora) == [kicking_rule(stream.channel_name)]
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.reason, kick.uid, kick.ban) == (K.DONE, "end", None, None)


@pytest.mark.django_db
def test_a_moderator_removing_a_live_stream_kicks_everyone(
    agora, client_for, moderator, stream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(client_for(moderator).delete(f"{API}/{stream.pk}"), 200)

    assert posts(agora) == [kicking_rule(stream.channel_name)]


@pytest.mark.django_db
def test_the_rule_lasts_the_configured_minutes(
    agora, settings, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    settings.AGORA_KICK_MINUTES = 5
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)

    assert posts(agora)[0]["time"] == 5


# --- No request waits on Agora -----------------------------------------------------------


@pytest.mark.django_db
def test_no_request_waits_on_agora(
    agora, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "hang", times=None)
    agora.answer("kicking-rule.delete", "hang", times=None)
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ban_id = assert_envelope(ban(client_for(moderator), stream, viewer), 200)["id"]
    with django_capture_on_commit_callbacks(execute=False) as more:
        assert lift(client_for(moderator), ban_id).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as ending:
        assert_envelope(end(client_for(moderator), stream), 200)

    assert time.monotonic() - started < 2
    assert agora.requests == []
    # What the commits hand over: the kick task, to be sent after the commit.
    for callback in enqueued([*callbacks, *ending]):
        assert isinstance(callback, Send)
        assert callback.task.name == "livestreams.agora_kick_run"
    assert enqueued(more) == []  # the kick was never sent: the lift cancels it, nothing to enqueue
    assert AgoraKick.objects.get(reason=AgoraKickReason.BAN).status == K.CANCELLED


@pytest.mark.django_db
def test_a_failing_task_never_fails_the_committed_request(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("a bug in the task")

    monkeypatch.setattr(agora_kicks, "kick_run", broken)

    with django_capture_on_commit_callbacks(execute=True):
        response = ban(client_for(stream.creator), stream, viewer)

    assert_envelope(response, 200)
    assert LiveStreamBan.objects.in_force().filter(user=viewer).exists()
    assert AgoraKick.objects.get().status == K.PENDING  # the sweep will try again


# --- A timeout or a 504: read the rules before posting again ----------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mode", "options"),
    [("slow", {"delay": 3 * KICK_TIMEOUT}), ("504", {})],
    ids=["timeout", "504"],
)
def test_after_an_unanswered_post_the_rule_is_read_back_not_posted_again(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks, mode, options
):
    agora.answer("kicking-rule.post", mode, **options)  # Agora created it nonetheless
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.rule_maybe_created, kick.rule_id) == (K.FAILED, True, None)
    assert ("timed out" if mode == "slow" else "HTTP 504") in kick.last_error
    (rule_id,) = agora.rules

    make_due(kick)
    assert "Sent 1 kick(s)" in run_retry()

    assert [r.route for r in agora.requests] == ["kicking-rule.post", "kicking-rule.get"]
    assert agora.requests[-1].query == {"appid": [APP_ID]}
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.rule_id, kick.rule_maybe_created) == (K.DONE, rule_id, False)
    assert len(agora.rules) == 1  # not duplicated


@pytest.mark.django_db
def test_after_an_unanswered_post_that_did_nothing_the_rule_is_posted_again(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "504", effect=False)
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    assert agora.rules == {}
    make_due(AgoraKick.objects.get())

    run_retry()

    assert [r.route for r in agora.requests] == [
        "kicking-rule.post",
        "kicking-rule.get",
        "kicking-rule.post",
    ]
    (rule_id,) = agora.rules
    assert AgoraKick.objects.get().rule_id == rule_id


@pytest.mark.django_db
def test_a_rule_another_kick_owns_is_not_taken(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    # An earlier ban of the same user in the same channel still has its rule.
    first = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    LiveStreamBan.objects.filter(pk=first).update(lifted_at=timezone.now())  # no lift sent
    agora.answer("kicking-rule.post", "504", effect=False)
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    second = AgoraKick.objects.get(status=K.FAILED)
    make_due(second)

    run_retry()

    second.refresh_from_db()
    assert second.status == K.DONE
    assert len(agora.rules) == 2
    assert second.rule_id != AgoraKick.objects.exclude(pk=second.pk).get().rule_id


@pytest.mark.django_db
def test_the_post_waits_the_kick_timeout_and_longer_on_a_retry(
    agora, settings, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    settings.AGORA_KICK_TIMEOUT = 1.0
    assert agora_kicks_api.post_timeout(1) == 1.0
    assert agora_kicks_api.post_timeout(2) == 2.0
    assert agora_kicks_api.post_timeout(9) == 3.0
    # Slower than the other REST calls may be, within the kick's own timeout.
    agora.answer("kicking-rule.post", "slow", delay=0.8)

    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)

    assert AgoraKick.objects.get().status == K.DONE


@pytest.mark.django_db
def test_a_ban_lifted_after_an_unanswered_post_deletes_what_it_may_have_created(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "504")
    ban_id = banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    assert len(agora.rules) == 1

    with django_capture_on_commit_callbacks(execute=True):
        lift(client_for(stream.creator), ban_id)

    assert [r.route for r in agora.requests] == [
        "kicking-rule.post",
        "kicking-rule.get",
        "kicking-rule.delete",
    ]
    assert agora.rules == {}
    assert AgoraKick.objects.get().status == K.LIFTED


# --- A failure at Agora never blocks the moderator ---------------------------------------


@pytest.mark.django_db
def test_a_broker_down_at_the_commit_never_fails_the_ban(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    """The ban is committed before its kick is handed to the workers: a broker
    that is down at that moment is logged, the ban answers as usual, and the
    sweep sends the kick once the broker is back."""

    def broker_down(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting: Connection refused.")

    monkeypatch.setattr(agora_kick_run, "apply_async", broker_down)
    with (
        caplog.at_level(logging.WARNING, logger="allmine.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = ban(client_for(stream.creator), stream, viewer)

    assert_envelope(response, 200)
    kick = AgoraKick.objects.get()
    assert (kick.status, agora.requests) == (K.PENDING, [])
    assert "Could not enqueue livestreams.agora_kick_run" in caplog.text

    monkeypatch.undo()  # the broker is back
    make_due(kick)
    run_retry()
    assert posts(agora) == [kicking_rule(stream.channel_name, viewer.agora_uid)]


FAILURES = {
    "500": ({"mode": "error", "status": 500}, "HTTP 500"),
    "400": ({"mode": "error", "status": 400}, "HTTP 400"),
    "timeout": ({"mode": "slow", "delay": 3 * KICK_TIMEOUT, "effect": False}, "timed out"),
    "504": ({"mode": "504", "effect": False}, "HTTP 504"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_a_failing_kick_leaves_the_ban_in_place_and_is_recorded_for_retry(
    agora, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks, failure
):
    answer, error = FAILURES[failure]
    agora.answer("kicking-rule.post", **answer)

    with django_capture_on_commit_callbacks(execute=True):
        response = ban(client_for(moderator), stream, viewer)

    data = assert_envelope(response, 200)
    assert data["isActive"] is True
    assert LiveStreamBan.objects.in_force().filter(live_stream=stream, user=viewer).exists()
    assert Participant.objects.get(user=viewer).is_present is False
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (K.FAILED, 1)
    assert error in kick.last_error
    assert SECRET not in kick.last_error
    assert kick.next_attempt_at > timezone.now()
    assert kick.claimed_until is None
    assert kick.rule_maybe_created is (failure in ("timeout", "504"))


@pytest.mark.django_db
def test_a_failing_kick_leaves_the_stream_ended(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("kicking-rule.post", "error", status=500)

    with django_capture_on_commit_callbacks(execute=True):
        response = end(client_for(stream.creator), stream)

    assert assert_envelope(response, 200)["status"] == "ended"
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStreamStatus.ENDED
    assert Participant.objects.get(user=viewer).is_present is False
    assert AgoraKick.objects.get().status == K.FAILED


@pytest.mark.django_db
def test_an_unreachable_agora_is_a_failed_kick(
    agora, settings, client_for, stream, viewer, django_capture_on_commit_callbacks, caplog
):
    settings.AGORA_REST_BASE_URL = "http://127.0.0.1:9"  # nobody listens: refused

    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)

    kick = AgoraKick.objects.get()
    assert kick.status == K.FAILED
    assert "unreachable" in kick.last_error
    logged = [r.getMessage() for r in caplog.records if r.name == "allmine.agora"]
    assert len(logged) == 1
    assert "failed" in logged[0]
    assert SECRET not in logged[0]


# --- The retries: the sweep task and the staff command ------------------------------------


@pytest.fixture
def failed_kick(agora, client_for, stream, viewer, django_capture_on_commit_callbacks):
    agora.answer("kicking-rule.post", "error", status=500)
    banned(client_for, stream, viewer, django_capture_on_commit_callbacks)
    agora.requests.clear()
    return AgoraKick.objects.get()


@pytest.mark.django_db
def test_the_retry_waits_for_the_backoff(agora, failed_kick):
    assert "Sent 0 kick(s)" in run_retry()
    assert agora.requests == []
    assert AgoraKick.objects.get().status == K.FAILED


@pytest.mark.django_db
def test_the_retry_sends_a_failed_kick_and_is_idempotent(agora, failed_kick, stream, viewer):
    make_due(failed_kick)

    assert "Sent 1 kick(s); lifted 0; 0 failed again" in run_retry()

    assert [(r.route, r.authorization, r.body) for r in agora.requests] == [
        ("kicking-rule.post", BASIC, kicking_rule(stream.channel_name, viewer.agora_uid))
    ]
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts, kick.last_error) == (K.DONE, 2, "")
    assert "Sent 0 kick(s)" in run_retry()
    assert len(agora.requests) == 1


@pytest.mark.django_db
def test_the_periodic_sweep_enqueues_the_due_kicks(agora, failed_kick):
    assert periodic.retry_agora_kicks.delay().get() == {"enqueued": 0}
    make_due(failed_kick)

    assert periodic.retry_agora_kicks.delay().get() == {"enqueued": 1}

    assert AgoraKick.objects.get().status == K.DONE
    assert len(agora.rules) == 1


@pytest.mark.django_db
def test_a_retry_that_fails_again_backs_off_longer(agora, failed_kick):
    agora.answer("kicking-rule.post", "error", status=500)
    make_due(failed_kick)
    before = timezone.now()

    assert "1 failed again" in run_retry()

    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (K.FAILED, 2)
    assert kick.next_attempt_at >= before + backoff(2) - timedelta(seconds=1)
    assert backoff(2) > backoff(1)


@pytest.mark.django_db
def test_the_retry_dry_run_sends_nothing(agora, failed_kick, stream, viewer):
    make_due(failed_kick)

    output = run_retry("--dry-run")

    assert f"would send kick {failed_kick.pk} (ban): uid {viewer.agora_uid}" in output
    assert "[dry run] 1 kick(s) would be sent or lifted" in output
    assert agora.requests == []
    assert AgoraKick.objects.get().attempts == 1


@pytest.mark.django_db
def test_a_kick_whose_task_never_ran_is_picked_up(agora, client_for, stream, viewer):
    # The ban commits but its commit callback never runs (the process died, the
    # broker was down): here, the callbacks are never executed.
    assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (K.PENDING, 0)

    assert "Sent 1 kick(s)" in run_retry()

    assert len(agora.requests) == 1
    assert AgoraKick.objects.get().status == K.DONE


@pytest.mark.django_db
def test_a_kick_being_worked_on_elsewhere_is_not_sent_twice(agora, failed_kick):
    make_due(failed_kick)
    AgoraKick.objects.filter(pk=failed_kick.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    assert kick_run(kick_id=failed_kick.pk) == agora_kicks.SKIPPED
    assert "Sent 0 kick(s)" in run_retry()
    assert agora.requests == []


@pytest.mark.django_db
def test_a_kick_is_given_up_after_the_maximum_attempts(agora, failed_kick):
    AgoraKick.objects.filter(pk=failed_kick.pk).update(
        attempts=MAX_ATTEMPTS, next_attempt_at=timezone.now() - timedelta(hours=1)
    )

    output = run_retry()

    assert "Sent 0 kick(s)" in output
    assert f"1 given up after {MAX_ATTEMPTS} attempts" in output
    assert agora.requests == []


# --- Not configured ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["AGORA_CUSTOMER_KEY", "AGORA_CUSTOMER_SECRET"])
def test_without_a_customer_key_and_secret_nothing_is_sent(
    agora, settings, client_for, stream, viewer, django_capture_on_commit_callbacks, missing
):
    setattr(settings, missing, "")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)
        assert_envelope(end(client_for(stream.creator), stream), 200)

    assert enqueued(callbacks) == []
    assert agora.requests == []
    assert not AgoraKick.objects.exists()
    assert "not configured" in run_retry()
