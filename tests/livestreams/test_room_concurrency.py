"""The room under concurrency, on PostgreSQL: simultaneous gifts spend exactly
the credits there are, gifts both ways between two creators who watch each other
never deadlock, one report is open per user and stream however many are filed at
once, and simultaneous joins record the peak of viewers. Each request runs in its
own thread with its own client and connection, released together."""

from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import Gift, GiftType, LiveStream, LiveStreamType, StreamReport
from livestreams.services.audience import livestream_join_as_audience
from tests.accounts.test_credits import assert_balances_add_up, balance_of, grant
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory
from tests.livestreams.test_money_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10
D = Decimal


def live(**fields) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE, started_at=now, host_joined_at=now, **fields
    )


def gift(client, stream, gift_type):
    body = {"giftTypeId": gift_type.pk, "liveStreamId": stream.pk}
    return client.post("/api/v1/gifts/create", body, format="json")


def test_simultaneous_gifts_spend_exactly_the_credits_there_are(client_for):
    stream = live(live_stream_type=LiveStreamType.DUOSELF)
    GuestFactory(live_stream=stream)
    sender = UserFactory()
    grant(sender, "35")
    livestream_join_as_audience(user=sender, live_stream_id=stream.pk)
    ten = GiftType.objects.create(credit_amount=D("10"), svg="gifts/ten.svg")
    clients = [client_for(sender) for _ in range(THREADS)]

    responses = run_together([lambda c=c: gift(c, stream, ten) for c in clients])

    assert Counter(r.status_code for r in responses) == {201: 3, 409: THREADS - 3}
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, contains="Insufficient credits")
    assert Gift.objects.count() == 3
    assert balance_of(sender) == D("5.00")
    assert balance_of(stream.creator) == D("12.00")  # 3 x 40 %
    spends = CreditTransaction.objects.filter(kind=TransactionKind.GIFT_SPEND)
    assert sorted(e.balance_after for e in spends) == [D("5"), D("15"), D("25")]
    assert_balances_add_up()


def test_gifts_both_ways_between_two_creators_never_deadlock(client_for):
    first, second = UserFactory(), UserFactory()
    grant(first, "100")
    grant(second, "100")
    stream_of_first, stream_of_second = live(creator=first), live(creator=second)
    livestream_join_as_audience(user=second, live_stream_id=stream_of_first.pk)
    livestream_join_as_audience(user=first, live_stream_id=stream_of_second.pk)
    one = GiftType.objects.create(credit_amount=D("1"), svg="gifts/one.svg")
    calls = []
    for _ in range(THREADS // 2):
        to_first, to_second = client_for(second), client_for(first)
        calls.append(lambda c=to_first: gift(c, stream_of_first, one))
        calls.append(lambda c=to_second: gift(c, stream_of_second, one))

    responses = run_together(calls)

    assert [r.status_code for r in responses] == [201] * THREADS
    # Each paid 5 and earned 5 x 0.80.
    assert balance_of(first) == balance_of(second) == D("99.00")
    assert_balances_add_up()


def test_one_open_report_however_many_are_filed_at_once(client_for):
    stream = live()
    reporter = UserFactory()
    clients = [client_for(reporter) for _ in range(THREADS)]
    url = f"/api/v1/live-stream-reports/{stream.pk}"

    responses = run_together(
        [lambda c=c: c.post(url, {"type": "spam"}, format="json") for c in clients]
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 409: THREADS - 1}
    assert StreamReport.objects.filter(reporter=reporter, status="open").count() == 1
    created = next(r for r in responses if r.status_code == 201)
    assert assert_envelope(created, 201)["status"] == "open"


def test_simultaneous_joins_record_the_peak(client_for):
    stream = live()
    viewers = UserFactory.create_batch(THREADS)
    clients = [client_for(viewer) for viewer in viewers]
    body = {"liveStreamId": stream.pk}

    responses = run_together(
        [lambda c=c: c.post("/api/v1/live-stream/join", body, format="json") for c in clients]
    )

    assert [r.status_code for r in responses] == [200] * THREADS
    # Joins that commit at the same moment may each see only part of the others:
    # the peak is at least what the last one saw, never above the audience.
    peak = LiveStream.objects.get(pk=stream.pk).peak_viewers
    assert 1 <= peak <= THREADS
    livestream_join_as_audience(user=viewers[0], live_stream_id=stream.pk)  # a quiet rejoin
    assert LiveStream.objects.get(pk=stream.pk).peak_viewers == THREADS
