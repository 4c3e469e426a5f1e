from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import CreditTransaction, User


def users_by_username(username: str):
    """Case-insensitive, through the functional unique index on lower(username)."""
    return User.objects.alias(username_lower=Lower("username")).filter(
        username_lower=username.lower()
    )


def users_by_email(email: str):
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


def user_with_photo(user_id: str) -> User:
    return User.objects.select_related("profile_photo").get(pk=user_id)


def transactions_of(user):
    """The user's credit ledger, newest first."""
    return CreditTransaction.objects.filter(user=user).order_by("-created_at", "-pk")
