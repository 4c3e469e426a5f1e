"""The staff commands (issue 3): each on a small data set, run twice to show that
it is idempotent, with --dry-run, its summary line, its errors and its lock."""

import io
import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from allmine.core.commands import single_run
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
    ReplayAccess,
)
from livestreams.services.money import livestream_fund, replay_rent
from tests import agora_tokens
from tests.agora_tokens import PUBLISHER_PRIVILEGES, SUBSCRIBER_PRIVILEGES
from tests.factories import ActiveDuoStreamFactory, GuestFactory, LiveStreamFactory, UserFactory
from tests.helpers import CREDITS_REASON, assert_balances_add_up, balance_of, world_snapshot

S = LiveStreamStatus
BUSY = "Another run of this command is in progress; nothing done."


# --- Helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _private_lock_dir(settings, tmp_path):
    """The file locks (SQLite) go to a folder of this test only, so that no other
    test run in this tree can hold them."""
    settings.VAR_DIR = tmp_path


def run(name: str, *args, **options) -> str:
    """Run a command and return what it printed."""
    out = io.StringIO()
    call_command(name, *args, stdout=out, **options)
    return out.getvalue()


@contextmanager
def held_by_another_run(name: str):
    """Hold the lock `single_run(name)` as a concurrent run of the command would.

    SQLite: the lock is an flock(2) on a file, which belongs to the open file
    description, so holding it here in this very process is enough: the command
    opens the file again and is refused. PostgreSQL: an advisory lock belongs to
    the database session and is re-entrant within it, so it must be held from
    another connection: a thread (each thread has its own connection)."""
    if connection.vendor != "postgresql":
        with single_run(name) as acquired:
            assert acquired
            yield
        return

    held, release, outcome = threading.Event(), threading.Event(), {}

    def hold():
        try:
            with single_run(name) as acquired:
                outcome["acquired"] = acquired
                held.set()
                release.wait(timeout=30)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            held.set()
            connection.close()  # this thread's connection

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(timeout=10)
        assert outcome == {"acquired": True}, outcome
        yield
    finally:
        release.set()
        thread.join(timeout=10)


# --- expire_streams ----------------------------------------------------------------


def expire_data_set():
    grace = timedelta(minutes=django_settings.LIVESTREAM_START_GRACE_MINUTES)
    now = timezone.now()
    late = LiveStreamFactory(
        status=S.SCHEDULED,
        planned_start_date=now + timedelta(hours=1),
        funding_goal=Decimal("100.00"),
        title="late and funded",
    )
    funders = [UserFactory(credits="100.00"), UserFactory(credits="100.00")]
    for funder, amount in zip(funders, ["10.00", "15.25"], strict=True):
        livestream_fund(user=funder, live_stream_id=late.pk, amount=Decimal(amount))
    # Funding is only taken before the start: move the start into the past afterwards.
    LiveStream.objects.filter(pk=late.pk).update(
        planned_start_date=now - grace - timedelta(minutes=5)
    )
    return {
        "late": late,
        "funders": funders,
        "late_unfunded": LiveStreamFactory(
            status=S.SCHEDULED, planned_start_date=now - timedelta(days=3), title="long gone"
        ),
        "within_grace": LiveStreamFactory(
            status=S.SCHEDULED, planned_start_date=now - grace + timedelta(minutes=5)
        ),
        "upcoming": LiveStreamFactory(
            status=S.SCHEDULED, planned_start_date=now + timedelta(hours=1)
        ),
        # Only a scheduled stream expires; these started or were set up without a date.
        "preparing": LiveStreamFactory(
            status=S.PREPARING, planned_start_date=now - timedelta(days=1)
        ),
        "active": LiveStreamFactory(
            status=S.ACTIVE, planned_start_date=now - timedelta(days=1), started_at=now
        ),
        "cancelled": LiveStreamFactory(
            status=S.CANCELLED_BY_HOST, planned_start_date=now - timedelta(days=1)
        ),
    }


def status_of(stream) -> str:
    return LiveStream.objects.get(pk=stream.pk).status


