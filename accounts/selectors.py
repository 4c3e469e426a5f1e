from datetime import datetime

from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from accounts.models import (
    CreditTransaction,
    TransactionDirection,
    TransactionKind,
    TransactionStatus,
    User,
)
from allmine.core.errors import NotFound


def users_by_username(username: str) -> QuerySet[User]:
    """Case-insensitive, through the functional unique index on lower(username)."""
    return User.objects.alias(username_lower=Lower("username")).filter(
        username_lower=username.lower()
    )


def users_by_email(email: str) -> QuerySet[User]:
    return User.objects.alias(email_lower=Lower("email")).filter(email_lower=email.lower())


def user_by_login(login: str) -> User | None:
    """The user whose username or e-mail is `login`, in any case."""
    login = login.lower()
    return (
        User.objects.select_related("profile_photo")
        .alias(username_lower=Lower("username"), email_lower=Lower("email"))
        .filter(Q(username_lower=login) | Q(email_lower=login))
        .order_by("created_at")
        .first()
    )


def user_active(user_id: str) -> User:
    """An active user with their photo; 404 for an unknown or deactivated one."""
    user = User.objects.select_related("profile_photo").filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("No user has this id.")
    return user


def user_with_photo(user_id: str) -> User:
    return User.objects.select_related("profile_photo").get(pk=user_id)


def shown_status() -> Case:
    """The status the API shows (API-more §13.2): the reference guide's, which for
    funding differs from what the ledger stores. A contribution stays `completed`
    once refunded (stored `refunded`), and its refund entry shows `refunded`
    (stored `completed`); every other entry shows what is stored."""
    return Case(
        When(
            kind=TransactionKind.STREAM_FUNDING_CONTRIBUTION,
            status=TransactionStatus.REFUNDED,
            then=Value(TransactionStatus.COMPLETED.value),
        ),
        When(
            kind=TransactionKind.STREAM_FUNDING_REFUND,
            status=TransactionStatus.COMPLETED,
            then=Value(TransactionStatus.REFUNDED.value),
        ),
        default="status",
        output_field=CharField(),
    )


def transactions_filtered(
    user: User,
    *,
    types: list[str] | None = None,
    statuses: list[str] | None = None,
    direction: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    sort: str = "desc",
) -> QuerySet[CreditTransaction]:
    """The user's ledger as the API shows it (each entry with `shown_status`),
    filtered by type, shown status, direction (the sign of the amount) and time
    (inclusive), in time order (`asc` or `desc`), ties by id."""
    entries = CreditTransaction.objects.filter(user=user).annotate(shown_status=shown_status())
    if types:
        entries = entries.filter(kind__in=types)
    if statuses:
        entries = entries.filter(shown_status__in=statuses)
    if direction == TransactionDirection.CREDIT:
        entries = entries.filter(amount__gt=0)
    elif direction == TransactionDirection.DEBIT:
        entries = entries.filter(amount__lt=0)
    if date_from is not None:
        entries = entries.filter(created_at__gte=date_from)
    if date_to is not None:
        entries = entries.filter(created_at__lte=date_to)
    order = ("created_at", "pk") if sort == "asc" else ("-created_at", "-pk")
    return entries.order_by(*order)
