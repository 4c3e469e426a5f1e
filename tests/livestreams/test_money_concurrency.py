"""Money under concurrency (issue 3, "Money must be exact"), on PostgreSQL: one
user with credit for only some of many simultaneous fund, join and rent
requests ends with exactly the right number succeeding and a ledger that adds
up. Each request runs in its own thread with its own client and connection,
all released at the same moment by a barrier."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus
from livestreams.models import Contribution, LiveStream, Participant, ReplayAccess
from tests.api import assert_envelope, assert_error
from tests.factories import UserFactory
from tests.helpers import assert_balances_add_up, balance_of
from tests.livestreams.test_money import (
    fund,
    join,
    paid_stream,
    rent,
    replay_stream,
    scheduled_stream,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10
D = Decimal


def run_together(calls):
    """Run each call in its own thread, all released at once; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=15)
            results[index] = call()
        except BaseException as exc:  # re-raised below, in the test's thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung (deadlock?)"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def statuses(responses) -> Counter:
    return Counter(r.status_code for r in responses)


def assert_refusals_are_insufficient_credits(responses, success: int):
    for response in responses:
        if response.status_code == success:
            assert_envelope(response, success)
        else:
            assert_error(response, 409, contains="Insufficient credits")


def assert_debits_were_serialised(user, start: Decimal, kinds):
    """The user's debits took effect one after the other: their balances after
    are start - 10, start - 20, ... with no two equal (no lost update)."""
    debits = CreditTransaction.objects.filter(user=user, kind__in=kinds, amount__lt=0)
    afters = sorted((e.balance_after for e in debits), reverse=True)
    assert afters == [start - D(10) * (n + 1) for n in range(len(afters))]
    assert {e.status for e in debits} <= {TransactionStatus.COMPLETED}
    return afters


# --- (a) funding ------------------------------------------------------------------


def test_simultaneous_funding_succeeds_exactly_as_often_as_the_balance_allows(client_for):
    stream = scheduled_stream(funding_goal="1000")
    backer = UserFactory(credits="35")
    clients = [client_for(backer) for _ in range(THREADS)]

    responses = run_together([lambda c=c: fund(c, stream, 10) for c in clients])

    assert statuses(responses) == {201: 3, 409: THREADS - 3}
    assert_refusals_are_insufficient_credits(responses, 201)
    assert Contribution.objects.filter(live_stream=stream, user=backer).count() == 3
    stream.refresh_from_db()
    assert stream.collected_funding == D("30.00")
    collected = [
        assert_envelope(r, 201)["liveStream"]["collectedFunding"]
        for r in responses
        if r.status_code == 201
    ]
    assert sorted(collected) == [10, 20, 30]
    assert balance_of(backer) == D("5.00")
    assert_debits_were_serialised(backer, D(35), [TransactionKind.STREAM_FUNDING_CONTRIBUTION])
    assert CreditTransaction.objects.filter(user=backer).count() == 4  # the grant + 3
    assert_balances_add_up()


# --- (b) paid joins to different streams ------------------------------------------------


def test_simultaneous_paid_joins_to_different_streams(client_for):
    shared_guest = UserFactory()
    streams = []
    for index in range(8):
        stream = paid_stream(price="10", guests=1 if index % 2 else 0)
        if index % 2:
            # Every duo stream shares one guest, so the joins lock overlapping rows.
            stream.guest_set.update(user=shared_guest)
        streams.append(stream)
    viewer = UserFactory(credits="25")
    clients = [client_for(viewer) for _ in streams]

    responses = run_together(
        [lambda c=c, s=s: join(c, s) for c, s in zip(clients, streams, strict=True)]
    )

    assert statuses(responses) == {200: 2, 409: 6}
    assert_refusals_are_insufficient_credits(responses, 200)
    joined = [s for s, r in zip(streams, responses, strict=True) if r.status_code == 200]
    assert sorted(
        Participant.objects.filter(user=viewer).values_list("live_stream", flat=True)
    ) == (sorted(s.pk for s in joined))
    charges = CreditTransaction.objects.filter(user=viewer, kind=TransactionKind.STREAM_CHARGE)
    assert sorted(c.live_stream_id for c in charges) == sorted(s.pk for s in joined)
    assert balance_of(viewer) == D("5.00")
    assert_debits_were_serialised(viewer, D(25), [TransactionKind.STREAM_CHARGE])
    for stream in streams:
        expected = (D("4.00") if stream.live_stream_type != "solo" else D("8.00")) * (
            stream in joined
        )
        assert balance_of(stream.creator) == expected
    assert balance_of(shared_guest) == D("4.00") * sum(
        s in joined and s.live_stream_type != "solo" for s in streams
    )
    assert_balances_add_up()


# --- (c) rentals of different replays ----------------------------------------------------


def test_simultaneous_rentals_of_different_replays(client_for):
    streams = [replay_stream(price="10", guests=index % 2) for index in range(THREADS)]
    renter = UserFactory(credits="25")
    clients = [client_for(renter) for _ in streams]

    responses = run_together(
        [lambda c=c, s=s: rent(c, s) for c, s in zip(clients, streams, strict=True)]
    )

    assert statuses(responses) == {200: 2, 409: THREADS - 2}
    assert_refusals_are_insufficient_credits(responses, 200)
    rented = {s.pk for s, r in zip(streams, responses, strict=True) if r.status_code == 200}
    assert set(ReplayAccess.objects.filter(user=renter).values_list("live_stream", flat=True)) == (
        rented
    )
    charges = CreditTransaction.objects.filter(user=renter, kind=TransactionKind.REPLAY_RENTAL)
    assert {c.live_stream_id for c in charges} == rented
    revenue = CreditTransaction.objects.filter(kind=TransactionKind.REPLAY_REVENUE)
    assert {e.live_stream_id for e in revenue} == rented
    assert {e.status for e in revenue} == {TransactionStatus.PENDING}
    assert balance_of(renter) == D("5.00")
    assert_debits_were_serialised(renter, D(25), [TransactionKind.REPLAY_RENTAL])
    assert_balances_add_up()