@pytest.mark.django_db
def test_expire_streams_expires_only_scheduled_streams_past_start_plus_grace():
    data = expire_data_set()

    out = run("expire_streams")

    assert out.strip().splitlines()[-1] == "Expired 2 stream(s); 0 no longer qualified."
    assert status_of(data["late"]) == S.EXPIRED
    assert status_of(data["late_unfunded"]) == S.EXPIRED
    assert status_of(data["within_grace"]) == S.SCHEDULED
    assert status_of(data["upcoming"]) == S.SCHEDULED
    assert status_of(data["preparing"]) == S.PREPARING
    assert status_of(data["active"]) == S.ACTIVE
    assert status_of(data["cancelled"]) == S.CANCELLED_BY_HOST
    # The funding came back, once per contribution.
    assert [balance_of(f) for f in data["funders"]] == [Decimal("100.00")] * 2
    assert set(Contribution.objects.values_list("status", flat=True)) == {
        ContributionStatus.REFUNDED
    }
    refunds = CreditTransaction.objects.filter(kind=TransactionKind.STREAM_FUNDING_REFUND)
    assert sorted(refunds.values_list("amount", flat=True)) == [
        Decimal("10.00"),
        Decimal("15.25"),
    ]
    assert LiveStream.objects.get(pk=data["late"].pk).collected_funding == Decimal("0.00")
    assert_balances_add_up()

    after_first = world_snapshot()
    out = run("expire_streams")
    assert out.strip() == "Expired 0 stream(s); 0 no longer qualified."
    assert world_snapshot() == after_first


@pytest.mark.django_db
def test_expire_streams_dry_run_lists_and_changes_nothing():
    data = expire_data_set()
    before = world_snapshot()

    out = run("expire_streams", dry_run=True)

    assert world_snapshot() == before
    lines = out.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(
        [
            f"would expire {data['late'].pk}  late and funded",
            f"would expire {data['late_unfunded'].pk}  long gone",
        ]
    )
    assert lines[-1] == "[dry run] 2 stream(s) would expire."


@pytest.mark.django_db
def test_expire_streams_with_nothing_to_do():
    assert run("expire_streams").strip() == "Expired 0 stream(s); 0 no longer qualified."
    assert run("expire_streams", "--dry-run").strip() == "[dry run] 0 stream(s) would expire."


# --- end_overdue_streams -------------------------------------------------------------


def overdue_data_set(settings):
    settings.LIVESTREAM_MAX_DURATION_HOURS = 4
    settings.LIVESTREAM_OVERDUE_GRACE_MINUTES = 60
    now = timezone.now()

    def active(started_hours_ago, planned_end=None, **fields):
        started = now - timedelta(hours=started_hours_ago)
        return LiveStreamFactory(
            status=S.ACTIVE,
            started_at=started,
            host_joined_at=started,
            host_present=True,
            planned_start_date=started if planned_end else None,
            planned_end_date=planned_end,
            **fields,
        )

    past_end = active(3, now - timedelta(minutes=61), title="past its end")
    viewer = Participant.objects.create(
        live_stream=past_end,
        user=UserFactory(),
        first_joined_at=now - timedelta(minutes=30),
        last_joined_at=now - timedelta(minutes=30),
    )
    return {
        "past_end": past_end,
        "viewer": viewer,
        "within_grace": active(3, now - timedelta(minutes=59)),
        "too_long": active(5, title="no end, too long"),
        "not_too_long": active(3),
        "not_active": LiveStreamFactory(
            status=S.SCHEDULED,
            planned_start_date=now - timedelta(days=2),
            planned_end_date=now - timedelta(days=1),
        ),
    }


@pytest.mark.django_db
def test_end_overdue_streams_ends_active_streams_long_past_their_end(settings):
    data = overdue_data_set(settings)

    before = timezone.now()
    out = run("end_overdue_streams")
    after = timezone.now()

    assert out.strip() == "Ended 2 stream(s); 0 no longer qualified."
    for key in ("past_end", "too_long"):
        stream = LiveStream.objects.get(pk=data[key].pk)
        assert stream.status == S.ENDED, key
        assert before <= stream.ended_at <= after
        assert stream.host_present is False
    for key in ("within_grace", "not_too_long"):
        assert status_of(data[key]) == S.ACTIVE, key
    assert status_of(data["not_active"]) == S.SCHEDULED
    # The audience left with the stream; its watch time was kept.
    viewer = Participant.objects.get(pk=data["viewer"].pk)
    assert viewer.is_present is False
    assert viewer.watch_seconds >= 30 * 60

    after_first = world_snapshot()
    assert run("end_overdue_streams").strip() == "Ended 0 stream(s); 0 no longer qualified."
    assert world_snapshot() == after_first


