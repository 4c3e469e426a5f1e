"""The credit ledger (spec §4 "Credits"): accounts.services.credit_post,
credit_settle and credits_grant, the database's last word on a negative
balance, and GET /api/v1/users/me/transactions.

The ledger invariant is stated once, in `tests.helpers.assert_balances_add_up`.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from accounts.services.credits import credit_post, credit_settle, credits_grant
from allmine.core.errors import Conflict, ValidationFailed
from allmine.core.timestamps import format_timestamp
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory
from tests.helpers import assert_balances_add_up, balance_of, grant

URL = "/api/v1/users/me/transactions"
# Authentication, the count, the page of entries.
LIST_QUERIES = 3
ENTRY_FIELDS = {
    "id",
    "type",
    "kind",
    "direction",
    "status",
    "occurredAt",
    "amount",
    "balanceAfter",
    "liveStreamId",
    "relatedTransactionId",
    "reason",
    "createdAt",
    "availableAt",
    "completedAt",
}


# --- Helpers ---------------------------------------------------------------------------


def post(user, amount, *, kind=TransactionKind.ADMIN_ADJUSTMENT, **kwargs) -> CreditTransaction:
    with transaction.atomic():
        return credit_post(user_id=user.pk, amount=Decimal(amount), kind=kind, **kwargs)


# --- credit_post ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_credit_post_refuses_to_run_outside_a_transaction():
    """No wrapping test transaction here: autocommit is really on."""
    user = UserFactory()
    assert transaction.get_autocommit()
    with pytest.raises(RuntimeError, match="inside a transaction"):
        credit_post(user_id=user.pk, amount=Decimal("5"), kind=TransactionKind.ADMIN_ADJUSTMENT)
    assert CreditTransaction.objects.count() == 0
    assert balance_of(user) == 0
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "amount: Must not be zero."),
        ("0.00", "amount: Must not be zero."),
        # Amounts below the cent are refused, never rounded.
        ("0.001", "amount: Use at most 2 decimals."),
        ("-0.004", "amount: Use at most 2 decimals."),
        ("1.005", "amount: Use at most 2 decimals."),
    ],
)
def test_credit_post_refuses_a_zero_or_sub_cent_amount(amount, message):
    user = UserFactory()
    grant(user, "10")
    with pytest.raises(ValidationFailed) as caught:
        post(user, amount)
    assert caught.value.status_code == 400
    assert caught.value.details == [message]
    assert CreditTransaction.objects.count() == 1
    assert balance_of(user) == Decimal("10.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_credit_post_credits_and_debits_and_records_the_balance_after():
    user = UserFactory()
    stream = LiveStreamFactory()

    credit = post(user, "12.50", reason="Welcome.")
    debit = post(user, "-2.25", kind=TransactionKind.STREAM_CHARGE, live_stream=stream)
    last = post(user, "-10.25", kind=TransactionKind.STREAM_CHARGE, live_stream=stream)

    assert [credit.balance_after, debit.balance_after, last.balance_after] == [
        Decimal("12.50"),
        Decimal("10.25"),
        Decimal("0.00"),
    ]
    stored = CreditTransaction.objects.get(pk=debit.pk)
    assert stored.status == TransactionStatus.COMPLETED
    assert stored.amount == Decimal("-2.25")
    assert stored.balance_after == Decimal("10.25")
    assert stored.completed_at is not None
    assert stored.available_at is None
    assert stored.live_stream_id == stream.pk
    assert stored.kind == TransactionKind.STREAM_CHARGE
    assert balance_of(user) == Decimal("0.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_debit_beyond_the_balance_is_a_conflict_and_writes_nothing():
    user = UserFactory()
    grant(user, "9.99")
    with pytest.raises(Conflict) as caught:
        post(user, "-10", kind=TransactionKind.STREAM_CHARGE)
    assert caught.value.status_code == 409
    assert "Insufficient credits" in caught.value.details[0]
    assert CreditTransaction.objects.filter(user=user).count() == 1
    assert balance_of(user) == Decimal("9.99")
    # The whole balance can be spent, to the cent.
    spent = post(user, "-9.99", kind=TransactionKind.STREAM_CHARGE)
    assert spent.balance_after == Decimal("0.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_debit_from_an_empty_balance_is_refused():
    user = UserFactory()
    with pytest.raises(Conflict):
        post(user, "-0.01", kind=TransactionKind.STREAM_CHARGE)
    assert CreditTransaction.objects.count() == 0
    assert balance_of(user) == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_pending_entry_does_not_move_the_balance():
    user = UserFactory()
    grant(user, "3")
    until = timezone.now() + timedelta(hours=24)
    pending = post(user, "7.99", kind=TransactionKind.REPLAY_REVENUE, pending_until=until)

    stored = CreditTransaction.objects.get(pk=pending.pk)
    assert stored.status == TransactionStatus.PENDING
    assert stored.available_at == until
    assert stored.balance_after is None
    assert stored.completed_at is None
    assert balance_of(user) == Decimal("3.00")
    # Nor can it be spent before it is settled.
    with pytest.raises(Conflict):
        post(user, "-5", kind=TransactionKind.STREAM_CHARGE)
    assert balance_of(user) == Decimal("3.00")
    assert_balances_add_up()


# --- credit_settle ----------------------------------------------------------------


def pending_entry(user, amount="7.99", *, available_at=None) -> CreditTransaction:
    entry = post(
        user,
        amount,
        kind=TransactionKind.REPLAY_REVENUE,
        pending_until=timezone.now() + timedelta(hours=24),
    )
    if available_at is not None:
        CreditTransaction.objects.filter(pk=entry.pk).update(available_at=available_at)
    return entry


@pytest.mark.django_db
def test_settling_completes_a_due_entry_once():
    user = UserFactory()
    grant(user, "2")
    entry = pending_entry(user, "7.99", available_at=timezone.now() - timedelta(seconds=1))

    before = timezone.now()
    settled = credit_settle(entry_id=entry.pk)
    assert settled is not None
    stored = CreditTransaction.objects.get(pk=entry.pk)
    assert stored.status == TransactionStatus.COMPLETED
    assert stored.balance_after == Decimal("9.99")
    assert stored.completed_at >= before
    assert balance_of(user) == Decimal("9.99")

    assert credit_settle(entry_id=entry.pk) is None  # a second run pays nothing
    assert balance_of(user) == Decimal("9.99")
    assert CreditTransaction.objects.get(pk=entry.pk).completed_at == stored.completed_at
    assert CreditTransaction.objects.filter(user=user).count() == 2
    assert_balances_add_up()


@pytest.mark.django_db
def test_an_entry_is_not_settled_before_it_is_available():
    user = UserFactory()
    entry = pending_entry(user, "4.00")
    assert credit_settle(entry_id=entry.pk) is None
    stored = CreditTransaction.objects.get(pk=entry.pk)
    assert stored.status == TransactionStatus.PENDING
    assert stored.balance_after is None
    assert balance_of(user) == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_settling_a_completed_entry_or_an_unknown_id_does_nothing():
    user = UserFactory()
    completed = grant(user, "5")
    assert credit_settle(entry_id=completed.pk) is None
    assert credit_settle(entry_id="0" * 24) is None
    assert balance_of(user) == Decimal("5.00")
    assert_balances_add_up()


# --- credits_grant --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_grant_needs_a_reason(reason):
    user = UserFactory()
    with pytest.raises(ValidationFailed) as caught:
        credits_grant(user=user, amount=Decimal("5"), reason=reason)
    assert caught.value.details == ["reason: A reason is required."]
    assert CreditTransaction.objects.count() == 0
    assert balance_of(user) == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_grant_is_a_logged_admin_adjustment():
    user, admin = UserFactory(), UserFactory()
    entry = credits_grant(
        user=user, amount=Decimal("25"), reason="  Goodwill.  ", actor=admin
    ).entry
    stored = CreditTransaction.objects.get(pk=entry.pk)
    assert stored.kind == TransactionKind.ADMIN_ADJUSTMENT
    assert stored.status == TransactionStatus.COMPLETED
    assert stored.amount == Decimal("25.00")
    assert stored.balance_after == Decimal("25.00")
    assert stored.reason == "Goodwill."
    assert stored.created_by_id == admin.pk
    assert balance_of(user) == Decimal("25.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_negative_grant_takes_back_but_never_below_zero():
    user = UserFactory()
    grant(user, "10")
    taken = credits_grant(user=user, amount=Decimal("-4"), reason="Mistaken grant.").entry
    assert taken.amount == Decimal("-4.00")
    assert taken.balance_after == Decimal("6.00")

    with pytest.raises(Conflict):
        credits_grant(user=user, amount=Decimal("-6.01"), reason="Too much.")
    assert balance_of(user) == Decimal("6.00")
    assert CreditTransaction.objects.filter(user=user).count() == 2

    emptied = credits_grant(user=user, amount=Decimal("-6"), reason="All of it.").entry
    assert emptied.balance_after == Decimal("0.00")
    assert balance_of(user) == 0
    assert_balances_add_up()


# --- The database's own check -------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_negative_balance():
    user = UserFactory()
    grant(user, "1")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(credit_balance=Decimal("-1"))
    assert balance_of(user) == Decimal("1.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_the_invariant_check_catches_a_balance_that_disagrees_with_the_ledger():
    """The helper every money test relies on can fail."""
    user = UserFactory()
    grant(user, "5")
    User.objects.filter(pk=user.pk).update(credit_balance=Decimal("6"))
    with pytest.raises(AssertionError, match=r"balance 6\.00 but the ledger says 5"):
        assert_balances_add_up()
    User.objects.filter(pk=user.pk).update(credit_balance=Decimal("5"))
    pending_entry(user, "1")
    assert_balances_add_up()  # pending entries are not in the balance
    CreditTransaction.objects.filter(status=TransactionStatus.PENDING).update(
        status=TransactionStatus.COMPLETED, balance_after=Decimal("6")
    )
    with pytest.raises(AssertionError):
        assert_balances_add_up()


# --- GET /users/me/transactions ----------------------------------------------------


def assert_number(value):
    assert type(value) in (int, float), value


@pytest.mark.django_db
def test_anonymous_gets_401(api_client):
    assert_error(api_client.get(URL), 401)


@pytest.mark.django_db
def test_an_empty_ledger(client_for):
    user = UserFactory()
    data = assert_envelope(client_for(user).get(URL), 200)
    assert data == {
        "list": [],
        "pagination": {
            "currentPage": 1,
            "totalPages": 0,
            "totalItems": 0,
            "itemsPerPage": 20,
            "hasNextPage": False,
            "hasPrevPage": False,
        },
    }
    assert_balances_add_up()


@pytest.mark.django_db
def test_the_ledger_shows_every_field_of_the_callers_entries(client_for):
    user, creator = UserFactory(), UserFactory()
    stream = LiveStreamFactory(creator=creator)
    granted = grant(user, "20.50")
    with transaction.atomic():
        charge = credit_post(
            user_id=user.pk,
            amount=Decimal("-9.99"),
            kind=TransactionKind.REPLAY_RENTAL,
            live_stream=stream,
        )
        revenue = credit_post(
            user_id=creator.pk,
            amount=Decimal("7.99"),
            kind=TransactionKind.REPLAY_REVENUE,
            live_stream=stream,
            related=charge,
            pending_until=timezone.now() + timedelta(hours=24),
        )
    grant(creator, "1")  # someone else's entries never show

    data = assert_envelope(client_for(user).get(URL), 200)
    assert data["pagination"]["totalItems"] == 2
    newest, oldest = data["list"]
    for item in data["list"]:
        assert set(item) == ENTRY_FIELDS
        assert OBJECT_ID_RE.match(item["id"])
        assert TIMESTAMP_RE.match(item["createdAt"])
        assert_number(item["amount"])
        assert_number(item["balanceAfter"])
        assert TIMESTAMP_RE.match(item["completedAt"])
        assert item["availableAt"] is None
    assert newest == {
        "id": charge.pk,
        "type": "replay_rental",
        "kind": "replay_rental",
        "direction": "debit",
        "status": "completed",
        "amount": 9.99,
        "occurredAt": format_timestamp(charge.created_at),
        "balanceAfter": 10.51,
        "liveStreamId": stream.pk,
        "relatedTransactionId": None,
        "reason": "",
        "createdAt": format_timestamp(charge.created_at),
        "availableAt": None,
        "completedAt": format_timestamp(charge.completed_at),
    }
    assert oldest["id"] == granted.pk
    assert oldest["kind"] == "admin_adjustment"
    assert oldest["amount"] == 20.5
    assert oldest["balanceAfter"] == 20.5
    assert oldest["reason"] == "Test credits."
    assert oldest["liveStreamId"] is None

    creator_data = assert_envelope(client_for(creator).get(URL), 200)
    assert [e["id"] for e in creator_data["list"]][1] == revenue.pk
    pending = creator_data["list"][1]
    assert pending["status"] == "pending"
    assert pending["amount"] == 7.99
    assert pending["balanceAfter"] is None
    assert pending["completedAt"] is None
    assert pending["relatedTransactionId"] == charge.pk
    assert pending["availableAt"] == format_timestamp(revenue.available_at)
    assert creator_data["list"][0]["amount"] == 1
    assert type(creator_data["list"][0]["amount"]) is int
    assert_balances_add_up()


@pytest.mark.django_db
def test_the_ledger_is_paginated_newest_first(client_for):
    user = UserFactory()
    entries = [grant(user, str(n)) for n in range(1, 13)]
    base = timezone.now() - timedelta(days=1)
    # Distinct times, oldest first, whatever the clock's resolution.
    for minutes, entry in enumerate(entries):
        CreditTransaction.objects.filter(pk=entry.pk).update(
            created_at=base + timedelta(minutes=minutes)
        )
    newest_first = [e.pk for e in reversed(entries)]
    client = client_for(user)

    first = assert_envelope(client.get(URL, {"limit": 5}), 200)
    assert [e["id"] for e in first["list"]] == newest_first[:5]
    assert [e["amount"] for e in first["list"]] == [12, 11, 10, 9, 8]
    assert first["pagination"] == {
        "currentPage": 1,
        "totalPages": 3,
        "totalItems": 12,
        "itemsPerPage": 5,
        "hasNextPage": True,
        "hasPrevPage": False,
    }
    last = assert_envelope(client.get(URL, {"limit": 5, "page": 3}), 200)
    assert [e["id"] for e in last["list"]] == newest_first[10:]
    assert last["pagination"]["hasNextPage"] is False
    assert last["pagination"]["hasPrevPage"] is True

    default = assert_envelope(client.get(URL), 200)
    assert [e["id"] for e in default["list"]] == newest_first
    assert default["pagination"]["itemsPerPage"] == 20
    beyond = assert_envelope(client.get(URL, {"page": 9}), 200)
    assert beyond["list"] == []
    clamped = assert_envelope(client.get(URL, {"page": 0, "limit": 1000}), 200)
    assert clamped["pagination"]["currentPage"] == 1
    assert clamped["pagination"]["itemsPerPage"] == 100
    assert len(clamped["list"]) == 12
    assert_error(client.get(URL, {"page": "two"}), 400, contains="page:")
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize("entries", [1, 10])
def test_the_query_count_does_not_grow_with_the_entries(
    client_for, django_assert_num_queries, entries
):
    user, creator = UserFactory(), UserFactory()
    stream = LiveStreamFactory(creator=creator)
    grant(user, "100")
    for _ in range(entries - 1):
        post(user, "-1", kind=TransactionKind.STREAM_CHARGE, live_stream=stream)
    client = client_for(user)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(URL)
    data = assert_envelope(response, 200)
    assert len(data["list"]) == entries
    assert_balances_add_up()
