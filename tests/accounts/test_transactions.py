"""GET /users/me/transactions (API-more §13): the item's shape (`type`,
`direction`, a positive `amount`, `occurredAt`), the guide's statuses for funding,
and the filters (`types`, `statuses`, `direction`, `dateFrom`, `dateTo`, `sort`)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    TRANSACTION_DIRECTIONS,
    CreditTransaction,
    TransactionKind,
    User,
)
from accounts.services.credits import credit_post
from allmine.core.timestamps import format_timestamp
from livestreams.lifecycle import LiveStreamStatus
from livestreams.services.moderation import livestream_cancel
from livestreams.services.money import livestream_fund
from tests.api import assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory

URL = "/api/v1/users/me/transactions"
DAY = datetime(2026, 3, 10, tzinfo=UTC)


def post(user, amount: str, kind: str, *, at: datetime, **fields) -> CreditTransaction:
    with transaction.atomic():
        entry = credit_post(user_id=user.pk, amount=Decimal(amount), kind=kind, **fields)
    CreditTransaction.objects.filter(pk=entry.pk).update(created_at=at)
    return entry


@pytest.fixture
def ledger(db):
    """A user's ledger over three days of March 2026, one entry of each kind."""
    user = UserFactory()
    entries = {
        "grant": post(user, "100", TransactionKind.ADMIN_ADJUSTMENT, at=DAY - timedelta(days=1)),
        "charge": post(user, "-5", TransactionKind.STREAM_CHARGE, at=DAY),
        "gift": post(user, "-2.5", TransactionKind.GIFT_SPEND, at=DAY + timedelta(hours=23)),
        "revenue": post(user, "4", TransactionKind.GIFT_REVENUE, at=DAY + timedelta(days=1)),
        "taken": post(
            user, "-1", TransactionKind.ADMIN_ADJUSTMENT, at=DAY + timedelta(days=1, hours=1)
        ),
    }
    return user, entries


def ids(client, **params) -> list[str]:
    return [e["id"] for e in assert_envelope(client.get(URL, params), 200)["list"]]


def test_every_type_has_a_direction():
    assert set(TRANSACTION_DIRECTIONS) == set(TransactionKind.values)
    expected_debits = {
        "stream_charge",
        "stream_funding_contribution",
        "replay_rental",
        "gift_spend",
        "superlike_spend",
        "credit_transfer_sent",
        "mini_crowd_funding_support",
        "balance_lock_hold",
    }
    debits = {k for k, d in TRANSACTION_DIRECTIONS.items() if d == "debit"}
    assert debits == expected_debits
    assert TRANSACTION_DIRECTIONS["admin_adjustment"] is None  # by sign