@pytest.mark.django_db
def test_the_maximum_duration_comes_from_the_setting(settings):
    data = overdue_data_set(settings)
    settings.LIVESTREAM_MAX_DURATION_HOURS = 6  # now the 5 h stream is within bounds

    assert run("end_overdue_streams").strip() == "Ended 1 stream(s); 0 no longer qualified."
    assert status_of(data["too_long"]) == S.ACTIVE
    assert status_of(data["past_end"]) == S.ENDED


@pytest.mark.django_db
def test_end_overdue_streams_dry_run_lists_and_changes_nothing(settings):
    data = overdue_data_set(settings)
    before = world_snapshot()

    out = run("end_overdue_streams", dry_run=True)

    assert world_snapshot() == before
    lines = out.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(
        [
            f"would end {data['past_end'].pk}  past its end",
            f"would end {data['too_long'].pk}  no end, too long",
        ]
    )
    assert lines[-1] == "[dry run] 2 stream(s) would be ended."


# --- settle_replay_revenue -----------------------------------------------------------


def rentable(**fields) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        status=S.ENDED,
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
        recording=True,
        recording_url="https://cdn.example.com/replay.mp4",
        is_active_replay_on_creator_profile=True,
        **fields,
    )


def rent(stream, *, window_closed: bool) -> User:
    """A user rents the replay; with `window_closed`, its 24 h ran out a minute ago."""
    renter = UserFactory(credits="100.00")
    replay_rent(user=renter, live_stream_id=stream.pk)
    if window_closed:
        ended = timezone.now() - timedelta(minutes=1)
        ReplayAccess.objects.filter(live_stream=stream, user=renter).update(
            rented_at=ended - timedelta(hours=24), expires_at=ended
        )
        charge = CreditTransaction.objects.get(user=renter, kind=TransactionKind.REPLAY_RENTAL)
        CreditTransaction.objects.filter(related=charge).update(available_at=ended)
    return renter


def settle_data_set():
    solo = rentable(replay_credit_price=Decimal("10.00"))
    duo = rentable(replay_credit_price=Decimal("7.50"), live_stream_type=LiveStreamType.DUOSELF)
    guest = GuestFactory(live_stream=duo).user
    rent(solo, window_closed=True)  # pays the creator 8.00
    rent(duo, window_closed=True)  # pays the creator 3.00 and the guest 3.00
    open_renter = rent(duo, window_closed=False)  # still in its window: 3.00 + 3.00 pending
    return {"solo": solo, "duo": duo, "guest": guest, "open_renter": open_renter}


def revenue(user, status) -> list[Decimal]:
    entries = CreditTransaction.objects.filter(
        user=user, kind=TransactionKind.REPLAY_REVENUE, status=status
    )
    return sorted(entries.values_list("amount", flat=True))


@pytest.mark.django_db
def test_settle_replay_revenue_pays_closed_windows_once():
    data = settle_data_set()
    solo_creator, duo_creator, guest = data["solo"].creator, data["duo"].creator, data["guest"]
    assert [balance_of(u) for u in (solo_creator, duo_creator, guest)] == [Decimal("0.00")] * 3

    before = timezone.now()
    out = run("settle_replay_revenue")

    assert out.strip() == "Paid 3 share(s), 14.00 credits in all."
    assert balance_of(solo_creator) == Decimal("8.00")
    assert balance_of(duo_creator) == Decimal("3.00")
    assert balance_of(guest) == Decimal("3.00")
    assert revenue(duo_creator, TransactionStatus.COMPLETED) == [Decimal("3.00")]
    assert revenue(duo_creator, TransactionStatus.PENDING) == [Decimal("3.00")]
    assert revenue(guest, TransactionStatus.PENDING) == [Decimal("3.00")]
    paid = CreditTransaction.objects.filter(
        kind=TransactionKind.REPLAY_REVENUE, status=TransactionStatus.COMPLETED
    )
    assert paid.count() == 3
    for entry in paid:
        assert entry.completed_at >= before
        assert entry.balance_after == balance_of(entry.user)
    # The entries still in their window wait, with no balance yet.
    waiting = CreditTransaction.objects.filter(status=TransactionStatus.PENDING)
    assert waiting.count() == 2
    assert {e.balance_after for e in waiting} == {None}
    assert {e.related.user_id for e in waiting} == {data["open_renter"].pk}
    assert_balances_add_up()

    after_first = world_snapshot()
    assert run("settle_replay_revenue").strip() == "Paid 0 share(s), 0.00 credits in all."
    assert world_snapshot() == after_first