# --- (d) the same paid stream, the same user, many times at once --------------------------


@pytest.mark.parametrize(("price", "guests"), [("10", 1), ("10", 0), (None, 0)])
def test_the_same_user_joining_the_same_stream_at_once_is_charged_once(client_for, price, guests):
    stream = paid_stream(price=price, guests=guests)
    viewer = UserFactory(credits="15")  # enough for one charge only
    clients = [client_for(viewer) for _ in range(8)]

    responses = run_together([lambda c=c: join(c, stream) for c in clients])

    for response in responses:
        data = assert_envelope(response, 200)
        assert data["liveStream"]["role"] == "audience"
    participant = Participant.objects.get(live_stream=stream, user=viewer)
    assert participant.join_count == 8
    assert participant.is_present is True
    charges = CreditTransaction.objects.filter(user=viewer, kind=TransactionKind.STREAM_CHARGE)
    revenue = CreditTransaction.objects.filter(kind=TransactionKind.STREAM_REVENUE)
    if price is None:
        assert not charges.exists()
        assert participant.charge_id is None
        assert balance_of(viewer) == D("15.00")
    else:
        (charge,) = charges
        assert participant.charge_id == charge.pk
        assert charge.amount == D("-10.00")
        assert revenue.count() == 1 + guests
        assert balance_of(viewer) == D("5.00")
        assert balance_of(stream.creator) == (D("4.00") if guests else D("8.00"))
    assert_balances_add_up()


def test_the_same_user_renting_the_same_replay_at_once_is_charged_once(client_for):
    stream = replay_stream(price="10")
    renter = UserFactory(credits="15")
    clients = [client_for(renter) for _ in range(8)]

    responses = run_together([lambda c=c: rent(c, stream) for c in clients])

    bodies = [assert_envelope(r, 200) for r in responses]
    assert {b["status"] for b in bodies} == {"rented"}
    assert len({b["expiresAt"] for b in bodies}) == 1
    assert ReplayAccess.objects.filter(live_stream=stream, user=renter).count() == 1
    assert (
        CreditTransaction.objects.filter(user=renter, kind=TransactionKind.REPLAY_RENTAL).count()
        == 1
    )
    assert CreditTransaction.objects.filter(kind=TransactionKind.REPLAY_REVENUE).count() == 1
    assert balance_of(renter) == D("5.00")
    assert_balances_add_up()


# --- (e) everything at once ---------------------------------------------------------


def test_a_mix_of_fund_join_and_rent_never_spends_more_than_the_balance(client_for):
    funded = scheduled_stream(funding_goal="1000")
    live = [paid_stream(price="10", guests=i % 2) for i in range(4)]
    replays = [replay_stream(price="10", guests=i % 2) for i in range(4)]
    user = UserFactory(credits="35")  # every request costs 10: exactly 3 can succeed

    clients = [client_for(user) for _ in range(12)]
    calls = [lambda c=c: fund(c, funded, 10) for c in clients[:4]]
    calls += [lambda c=c, s=s: join(c, s) for c, s in zip(clients[4:8], live, strict=True)]
    calls += [lambda c=c, s=s: rent(c, s) for c, s in zip(clients[8:], replays, strict=True)]
    responses = run_together(calls)

    succeeded = [r for r in responses if r.status_code in (200, 201)]
    assert len(succeeded) == 3, statuses(responses)
    assert statuses(responses)[409] == len(calls) - 3
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, contains="Insufficient credits")
    funded_ok = sum(r.status_code == 201 for r in responses[:4])
    joined_ok = sum(r.status_code == 200 for r in responses[4:8])
    rented_ok = sum(r.status_code == 200 for r in responses[8:])
    assert Contribution.objects.filter(user=user).count() == funded_ok
    assert LiveStream.objects.get(pk=funded.pk).collected_funding == D(10) * funded_ok
    assert Participant.objects.filter(user=user).count() == joined_ok
    assert ReplayAccess.objects.filter(user=user).count() == rented_ok
    assert balance_of(user) == D("5.00")
    kinds = [
        TransactionKind.STREAM_FUNDING_CONTRIBUTION,
        TransactionKind.STREAM_CHARGE,
        TransactionKind.REPLAY_RENTAL,
    ]
    assert len(assert_debits_were_serialised(user, D(35), kinds)) == 3
    assert_balances_add_up()


def test_a_cancel_racing_new_contributions_refunds_every_one_that_got_in(client_for):
    """Funding while the creator cancels: whatever got in before the cancel is
    refunded, whatever came after is refused, and the ledger adds up."""
    stream = scheduled_stream(funding_goal="1000")
    backers = [UserFactory(credits="10") for _ in range(THREADS - 1)]
    clients = [client_for(b) for b in backers]
    calls = [lambda c=c: fund(c, stream, 10) for c in clients]
    creator_client = client_for(stream.creator)
    calls.append(lambda: creator_client.post(f"/api/v1/live-stream/{stream.pk}/cancel"))

    responses = run_together(calls)

    assert_envelope(responses[-1], 200)
    for response in responses[:-1]:
        if response.status_code != 201:
            assert_error(response, 409, contains="funding goal")
    stream.refresh_from_db()
    assert stream.status == "cancelled_by_host"
    assert stream.collected_funding == 0
    assert not Contribution.objects.filter(live_stream=stream, status="completed").exists()
    assert [balance_of(b) for b in backers] == [D("10.00")] * len(backers)
    assert_balances_add_up()