def test_the_items_shape(client_for, ledger):
    user, entries = ledger
    data = assert_envelope(client_for(user).get(URL), 200)
    by_id = {e["id"]: e for e in data["list"]}
    gift = by_id[entries["gift"].pk]
    assert (gift["type"], gift["kind"], gift["direction"], gift["amount"]) == (
        "gift_spend",
        "gift_spend",
        "debit",
        2.5,
    )
    assert gift["occurredAt"] == format_timestamp(DAY + timedelta(hours=23))
    taken = by_id[entries["taken"].pk]
    assert (taken["type"], taken["direction"], taken["amount"]) == ("admin_adjustment", "debit", 1)
    grant = by_id[entries["grant"].pk]
    assert (grant["direction"], grant["amount"]) == ("credit", 100)
    assert all(e["amount"] > 0 for e in data["list"])
    # The balance still adds up from the signed sizes.
    signed = sum(e["amount"] if e["direction"] == "credit" else -e["amount"] for e in data["list"])
    assert Decimal(str(signed)) == User.objects.get(pk=user.pk).credit_balance


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({}, ["taken", "revenue", "gift", "charge", "grant"]),
        ({"sort": "asc"}, ["grant", "charge", "gift", "revenue", "taken"]),
        ({"types": "gift_spend,gift_revenue"}, ["revenue", "gift"]),
        ({"types": ["admin_adjustment", "stream_charge"]}, ["taken", "charge", "grant"]),
        ({"types": "credit_purchase"}, []),  # a type not produced yet matches nothing
        ({"direction": "credit"}, ["revenue", "grant"]),
        ({"direction": "debit"}, ["taken", "gift", "charge"]),
        ({"statuses": "completed"}, ["taken", "revenue", "gift", "charge", "grant"]),
        ({"statuses": "pending,failed"}, []),
        ({"dateFrom": "2026-03-10", "dateTo": "2026-03-10"}, ["gift", "charge"]),
        ({"dateFrom": "2026-03-10T23:00:00.000Z"}, ["taken", "revenue", "gift"]),
        ({"dateTo": "2026-03-10T00:00:00+00:00"}, ["charge", "grant"]),  # inclusive
        # 02:00 in Istanbul is 23:00 UTC the day before.
        ({"dateFrom": "2026-03-11T02:00:00+03:00", "direction": "debit"}, ["taken", "gift"]),
    ],
)
def test_the_filters(client_for, ledger, params, names):
    user, entries = ledger
    assert ids(client_for(user), **params) == [entries[name].pk for name in names]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"types": "gift"}, "types"),
        ({"types": "gift_spend,nope"}, "types"),
        ({"statuses": "done"}, "statuses"),
        ({"direction": "up"}, "direction"),
        ({"sort": "newest"}, "sort"),
        ({"dateFrom": "2026-03-10T10:00:00"}, "dateFrom"),  # no zone
        ({"dateFrom": "last week"}, "dateFrom"),
        ({"dateTo": "2026-02-30"}, "dateTo"),
        ({"dateFrom": "2026-03-11", "dateTo": "2026-03-10"}, "dateFrom"),
        ({"limit": "all"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_400(client_for, ledger, params, field):
    user, _entries = ledger
    assert_error(client_for(user).get(URL, params), 400, contains=f"{field}:")


def test_the_default_page_holds_20(client_for, db):
    user = UserFactory()
    for n in range(25):
        post(user, "1", TransactionKind.ADMIN_ADJUSTMENT, at=DAY + timedelta(minutes=n))
    data = assert_envelope(client_for(user).get(URL), 200)
    assert len(data["list"]) == 20
    assert data["pagination"]["itemsPerPage"] == 20
    assert data["pagination"]["totalPages"] == 2


@pytest.mark.django_db
def test_funding_shows_the_guides_statuses(client_for):
    backer = UserFactory(credits="50")
    stream = LiveStreamFactory(
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(hours=3),
        funding_goal=Decimal("100"),
    )
    livestream_fund(user=backer, live_stream_id=stream.pk, amount=Decimal("20"))
    livestream_cancel(actor=stream.creator, live_stream_id=stream.pk)
    client = client_for(backer)

    data = assert_envelope(client.get(URL, {"types": "stream_funding_contribution"}), 200)
    (contribution,) = data["list"]
    assert (contribution["status"], contribution["direction"], contribution["amount"]) == (
        "completed",  # stored as refunded
        "debit",
        20,
    )
    data = assert_envelope(client.get(URL, {"types": "stream_funding_refund"}), 200)
    (refund,) = data["list"]
    assert (refund["status"], refund["direction"], refund["amount"]) == ("refunded", "credit", 20)
    # The statuses filter the shown values.
    refunded = assert_envelope(client.get(URL, {"statuses": "refunded"}), 200)["list"]
    assert [e["type"] for e in refunded] == ["stream_funding_refund"]
    completed = assert_envelope(client.get(URL, {"statuses": "completed"}), 200)["list"]
    assert sorted(e["type"] for e in completed) == [
        "admin_adjustment",
        "stream_funding_contribution",
    ]


@pytest.mark.parametrize("extra", [0, 15])
def test_the_filtered_ledger_costs_the_same_whatever_its_size(
    client_for, ledger, django_assert_num_queries, extra
):
    user, _entries = ledger
    for n in range(extra):
        post(user, "1", TransactionKind.ADMIN_ADJUSTMENT, at=DAY + timedelta(minutes=n))
    client = client_for(user)
    # Authentication, the count, the page.
    with django_assert_num_queries(3):
        response = client.get(URL, {"direction": "credit", "statuses": "completed", "limit": 100})
    assert len(assert_envelope(response, 200)["list"]) == 2 + extra