@pytest.mark.django_db
def test_settle_replay_revenue_pays_the_rest_once_their_window_closes():
    data = settle_data_set()
    run("settle_replay_revenue")
    CreditTransaction.objects.filter(status=TransactionStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )

    assert run("settle_replay_revenue").strip() == "Paid 2 share(s), 6.00 credits in all."
    assert balance_of(data["duo"].creator) == Decimal("6.00")
    assert balance_of(data["guest"]) == Decimal("6.00")
    assert not CreditTransaction.objects.filter(status=TransactionStatus.PENDING).exists()
    assert_balances_add_up()


@pytest.mark.django_db
def test_settle_replay_revenue_dry_run_changes_nothing():
    settle_data_set()
    before = world_snapshot()

    out = run("settle_replay_revenue", dry_run=True)

    assert out.strip() == "[dry run] 3 share(s) would be paid, 14.00 credits in all."
    assert world_snapshot() == before


# --- grant_credits -------------------------------------------------------------------


def admin_entries(user) -> list[CreditTransaction]:
    return list(
        CreditTransaction.objects.filter(user=user, kind=TransactionKind.ADMIN_ADJUSTMENT)
        .exclude(reason=CREDITS_REASON)  # the test's own grants
        .order_by("created_at", "pk")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["username", "USERNAME", "id"])
def test_grant_credits_by_username_or_id(ref):
    alice = UserFactory(username="alice")
    who = {"username": "alice", "USERNAME": "ALICE", "id": alice.pk}[ref]

    out = run("grant_credits", who, "25.50", reason="  Welcome bonus ")

    assert out.strip() == "alice: +25.50 credits, balance now 25.50."
    assert balance_of(alice) == Decimal("25.50")
    (entry,) = admin_entries(alice)
    assert entry.amount == Decimal("25.50")
    assert entry.status == TransactionStatus.COMPLETED
    assert entry.balance_after == Decimal("25.50")
    assert entry.reason == "Welcome bonus"
    assert entry.idempotency_key is None
    assert_balances_add_up()


@pytest.mark.django_db
def test_grant_credits_takes_back_with_a_negative_amount():
    alice = UserFactory(credits="10.00", username="alice")

    out = run("grant_credits", "alice", "-4.25", reason="chargeback")

    assert out.strip() == "alice: -4.25 credits, balance now 5.75."
    assert balance_of(alice) == Decimal("5.75")
    assert [e.amount for e in admin_entries(alice)] == [Decimal("-4.25")]
    assert_balances_add_up()


@pytest.mark.django_db
def test_grant_credits_with_a_key_happens_once():
    alice = UserFactory(username="alice")

    first = run("grant_credits", "alice", "30", reason="promo", key="promo-2026-alice")
    after_first = world_snapshot()
    second = run("grant_credits", "alice", "30", reason="promo", key="promo-2026-alice")

    assert first.strip() == "alice: +30 credits, balance now 30.00."
    assert (
        second.strip() == "A grant with the key 'promo-2026-alice' was already made; nothing done."
    )
    assert world_snapshot() == after_first
    (entry,) = admin_entries(alice)
    assert entry.idempotency_key == "promo-2026-alice"
    assert balance_of(alice) == Decimal("30.00")


@pytest.mark.django_db
def test_grant_credits_without_a_key_grants_each_time():
    """Without --key a repeat is a new grant: the key is what makes it idempotent."""
    alice = UserFactory(username="alice")
    run("grant_credits", "alice", "5", reason="one")
    run("grant_credits", "alice", "5", reason="two")
    assert balance_of(alice) == Decimal("10.00")
    assert [e.reason for e in admin_entries(alice)] == ["one", "two"]


@pytest.mark.django_db
def test_grant_credits_refuses_a_key_used_for_another_user():
    UserFactory(username="alice")
    bob = UserFactory(username="bob")
    run("grant_credits", "alice", "5", reason="promo", key="promo-1")
    before = world_snapshot()

    with pytest.raises(CommandError, match="already used for another user"):
        run("grant_credits", "bob", "5", reason="promo", key="promo-1")

    assert world_snapshot() == before
    assert balance_of(bob) == Decimal("0.00")


@pytest.mark.django_db
def test_grant_credits_dry_run_changes_nothing():
    UserFactory(username="alice")
    before = world_snapshot()

    out = run("grant_credits", "alice", "12.34", reason="bonus", dry_run=True)

    assert out.strip() == "[dry run] Would change alice's balance by 12.34 (0.00 now)."
    assert world_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "amount: Must be a number"),
        ("1,50", "amount: Must be a number"),
        ("", "amount: Must be a number"),
        ("0", "amount: Must be a non-zero number with at most 2 decimals"),
        ("0.00", "amount: Must be a non-zero number with at most 2 decimals"),
        ("1.234", "amount: Must be a non-zero number with at most 2 decimals"),
        ("NaN", "amount: Must be a non-zero number with at most 2 decimals"),
        ("Infinity", "amount: Must be a non-zero number with at most 2 decimals"),
        ("1e30", "amount: Must be at most"),
        ("10000000000", "amount: Must be at most"),  # more than the ledger's column holds
    ],
)
def test_grant_credits_refuses_a_bad_amount(amount, message):
    UserFactory(username="alice")
    before = world_snapshot()
    with pytest.raises(CommandError, match=message):
        run("grant_credits", "alice", amount, reason="bonus")
    assert world_snapshot() == before


@pytest.mark.django_db
def test_grant_credits_refuses_a_balance_beyond_what_it_holds():
    alice = UserFactory(credits="9999999000.00", username="alice")
    before = world_snapshot()
    with pytest.raises(CommandError, match=r"A balance holds at most 9999999999\.99 credits"):
        run("grant_credits", "alice", "1000", reason="bonus")
    assert world_snapshot() == before
    assert balance_of(alice) == Decimal("9999999000.00")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["nobody", "0123456789abcdef01234567"])
def test_grant_credits_refuses_an_unknown_user(who):
    UserFactory(username="alice")
    before = world_snapshot()
    with pytest.raises(CommandError, match="No user has the id or username"):
        run("grant_credits", who, "5", reason="bonus")
    assert world_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_grant_credits_needs_a_reason(reason):
    UserFactory(username="alice")
    before = world_snapshot()
    options = {} if reason is None else {"reason": reason}
    with pytest.raises(CommandError, match="reason"):
        run("grant_credits", "alice", "5", **options)
    assert world_snapshot() == before


@pytest.mark.django_db
def test_grant_credits_refuses_a_take_back_below_zero():
    alice = UserFactory(credits="10.00", username="alice")
    before = world_snapshot()

    with pytest.raises(CommandError, match="Insufficient credits"):
        run("grant_credits", "alice", "-10.01", reason="chargeback")

    assert world_snapshot() == before
    assert balance_of(alice) == Decimal("10.00")
    # All of it may be taken back: the balance reaches zero, not below.
    run("grant_credits", "alice", "-10.00", reason="chargeback")
    assert balance_of(alice) == Decimal("0.00")
    assert_balances_add_up()


# --- issue_agora_token ---------------------------------------------------------------


def issued(stream, user_ref) -> dict:
    return json.loads(run("issue_agora_token", stream=stream.pk, user=user_ref))


def assert_credentials(data, *, user, stream, privileges) -> None:
    agora, rtm = data["agora"], data["rtm"]
    assert agora["channelName"] == rtm["channelName"] == stream.channel_name
    assert agora["uid"] == user.agora_uid
    assert rtm["userId"] == user.pk
    granted = agora_tokens.verify(
        agora["token"],
        app_id=django_settings.AGORA_APP_ID,
        certificate=django_settings.AGORA_APP_CERTIFICATE,
        channel=stream.channel_name,
        uid_or_account=user.agora_uid,
    )
    assert set(granted) == privileges


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["id", "username"])
def test_issue_agora_token_prints_the_credentials_of_the_current_role(ref):
    stream = ActiveDuoStreamFactory()
    guest = Guest.objects.get(live_stream=stream).user
    viewer = UserFactory()
    Participant.objects.create(live_stream=stream, user=viewer)
    before = world_snapshot()

    for user, role, privileges in [
        (stream.creator, "host", PUBLISHER_PRIVILEGES),
        (guest, "host", PUBLISHER_PRIVILEGES),  # guests broadcast
        (viewer, "audience", SUBSCRIBER_PRIVILEGES),
    ]:
        data = issued(stream, user.pk if ref == "id" else user.username.upper())
        assert set(data) == {"agora", "rtm"}
        assert data["agora"]["role"] == role
        assert_credentials(data, user=user, stream=stream, privileges=privileges)

    assert world_snapshot() == before  # debugging a client changes nothing


@pytest.mark.django_db
def test_issue_agora_token_for_a_guest_before_the_start():
    stream = ActiveDuoStreamFactory()
    LiveStream.objects.filter(pk=stream.pk).update(status=S.SCHEDULED)
    guest = Guest.objects.get(live_stream=stream).user
    assert issued(stream, guest.pk)["agora"]["role"] == "host"
    # The host gets nothing before going live (renew-token's rule).
    with pytest.raises(CommandError, match="scheduled; no new token"):
        issued(stream, stream.creator.pk)


def _deactivated(stream):
    user = UserFactory(is_active=False)
    Participant.objects.create(live_stream=stream, user=user)
    return user.pk


def _no_role(stream):
    return UserFactory().pk


def _banned(stream):
    user = UserFactory()
    Participant.objects.create(live_stream=stream, user=user)
    LiveStreamBan.objects.create(
        live_stream=stream, user=user, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    return user.pk


def _banned_guest(stream):
    guest = Guest.objects.get(live_stream=stream).user
    LiveStreamBan.objects.create(live_stream=stream, user=guest, action_type=BanAction.BLOCK)
    return guest.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stream_ref", "user_ref", "message"),
    [
        ("not-an-id", lambda s: s.creator.pk, "--stream must be a 24-character hexadecimal id"),
        ("unknown", lambda s: s.creator.pk, "No live stream has this id"),
        ("removed", lambda s: s.creator.pk, "No live stream has this id"),
        ("ok", lambda s: new_object_id(), "No user has the id or username"),
        ("ok", lambda s: "nobody", "No user has the id or username"),
        ("ok", _deactivated, "is deactivated: no token is issued"),
        ("ok", _no_role, "You have not joined this live stream"),
        ("ok", _banned, "You are banned from this live stream"),
        ("ok", _banned_guest, "You are banned from this live stream"),
    ],
    ids=[
        "bad-stream-id",
        "unknown-stream",
        "removed-stream",
        "unknown-user-id",
        "unknown-username",
        "deactivated",
        "no-role",
        "banned",
        "banned-guest",
    ],
)
def test_issue_agora_token_refuses(stream_ref, user_ref, message):
    stream = ActiveDuoStreamFactory()
    user = user_ref(stream)
    stream_id = {"not-an-id": "not-an-id", "unknown": new_object_id()}.get(stream_ref, stream.pk)
    if stream_ref == "removed":
        LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    before = world_snapshot()

    with pytest.raises(CommandError, match=message):
        run("issue_agora_token", stream=stream_id, user=user)

    assert world_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["stream", "user"])
def test_issue_agora_token_needs_both_options(missing):
    stream = ActiveDuoStreamFactory()
    options = {"stream": stream.pk, "user": stream.creator.pk}
    del options[missing]
    with pytest.raises(CommandError, match=f"--{missing}"):
        run("issue_agora_token", **options)


# --- The lock: two runs never overlap --------------------------------------------------


@pytest.mark.django_db
def test_a_second_run_while_one_is_in_progress_does_nothing():
    data = expire_data_set()
    before = world_snapshot()

    with held_by_another_run("expire_streams"):
        out = run("expire_streams")
        dry = run("expire_streams", dry_run=True)

    assert out.strip() == BUSY
    assert dry.strip() == BUSY
    assert world_snapshot() == before
    # Once the other run is over, the lock is free again.
    assert run("expire_streams").strip() == "Expired 2 stream(s); 0 no longer qualified."
    assert status_of(data["late"]) == S.EXPIRED


@pytest.mark.django_db
def test_each_command_has_its_own_lock():
    alice = UserFactory(username="alice")
    with held_by_another_run("expire_streams"):
        out = run("grant_credits", "alice", "5", reason="bonus")
    assert out.strip() == "alice: +5 credits, balance now 5.00."
    assert balance_of(alice) == Decimal("5.00")


@pytest.mark.django_db
def test_grant_credits_is_locked_too():
    alice = UserFactory(username="alice")
    with held_by_another_run("grant_credits"):
        assert run("grant_credits", "alice", "5", reason="bonus").strip() == BUSY
    assert balance_of(alice) == Decimal("0.00")
    assert not CreditTransaction.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_lock_is_per_database_session():
    """What the lock is on PostgreSQL: a session-level advisory lock, re-entrant
    within its session. A run in the same connection as the holder is not kept
    out (only another process or connection is), which is why the lock tests
    above hold it from a thread."""
    data = expire_data_set()
    with single_run("expire_streams") as acquired:
        assert acquired
        out = run("expire_streams")
    assert out.strip() == "Expired 2 stream(s); 0 no longer qualified."
    assert status_of(data["late"]) == S.EXPIRED
    # Both acquisitions were released: another connection can take the lock now.
    with held_by_another_run("expire_streams"):
        pass
